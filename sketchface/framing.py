"""Input framing: read any image, find the face in it and crop/pad it to the framing the models were trained on.

The synthetic training renders place the face at a known spot of the square frame. For an input we find a face
box — the ink bounding box of a sketch or line drawing, a Haar-cascade face box (or the foreground box) of a
photo — and choose the square crop of the input that carries that box to where the same box sits in training
renders. ``crop_box`` (x0, y0, x1, y1, input pixels, may reach outside the input: the outside is padded) records
the crop so a depth map can be pasted back into the input frame.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sketchface.errors import InputError, UserError  # noqa: F401  (re-exported)

KINDS = ("sketch", "lines", "photo")

# Median boxes (x0, y0, x1, y1 as fractions of the frame) in the synthetic training renders, measured over
# 400 training samples of `make-data --size 128`: ink box of the clean line drawings (1st-99th percentile of ink
# pixels), Haar face box of the photos, face-mask box. See docs/CONVENTIONS.md, "Framing".
INK_BOX = (0.156, 0.062, 0.844, 0.844)
HAAR_BOX = (0.191, 0.135, 0.826, 0.775)
MASK_BOX = (0.203, 0.094, 0.790, 0.992)

# a framed drawing whose strokes darken less of the square than this (mean of 1 - gray, which shrinking the
# image keeps) is only a few strokes: of the 800 synthetic test line drawings at 128 px, 95 % darken 3.1 % or
# more (USUAL_INK) and 50 % 7 %; the 22 below 1.5 % are near-blank ones like those of docs/DATASETS.md. Strokes
# are about one model pixel wide, so at another model size both shares scale with 128 / size
FEW_STROKES_INK = 0.015
USUAL_INK = 0.03
MAX_PIXELS = 40_000_000        # larger images are refused (decompression bombs included)
MIN_SIDE = 32                  # smaller images are refused: a face needs more pixels than this a side
UNSETTLED = 0.1                # FaceFit's last answer moved the frame more than this (log-scale or half-sides):
                               # it did not settle on a face (1 of 176 real dev drawings and photos, ~1 in 5
                               # noise and scribble images; docs/APP.md, "Is it a face?")
MAX_BYTES = 25 * 1024 * 1024   # larger files are refused


UNREADABLE = "the file is not an image that can be read: use a PNG, JPEG, BMP, WebP or GIF picture"


@dataclass(frozen=True)
class Framing:
    crop_box: tuple[int, int, int, int]   # x0, y0, x1, y1 in input pixels (square; may extend outside)
    face_box: tuple[float, float, float, float]  # the box that was found, input pixels
    method: str                           # "ink", "haar", "foreground" or "full" (+ "+locator" when refined)


# ----------------------------------------------------------------------------------------------- reading

def load_image(image: Any) -> np.ndarray:
    """A file path, bytes, a PIL image or a numpy array -> float32 RGB (H, W, 3) in [0, 1].

    Gray, RGB and RGBA (composited on white), uint8/uint16/float inputs are accepted; anything else raises
    :class:`InputError` with one clear sentence.
    """
    from PIL import Image

    if image is None:
        raise InputError("no image was given")
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise InputError(f"image file {path} not found")
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"image file {path.name} is larger than {MAX_BYTES // 2**20} MB")
        image = path.read_bytes()
    if isinstance(image, (bytes, bytearray)):
        if len(image) == 0:
            raise InputError("the image file is empty")
        if len(image) > MAX_BYTES:
            raise InputError(f"the image is larger than {MAX_BYTES // 2**20} MB")
        image = _open_bytes(bytes(image))
    if isinstance(image, Image.Image):
        return _from_pil(image)
    if hasattr(image, "detach"):                     # torch tensor, (C, H, W) or (H, W)
        t = image.detach().cpu()
        image = t.permute(1, 2, 0).numpy() if t.dim() == 3 and t.shape[0] in (1, 3, 4) else t.numpy()
    if isinstance(image, np.ndarray):
        return _from_array(image)
    raise InputError(f"the image must be a file path, a PIL image or a numpy array, not {type(image).__name__}")


def _open_bytes(data: bytes):
    from PIL import Image

    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise InputError(f"the image has {img.width}x{img.height} pixels, more than the "
                                 f"{MAX_PIXELS // 10**6} million allowed")
            img.load()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"the image declares more than {MAX_PIXELS // 10**6} million pixels "
                         "(a decompression bomb?)") from None
    except Exception:  # PIL raises many types for broken files; their names mean nothing to a visitor
        raise InputError(UNREADABLE) from None
    finally:
        Image.MAX_IMAGE_PIXELS = old
    return img


def _from_pil(img) -> np.ndarray:
    from PIL import Image

    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)                                  # animated GIF/WebP: the first frame
    if img.width * img.height > MAX_PIXELS:
        raise InputError(f"the image has {img.width}x{img.height} pixels, more than the "
                         f"{MAX_PIXELS // 10**6} million allowed")
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        return _from_array((a / top).astype(np.float32))
    if mode == "F":
        return _from_array(np.asarray(img, dtype=np.float32))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    return _from_array(np.asarray(img.convert("RGB")))


def _from_array(a: np.ndarray) -> np.ndarray:
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise InputError(f"the image array must hold numbers, not {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InputError(f"the image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    if a.shape[0] < 8 or a.shape[1] < 8:
        raise InputError(f"the image is {a.shape[1]}x{a.shape[0]} pixels; at least 8x8 are needed")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise InputError(f"the image has {a.shape[1]}x{a.shape[0]} pixels, more than the "
                         f"{MAX_PIXELS // 10**6} million allowed")
    if a.dtype == np.bool_:
        a = a.astype(np.float32)
    elif a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    elif a.dtype.kind in "iu":
        if a.min() < 0 or a.max() > 255:
            raise InputError("an integer image array must hold values in 0..255 (or be uint16)")
        a = a.astype(np.float32) / 255.0
    else:
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise InputError("the image array holds NaN or infinite values")
        if a.min() < -1e-3 or a.max() > 1 + 1e-3:
            if a.min() >= 0 and a.max() <= 255:
                a = a / 255.0                       # float image on the 0..255 scale
            else:
                raise InputError(f"a float image must lie in [0, 1] (or 0..255), got values in "
                                 f"[{a.min():.3g}, {a.max():.3g}]")
        a = np.clip(a, 0, 1)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    elif a.shape[2] == 4:
        alpha = a[..., 3:4]
        a = a[..., :3] * alpha + (1 - alpha)        # composite on white
    return np.ascontiguousarray(a, dtype=np.float32)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


# ----------------------------------------------------------------------------------------------- paper

def paper_surface(gray: np.ndarray, block: int = 8) -> tuple[np.ndarray, float]:
    """The brightness of the paper under a drawing, as a smooth surface (H, W), and the share of the image
    that looks like paper.

    A drawing photographed with a phone lies on tinted paper under uneven light. The image is cut into blocks
    (on a copy of at most 128 px), each block's paper level is its 90th-percentile brightness, and a quadratic in
    (x, y) is fitted to those levels, leaving out the blocks more than 0.05 below the fit (ink, shading) over a
    few rounds. A quadratic follows light falling across a sheet but not a dark patch of hair. The share is the
    fraction of blocks left in: near 1 for a drawing, lower for a photo."""
    import cv2

    h, w = gray.shape
    s = min(1.0, 128.0 / max(h, w))
    small = cv2.resize(gray, (max(int(round(w * s)), block), max(int(round(h * s)), block)),
                       interpolation=cv2.INTER_AREA) if s < 1 or min(h, w) < block else gray
    by, bx = max(small.shape[0] // block, 1), max(small.shape[1] // block, 1)
    bh, bw = small.shape[0] // by, small.shape[1] // bx
    v = small[:by * bh, :bx * bw].reshape(by, bh, bx, bw).transpose(0, 2, 1, 3).reshape(by * bx, -1)
    level = np.percentile(v, 90, axis=1)

    def design(x, y):
        return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], -1)
    yy, xx = np.mgrid[0:by, 0:bx]
    a = design((xx.ravel() + 0.5) / bx - 0.5, (yy.ravel() + 0.5) / by - 0.5)
    keep = np.ones(len(level), bool)
    for _ in range(4):
        coef = np.linalg.lstsq(a[keep], level[keep], rcond=None)[0]
        keep = level > a @ coef - 0.05
        if not keep.any():
            keep[np.argmax(level)] = True
    sh, sw = small.shape
    y, x = np.mgrid[0:sh, 0:sw]
    surface = (design((x + 0.5) / sw - 0.5, (y + 0.5) / sh - 0.5) @ coef).astype(np.float32)
    if (sh, sw) != (h, w):
        surface = cv2.resize(surface, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(surface, 0.2, 1.0), float(keep.mean())


def flatten_paper(gray: np.ndarray) -> np.ndarray:
    """A drawing's grey image with its paper made white: divided by ``paper_surface`` (clean white paper is left
    as it is; ink keeps its darkness relative to the paper around it)."""
    surface, _ = paper_surface(gray)
    return np.clip(gray / surface, 0.0, 1.0).astype(np.float32)


PAPER_WHITE = (1.0, 1.0, 1.0)


def model_source(rgb: np.ndarray, kind: str) -> tuple[np.ndarray, tuple | None, bool]:
    """What the networks are shown of an input of ``kind``: a photo as it is (its frame padded with its border
    colour, fill None); a drawing as grey with its paper made white (``flatten_paper``; padded white). Returns
    (source RGB, fill, whether the paper was flattened)."""
    if kind == "photo":
        return rgb, None, False
    return np.repeat(flatten_paper(to_gray(rgb))[..., None], 3, -1), PAPER_WHITE, True


def colour_share(rgb: np.ndarray, tolerance: float = 0.03) -> float:
    """The share of the image (pixels not near black) whose chromaticity r, g, b / (r + g + b) differs by more
    than ``tolerance`` from the image's median: 0 for a drawing on tinted paper (ink and paper share one tint),
    a third or more for a photo of a face (skin, background, hair, lips)."""
    total = rgb[..., :3].sum(-1)
    lit = total > 0.3
    if not lit.any():
        return 0.0
    chroma = rgb[..., :3][lit] / total[lit, None]
    return float((np.abs(chroma - np.median(chroma, 0)).max(-1) > tolerance).mean())


PHOTO_MAX_PAPER = 0.45     # guess_kind: below this share of paper, an image is a photo
PHOTO_MIN_COLOUR = 0.08    # guess_kind: above this share of coloured pixels, an image may be a photo


def guess_kind(rgb: np.ndarray) -> str:
    """'photo', 'lines' (nearly binary ink) or 'sketch', also for a drawing photographed on tinted paper.

    A photo: little of it looks like paper (``paper_surface`` share < 0.45, e.g. a grey photo; heavily hatched
    artist sketches reach 0.45-0.5), or it has colour (``colour_share`` > 0.08; scanned pencil sketches reach
    0.04, colour photos of faces start near 0.14) and either less than 85 % paper, much colour (> 0.25), or more
    colour than there is ink (coloured pixels where a drawing has paper: a face before a pale wall), so that a
    blue-pen drawing stays a drawing. Otherwise a drawing: 'lines' when under 3 % of it is mid-grey once the paper
    is white. The colour is judged on a copy of at most 256 px a side. Thresholds: docs/APP.md, "Sketch or
    photo" (measured on the real train pairs, checked on the dev ones)."""
    import cv2

    h, w = rgb.shape[:2]
    small = rgb[..., :3]
    if max(h, w) > 256:
        s = 256.0 / max(h, w)
        small = cv2.resize(np.ascontiguousarray(small), (max(int(round(w * s)), 1), max(int(round(h * s)), 1)),
                           interpolation=cv2.INTER_AREA)
    g = to_gray(rgb)
    surface, paper = paper_surface(g)
    colour = colour_share(small)
    if paper < PHOTO_MAX_PAPER or (colour > PHOTO_MIN_COLOUR and (paper < 0.85 or colour > 0.25
                                                                  or colour > 1.2 * (1.0 - paper))):
        return "photo"
    flat = np.clip(g / surface, 0.0, 1.0)
    mid = ((flat > 0.15) & (flat < 0.85)).mean()
    return "lines" if mid < 0.03 else "sketch"


