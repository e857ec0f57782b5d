"""Sketch styles of the synthetic world.

- ``pencil``: XDoG on the photo plus a dodge-blend tone and hatching in the shadows (CUFSF-like).
- ``line_drawing``: clean strokes like a drawing on a web sketch pad: silhouette, jaw, brows, eyes, nose,
  lips and detail curves from the geometry, with random stroke width, jitter and gaps.
- ``augment_sketch``: what real inputs look like: hair around and over the head, neck and collar lines,
  scanned paper (grey tone, uneven light, dark wedges at the borders, JPEG artefacts), pen thickness.
All outputs are grey float32 in [0, 1], black strokes on white.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from sketchface.synth import landmarks as L
from sketchface.synth.details import DetailLayer
from sketchface.xdog import to_gray01, xdog


def pencil(photo: np.ndarray, shading: np.ndarray, mask: np.ndarray, rng: np.random.Generator
           ) -> tuple[np.ndarray, np.ndarray]:
    """Pencil sketch of a photo: XDoG contours, a soft dodge-blend tone, hatching where it is dark.
    Returns the sketch and its un-hatched version (contours and tone), from which the lines l are taken."""
    g = to_gray01(photo)
    h, w = g.shape
    s = h / 256.0
    # artists leave the background as paper: fade it to white, then stretch the contrast of the face
    soft = cv2.GaussianBlur(cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(np.float32),
                            (0, 0), 3 * s)
    g = g * soft + (1 - soft)
    if mask.any():
        lo, hi = np.percentile(g[mask], [2, 98])
        g = np.clip((g - lo) / max(hi - lo, 1e-3), 0, 1) * 0.9 + 0.1
    lines = xdog(g, sigma=rng.uniform(0.7, 1.1) * max(s, 0.5), k=1.6, tau=0.98, epsilon=rng.uniform(-0.004, 0.002))
    blur = cv2.GaussianBlur(1 - g, (0, 0), 6 * s)
    dodge = np.clip(g / np.maximum(1 - blur, 1e-3), 0, 1)
    tone = 1 - (1 - dodge) * rng.uniform(0.5, 0.9)
    # hatching: parallel strokes whose density follows darkness of the shading
    dark = np.clip((0.75 - shading) / 0.5, 0, 1) * mask
    dark = cv2.GaussianBlur(dark.astype(np.float32), (0, 0), 2 * s)
    th = rng.uniform(np.pi / 6, np.pi / 3)
    spacing = rng.uniform(3.0, 5.0) * max(s, 0.5)
    yy, xx = _grid(h, w)
    phase = (xx * np.float32(np.cos(th) / spacing)) + yy * np.float32(np.sin(th) / spacing)
    stripes = (np.abs(np.sin(np.pi * phase)) < 0.25).astype(np.float32)
    hatch = 1 - stripes * dark * rng.uniform(0.3, 0.6)
    plain = np.minimum(lines, tone)
    return np.clip(plain * hatch, 0, 1).astype(np.float32), plain.astype(np.float32)


@lru_cache(maxsize=4)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy, xx


def _jitter(pts: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    if len(pts) < 2 or amount <= 0:
        return pts
    n = rng.normal(0, amount, pts.shape)
    n = cv2.GaussianBlur(n.astype(np.float32), (1, 5), 0) if len(pts) >= 5 else n
    return pts + n


def _stroke(canvas, pts, width, rng, gap_prob=0.0, closed=False):
    pts = np.asarray(pts, np.float32)
    if closed:
        pts = np.concatenate([pts, pts[:1]], 0)
    # densify so that gaps and jitter look like hand strokes
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    total = float(seg.sum())
    if total < 1:
        return
    n = max(int(total / 3), 2)
    t = np.concatenate([[0], np.cumsum(seg)]) / total
    u = np.linspace(0, 1, n)
    dense = np.stack([np.interp(u, t, pts[:, 0]), np.interp(u, t, pts[:, 1])], 1)
    dense = _jitter(dense, 0.4 * width, rng)
    keep = np.ones(n - 1, bool)
    if gap_prob > 0:
        i = 0
        while i < n - 1:
            if rng.random() < gap_prob:
                keep[i:i + rng.integers(1, 4)] = False
            i += 1
    p = np.round(dense * 4).astype(np.int32)  # 2 fractional bits
    # draw each run of kept segments as one polyline
    runs, start = [], None
    for i, k in enumerate(keep):
        if k and start is None:
            start = i
        elif not k and start is not None:
            runs.append(p[start:i + 1])
            start = None
    if start is not None:
        runs.append(p[start:])
    cv2.polylines(canvas, [r.reshape(-1, 1, 2) for r in runs], False, 0.0, max(1, int(round(width))),
                  cv2.LINE_AA, 2)


def silhouette(mask: np.ndarray, lm: np.ndarray) -> list[np.ndarray]:
    """Outline of the face mask above the chin (the mesh's cut at the neck is not drawn)."""
    m = (mask > 0).astype(np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return []
    c = max(contours, key=cv2.contourArea)[:, 0, :].astype(np.float32)
    chin_y = lm[8, 1] - 0.02 * L.interocular(lm)
    keep = c[:, 1] < chin_y
    # split the contour into runs of kept points
    runs, cur = [], []
    for p, k in zip(c, keep):
        if k:
            cur.append(p)
        elif cur:
            runs.append(np.array(cur))
            cur = []
    if cur:
        runs.append(np.array(cur))
    return [r[::2] for r in runs if len(r) > 4]


def line_drawing(lm: np.ndarray, mask: np.ndarray, details: DetailLayer | None, rng: np.random.Generator,
                 detail_prob: float = 0.85) -> np.ndarray:
    """Clean line drawing from the geometry, like a drawing on a web sketch pad."""
    h, w = mask.shape
    s = h / 256.0
    canvas = np.ones((h, w), np.float32)
    width = rng.uniform(1.0, 3.2) * s
    gap = rng.uniform(0.0, 0.04)
    for run in silhouette(mask, lm):
        _stroke(canvas, run, width, rng, gap)
    for idx, closed in L.POLYLINES:
        if idx == L.NOSE_BRIDGE and rng.random() < 0.5:
            continue  # many people do not draw the nose bridge
        _stroke(canvas, lm[idx], width * rng.uniform(0.8, 1.1), rng, gap, closed)
    if rng.random() < 0.6:  # pupils
        for idx in (L.EYE_R, L.EYE_L):
            c = lm[idx].mean(0)
            r = max(1, int(0.08 * L.interocular(lm)))
            cv2.circle(canvas, (int(c[0]), int(c[1])), r, 0.0, -1, cv2.LINE_AA)
    if details is not None:
        for d in details.details:
            if d.kind == "mole":
                c = d.points[0]
                cv2.circle(canvas, (int(c[0]), int(c[1])), max(1, int(width)), 0.0, -1, cv2.LINE_AA)
            elif rng.random() < detail_prob:
                _stroke(canvas, d.points, width * rng.uniform(0.6, 1.0), rng, gap)
    return canvas


def _hair(canvas, lm, mask, rng, width):
    """Hair strokes around and over the top of the head."""
    h, w = canvas.shape
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return
    top, left, right = ys.min(), xs.min(), xs.max()
    cx = (left + right) / 2
    rx = (right - left) / 2 * rng.uniform(1.0, 1.25)
    ry = (lm[8, 1] - top) * rng.uniform(0.55, 0.8)
    cy = top + ry * rng.uniform(0.9, 1.1)
    n = rng.integers(8, 30)
    for _ in range(n):
        a0 = rng.uniform(np.pi * 0.95, np.pi * 2.05)
        span = rng.uniform(0.2, 0.9)
        a = np.linspace(a0, a0 + span * rng.choice([-1, 1]), 10)
        rr = rng.uniform(0.92, 1.12)
        pts = np.stack([cx + rx * rr * np.cos(a), cy + ry * rr * np.sin(a)], 1)
        if rng.random() < 0.3:  # fringe falling over the forehead
            pts = np.stack([pts[:, 0], pts[:, 1] + np.linspace(0, rng.uniform(0, 0.25) * ry, 10)], 1)
        _stroke(canvas, pts, width * rng.uniform(0.5, 1.0), rng)


def _neck_collar(canvas, lm, rng, width):
    h, w = canvas.shape
    iod = L.interocular(lm)
    for j, s in ((5, -1), (11, 1)):
        a = lm[j] + np.array([s * 0.05 * iod, 0.3 * iod])
        b = np.array([a[0] + s * rng.uniform(0, 0.2) * iod, h + 5])
        _stroke(canvas, np.stack([a, b]), width, rng)
    if rng.random() < 0.7:
        y = lm[8, 1] + iod * rng.uniform(0.8, 1.3)
        pts = np.stack([np.linspace(lm[3, 0] - 0.5 * iod, lm[13, 0] + 0.5 * iod, 12),
                        y + np.abs(np.linspace(-1, 1, 12)) * -0.3 * iod + 0.3 * iod], 1)
        _stroke(canvas, pts, width, rng)


def scan_effects(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey paper tone, uneven light, dark wedges at the borders and JPEG artefacts."""
    h, w = img.shape
    out = img.copy()
    if rng.random() < 0.7:
        paper = rng.uniform(0.75, 0.97)
        yy, xx = _grid(h, w)
        g = 1 - rng.uniform(0, 0.2) * ((xx / w - rng.random()) ** 2 + (yy / h - rng.random()) ** 2)
        out = out * paper * g
    if rng.random() < 0.3:  # dark wedge along a border
        pts = [(0, 0), (int(rng.uniform(0.05, 0.2) * w), 0), (0, h)]
        if rng.random() < 0.5:
            pts = [(w - 1 - x, y) for x, y in pts]
        wedge = np.ones((h, w), np.float32)
        cv2.fillPoly(wedge, [np.array(pts, np.int32)], rng.uniform(0.1, 0.5))
        out = out * wedge
    if rng.random() < 0.5:
        q = int(rng.integers(30, 90))
        ok, buf = cv2.imencode(".jpg", np.clip(out * 255, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, q])
        out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
    return np.clip(out, 0, 1).astype(np.float32)


def augment_sketch(img: np.ndarray, lm: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                   p_hair: float = 0.6, p_neck: float = 0.5, p_scan: float = 0.5) -> np.ndarray:
    """Add what real drawings have around the face (hair, neck, collar) and scanning artefacts."""
    out = img.copy()
    width = rng.uniform(0.8, 2.5) * img.shape[0] / 256
    if rng.random() < p_hair:
        _hair(out, lm, mask, rng, width)
    if rng.random() < p_neck:
        _neck_collar(out, lm, rng, width)
    if rng.random() < 0.3:  # thicker or thinner pen
        k = np.ones((2, 2), np.uint8)
        out = cv2.erode(out, k) if rng.random() < 0.7 else cv2.dilate(out, k)
    if rng.random() < p_scan:
        out = scan_effects(out, rng)
    return out
