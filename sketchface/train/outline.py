"""``train-outline --real DIR --points FILE --out DIR``: fit the Outline (``sketchface.nets.outline``) on real
train drawings.

Every real *train* sketch (``realsketch/train``, never the dev ones) is framed as the pipeline frames it
(ink box, FaceFit's rounds, no Outline) and read as the Outline reads it: the darkness profiles across the 17 jaw
points of the fitted face. The target of each jaw point is where the face's outline really runs, along that
point's normal, in eye distances: the outline MediaPipe FaceMesh finds in the pair's photo (``--points``, written by
``scripts/experiments/facemesh_points.py``; the photo's points where they agree with the sketch's own to 4 % of the
face's width, as the dev landmarks are chosen, else the sketch's). A ridge regression (closed form, seconds) maps the
profiles to the targets; ``--folds`` K-fold cross-validation on the train pairs reports how far the jaw points are
from the outline before and after, and against a fixed offset per point (the median of the train targets).

    python -m sketchface train-outline --real REALSKETCH/train --points data/facemesh_train.json \\
        --out runs/outline [--convention data/facemesh_convention.json]

(REALSKETCH: the real-sketch folder, as ``evaluate-real --real`` takes it.)

Measured and not shipped (docs/TRAINING.md, "The drawn outline"): most of what the targets teach is where FaceMesh
puts a face's contour beside the face model's jaw points (``--convention`` takes that off), and what is left moves
the real dev sketches' r by 0.000 (CUFS) and +0.004 (FS2K).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

# FaceMesh points on the face's outline that the 68 points' jaw (ear to ear) corresponds to
FACEMESH_JAW = (162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389)
AGREE = 0.04      # photo and sketch points within this share of the face's width: the photo's are used


def reference_points(entry: dict) -> np.ndarray | None:
    """The 468 FaceMesh points (sketch pixels) a train pair is measured by: the photo's where they agree with
    the sketch's, else the sketch's (None where FaceMesh found no face)."""
    photo, sketch = entry.get("photo"), entry.get("sketch")
    if photo is None and sketch is None:
        return None
    if photo is None or sketch is None:
        return np.asarray(photo if photo is not None else sketch, np.float64)
    p, s = np.asarray(photo, np.float64), np.asarray(sketch, np.float64)
    width = max(float(np.ptp(p[:, 0])), 1.0)
    return p if np.linalg.norm(p[:, :2] - s[:, :2], axis=1).mean() < AGREE * width else s


def to_frame(points: np.ndarray, crop_box, size: int) -> np.ndarray:
    """Input pixels -> pixels of the crop ``crop_box`` resized to ``size`` (pixel centres at integers)."""
    x0, y0, x1, _ = crop_box
    per_px = (x1 - x0) / size
    return (np.asarray(points, np.float64) - [x0, y0] + 0.5) / per_px - 0.5


def collect(real, points_file, checkpoints=None, face_model=None, config=None, progress: bool = True) -> dict:
    """Features (N, 17, F), targets (N, 17, eye distances outward), group and name of every usable train sketch."""
    from tqdm.auto import tqdm

    from sketchface.data.realpairs import list_pairs
    from sketchface.framing import crop_to_frame, load_image, model_source, to_gray
    from sketchface.nets.outline import OutlineConfig, eye_distance, jaw_normals, profiles
    from sketchface.pipeline import SketchFace

    config = config or OutlineConfig()
    refs = json.loads(Path(points_file).read_text())
    sf = SketchFace.from_pretrained(checkpoints, coarse="face_model", face_model=face_model, outline=False,
                                    facecheck=False)
    size = int(config.image_size)
    out = {"features": [], "targets": [], "group": [], "name": []}
    root = Path(real)
    for group, sketch_path, _ in tqdm(list_pairs(real), desc="train-outline", unit="sketch", disable=not progress):
        ref = reference_points(refs.get(sketch_path.relative_to(root).as_posix(), {}))
        if ref is None:
            continue
        _, kind, framing, _, fit = sf.prepare(str(sketch_path), kind="sketch", with_fit=True)
        src, fill, _ = model_source(load_image(str(sketch_path)), kind)
        gray = to_gray(crop_to_frame(src, framing.crop_box, size, fill))
        pts, _ = fit.camera().project(sf.prior.vertices(fit)[sf.prior.fm.landmarks68], size)
        true_jaw = to_frame(ref[list(FACEMESH_JAW), :2], framing.crop_box, size)
        # no mirror images: FaceFit's jaw errs differently on the face's left and right (the fixed offsets of the
        # two sides differ), which mirrored copies would average away (cross-validated error 0.055 -> 0.058)
        out["features"].append(profiles(gray, pts, config))
        out["targets"].append(((true_jaw - pts[:17]) * jaw_normals(pts)).sum(1) / max(eye_distance(pts), 1.0))
        out["group"].append(group)
        out["name"].append(sketch_path.name)
    if not out["features"]:
        raise ValueError(f"no train sketch under {real} has FaceMesh points in {points_file}")
    return {k: np.asarray(v, np.float32) if k in ("features", "targets") else np.asarray(v) for k, v in out.items()}


def fit_ridge(features: np.ndarray, targets: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """The shared weights (F,) and per-point offsets (17,) of the ridge regression targets ~ features @ w + b
    (the penalty on the weights and on the offsets' spread, every column centred)."""
    n, k, f = features.shape
    design = np.concatenate([features, np.broadcast_to(np.eye(k, dtype=np.float32), (n, k, k))], 2)
    design = design.reshape(n * k, f + k).astype(np.float64)
    y = targets.reshape(-1).astype(np.float64)
    mean, y_mean = design.mean(0), y.mean()
    a = design - mean
    w = np.linalg.solve(a.T @ a + ridge * np.eye(f + k), a.T @ (y - y_mean))
    return w[:f], w[f:] + y_mean - float(mean @ w)


def predict(features: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return features @ weight + bias


def cross_validate(data: dict, ridge: float, folds: int = 5, seed: int = 0) -> dict:
    """Mean |outline − jaw point| along the normals (eye distances) of held-out train sketches, per group: as
    fitted, after a fixed offset per point (the median of the other folds) and after the ridge map."""
    x, y = data["features"], data["targets"]
    fold = np.random.default_rng(seed).integers(0, folds, len(x))
    fixed, mapped = np.zeros_like(y), np.zeros_like(y)
    for k in range(folds):
        held = fold == k
        if not held.any() or held.all():
            continue
        w, b = fit_ridge(x[~held], y[~held], ridge)
        mapped[held] = predict(x[held], w, b)
        fixed[held] = np.median(y[~held], 0)
    out = {}
    for group in sorted(set(data["group"].tolist())) + ["all"]:
        g = np.ones(len(y), bool) if group == "all" else data["group"] == group
        out[group] = {"n": int(g.sum()), "as_fitted": round(float(np.abs(y[g]).mean()), 4),
                      "fixed_offset": round(float(np.abs(y[g] - fixed[g]).mean()), 4),
                      "outline": round(float(np.abs(y[g] - mapped[g]).mean()), 4)}
    return out


def train_outline(real, points_file, out, ridge: float = 100.0, folds: int = 5, checkpoints=None, face_model=None,
                  progress: bool = True, convention=None) -> dict:
    """Collect, cross-validate, fit on every train sketch and save the Outline (fp16) into ``out``.
    ``convention``: a JSON file whose "median" (17 numbers, eye distances) is taken off every target: where
    FaceMesh's contour lies beside the face model's jaw on faces whose jaw is known
    (``scripts/experiments/facemesh_convention.py``), so that the Outline learns the face's outline and not the
    reference's convention."""
    import torch

    from sketchface.nets.outline import N_JAW, Outline, OutlineConfig

    config = OutlineConfig()
    data = collect(real, points_file, checkpoints, face_model, config, progress)
    if convention is not None:
        shift = np.asarray(json.loads(Path(convention).read_text())["median"], np.float32)
        if shift.shape != (N_JAW,):
            raise ValueError(f"{convention}: 'median' must hold {N_JAW} numbers")
        data["targets"] = data["targets"] - shift
    report = {"ridge": ridge, "convention": str(convention) if convention else None,
              "cross_validation": cross_validate(data, ridge, folds)}
    w, b = fit_ridge(data["features"], data["targets"], ridge)
    net = Outline(config).set_linear(w, b)
    net.save_pretrained(out, dtype=torch.float16)
    report["sketches"] = {g: int((data["group"] == g).sum()) for g in sorted(set(data["group"].tolist()))}
    (Path(out) / "training.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-outline", help="fit the Outline: the fitted jaw onto a drawing's outline",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", required=True, help="folder of <group>/sketches and <group>/photos (realsketch/train)")
    p.add_argument("--points", required=True, help="FaceMesh points of the train pairs (facemesh_points.py)")
    p.add_argument("--out", required=True, help="folder to write (config.json, model.safetensors, training.json)")
    p.add_argument("--ridge", type=float, default=100.0, help="the ridge penalty")
    p.add_argument("--folds", type=int, default=5, help="folds of the cross-validation on the train pairs")
    p.add_argument("--convention", default=None, help="FaceMesh's offset from the face model's jaw, taken off the "
                   "targets (facemesh_convention.py)")
    p.add_argument("--checkpoints", default=None, help="bundle whose FaceFit frames and fits (default: shipped)")
    p.add_argument("--face-model", default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(a: argparse.Namespace) -> int:
    report = train_outline(a.real, a.points, a.out, a.ridge, a.folds, a.checkpoints, a.face_model,
                           progress=not a.no_progress, convention=a.convention)
    print(json.dumps(report, indent=1))
    print(f"wrote {a.out}")
    return 0