# ----------------------------------------------------------------------------------------------- finding

def _background(gray: np.ndarray) -> float:
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border))


def ink_box(gray: np.ndarray, threshold: float = 0.5) -> tuple[float, float, float, float] | None:
    """1st-99th percentile box of the ink (pixels darker than ``threshold`` below the paper)."""
    paper = max(_background(gray), 0.5)
    ys, xs = np.nonzero(gray < paper * threshold + 1e-6)
    if len(xs) < 10:
        return None
    return (float(np.percentile(xs, 1)), float(np.percentile(ys, 1)),
            float(np.percentile(xs, 99)) + 1, float(np.percentile(ys, 99)) + 1)


def haar_box(gray: np.ndarray) -> tuple[float, float, float, float] | None:
    """The largest frontal face found by OpenCV's shipped Haar cascade, or None."""
    import cv2

    h, w = gray.shape
    scale = 256.0 / max(h, w) if max(h, w) > 512 or max(h, w) < 128 else 1.0
    g = (np.clip(gray, 0, 1) * 255).astype(np.uint8)
    if scale != 1.0:
        g = cv2.resize(g, (max(int(w * scale), 1), max(int(h * scale), 1)), interpolation=cv2.INTER_AREA)
    casc = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    side = min(g.shape)
    faces = casc.detectMultiScale(g, 1.1, 4, minSize=(max(side // 5, 20),) * 2)
    if len(faces) == 0:
        return None
    x, y, bw, bh = max(faces, key=lambda b: b[2] * b[3])
    return (x / scale, y / scale, (x + bw) / scale, (y + bh) / scale)


def border_colour(rgb: np.ndarray) -> np.ndarray:
    """The median colour of the image's outermost rows and columns (its background, for a centred subject)."""
    return np.median(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]), axis=0)


def foreground_box(rgb: np.ndarray) -> tuple[float, float, float, float] | None:
    bg = border_colour(rgb)
    diff = np.abs(rgb - bg).max(-1) > 0.12
    ys, xs = np.nonzero(diff)
    if len(xs) < 10:
        return None
    return (float(np.percentile(xs, 1)), float(np.percentile(ys, 1)),
            float(np.percentile(xs, 99)) + 1, float(np.percentile(ys, 99)) + 1)


def frame_face(rgb: np.ndarray, kind: str) -> Framing:
    """Find the face box of ``kind`` in the image and the square crop that frames it like the training renders."""
    h, w = rgb.shape[:2]
    box, target, method = None, None, "full"
    if kind == "photo":
        box = haar_box(to_gray(rgb))
        target, method = HAAR_BOX, "haar"
        if box is None:
            box, target, method = foreground_box(rgb), MASK_BOX, "foreground"
    else:
        box, target, method = ink_box(to_gray(rgb)), INK_BOX, "ink"
    if box is None:
        if kind != "photo":
            raise InputError("the drawing is blank: no dark strokes were found")
        side = max(h, w)
        x0, y0 = (w - side) // 2, (h - side) // 2
        return Framing((x0, y0, x0 + side, y0 + side), (0.0, 0.0, float(w), float(h)), "full")
    bx0, by0, bx1, by1 = box
    tx0, ty0, tx1, ty1 = target
    # one scale for both axes: the geometric mean of the width and height ratios
    side = float(np.sqrt(((bx1 - bx0) / (tx1 - tx0)) * ((by1 - by0) / (ty1 - ty0))))
    side = max(side, 8.0)
    cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
    x0 = cx - side * (tx0 + tx1) / 2
    y0 = cy - side * (ty0 + ty1) / 2
    ix0, iy0, iside = int(round(x0)), int(round(y0)), int(round(side))
    return Framing((ix0, iy0, ix0 + iside, iy0 + iside), tuple(float(v) for v in box), method)


def refine_framing(rgb: np.ndarray, framing: Framing, locator, rounds: int | None = None) -> Framing:
    """A drawing's ink-box framing moved and scaled by the face locator (``sketchface.nets.locator``).

    Each round shows the locator the current crop of the drawing ``rgb`` (H, W, 3, grey, paper white: what the
    pipeline frames) at its view size (``rounds`` times, default the locator's ``config.rounds``); it answers which
    square of the training framing that crop shows (centre c, half-side s, in the training frame's units), so
    the training frame, in the crop's units, is centred at -c / s with half-side 1 / s. The last crop is then
    widened by the locator's ``config.widen``."""
    import torch

    x0, y0, x1, y1 = framing.crop_box
    half, cx, cy = (x1 - x0) / 2, (x0 + x1) / 2, (y0 + y1) / 2
    for _ in range(locator.config.rounds if rounds is None else rounds):
        box = (int(round(cx - half)), int(round(cy - half)), int(round(cx - half)) + int(round(2 * half)),
               int(round(cy - half)) + int(round(2 * half)))
        view = crop_to_frame(rgb, box, locator.config.view, (1.0, 1.0, 1.0))[..., 0]
        with torch.inference_mode():
            log_s, px, py = locator.locate(torch.from_numpy(view)[None, None].to(locator.device)).float()[0].tolist()
        s = float(np.exp(np.clip(log_s, -1.0, 1.0)))
        cx, cy, half = cx - half * px / s, cy - half * py / s, max(half / s, 4.0)
    half *= 1.0 + locator.config.widen
    side = int(round(2 * half))
    x0, y0 = int(round(cx - half)), int(round(cy - half))
    return Framing((x0, y0, x0 + side, y0 + side), framing.face_box, framing.method + "+locator")


def crop_to_frame(rgb: np.ndarray, crop_box: tuple[int, int, int, int], size: int,
                  fill: tuple[float, float, float] | None = None) -> np.ndarray:
    """The square ``crop_box`` of the image resized to ``size`` x ``size``; outside is padded with ``fill``
    (default: the median border colour)."""
    import cv2

    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = crop_box
    if fill is None:
        fill = tuple(border_colour(rgb).tolist())
    s = size / (x1 - x0)                              # output pixels per input pixel
    sx = sy = 1.0
    if s < 1:  # shrink with an area filter first: warpAffine alone would alias thin strokes
        small = cv2.resize(rgb, (max(int(round(w * s)), 1), max(int(round(h * s)), 1)), interpolation=cv2.INTER_AREA)
        sx, sy = small.shape[1] / w, small.shape[0] / h
        rgb = small
    # output pixel centre = (input pixel centre - crop origin) * s, input pixels of the (shrunk) image
    m = np.array([[s / sx, 0, (0.5 / sx - x0) * s - 0.5], [0, s / sy, (0.5 / sy - y0) * s - 0.5]], np.float64)
    interp = cv2.INTER_LINEAR
    out = cv2.warpAffine(rgb, m, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=tuple(float(v) for v in fill))
    return out.astype(np.float32)


def check_size(rgb: np.ndarray) -> None:
    """Refuse an image too small to hold a face (``MIN_SIDE``)."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(f"the image is only {w} x {h} pixels: a face needs at least {MIN_SIDE} pixels a side, "
                         "so use a larger picture")


def few_strokes_note(gray: np.ndarray) -> str | None:
    """A sentence for a framed drawing (gray, 0..1, white paper) with too little ink to show a face, else None."""
    gray = np.clip(np.asarray(gray, np.float32), 0.0, 1.0)
    ink, scale = float((1.0 - gray).mean()), 128 / gray.shape[0]
    if ink >= FEW_STROKES_INK * scale:
        return None
    return (f"Only a few strokes reached the model (ink on {100 * ink:.1f} % of the face square; the drawings it "
            f"learned from mostly have {100 * USUAL_INK * scale:.0f} % or more): expect a generic face. Draw the "
            f"outline, eyes, nose and mouth.")


def paste_back(depth: np.ndarray, crop_box: tuple[int, int, int, int], shape: tuple[int, int],
               fill: float = 0.0) -> np.ndarray:
    """A (size, size) map of the model frame resized into the input frame (H, W) through ``crop_box``."""
    import cv2

    h, w = shape
    x0, y0, x1, y1 = crop_box
    size = depth.shape[0]
    s = (x1 - x0) / size                              # input pixels per model pixel
    m = np.array([[s, 0, x0 + 0.5 * s - 0.5], [0, s, y0 + 0.5 * s - 0.5]], np.float64)
    return cv2.warpAffine(depth.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
