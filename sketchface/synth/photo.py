"""Synthetic photos: an albedo (skin tone, brows, lips, eyes) shaded by Lambert + Blinn-Phong under a
random light, over a plain or noisy background."""
from __future__ import annotations

import cv2
import numpy as np

from sketchface.synth import landmarks as L

SKIN_TONES = np.float32([  # sRGB in [0, 1], light to dark
    [0.96, 0.80, 0.69], [0.92, 0.74, 0.60], [0.85, 0.65, 0.50], [0.76, 0.56, 0.42],
    [0.62, 0.44, 0.32], [0.45, 0.31, 0.22], [0.33, 0.22, 0.16],
])


def _poly(canvas, pts, value, closed=True, thickness=-1):
    p = np.round(pts).astype(np.int32).reshape(-1, 1, 2)
    if thickness < 0:
        cv2.fillPoly(canvas, [p], value, cv2.LINE_AA)
    else:
        cv2.polylines(canvas, [p], closed, value, thickness, cv2.LINE_AA)


def albedo(lm: np.ndarray, mask: np.ndarray, holes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-pixel albedo (H, W, 3) float32 for a face with landmarks ``lm``."""
    h, w = mask.shape
    iod = L.interocular(lm)
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = int(t)
    skin = SKIN_TONES[i] * (1 - (t - i)) + SKIN_TONES[min(i + 1, len(SKIN_TONES) - 1)] * (t - i)
    skin = (skin * rng.uniform(0.95, 1.05, 3)).astype(np.float32)
    base = np.broadcast_to(skin, (h, w, 3)).astype(np.float32).copy()
    # low-frequency blotches and a cheek blush
    noise = cv2.resize(rng.normal(0, 1, (h // 8 + 1, w // 8 + 1)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    noise /= noise.std() + 1e-6
    base *= (1 + 0.03 * noise)[..., None]
    blush = np.zeros((h, w), np.float32)
    for c in (lm[2] * 0.4 + lm[31] * 0.6, lm[14] * 0.4 + lm[35] * 0.6):
        cv2.circle(blush, tuple(int(v) for v in c), int(0.3 * iod), 1.0, -1)
    blush = cv2.GaussianBlur(blush, (0, 0), 0.15 * iod)
    base += blush[..., None] * np.array([0.06, -0.02, -0.02], np.float32) * rng.uniform(0, 1.5)
    # brows: darker, hair-coloured
    hair = np.float32([0.12, 0.09, 0.07]) * np.float32(rng.uniform(0.6, 2.2))
    brows = np.zeros((h, w), np.float32)
    bt = max(1, int(round(0.07 * iod * rng.uniform(0.7, 1.4))))
    _poly(brows, lm[L.BROW_R], 1.0, False, bt)
    _poly(brows, lm[L.BROW_L], 1.0, False, bt)
    brows = cv2.GaussianBlur(brows, (0, 0), max(0.6, 0.015 * iod)) * rng.uniform(0.6, 0.95)
    base = base * (1 - brows[..., None]) + hair * brows[..., None]
    # lips
    lips = np.zeros((h, w), np.float32)
    _poly(lips, lm[L.LIPS_OUTER], 1.0)
    lips = cv2.GaussianBlur(lips, (0, 0), max(0.6, 0.01 * iod))
    lip_col = skin * np.float32([0.85, 0.55, 0.55]) * np.float32(rng.uniform(0.8, 1.05))
    base = base * (1 - lips[..., None]) + lip_col * lips[..., None]
    mouth = np.zeros((h, w), np.float32)
    _poly(mouth, lm[L.LIPS_INNER], 1.0)
    base = base * (1 - mouth[..., None]) + np.float32([0.25, 0.08, 0.08]) * mouth[..., None]
    # eyes: sclera, iris and pupil inside the eye outline
    iris_col = (np.float32([0.25, 0.16, 0.08]) * rng.uniform(0.5, 2.0, 3)).astype(np.float32)
    for idx in (L.EYE_R, L.EYE_L):
        eye = np.zeros((h, w), np.float32)
        _poly(eye, lm[idx], 1.0)
        c = lm[idx].mean(0)
        r = 0.13 * iod
        iris = np.zeros((h, w), np.float32)
        cv2.circle(iris, tuple(int(v) for v in c), max(1, int(r)), 1.0, -1, cv2.LINE_AA)
        pupil = np.zeros((h, w), np.float32)
        cv2.circle(pupil, tuple(int(v) for v in c), max(1, int(r * 0.45)), 1.0, -1, cv2.LINE_AA)
        col = np.float32([0.9, 0.88, 0.85]) * (1 - iris[..., None]) + iris_col * iris[..., None]
        col = col * (1 - pupil[..., None]) + 0.03 * pupil[..., None]
        base = base * (1 - eye[..., None]) + col * eye[..., None]
        _poly(base, lm[idx], (0.1, 0.07, 0.06), True, max(1, int(0.025 * iod)))  # lash line
    return np.clip(base, 0, 1)


def shade(alb: np.ndarray, normals: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
          background: str = "random") -> tuple[np.ndarray, np.ndarray, dict]:
    """Photo (H, W, 3) float32 and grey shading (H, W) under a random light; returns the light too."""
    az, el = np.deg2rad(rng.uniform(-60, 60)), np.deg2rad(rng.uniform(-10, 50))
    light = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)], np.float32)
    ambient = rng.uniform(0.2, 0.4)
    ndl = np.clip(normals @ light, 0, 1)
    half = light + np.array([0, 0, 1], np.float32)
    half /= np.linalg.norm(half)
    spec = np.clip(normals @ half, 0, 1) ** np.float32(rng.uniform(15, 40)) * np.float32(rng.uniform(0.05, 0.25))
    shading = (ambient + (1 - ambient) * ndl).astype(np.float32)
    img = alb * shading[..., None] + spec[..., None]
    h, w = mask.shape
    kind = background if background != "random" else rng.choice(["plain", "noisy", "gradient"])
    bg_col = rng.uniform(0.15, 0.95, 3).astype(np.float32)
    if kind == "plain":
        bg = np.broadcast_to(bg_col, (h, w, 3))
    elif kind == "gradient":
        ramp = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0), h, dtype=np.float32)[:, None, None]
        bg = bg_col * ramp * np.ones((1, w, 1), np.float32)
    else:
        f = int(rng.integers(2, 9))  # noise grain in pixels, drawn at low resolution and upsampled
        n = cv2.resize(rng.normal(0, 1, (h // f + 1, w // f + 1, 3)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_LINEAR)
        n = n.mean(-1, keepdims=True) * 0.7 + n * 0.3  # mostly luminance noise
        bg = bg_col + 0.12 * n / (n.std() + 1e-6)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.7)[..., None]
    img = img * soft + bg * (1 - soft)
    return np.clip(img, 0, 1).astype(np.float32), shading * mask, {"light": light.tolist(), "ambient": float(ambient),
                                                                    "background": str(kind)}
