"""A simple face drawn as pen strokes, the way a person draws on the sketch pad.

Strokes are polylines in canvas fractions (x right, y down, 0..1). The same strokes make the hand-drawn example
in demo/examples/, the drawn sketches of the tests and the mouse moves of the browser test.
"""
from __future__ import annotations

import numpy as np


def _arc(cx, cy, rx, ry, a0, a1, n=24):
    t = np.radians(np.linspace(a0, a1, n))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in t]


def _curve(points, n=16):
    """A smooth curve through a few points (Catmull-Rom)."""
    p = np.asarray(points, np.float64)
    p = np.concatenate([p[:1], p, p[-1:]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        for t in np.linspace(0, 1, n, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                              + (-p0 + 3 * p1 - 3 * p2 + p3) * t3))
    out.append(p[-2])
    return [tuple(map(float, q)) for q in out]


def face_strokes(wrinkles: bool = True) -> list[list[tuple[float, float]]]:
    """Outline, ears, brows, eyes, nose, mouth and (optionally) forehead wrinkles and nasolabial folds."""
    s = [
        _curve([(0.22, 0.30), (0.21, 0.48), (0.27, 0.68), (0.38, 0.82), (0.50, 0.87), (0.62, 0.82),
                (0.73, 0.68), (0.79, 0.48), (0.78, 0.30)]),                            # jaw and cheeks
        _curve([(0.22, 0.30), (0.27, 0.15), (0.40, 0.08), (0.50, 0.07), (0.60, 0.08), (0.73, 0.15),
                (0.78, 0.30)]),                                                         # top of the head
        _curve([(0.215, 0.40), (0.18, 0.38), (0.17, 0.46), (0.20, 0.55), (0.225, 0.56)]),  # left ear
        _curve([(0.785, 0.40), (0.82, 0.38), (0.83, 0.46), (0.80, 0.55), (0.775, 0.56)]),  # right ear
        _curve([(0.29, 0.355), (0.34, 0.33), (0.40, 0.335), (0.44, 0.35)]),             # brows
        _curve([(0.56, 0.35), (0.60, 0.335), (0.66, 0.33), (0.71, 0.355)]),
        _curve([(0.31, 0.42), (0.36, 0.395), (0.42, 0.42)]) + _curve([(0.42, 0.42), (0.36, 0.44), (0.31, 0.42)]),
        _curve([(0.58, 0.42), (0.64, 0.395), (0.69, 0.42)]) + _curve([(0.69, 0.42), (0.64, 0.44), (0.58, 0.42)]),
        _arc(0.365, 0.418, 0.012, 0.012, 0, 360, 12),                                   # pupils
        _arc(0.635, 0.418, 0.012, 0.012, 0, 360, 12),
        _curve([(0.47, 0.41), (0.465, 0.50), (0.45, 0.57), (0.47, 0.595)]),             # nose side
        _curve([(0.44, 0.585), (0.47, 0.605), (0.50, 0.61), (0.53, 0.605), (0.56, 0.585)]),  # nostrils
        _curve([(0.39, 0.695), (0.45, 0.68), (0.50, 0.685), (0.55, 0.68), (0.61, 0.695)]),  # lips
        _curve([(0.39, 0.695), (0.45, 0.725), (0.50, 0.73), (0.55, 0.725), (0.61, 0.695)]),
        _curve([(0.41, 0.70), (0.50, 0.705), (0.59, 0.70)]),
    ]
    if wrinkles:
        s += [
            _curve([(0.35, 0.22), (0.43, 0.205), (0.50, 0.20), (0.57, 0.205), (0.65, 0.22)]),   # forehead
            _curve([(0.37, 0.265), (0.44, 0.25), (0.50, 0.248), (0.56, 0.25), (0.63, 0.265)]),
            _curve([(0.42, 0.58), (0.39, 0.63), (0.375, 0.68)]),                            # nasolabial folds
            _curve([(0.58, 0.58), (0.61, 0.63), (0.625, 0.68)]),
        ]
    return s


def draw_strokes(strokes, side: int = 256, width: float = 2.0, jitter: float = 0.0, seed: int = 0) -> np.ndarray:
    """Black strokes (``width`` pixels) on white, uint8 (side, side); ``jitter`` wobbles them (pixels)."""
    import cv2

    rng = np.random.default_rng(seed)
    shift = 4                                           # sub-pixel precision of cv2.polylines
    img = np.full((side, side), 255, np.uint8)
    for stroke in strokes:
        p = np.asarray(stroke, np.float64) * side
        if jitter:
            p = p + rng.normal(0, jitter, p.shape).cumsum(0) * 0.3
        pts = np.round(p * (1 << shift)).astype(np.int32)[:, None, :]
        cv2.polylines(img, [pts], False, 0, max(1, int(round(width))), cv2.LINE_AA, shift)
    return img
