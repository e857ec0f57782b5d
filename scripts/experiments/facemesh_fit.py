"""Can FaceMesh's points on the real *train* photos teach FaceFit a better face shape? The face model fitted to them.

    python scripts/experiments/facemesh_fit.py --points data/facemesh_train.json --pairs 60

POINTS holds, for each real *train* pair, the 468 MediaPipe FaceMesh
landmarks (x, y, z in the sketch's pixels, smaller z nearer) of its photo and of its sketch
(``scripts/experiments/facemesh_points.py`` writes them). FaceMesh was trained on real photographed faces, so its
points carry the shape of real faces, which the synthetic world (drawn from the face model itself) cannot teach.

1. ``correspondence``: which face-model vertex each FaceMesh point is, by votes over the pairs whose faces FaceFit
   sees near-frontal: the visible vertex nearest to the point in the crop (the fit placed by FaceFit on the photo).
2. ``fit_to_points``: the face model's identity, expression, pose, scale and 2-D placement whose corresponding
   vertices fall on the points in the crop (x, y and depth; depth up to an offset), with a Gaussian prior on the
   coefficients; robust (soft L1) against the few points FaceMesh misplaces.

It prints, on a random sample of train pairs, the Pearson r between FaceMesh's depth and the face model's depth at the
corresponding vertices: FaceFit's own fit of the sketch, the face model refitted to the points (identity, expression,
pose), and the depth-only least-squares identity (no prior: how far the face model would have to bend).
Measured 2026-12-06 on 60 pairs: 0.905, 0.906 (mean |identity| 0.76, the prior weight changing nothing between 0.2
and 2), and 0.961 only at a mean |identity| of 168: the difference between FaceMesh's depth and the face
model's is not a face shape the model can take, so these targets would teach FaceFit nothing (docs/TRAINING.md).
"""
import argparse
import json
import sys
from pathlib import Path
from dataclasses import replace

import numpy as np

FRONTAL_DEG = 10.0        # pairs whose fitted yaw and pitch are within this vote for the correspondence
AGREE_SHARE = 0.04        # photo points stand for the sketch where they agree within this share of the face width
N_IDENTITY = 30           # identity coefficients fitted (the face model's first, largest ones)
PRIOR_WEIGHT = 2.0        # one standard deviation of a coefficient costs as much as this many pixels of error


def reference_points(entry: dict) -> np.ndarray | None:
    """The points that stand for a sketch (468, 3; sketch pixels, z as FaceMesh gives it): the photo's where photo and
    sketch agree within ``AGREE_SHARE`` of the face width (or the sketch has none), else the sketch's own."""
    photo, sketch = entry.get("photo"), entry.get("sketch")
    if photo is None:
        return None if sketch is None else np.asarray(sketch, np.float64)
    photo = np.asarray(photo, np.float64)
    if sketch is None:
        return photo
    sketch = np.asarray(sketch, np.float64)
    width = np.ptp(photo[:, 0])
    return photo if np.median(np.linalg.norm(photo[:, :2] - sketch[:, :2], axis=1)) <= AGREE_SHARE * width else sketch


def to_crop(points: np.ndarray, crop_box, size: int) -> np.ndarray:
    """Sketch-pixel points (x, y, z) -> the crop's pixels at ``size`` (x, y as ``Camera.project``, pixel centres at
    integers) and nearness in the same pixels (-z, larger = nearer)."""
    x0, y0, x1, _ = crop_box
    per = size / (x1 - x0)
    return np.stack([(points[:, 0] - x0) * per - 0.5, (points[:, 1] - y0) * per - 0.5, -points[:, 2] * per], 1)


def _nearness_px(d: np.ndarray, size: int) -> np.ndarray:
    """``Camera.project``'s normalised depth as nearness in pixels (the offset does not matter)."""
    from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM, FRAME_CM

    return d * (DEPTH_NEAR_CM - DEPTH_FAR_CM) * size / FRAME_CM


