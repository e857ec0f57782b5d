"""Thin-plate-spline deformation of the statistical face model (the paper's Eq. 1-3).

Three TPS functions, one per output coordinate (x, y, z), each mapping a 3-D point of the statistical model
to the displacement of that coordinate, are solved from the control points (the sparse face model: source
feature points -> estimated feature points of the input) and applied to every vertex.
``scipy.interpolate.RBFInterpolator`` with the thin-plate-spline kernel and an affine term solves each one.
"""
from __future__ import annotations

import time

import numpy as np
from scipy.interpolate import RBFInterpolator


def tps_deform(src: np.ndarray, dst: np.ndarray, points: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    """Move ``points`` (V, 3) by the TPS that carries control points ``src`` (n, 3) onto ``dst`` (n, 3).
    With ``smoothing=0`` the control points are interpolated exactly."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    pts = np.asarray(points, np.float64)
    out = pts.copy()
    for c in range(3):                       # the paper solves X, Y and Z separately
        f = RBFInterpolator(src, dst[:, c] - src[:, c], kernel="thin_plate_spline", smoothing=smoothing, degree=1)
        out[:, c] += f(pts)
    return out.astype(np.float32)


def time_control_points(src_mesh: np.ndarray, dst_mesh: np.ndarray, counts=(68, 300, 1000, 3000),
                        sparse_idx: np.ndarray | None = None, repeats: int = 3, seed: int = 0) -> list[dict]:
    """Seconds to solve and apply the x, y, z TPS on all vertices of ``src_mesh`` with n control points.

    The first count uses ``sparse_idx`` (the feature points) when given; the others take that many vertices
    spread over the mesh (farthest-point order), the dense control of a dense model. The displacement they
    carry is ``dst_mesh - src_mesh`` at those vertices (the same deformation described by more points)."""
    rng = np.random.default_rng(seed)
    order = farthest_points(src_mesh, max(counts), rng)
    rows = []
    for n in counts:
        idx = sparse_idx if (sparse_idx is not None and n == len(sparse_idx)) else order[:n]
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            tps_deform(src_mesh[idx], dst_mesh[idx], src_mesh)
            ts.append(time.perf_counter() - t)
        rows.append({"control_points": int(n), "seconds": float(np.median(ts)),
                     "kind": "sparse (feature points)" if idx is sparse_idx else "dense (spread vertices)"})
    return rows


def farthest_points(v: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of n vertices in farthest-point order (an even spread over the mesh)."""
    n = min(n, len(v))
    idx = np.zeros(n, np.int64)
    idx[0] = rng.integers(len(v))
    d = np.linalg.norm(v - v[idx[0]], axis=1)
    for i in range(1, n):
        idx[i] = int(np.argmax(d))
        d = np.minimum(d, np.linalg.norm(v - v[idx[i]], axis=1))
    return idx
