"""A corpus of hostile or broken inputs, built in memory (nothing is stored in the repository).

Each case: (name, payload, expect) where payload is what a user could hand to the API or upload to the app
(bytes of a file, a numpy array, a PIL image or another Python object) and expect is "error" (a clear
InputError) or "ok" (odd but valid: it must reconstruct).
"""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def _face(n=96) -> np.ndarray:
    import cv2
    a = np.full((n, n), 255, np.uint8)
    cv2.ellipse(a, (n // 2, n // 2), (n // 3, n * 2 // 5), 0, 0, 360, 0, 2)
    cv2.circle(a, (n // 2 - n // 8, n // 2 - n // 10), n // 20, 0, 2)
    cv2.circle(a, (n // 2 + n // 8, n // 2 - n // 10), n // 20, 0, 2)
    cv2.line(a, (n // 2 - n // 8, n // 2 + n // 5), (n // 2 + n // 8, n // 2 + n // 5), 0, 2)
    return a


def _bomb_png(side=30000) -> bytes:
    """A valid PNG header declaring side x side pixels with a tiny compressed body."""
    raw = zlib.compress(b"\x00" * (side // 8 + 1) * 64)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _gif(frames) -> bytes:
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def corpus() -> list[tuple[str, object, str]]:
    f = _face()
    pil = Image.fromarray(f)
    png = _png(pil)
    cases: list[tuple[str, object, str]] = [
        # --- broken or hostile: must be refused with one clear sentence
        ("empty bytes", b"", "error"),
        ("1x1 png", _png(Image.new("L", (1, 1), 0)), "error"),
        ("1x1 array", np.zeros((1, 1), np.uint8), "error"),
        ("0x0 array", np.zeros((0, 0), np.uint8), "error"),
        ("blank white canvas", np.full((128, 128), 255, np.uint8), "error"),
        ("blank transparent canvas", np.zeros((64, 64, 4), np.uint8), "error"),
        ("decompression bomb png", _bomb_png(), "error"),
        ("corrupt bytes with png header", png[:40] + b"\x00" * 200, "error"),
        ("truncated png", png[: len(png) // 2], "error"),
        ("random bytes", np.random.default_rng(0).bytes(5000), "error"),
        ("svg text", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>',
         "error"),
        ("html text", b"<html><script>alert(1)</script></html>", "error"),
        ("nan array", np.full((64, 64), np.nan, np.float32), "error"),
        ("inf array", np.full((64, 64), np.inf, np.float32), "error"),
        ("negative floats", -np.ones((64, 64), np.float32) * 3, "error"),
        ("huge float values", np.full((64, 64), 1e9, np.float64), "error"),
        ("complex array", np.zeros((64, 64), np.complex64), "error"),
        ("object array", np.array([[object()] * 16] * 16, dtype=object), "error"),
        ("string array", np.array([["a"] * 16] * 16), "error"),
        ("5-d array", np.zeros((2, 2, 16, 16, 3), np.uint8), "error"),
        ("2-channel array", np.zeros((32, 32, 2), np.uint8), "error"),
        ("int array out of range", np.full((32, 32), 1000, np.int32), "error"),
        ("over the byte limit", b"\x89PNG" + b"\x00" * (26 * 1024 * 1024), "error"),
        ("over the pixel limit array", np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), (7000, 7000), (0, 0)),
         "error"),
        ("an integer", 42, "error"),
        ("a dict", {"image": "x"}, "error"),
        ("a list", [[0, 1], [1, 0]], "error"),
        ("path that does not exist", "/nonexistent/face.png", "error"),
        ("path traversal", "../../../../etc/shadow", "error"),
        # --- odd but valid: must reconstruct
        ("16-bit png", _png(Image.fromarray(f.astype(np.uint16) * 257)), "ok"),
        ("cmyk jpeg", (lambda b: (pil.convert("CMYK").save(b, "JPEG"), b.getvalue())[1])(io.BytesIO()), "ok"),
        ("animated gif", _gif([pil.convert("P"), Image.fromarray(255 - f).convert("P")]), "ok"),
        ("rgba with transparent background", np.dstack([np.zeros_like(f)] * 3 + [255 - f]), "ok"),
        ("grayscale float", f.astype(np.float32) / 255, "ok"),
        ("bool array", f < 128, "ok"),
        ("tall thin image", np.pad(f, ((300, 300), (0, 0)), constant_values=255), "ok"),
        ("palette png", _png(pil.convert("P")), "ok"),
    ]
    return cases
