"""Fine detail layers, the FineData idea: wrinkles, folds, scars and moles as a displacement map.

Each detail is a curve in image space placed relative to the 68 landmarks, with a random depth and width;
its displacement is a Gaussian cross-section along the curve, tapered at the ends. The same curves are
returned so that clean line drawings can draw them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM, FRAME_CM
from sketchface.synth.landmarks import interocular

KINDS = ("forehead", "frown", "crows_feet", "nasolabial", "scar", "mole")


@dataclass
class Detail:
    kind: str
    points: np.ndarray       # (P, 2) pixel polyline (one point for a mole)
    depth_cm: float          # signed: negative = a groove, positive = a ridge/bump
    width_cm: float          # Gaussian sigma of the cross-section


@dataclass
class DetailLayer:
    details: list[Detail] = field(default_factory=list)

    def displacement(self, size: int, scale: float = 1.0) -> np.ndarray:
        """Normalised-depth displacement (H, W) float32."""
        out = np.zeros((size, size), np.float32)
        px_per_cm = size / FRAME_CM * scale
        to_depth = scale / (DEPTH_NEAR_CM - DEPTH_FAR_CM)
        for d in self.details:
            sigma = max(d.width_cm * px_per_cm, 0.6)
            # work in the curve's bounding box (plus 4 sigma), not the whole image
            r = int(np.ceil(4 * sigma)) + 2
            x0, y0 = np.floor(d.points.min(0)).astype(int) - r
            x1, y1 = np.ceil(d.points.max(0)).astype(int) + r + 1
            cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, size), min(y1, size)
            if cx0 >= cx1 or cy0 >= cy1:
                continue
            canvas = np.zeros((y1 - y0, x1 - x0), np.float32)
            pts = d.points - np.array([x0, y0])
            if len(pts) == 1:
                cv2.circle(canvas, _pt(pts[0]), max(1, int(round(sigma))), 1.0, -1, cv2.LINE_AA)
                peak = None
            else:
                n = len(pts) - 1
                for i in range(n):  # taper: sin profile along the curve
                    t = (i + 0.5) / n
                    cv2.line(canvas, _pt(pts[i]), _pt(pts[i + 1]), float(np.sin(np.pi * t) ** 0.5), 1, cv2.LINE_AA)
                peak = 1.0 / (np.sqrt(2 * np.pi) * sigma)
            blurred = cv2.GaussianBlur(canvas, (0, 0), sigma)
            if peak is None:
                peak = max(float(blurred.max()), 1e-6)
            out[cy0:cy1, cx0:cx1] += blurred[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] * (d.depth_cm * to_depth / peak)
        return out


def _pt(p) -> tuple[int, int]:
    # cv2 sub-pixel drawing: shift=0 keeps it simple; round to nearest pixel
    return int(round(float(p[0]))), int(round(float(p[1])))


def _curve(a, b, bend: float, n: int = 12, wobble: float = 0.0, rng=None) -> np.ndarray:
    """Quadratic curve from a to b bulging by ``bend`` (pixels, to the left of a->b)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    t = np.linspace(0, 1, n)[:, None]
    d = b - a
    normal = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9)
    ctrl = (a + b) / 2 + normal * bend * 2
    pts = (1 - t) ** 2 * a + 2 * (1 - t) * t * ctrl + t ** 2 * b
    if wobble and rng is not None:
        pts = pts + rng.normal(0, wobble, pts.shape) * np.sin(np.pi * t)
    return pts


def sample_details(lm: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> DetailLayer:
    """Random detail curves for a face with landmarks ``lm`` (68, 2). ``amount`` scales how many."""
    iod = interocular(lm)
    up = lm[27] - lm[8]
    up = up / (np.linalg.norm(up) + 1e-9)          # image direction of "up" on the face
    right = np.array([-up[1], up[0]])               # perpendicular
    if right[0] < 0:
        right = -right
    out: list[Detail] = []

    def depth(lo, hi):
        return -float(rng.uniform(lo, hi))

    brow_mid = (lm[19] + lm[24]) / 2
    if rng.random() < 0.7 * amount:  # forehead wrinkles
        for j in range(rng.integers(1, 5)):
            c = brow_mid + up * iod * (0.35 + 0.17 * j + rng.uniform(-0.04, 0.04))
            half = iod * rng.uniform(0.35, 0.6)
            a, b = c - right * half, c + right * half
            out.append(Detail("forehead", _curve(a, b, rng.uniform(-0.06, 0.06) * iod, 16, 0.6, rng),
                              depth(0.05, 0.22), rng.uniform(0.05, 0.12)))
    if rng.random() < 0.5 * amount:  # frown lines between the brows
        mid = (lm[21] + lm[22]) / 2
        for s in rng.choice([-1, 1], size=rng.integers(1, 3), replace=False):
            a = mid + right * s * iod * 0.07 + up * iod * 0.05
            b = a + up * iod * rng.uniform(0.2, 0.35) + right * s * iod * 0.03
            out.append(Detail("frown", _curve(a, b, s * 0.02 * iod, 8), depth(0.05, 0.18), rng.uniform(0.04, 0.09)))
    if rng.random() < 0.6 * amount:  # crow's feet at the outer eye corners
        for corner, s in ((lm[36], -1), (lm[45], 1)):
            for ang in rng.uniform(-35, 35, size=rng.integers(1, 4)):
                th = np.deg2rad(ang)
                direction = right * s * np.cos(th) + up * np.sin(th)
                a = corner + right * s * iod * 0.06
                b = a + direction * iod * rng.uniform(0.12, 0.25)
                out.append(Detail("crows_feet", _curve(a, b, 0.01 * iod, 6), depth(0.03, 0.12),
                                  rng.uniform(0.03, 0.07)))
    if rng.random() < 0.7 * amount:  # nasolabial folds
        for wing, corner, s in ((lm[31], lm[48], -1), (lm[35], lm[54], 1)):
            a = wing + right * s * iod * 0.08 + up * iod * 0.05
            b = corner + right * s * iod * 0.1 - up * iod * rng.uniform(0.0, 0.15)
            out.append(Detail("nasolabial", _curve(a, b, -s * rng.uniform(0.02, 0.08) * iod * (1 if s > 0 else -1), 12),
                              depth(0.08, 0.3), rng.uniform(0.08, 0.16)))
    if rng.random() < 0.25 * amount:  # a scar on a cheek or the forehead
        anchor = lm[rng.choice([2, 14, 19, 24, 31, 35])]
        c = anchor + (lm[30] - anchor) * rng.uniform(0.2, 0.5) + up * rng.uniform(0, 0.5) * iod * (anchor[1] < lm[30][1])
        th = rng.uniform(0, np.pi)
        half = iod * rng.uniform(0.1, 0.3)
        dvec = np.array([np.cos(th), np.sin(th)]) * half
        sign = 1 if rng.random() < 0.4 else -1
        out.append(Detail("scar", _curve(c - dvec, c + dvec, rng.uniform(-0.05, 0.05) * iod, 10, 0.5, rng),
                          sign * float(rng.uniform(0.05, 0.15)), rng.uniform(0.04, 0.08)))
    for _ in range(rng.poisson(0.5 * amount)):  # moles
        anchor = lm[rng.choice([1, 3, 13, 15, 29, 33, 50, 52, 19, 24])]
        c = anchor + (lm[30] - anchor) * rng.uniform(0.1, 0.4)
        out.append(Detail("mole", c[None], float(rng.uniform(0.05, 0.12)), rng.uniform(0.06, 0.12)))
    return DetailLayer(out)
