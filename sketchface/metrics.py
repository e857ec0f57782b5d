"""Evaluation metrics: Err (12), Var (13), line precision/recall/F1, scale-and-shift-invariant
depth error, depth error at landmarks.

Inputs may be numpy arrays or torch tensors in [0, 1]; a set of depth maps is (K, H, W)
or (K, 1, H, W). Everything is computed in float64 numpy. Depth metrics are reported on
the 0..255 scale of 8-bit depth images by default (``scale=255``), as in the paper.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _stack(maps: Any) -> np.ndarray:
    """(K, H, W) / (K, 1, H, W) / (H, W) -> (K, H, W)."""
    a = _np(maps)
    if a.ndim == 4:
        if a.shape[1] != 1:
            raise ValueError(f"expected single-channel maps (K, 1, H, W), got {a.shape}")
        a = a[:, 0]
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"expected maps of shape (K, H, W) or (K, 1, H, W), got {a.shape}")
    return a


def _squared_error(gt: Any, pred: Any, scale: float) -> np.ndarray:
    g, p = _stack(gt), _stack(pred)
    if g.shape != p.shape:
        raise ValueError(f"gt {g.shape} and pred {p.shape} differ in shape")
    return (scale * (g - p)) ** 2


def depth_error(gt: Any, pred: Any, scale: float = 255.0, mask: Any = None,
                per_sample: bool = False) -> float | np.ndarray:
    """Err (12) = (1/K) sum_i (1/|pixels|) ||scale * (d_gt_i - d_out_i)||^2.

    With ``mask`` (same shape, 0/1) each sample's mean runs over its masked pixels only.
    ``per_sample=True`` returns the K per-sample errors instead of their mean.
    """
    sq = _squared_error(gt, pred, scale)
    if mask is None:
        per = sq.reshape(len(sq), -1).mean(1)
    else:
        m = _stack(mask) > 0
        per = (sq * m).reshape(len(sq), -1).sum(1) / np.maximum(m.reshape(len(m), -1).sum(1), 1)
    return per if per_sample else float(per.mean())


def depth_error_parts(gt: Any, pred: Any, gt_mask: Any, scale: float = 255.0,
                      face_level: float = 0.5) -> dict[str, float]:
    """Err (12) split by where the two faces are: ``inside`` sums the squared error over the pixels that both the
    ground truth (``gt_mask``) and the prediction (depth above ``face_level`` on the 0..``scale`` scale) call face,
    ``outline`` over the pixels only one of them does (or neither); both are divided by every pixel, so
    ``inside + outline`` is ``depth_error(gt, pred)``. A prediction whose face is right but whose outline sits a few
    pixels off loses its Err in ``outline``."""
    sq = _squared_error(gt, pred, scale)
    both = (_stack(gt_mask) > 0) & (scale * _stack(pred) > face_level)
    sq, both = sq.reshape(len(sq), -1), both.reshape(len(sq), -1)
    inside = float((sq * both).mean(1).mean())
    return {"inside": inside, "outline": float(sq.mean(1).mean()) - inside}


def snapshot_eigenvalues(maps: Any, scale: float = 255.0, ddof: int = 1) -> np.ndarray:
    """Eigenvalues (descending) of the pixel covariance of K maps, by the snapshot method.

    Data matrix X: one column per map (P pixels x K maps), centred by the mean map.
    The P x P covariance X X^T / (K - ddof) has the same non-zero eigenvalues as the
    K x K Gram matrix X^T X / (K - ddof), which is what is decomposed.
    """
    a = _stack(maps)
    k = len(a)
    if k < 2:
        raise ValueError("the covariance of a set of depth maps needs at least 2 maps")
    x = scale * a.reshape(k, -1)                                   # (K, P): row i = map i
    x = x - x.mean(0, keepdims=True)                               # centre each pixel
    gram = x @ x.T / (k - ddof)                                    # (K, K)
    return np.linalg.eigvalsh(gram)[::-1]


def variance_metric(maps: Any, scale: float = 255.0, rtol: float = 1e-9, ddof: int = 1,
                    return_count: bool = False, top_k: int | None = None) -> float | tuple[float, int]:
    """Var (13) = (prod_{i=1..n} lambda_i)^(1/n), computed as exp(mean(log lambda_i)).

    lambda_i are the covariance eigenvalues of ``snapshot_eigenvalues``. Centring K maps
    leaves at most K - 1 non-zero eigenvalues (fewer if maps are linearly dependent), and
    the zero ones would make the product 0, so only eigenvalues above
    ``rtol * largest`` are kept; n is the number kept (returned with ``return_count``).
    A set of identical maps has no positive eigenvalue and gives Var = 0.

    Over many maps the product is dominated by the smallest eigenvalues, i.e. by pixel noise
    rather than by how much the faces differ; ``top_k`` keeps only the k largest eigenvalues
    (the main modes of variation), which measures the diversity of the faces themselves.
    """
    lam = snapshot_eigenvalues(maps, scale, ddof)
    top = lam[0] if lam.size else 0.0
    kept = lam[lam > max(top * rtol, 0.0)] if top > 0 else lam[:0]
    if top_k is not None:
        kept = kept[:max(int(top_k), 1)]
    value = float(np.exp(np.mean(np.log(kept)))) if kept.size else 0.0
    return (value, int(kept.size)) if return_count else value


def _binary_dilate(x: np.ndarray, radius: int) -> np.ndarray:
    """Square dilation of boolean (K, H, W) maps by ``radius`` pixels."""
    if radius <= 0:
        return x
    from scipy.ndimage import binary_dilation

    structure = np.ones((1, 2 * radius + 1, 2 * radius + 1), dtype=bool)
    return binary_dilation(x, structure=structure)


def erode_mask(mask: Any, radius: int) -> np.ndarray:
    """Boolean (K, H, W) masks shrunk by ``radius`` pixels (square structuring element), e.g. the face without
    its silhouette rim. The image border does not count as outside the mask."""
    m = _stack(mask) > 0
    return m & ~_binary_dilate(~m, radius) if radius > 0 else m


def line_scores(lines_ref: Any, lines_pred: Any, tolerance: int = 1,
                threshold: float = 0.5, region: Any = None) -> dict[str, float]:
    """Precision, recall and F1 of predicted lines l' against reference lines l.

    Lines are black: a pixel is a line pixel when its value is < ``threshold``.
    A predicted line pixel is correct when a reference line pixel lies within
    ``tolerance`` pixels (Chebyshev distance, i.e. a (2t+1)^2 dilation); a reference line
    pixel is recalled when a predicted one lies within ``tolerance``. Counts are summed
    over a batch. 0/0 counts as 1 (nothing to find / nothing predicted); F1 is 0 when
    precision + recall = 0. With ``region`` (0/1 maps of the same shape, e.g. the face mask) only the line
    pixels inside it are scored, on both sides; matches may still come from outside.
    """
    ref = _stack(lines_ref) < threshold
    pred = _stack(lines_pred) < threshold
    if ref.shape != pred.shape:
        raise ValueError(f"line maps differ in shape: {ref.shape} vs {pred.shape}")
    inside = np.ones_like(ref) if region is None else _stack(region) > 0
    if inside.shape != ref.shape:
        raise ValueError(f"region {inside.shape} and line maps {ref.shape} differ in shape")
    n_pred, n_ref = int((pred & inside).sum()), int((ref & inside).sum())
    hit_pred = int((pred & inside & _binary_dilate(ref, tolerance)).sum())
    hit_ref = int((ref & inside & _binary_dilate(pred, tolerance)).sum())
    precision = hit_pred / n_pred if n_pred else 1.0
    recall = hit_ref / n_ref if n_ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def line_distances(lines_ref: Any, lines_pred: Any, threshold: float = 0.5, cap: int = 32) -> np.ndarray:
    """For every pixel, the Chebyshev distance in pixels to the nearest line pixel of ``lines_pred`` (K, H, W),
    at most ``cap`` (also where l' has no line at all). Read at the line pixels of l it says how a line was
    missed: a reference line pixel is recalled by ``line_scores`` (tolerance 1) when its distance is <= 1; 2-4
    is a near miss (e.g. one of two strokes drawn 3 px apart, which l' draws as one line)."""
    from scipy.ndimage import distance_transform_cdt

    pred = _stack(lines_pred) < threshold
    if pred.shape != _stack(lines_ref).shape:
        raise ValueError(f"line maps differ in shape: {_stack(lines_ref).shape} vs {pred.shape}")
    out = np.full(pred.shape, cap, dtype=np.int32)
    for i, p in enumerate(pred):
        if p.any():
            out[i] = np.minimum(distance_transform_cdt(~p, metric="chessboard"), cap)
    return out


def displacement_locality(lines: Any, displacement: Any, mask: Any = None, near: int = 1, far: int = 3,
                          threshold: float = 0.5, scale: float = 255.0) -> dict[str, float]:
    """Where FineNet moves the surface: mean |displacement| on and off the drawn lines.

    ``on``: pixels within ``near`` pixels of a line of l (value < ``threshold``); ``off``: pixels
    farther than ``far`` pixels from every line, i.e. surface the user drew nothing on (creases
    there are FineNet's own). Both inside ``mask`` (all pixels when None), on the ``scale`` scale.
    A pixel class with no pixels gives 0.
    """
    ref = _stack(lines) < threshold
    d = np.abs(_stack(displacement)) * scale
    if ref.shape != d.shape:
        raise ValueError(f"line and displacement maps differ in shape: {ref.shape} vs {d.shape}")
    m = np.ones_like(ref) if mask is None else _stack(mask) > 0
    on = _binary_dilate(ref, near) & m
    off = ~_binary_dilate(ref, far) & m
    return {"on": float(d[on].mean()) if on.any() else 0.0, "off": float(d[off].mean()) if off.any() else 0.0}


def roughness(maps: Any, mask: Any = None, erode: int = 3) -> float:
    """Mean |discrete Laplacian| over mean |value|, inside ``mask`` shrunk by ``erode`` pixels (all pixels when
    None): how jagged a displacement map is for its size. Blocky displacement (steps at the decoder's coarsest
    scale) scores high; a groove that follows a drawn line smoothly scores low. Scale-free, 0 for a constant
    map of zeros.
    """
    from scipy.ndimage import laplace

    a = _stack(maps)
    inside = np.ones_like(a, dtype=bool) if mask is None else _stack(mask) > 0
    if inside.shape != a.shape:
        raise ValueError(f"mask {inside.shape} and maps {a.shape} differ in shape")
    if mask is not None:
        inside = erode_mask(inside, erode)
    lap = np.abs(np.stack([laplace(m, mode="nearest") for m in a]))
    size = float(np.abs(a[inside]).mean()) if inside.any() else 0.0
    return float(lap[inside].mean()) / size if size > 0 else 0.0


def scale_shift_invariant_error(gt: Any, pred: Any, mask: Any = None, scale: float = 255.0,
                                per_sample: bool = False) -> float | np.ndarray:
    """Mean squared error after the least-squares fit of a * pred + b to gt, per sample.

    The fit and the error use the pixels where ``mask`` > 0 (all pixels when None; pass
    the face mask ``gt > 0`` to ignore the background). Reported on the ``scale`` scale.
    """
    g, p = _stack(gt), _stack(pred)
    m = np.ones_like(g, dtype=bool) if mask is None else _stack(mask) > 0
    errs = []
    for gi, pi, mi in zip(g, p, m):
        x, y = pi[mi], gi[mi]
        if x.size == 0:
            raise ValueError("the mask selects no pixel")
        a_mat = np.stack([x, np.ones_like(x)], 1)                  # (M, 2)
        (a, b), *_ = np.linalg.lstsq(a_mat, y, rcond=None)
        errs.append(np.mean((scale * (a * x + b - y)) ** 2))
    errs = np.asarray(errs)
    return errs if per_sample else float(errs.mean())


def _bilinear(img: np.ndarray, xy: np.ndarray) -> np.ndarray:
    h, w = img.shape
    x = np.clip(xy[:, 0], 0, w - 1)
    y = np.clip(xy[:, 1], 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def landmark_depth_error(gt: Any, pred: Any, landmarks: Any, scale: float = 255.0,
                         indices: Any = None) -> np.ndarray:
    """Absolute depth error at landmarks, on the ``scale`` scale.

    ``landmarks``: (L, 2) pixel coordinates (x right, y down; pixel centres at integers),
    or (K, L, 2) for a batch of K maps (one (L, 2) set is shared by all K); depths are sampled
    bilinearly. ``indices`` picks a subset (e.g. the 7 brow/eye/nose/mouth points).
    Returns (L,) for a single (H, W) map with (L, 2) landmarks, else (K, L).
    """
    g, p = _stack(gt), _stack(pred)
    lm = _np(landmarks)
    single = lm.ndim == 2 and _np(gt).ndim == 2
    if lm.ndim == 2:
        lm = np.broadcast_to(lm, (len(g),) + lm.shape)
    if indices is not None:
        lm = lm[:, np.asarray(indices)]
    if lm.shape[0] != len(g) or lm.shape[2] != 2:
        raise ValueError(f"landmarks {lm.shape} do not fit {len(g)} depth maps")
    errs = np.stack([np.abs(scale * (_bilinear(gi, li) - _bilinear(pi, li)))
                     for gi, pi, li in zip(g, p, lm)])
    return errs[0] if single else errs


def grid_artifact(maps: Any, period: int = 8) -> float:
    """How strongly a set of depth maps repeats with ``period`` pixels: the block grid that nearest-neighbour
    upsampling or strided transposed convolutions can leave (period 2^n for n upsamplings).

    The power spectra of the maps (each minus its mean, no window: a grid aligned with the pixels is exactly
    periodic in an image whose side is a multiple of the period, so its power falls on single frequency bins)
    are averaged over the set. At every harmonic of the period, (i * H/period, j * W/period) with (i, j) != (0, 0)
    up to the Nyquist frequency, the power is divided by the mean power of its 8 neighbouring bins, and the
    result is the geometric mean of these ratios. Maps without a period give about 1; a grid gives peaks, i.e.
    ratios above 1. H and W must be multiples of ``period``.
    """
    a = _stack(maps)
    k, h, w = a.shape
    if period < 2 or h % period or w % period:
        raise ValueError(f"maps of {h}x{w} pixels have no whole number of {period}-pixel periods")
    a = a - a.mean(axis=(1, 2), keepdims=True)
    power = (np.abs(np.fft.fft2(a)) ** 2).mean(0)                  # (H, W)
    fy, fx = h // period, w // period
    ratios = []
    for i in range(0, period // 2 + 1):
        for j in range(-(period // 2) + 1, period // 2 + 1):
            if (i, j) == (0, 0) or (i == 0 and j < 0):
                continue                                            # the spectrum is symmetric
            y, x = (i * fy) % h, (j * fx) % w
            nb = [power[(y + dy) % h, (x + dx) % w] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
            ratios.append(power[y, x] / max(float(np.mean(nb)), 1e-30))
    return float(np.exp(np.mean(np.log(np.maximum(ratios, 1e-30)))))
