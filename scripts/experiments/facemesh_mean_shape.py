"""How much of the real-sketch score is FaceMesh's own mean shape? The face model's mean face bent toward it.

    python scripts/experiments/facemesh_mean_shape.py --points data/facemesh_train.json \
        --face-model ../shared/data/ict_face_light --dev ../shared/data/realsketch/dev

score.py measures depth against MediaPipe FaceMesh's landmarks of the dev photos, beside the face model's mean face
placed by the true eyes and mouth ("template"). This measures how much of that score is a *systematic* difference
between the two models' faces, not anything a drawing tells:

1. On the real **train** photos (``facemesh_points.py``'s JSON; never the dev landmarks), the mean face is placed as
   score.py places its template (a 2-D similarity from eyes and mouth), each FaceMesh point is taken back into the
   face model's frame, and the difference between FaceMesh's depth and the mean face's there is kept, after taking
   out each face's best depth gain, offset and tilt (what pose and scale explain).
2. The median of those differences over the train photos, per point, is spread over the mean face's front vertices
   (a smoothed thin-plate spline), giving a "FaceMesh-shaped" mean face.
3. The dev sketches' template r is computed, as score.py does, with the mean face and with the bent one.

Measured 2026-12-06 (docs/TRAINING.md, "FaceFit and the faces of the real train photos"): a median difference of
1.9 mm per point against 2.2 mm of spread between photos; the dev template 0.932 / 0.720 / 0.863 -> 0.936 / 0.727 /
0.866 (CUFS / FS2K / lines) with ``--smoothing 100``. A measurement only: the bent face is not used anywhere.
"""
import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from sketchface.evaluate_real import ICT_EYES_MOUTH, MP_EYES_MOUTH
from sketchface.evaluate_real import similarity_2d as similarity


