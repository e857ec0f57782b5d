"""Statistical face model, depth of the input's feature points, sparse face model.

* Statistical face: the mean of the k database faces most similar to the input (recognition.py).
* Sparse face model: the 68 feature points of a face (a subset of its dense vertices).
* Depth of the input's 2-D feature points "from the statistics" of the 3-D database: the database's sparse
  models give a mean (that of the similar faces) and principal modes of the 3-D feature points. The input's
  2-D points fix a scaled orthographic camera and the mode coefficients that explain them (regularised by the
  modes' variances); the fitted 3-D points give the depth, while x and y are the observed ones mapped back
  into the model frame. Pose is estimated too, so slightly turned faces are frontalised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SparseStatistics:
    mean: np.ndarray        # (68, 3) mean feature points of the database
    modes: np.ndarray       # (204, K) orthonormal principal directions
    std: np.ndarray         # (K,) standard deviations

    @classmethod
    def fit(cls, feature_points: np.ndarray, var_keep: float = 0.99, max_modes: int = 60) -> "SparseStatistics":
        x = np.asarray(feature_points, np.float64).reshape(len(feature_points), -1)
        mean = x.mean(0)
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        var = s ** 2 / max(len(x) - 1, 1)
        k = int(min(np.searchsorted(np.cumsum(var) / var.sum(), var_keep) + 1, max_modes, len(var)))
        return cls(mean.reshape(-1, 3), vt[:k].T, np.sqrt(var[:k]))


@dataclass
class SparseFit:
    points3d: np.ndarray    # (68, 3) estimated feature points of the input (model frame, cm)
    fitted3d: np.ndarray    # (68, 3) the plausible 3-D shape before the observed x, y were put back
    rotation: np.ndarray    # (3, 3) model -> camera
    scale: float            # px per cm
    translation: np.ndarray  # (2,) px, image y up
    residual_px: float


def _camera(x3: np.ndarray, u: np.ndarray, min_tilt_deg: float = 10.0) -> tuple[np.ndarray, float, np.ndarray]:
    """Scaled orthographic camera u = s R[:2] x + t fitted to (68, 3) -> (68, 2): affine fit, orthonormalised.
    Out-of-plane rotations below ``min_tilt_deg`` cannot be told from identity (a wider jaw looks like a turned
    head): then the camera is the in-plane similarity of the x, y coordinates."""
    xm, um = x3.mean(0), u.mean(0)
    a, *_ = np.linalg.lstsq(x3 - xm, u - um, rcond=None)      # (3, 2)
    m = a.T                                                    # (2, 3)
    uu, s, vt = np.linalg.svd(m, full_matrices=False)
    r2 = uu @ vt                                               # nearest rows with orthonormal directions
    scale = float(s.mean())
    r = np.vstack([r2, np.cross(r2[0], r2[1])])
    if np.linalg.det(r) < 0:
        r[2] *= -1
    if np.degrees(np.arccos(np.clip(abs(r[2, 2]), -1, 1))) < min_tilt_deg:
        from sketchface.sparse.asm import similarity

        a, b, _ = similarity(x3[:, :2] - xm[:2], u - um)
        scale = float(np.hypot(a, b))
        c, s_ = a / scale, b / scale
        r = np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]])
    t = um - scale * (r[:2] @ xm)
    return r, scale, t


def estimate_feature_points(landmarks2d: np.ndarray, prior_mean: np.ndarray, stats: SparseStatistics,
                            noise_cm: float = 0.25, iters: int = 8, keep_observed_xy: bool = True) -> SparseFit:
    """3-D feature points of the input from its 2-D ones (68, 2 px, image y down).

    prior_mean: (68, 3) the statistical face's sparse model; stats: modes of the database's sparse models."""
    u = np.asarray(landmarks2d, np.float64) * np.array([1.0, -1.0])     # image y up
    mu = np.asarray(prior_mean, np.float64)
    c = np.zeros(stats.modes.shape[1])
    x3 = mu
    for it in range(iters):
        # the first pass is frontal so that the shape modes, not a head turn, explain the identity
        r, s, t = _camera(x3, u, 90.0 if it == 0 else 10.0)
        # shape with the camera fixed: (u - t)/s - R2 mu = R2 P c
        res = ((u - t) / s - mu @ r[:2].T).ravel()                         # (136,)
        p = stats.modes.reshape(68, 3, -1)                                 # (68, 3, K)
        m = np.einsum("ij,njk->nik", r[:2], p).reshape(136, -1)            # (136, K)
        a = m.T @ m / noise_cm ** 2 + np.diag(1.0 / stats.std ** 2)
        c = np.linalg.solve(a, m.T @ res / noise_cm ** 2)
        x3 = mu + (stats.modes @ c).reshape(68, 3)
    r, s, t = _camera(x3, u)
    resid = float(np.linalg.norm(s * x3 @ r[:2].T + t - u, axis=1).mean())
    out = x3.copy()
    if keep_observed_xy:
        y = x3 @ r.T                                                       # camera frame
        y[:, :2] = (u - t) / s
        out = y @ r                                                        # back to the model frame
    return SparseFit(out.astype(np.float32), x3.astype(np.float32), r, s, t, resid)


def statistical_face(vertices: np.ndarray, ids, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean (optionally weighted) of the database faces ``ids``: (V, 3)."""
    v = np.asarray(vertices)[np.asarray(ids)]
    if weights is None:
        return v.mean(0)
    w = np.asarray(weights, np.float64)
    w = w / w.sum()
    return np.tensordot(w, v, axes=1).astype(np.float32)


def landmark_descriptor(lm2d: np.ndarray) -> np.ndarray:
    """A pose-normalised 2-D shape descriptor of 68 points (centred, unit RMS, in-plane rotation removed by the
    eye line), for retrieving similar faces by geometry (used for sketches, whose look the CNN never saw)."""
    p = np.asarray(lm2d, np.float64)
    p = p - p.mean(0)
    d = p[42:48].mean(0) - p[36:42].mean(0)
    th = np.arctan2(d[1], d[0])
    rot = np.array([[np.cos(-th), -np.sin(-th)], [np.sin(-th), np.cos(-th)]])
    p = p @ rot.T
    return (p / np.sqrt((p ** 2).sum(1).mean())).ravel()
