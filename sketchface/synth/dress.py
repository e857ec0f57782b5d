"""Dress a synthetic drawing as artists draw real people: a shaded mass of hair (a cap, a fringe over the
forehead, long hair beside the cheeks), glasses, and a collar and shoulders.

The world's faces are bald and bare, while real artist sketches are mostly hair, glasses and collars
(docs/DATASETS.md). ``dress`` paints them over a drawing (grey, black on white, the training framing) from its
68 landmarks, without changing the depth underneath: a network trained on dressed drawings has to learn that hair
and glasses are not geometry. Every element is drawn with OpenCV on the drawing's own pixels.
"""
from __future__ import annotations

import cv2
import numpy as np


def _strand_texture(shape, rng, angle: float, darkness: float) -> np.ndarray:
    """Ink in [0, 1]: noise smeared along ``angle`` (degrees), like pencil strands of hair."""
    h, w = shape
    noise = rng.random((h, w)).astype(np.float32)
    k = max(3, int(round(h * rng.uniform(0.06, 0.14))) | 1)
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0 / k
    rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (k, k))
    kernel /= max(kernel.sum(), 1e-6)
    smear = cv2.filter2D(noise, -1, kernel, borderType=cv2.BORDER_REFLECT)
    smear = (smear - smear.mean()) / (smear.std() + 1e-6)
    return np.clip(darkness * (0.75 + 0.35 * smear), 0, 1)