def load_score(dev: Path):
    spec = importlib.util.spec_from_file_location("score", dev.parent / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class MeanFace:
    def __init__(self, npz: Path, neutral: np.ndarray | None = None):
        m = np.load(npz)
        self.nv = int(m["face_vertex_count"])
        tris = m["triangles"]
        self.tris = tris[(tris < self.nv).all(1)]
        self.v = (m["neutral"] if neutral is None else neutral)[: self.nv].astype(np.float64)
        self.lm = m["landmarks68"]
        # image-style coordinates (y down), as score.py's template
        self.src = np.array([self.v[self.lm[list(i)]].mean(0)[:2] for i in ICT_EYES_MOUTH]) * [1, -1]

    def depth_grid(self, score, res: int = 400):
        """The mean face's z-buffer over its own frame: (depth (res, res), x0, y0, step) in face-model units."""
        xy = self.v[:, :2] * [1, -1]
        lo, hi = xy.min(0), xy.max(0)
        half = float((hi - lo).max()) / 2 * 1.02
        c = (lo + hi) / 2
        d = score.zbuffer(self.v, self.tris, res, (c[0], -c[1], half))
        step = 2 * half / res
        return d, c[0] - half, c[1] - half, step


def sample_grid(grid, xy: np.ndarray) -> np.ndarray:
    d, x0, y0, step = grid
    ix = np.clip(((xy[:, 0] - x0) / step).astype(int), 0, d.shape[1] - 1)
    iy = np.clip(((xy[:, 1] - y0) / step).astype(int), 0, d.shape[0] - 1)
    return d[iy, ix]


def residuals(points: np.ndarray, face: MeanFace, grid) -> tuple[np.ndarray, np.ndarray] | None:
    """Per FaceMesh point: its place in the face model's frame (x, y; y down) and FaceMesh's depth minus the mean
    face's there, after the best gain, offset and tilt (face-model units)."""
    dst = np.array([points[list(i), :2].mean(0) for i in MP_EYES_MOUTH])
    sc, rm, sm, dm = similarity(face.src, dst)
    canon = (points[:, :2] - dm) @ rm / sc + sm           # inverse of xy = sc * (v - sm) @ rm.T + dm
    t = sample_grid(grid, canon)
    g = -points[:, 2] / sc
    ok = np.isfinite(t)
    if ok.sum() < 300:
        return None
    x = np.column_stack([g, np.ones(len(g)), canon])[ok]  # t ~ gain * g + offset + tilt: what pose and scale explain
    coef = np.linalg.lstsq(x, t[ok], rcond=None)[0]
    fitted = np.column_stack([g, np.ones(len(g)), canon]) @ coef
    res = np.full(len(g), np.nan)
    res[ok] = (fitted - t)[ok]
    return canon, res


def bend(face: MeanFace, canon: np.ndarray, delta: np.ndarray, smoothing: float) -> np.ndarray:
    """The mean face's vertices with ``delta`` (per point at ``canon``) added to their depth, spread by a smoothed
    thin-plate spline; outside the points' hull the bend fades to zero."""
    from scipy.interpolate import RBFInterpolator

    ok = np.isfinite(delta)
    f = RBFInterpolator(canon[ok], delta[ok], kernel="thin_plate_spline", smoothing=smoothing)
    xy = face.v[:, :2] * [1, -1]
    dz = f(xy)
    # fade out beyond the points: distance to the nearest point, in units of the eye distance
    from scipy.spatial import cKDTree

    eye = np.linalg.norm(face.src[0] - face.src[1])
    dist = cKDTree(canon[ok]).query(xy)[0] / eye
    dz *= np.clip(1.5 - dist / 0.2, 0, 1)
    v = face.v.copy()
    v[:, 2] += dz
    return v


def template(score, face: MeanFace, pts: np.ndarray, h: int, w: int) -> np.ndarray:
    """score.py's template with this face's vertices."""
    dst = np.array([pts[list(i), :2].mean(0) for i in MP_EYES_MOUTH])
    sc, rm, sm, dm = similarity(face.src, dst)
    xy = sc * (face.v[:, :2] * [1, -1] - sm) @ rm.T + dm
    size = max(h, w)
    v = np.stack([xy[:, 0], -xy[:, 1], face.v[:, 2] * sc], 1)
    return score.zbuffer(v, face.tris, size, (size / 2, -size / 2, size / 2))[:h, :w]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", required=True)
    ap.add_argument("--face-model", required=True)
    ap.add_argument("--dev", default="../shared/data/realsketch/dev")
    ap.add_argument("--smoothing", type=float, default=1.0)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    dev = Path(a.dev)
    score = load_score(dev)
    npz = Path(a.face_model) / "ict_face_light.npz"
    face = MeanFace(npz)
    grid = face.depth_grid(score)
    train = json.loads(Path(a.points).read_text())
    canons, deltas = [], []
    for entry in train.values():
        if entry.get("photo") is None:
            continue
        out = residuals(np.asarray(entry["photo"], np.float64), face, grid)
        if out is not None:
            canons.append(out[0])
            deltas.append(out[1])
    canon = np.nanmedian(np.stack(canons), 0)
    delta = np.nanmedian(np.stack(deltas), 0)
    spread = np.nanmedian(np.abs(np.stack(deltas) - delta), 0)
    print(f"{len(deltas)} train photos; median |systematic difference| {np.nanmedian(np.abs(delta)):.3f}, "
          f"its spread over photos {np.nanmedian(spread):.3f} (face-model units, cm)")
    bent = MeanFace(npz, bend(face, canon, delta, a.smoothing))
    marks = json.loads((dev / "landmarks.json").read_text())
    rows = {}
    for n, (rel, ref) in enumerate(sorted(marks.items())):
        group = rel.split("/")[1]
        if a.limit and sum(1 for r in rows.get(group, [])) >= a.limit:
            continue
        pts = np.asarray(ref["points"], np.float64)
        from PIL import Image

        w, h = Image.open(dev.parent / rel).size
        gt = -pts[:, 2]
        rows.setdefault(group, []).append([score.pearson(score.sample(template(score, f, pts, h, w), pts), gt)
                                           for f in (face, bent)])
    print("| group | n | mean face r | bent toward FaceMesh r | bent > mean face |\n|---|---|---|---|---|")
    for g, r in rows.items():
        r = np.asarray(r)
        print(f"| {g} | {len(r)} | {np.nanmean(r[:, 0]):.3f} | {np.nanmean(r[:, 1]):.3f} | {np.mean(r[:, 1] > r[:, 0]):.0%} |")


if __name__ == "__main__":
    sys.exit(main())