def correspondence(prior, samples, frontal: float = FRONTAL_DEG) -> tuple[np.ndarray, np.ndarray]:
    """``samples``: (fit, crop-pixel points (468, 3)) of photos FaceFit fitted. Returns, for each point, the face-model
    vertex voted for most often (468,) and the share of votes it got (468,)."""
    size = prior.size
    votes: list[np.ndarray] = []
    for fit, pts in samples:
        if abs(float(fit.angles[0])) > frontal or abs(float(fit.angles[1])) > frontal:
            continue
        xy, d = fit.camera().project(prior.vertices(fit), size)
        depth, mask = prior.render(fit, size)
        n = prior.fm.face_vertex_count
        ix = np.clip(np.round(xy[:n, 0]).astype(int), 0, size - 1)
        iy = np.clip(np.round(xy[:n, 1]).astype(int), 0, size - 1)
        visible = np.flatnonzero(mask[iy, ix] & (d[:n] >= depth[iy, ix] - 0.01))
        dist = np.linalg.norm(xy[visible][None, :, :] - pts[:, None, :2], axis=2)    # (468, visible)
        votes.append(visible[np.argmin(dist, 1)])
    if not votes:
        raise ValueError("no near-frontal face among the samples to find the correspondence")
    v = np.stack(votes)                                   # (pairs, 468)
    best = np.empty(v.shape[1], np.int64)
    share = np.empty(v.shape[1])
    for j in range(v.shape[1]):
        vals, counts = np.unique(v[:, j], return_counts=True)
        best[j] = vals[np.argmax(counts)]
        share[j] = counts.max() / len(v)
    return best, share


def fit_to_points(fm, vertex_ids: np.ndarray, pts: np.ndarray, init, size: int, n_identity: int = N_IDENTITY,
                  prior_weight: float = PRIOR_WEIGHT, depth_gain: float = 1.0):
    """The ``Fit`` (from ``init``: pose, placement, expression) whose vertices ``vertex_ids`` land on ``pts`` (crop
    pixels, (N, 3): x, y, nearness) and its residual (median point distance in pixels, x, y and depth)."""
    from scipy.optimize import least_squares

    from sketchface.nets.facefit import CANONICAL_SCALE
    from sketchface.render import Camera

    k = min(n_identity, fm.n_identity)
    ne = fm.n_expression
    base = fm.neutral[vertex_ids].astype(np.float64)
    ident = fm.identity_deltas[:k, vertex_ids].astype(np.float64)       # (k, N, 3)
    expr = fm.expression_deltas[:, vertex_ids].astype(np.float64)       # (E, N, 3)

    def unpack(p):
        return p[:3], p[3], p[4:6], p[6], p[7:7 + k], p[7 + k:]

    def project(p):
        angles, log_s, shift, _, idc, exc = unpack(p)
        v = base + np.tensordot(idc, ident, 1) + np.tensordot(exc, expr, 1)
        cam = Camera(yaw=angles[0], pitch=angles[1], roll=angles[2], scale=float(np.exp(log_s)),
                     offset=(shift[0] / 2, shift[1] / 2))
        xy, d = cam.project(v.astype(np.float32), size)
        return xy.astype(np.float64), _nearness_px(d.astype(np.float64), size)

    def residuals(p):
        xy, near = project(p)
        *_, z0, idc, exc = unpack(p)
        r_xy = (xy - pts[:, :2]).ravel()
        r_z = near - depth_gain * pts[:, 2] - z0
        return np.concatenate([r_xy, r_z, prior_weight * idc, prior_weight * exc])

    id0 = np.asarray(init.identity[:k], np.float64)
    ex0 = np.clip(np.asarray(init.expression[:ne], np.float64), 0.0, 1.0)
    s0 = np.log(float(init.scale) / CANONICAL_SCALE)
    p0 = np.concatenate([init.angles.astype(np.float64), [s0], init.shift.astype(np.float64), [0.0], id0, ex0])
    xy0, near0 = project(p0)
    p0[6] = float(np.median(near0 - depth_gain * pts[:, 2]))
    lo = np.concatenate([[-60, -60, -60, np.log(0.25), -2, -2, -np.inf], np.full(k, -4.0), np.zeros(ne)])
    hi = np.concatenate([[60, 60, 60, np.log(4.0), 2, 2, np.inf], np.full(k, 4.0), np.ones(ne)])
    p0 = np.clip(p0, lo + 1e-6, hi - 1e-6)
    sol = least_squares(residuals, p0, bounds=(lo, hi), loss="soft_l1", f_scale=2.0, x_scale="jac", max_nfev=200)
    angles, log_s, shift, _, idc, exc = unpack(sol.x)
    identity = np.zeros(fm.n_identity, np.float32)
    identity[:k] = idc
    fit = replace(init, identity=identity, expression=exc.astype(np.float32), angles=angles.astype(np.float32),
                  scale=float(np.exp(log_s) * CANONICAL_SCALE), shift=shift.astype(np.float32))
    xy, near = project(sol.x)
    err = np.sqrt(((xy - pts[:, :2]) ** 2).sum(1) + (near - depth_gain * pts[:, 2] - sol.x[6]) ** 2)
    return fit, float(np.median(err))