def hair(img: np.ndarray, lm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A hair mass over the top of the head: a cap above a hairline between the brows and the skull's top, and
    sometimes a fringe or long hair down beside the cheeks."""
    h, w = img.shape
    brow_y = float(lm[17:27, 1].min())
    chin_y = float(lm[8, 1])
    face_h = max(chin_y - brow_y, 4.0)
    cx = float(lm[27:31, 0].mean()) + rng.normal(0, 0.03) * face_h
    half_w = float(np.ptp(lm[0:17, 0])) / 2 * rng.uniform(1.05, 1.35)
    top = brow_y - face_h * rng.uniform(0.55, 0.95)
    region = np.zeros((h, w), np.uint8)
    centre = (int(round(cx)), int(round(brow_y + face_h * 0.1)))
    axes = (int(round(half_w)), int(round(brow_y + face_h * 0.1 - top)))
    cv2.ellipse(region, centre, axes, 0, 180, 360, 1, -1)
    hairline = brow_y - face_h * rng.uniform(-0.05, 0.35)          # a fringe reaches down to the brows
    ys = np.arange(h)[:, None]
    xs = np.arange(w)[None, :]
    curve = hairline - face_h * 0.25 * (1 - ((xs - cx) / max(half_w, 1)) ** 2).clip(0, 1) * rng.uniform(0, 1)
    cap = (region > 0) & (ys < curve)
    if rng.random() < 0.4:                                          # long hair beside the cheeks
        length = chin_y + face_h * rng.uniform(-0.3, 0.4)
        face_half = float(np.ptp(lm[0:17, 0])) / 2
        for side in (-1, 1):
            x_in = cx + side * face_half * rng.uniform(0.85, 1.0)
            x_out = x_in + side * face_half * rng.uniform(0.15, 0.45)
            lo, hi = sorted((x_in, x_out))
            # a strip that narrows towards its end
            taper = np.clip((length - ys) / max(length - brow_y, 1.0), 0.3, 1.0)
            mid, half = (lo + hi) / 2, (hi - lo) / 2 * taper
            cap |= (np.abs(xs - mid) <= half) & (ys >= brow_y - face_h * 0.1) & (ys <= length)
    ink = _strand_texture((h, w), rng, rng.uniform(60, 120), rng.uniform(0.35, 0.95))
    soft = cv2.GaussianBlur(cap.astype(np.float32), (0, 0), max(0.6, h / 256))
    outline = cv2.morphologyEx(cap.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((2, 2), np.uint8)) > 0
    ink = np.maximum(ink * soft, outline * rng.uniform(0.3, 0.8))
    return np.minimum(img, 1.0 - ink)


def glasses(img: np.ndarray, lm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two rims around the eyes (round or square), a bridge and the temples, in one pen."""
    out = (img * 255).astype(np.uint8)
    eyes = [lm[36:42].mean(0), lm[42:48].mean(0)]
    iod = float(np.linalg.norm(eyes[1] - eyes[0]))
    rx, ry = iod * rng.uniform(0.32, 0.45), iod * rng.uniform(0.22, 0.34)
    shade = int(rng.uniform(0, 90))
    t = max(1, int(round(rng.uniform(0.6, 1.8) * img.shape[0] / 128)))
    square = rng.random() < 0.5
    for e in eyes:
        c = (int(round(e[0])), int(round(e[1] + ry * 0.1)))
        if square:
            cv2.rectangle(out, (int(c[0] - rx), int(c[1] - ry)), (int(c[0] + rx), int(c[1] + ry)), shade, t)
        else:
            cv2.ellipse(out, c, (int(rx), int(ry)), 0, 0, 360, shade, t)
    y = int(round((eyes[0][1] + eyes[1][1]) / 2 - ry * 0.3))
    cv2.line(out, (int(eyes[0][0] + rx), y), (int(eyes[1][0] - rx), y), shade, t)
    for e, side in zip(eyes, (-1, 1)):
        x0 = int(e[0] + side * rx)
        cv2.line(out, (x0, y), (int(x0 + side * iod * 0.35), y - int(iod * 0.05)), shade, t)
    return out.astype(np.float32) / 255


def collar(img: np.ndarray, lm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shoulder and collar lines below the chin."""
    out = (img * 255).astype(np.uint8)
    h, w = img.shape
    chin = lm[8]
    face_w = float(np.ptp(lm[0:17, 0]))
    y0 = chin[1] + face_w * rng.uniform(0.2, 0.5)
    shade = int(rng.uniform(0, 100))
    t = max(1, int(round(rng.uniform(0.6, 1.6) * h / 128)))
    for side in (-1, 1):
        pts = np.array([[chin[0] + side * face_w * 0.3, y0], [chin[0] + side * face_w * 0.8, y0 + face_w * 0.15],
                        [chin[0] + side * face_w * 1.6, y0 + face_w * 0.35]], np.int32)
        cv2.polylines(out, [pts], False, shade, t)
        v = np.array([[chin[0] + side * face_w * 0.3, y0], [chin[0], y0 + face_w * rng.uniform(0.2, 0.4)]], np.int32)
        cv2.polylines(out, [v], False, shade, t)
    return out.astype(np.float32) / 255


def dress(img: np.ndarray, lm: np.ndarray, rng: np.random.Generator, p_hair: float = 0.7,
          p_glasses: float = 0.3, p_collar: float = 0.5) -> np.ndarray:
    """``img`` (H, W) grey in [0, 1] with hair, glasses and a collar, each with its probability."""
    out = np.asarray(img, np.float32)
    if rng.random() < p_collar:
        out = collar(out, lm, rng)
    if rng.random() < p_hair:
        out = hair(out, lm, rng)
    if rng.random() < p_glasses:
        out = glasses(out, lm, rng)
    return out


def _redraw_rows(x, landmarks, redraw, chosen):
    """A copy of a batch of drawings (torch, (N, H, W) or (N, 1, H, W), in [0, 1]) in which each drawing ``i`` for
    which ``chosen(i)`` holds (asked in order) is ``redraw(drawing, its (68, 2) landmarks)`` (numpy)."""
    import torch

    out = x.clone()
    flat = out[:, 0] if out.dim() == 4 else out
    for i in range(len(x)):
        if chosen(i):
            pts = np.asarray(landmarks[i].cpu() if hasattr(landmarks[i], "cpu") else landmarks[i], np.float32)
            flat[i] = torch.from_numpy(redraw(flat[i].detach().cpu().float().numpy(), pts)).to(flat)
    return out


def dress_batch(x, landmarks, rng: np.random.Generator, share: float):
    """A ``share`` of a batch of drawings (torch, (N, H, W) or (N, 1, H, W), in [0, 1]) dressed by ``dress``;
    ``landmarks`` (N, 68, 2) in the drawings' pixels. Returns a new tensor."""
    return _redraw_rows(x, landmarks, lambda img, pts: dress(img, pts, rng), lambda i: rng.random() < share)


# the inner features by their 68-landmark ranges: what a quick drawing may hold without any outline
FEATURE_GROUPS = {"eyes": ((36, 42), (42, 48)), "brows": ((17, 22), (22, 27)), "nose": ((27, 36),),
                  "mouth": ((48, 68),), "cheeks": ((2, 7), (10, 15))}
FEATURE_KEEP = {"eyes": 1.0, "brows": 0.6, "nose": 0.7, "mouth": 0.8, "cheeks": 0.3}


def features_only(img: np.ndarray, lm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A sparse drawing made of a full one: only the ink near the eyes (always), and by chance the brows, the nose,
    the mouth and bits of the cheeks' outline (``FEATURE_KEEP``), each a box around its landmarks padded by 12 % of
    the eyes' distance; paper (1) elsewhere. Quick drawings on the sketch pad and sparse line drawings look so."""
    h, w = img.shape
    eye_dist = float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))
    pad = max(0.12 * eye_dist, 1.0)
    keep = np.zeros((h, w), bool)
    for name, ranges in FEATURE_GROUPS.items():
        if rng.random() >= FEATURE_KEEP[name]:
            continue
        for a, b in ranges:
            x0, y0 = np.floor(lm[a:b].min(0) - pad).astype(int)
            x1, y1 = np.ceil(lm[a:b].max(0) + pad).astype(int)
            keep[max(y0, 0):max(y1 + 1, 0), max(x0, 0):max(x1 + 1, 0)] = True
    return np.where(keep, img, 1.0).astype(img.dtype)


def features_only_batch(x, landmarks, rng: np.random.Generator, rows):
    """``features_only`` on the drawings of a batch (as ``dress_batch``) whose ``rows`` (N, bool) are set. Returns a
    new tensor."""
    rows = np.asarray(rows, bool)
    return _redraw_rows(x, landmarks, lambda img, pts: features_only(img, pts, rng), lambda i: bool(rows[i]))
