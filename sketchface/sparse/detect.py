"""Face detection, offline.

Choice: the Viola-Jones (AdaBoost over Haar features) frontal-face cascades that the opencv-python 4.x wheels
ship in ``cv2.data.haarcascades``. They need no download (the machines that run this cannot reach the
network), run in a few milliseconds on a CPU, are the "Adaboost" detector of the paper's Table 1 era, and find
faces in real photos, in the synthetic renders and in many pencil sketches. OpenCV 5.x wheels dropped the
cascades (DESIGN.md §6), so the project pins 4.x. A second cascade (``alt2``) is tried when the default finds
nothing. Clean line drawings have no shading for Haar features to fire on: for sketches the detector falls
back to the box of the ink, after checking that the ink looks like a drawing rather than a blank page.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sketchface.errors import UserError

CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml")
NO_FACE = "No face was found in the image; use a frontal face photo or drawing that fills much of the picture."


class NoFaceError(UserError):
    """No face in the input (the message is one sentence for the user)."""


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]   # x0, y0, x1, y1 in input pixels
    method: str                              # "haar" or "ink"

    @property
    def center(self) -> np.ndarray:
        return np.array([(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2], np.float32)

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])


@lru_cache(maxsize=4)
def _cascade(name: str):
    import cv2

    c = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if c.empty():
        raise UserError(f"OpenCV's Haar cascade {name} could not be loaded; install opencv-python-headless 4.x")
    return c


def to_gray_u8(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    if a.ndim == 3:
        a = (a[..., :3].astype(np.float32) @ np.float32([0.299, 0.587, 0.114])).astype(np.uint8)
    return a


def haar_faces(rgb: np.ndarray, min_frac: float = 0.2) -> list[tuple[float, float, float, float]]:
    """All Haar face boxes (largest first), input pixels. Images are brought to ~256-512 px first."""
    import cv2

    g = to_gray_u8(rgb)
    h, w = g.shape
    scale = 320.0 / max(h, w) if max(h, w) > 640 or max(h, w) < 160 else 1.0
    if scale != 1.0:
        g = cv2.resize(g, (max(int(w * scale), 1), max(int(h * scale), 1)),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    g = cv2.equalizeHist(g)
    side = max(int(min(g.shape) * min_frac), 24)
    for name in CASCADES:
        faces = _cascade(name).detectMultiScale(g, 1.1, 4, minSize=(side, side))
        if len(faces):
            faces = sorted(faces, key=lambda b: -b[2] * b[3])
            return [(x / scale, y / scale, (x + bw) / scale, (y + bh) / scale) for x, y, bw, bh in faces]
    return []


def ink_box(rgb: np.ndarray) -> tuple[float, float, float, float] | None:
    """Box of the dark strokes of a drawing, or None when the page is blank or the ink is not face-like."""
    g = to_gray_u8(rgb).astype(np.float32) / 255
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    paper = max(float(np.median(border)), 0.5)
    ink = g < paper * 0.6
    frac = ink.mean()
    if ink.sum() < 30 or frac > 0.5:
        return None
    ys, xs = np.nonzero(ink)
    x0, x1 = np.percentile(xs, [1, 99])
    y0, y1 = np.percentile(ys, [1, 99])
    bw, bh = x1 - x0 + 1, y1 - y0 + 1
    if min(bw, bh) < 0.1 * min(g.shape) or not 0.4 < bw / bh < 2.0:
        return None
    return float(x0), float(y0), float(x1 + 1), float(y1 + 1)


def detect(rgb: np.ndarray, kind: str = "photo") -> Detection | None:
    """The main face of the image: the largest Haar box; for sketches the ink box when Haar finds none."""
    boxes = haar_faces(rgb)
    if boxes:
        return Detection(tuple(float(v) for v in boxes[0]), "haar")
    if kind in ("sketch", "lines"):
        box = ink_box(rgb)
        if box is not None:
            return Detection(box, "ink")
    return None


def detect_or_raise(rgb: np.ndarray, kind: str = "photo") -> Detection:
    d = detect(rgb, kind)
    if d is None:
        raise NoFaceError(NO_FACE)
    return d