def main():
    from PIL import Image

    from sketchface.data.realpairs import list_pairs
    from sketchface.framing import load_image
    from sketchface.pipeline import SketchFace

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", required=True, help="facemesh_points.py's JSON for the train pairs")
    ap.add_argument("--real", default="../shared/data/realsketch/train")
    ap.add_argument("--pairs", type=int, default=60)
    a = ap.parse_args()
    prior = SketchFace.from_pretrained(None, coarse="face_model").prior
    size = prior.size
    ref = json.loads(Path(a.points).read_text())
    pairs = list_pairs(a.real)
    photos, sketches = [], []
    for i in np.random.default_rng(0).permutation(len(pairs))[: a.pairs]:
        group, s, p = pairs[i]
        entry = ref.get(f"{group}/sketches/{s.name}")
        if not entry or entry["photo"] is None:
            continue
        sketch = load_image(str(s))
        h, w = sketch.shape[:2]
        photo = np.asarray(Image.open(p).convert("RGB").resize((w, h), Image.BILINEAR), np.float32) / 255
        box, fit = prior.find(photo, "photo")
        photos.append((fit, to_crop(np.asarray(entry["photo"]), box, size)))
        box, fit = prior.find(sketch, "sketch")
        sketches.append((fit, to_crop(reference_points(entry), box, size)))
    corr, share = correspondence(prior, photos)
    print(f"{len(sketches)} pairs; correspondence: {len(np.unique(corr))} vertices, median vote share {np.median(share):.2f}")

    def r_of(fit, pts):
        return np.corrcoef(fit.camera().project(prior.vertices(fit)[corr], size)[1], pts[:, 2])[0, 1]

    r0, r1, ids, r_lin, c_lin = [], [], [], [], []
    for fit, pts in sketches:
        r0.append(r_of(fit, pts))
        refit, _ = fit_to_points(prior.fm, corr, pts, fit, size)
        r1.append(r_of(refit, pts))
        ids.append(np.linalg.norm(refit.identity[:N_IDENTITY]))
        near = _nearness_px(fit.camera().project(prior.vertices(fit)[corr], size)[1], size)
        basis = prior.fm.identity_deltas[:N_IDENTITY, corr, 2].T.astype(np.float64)
        gain = np.polyfit(pts[:, 2], near, 1)[0]
        x = np.column_stack([np.ones_like(near), basis])
        c = np.linalg.lstsq(x, gain * pts[:, 2] - near, rcond=None)[0]
        r_lin.append(np.corrcoef(near + basis @ c[1:], pts[:, 2])[0, 1])
        c_lin.append(np.linalg.norm(c[1:]))
    print(f"r FaceFit {np.mean(r0):.3f}; refitted {np.mean(r1):.3f} (mean |identity| {np.mean(ids):.2f}); "
          f"depth-only identity, no prior {np.mean(r_lin):.3f} (mean |identity| {np.mean(c_lin):.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
