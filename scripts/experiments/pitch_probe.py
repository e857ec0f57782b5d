"""Can the pitch of real sketches be read from what FaceFit already sees? A linear probe (docs/TRAINING.md, "The
head's pitch on real sketches").

For every real **train** sketch: FaceFit's hidden layer (its 128 features before the last linear map, the crop and
its mirror image averaged) and r of the face model's depth against FaceMesh's points of the pair for each pitch turn
(``prepare-real-fits --pose-from``'s measure). A ridge map from the features to the best turn is cross-validated on
the train sketches (5 folds), then fitted on all of them and applied to the dev sketches (scored against their
landmarks; the dev landmarks teach nothing).

    python scripts/experiments/pitch_probe.py --real ../shared/data/realsketch --points data/facemesh_train.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def hidden(net, framed: np.ndarray) -> np.ndarray:
    """FaceFit's hidden features of a framed image, the image and its mirror image averaged."""
    import torch

    x = np.asarray(framed, np.float32)
    x = np.repeat(x[..., None], 3, -1) if x.ndim == 2 else x[..., :3]
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
    with torch.inference_mode():
        return net.hidden(torch.cat([t, t.flip(-1)])).mean(0).numpy()


def collect(sf, items) -> dict:
    from PIL import Image

    from sketchface.data.realfits import best_pitch

    out = {"features": [], "curves": [], "best": [], "group": []}
    for group, path, points, kind in items:
        _, _, framing, framed, fit = sf.prepare(str(path), kind=kind, with_fit=True)
        w, h = Image.open(path).size
        turn, rs = best_pitch(sf.prior, fit, framing.crop_box, points, (h, w))
        out["features"].append(np.concatenate([hidden(sf.prior.net, framed), fit.angles]))
        out["curves"].append(rs)
        out["best"].append(turn)
        out["group"].append(group)
    return {k: np.asarray(v) for k, v in out.items()}


def ridge(x: np.ndarray, y: np.ndarray, lam: float):
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xs = (x - mu) / sd
    w = np.linalg.solve(xs.T @ xs + lam * np.eye(x.shape[1]), xs.T @ (y - y.mean()))
    return lambda z: ((z - mu) / sd) @ w + y.mean()


def r_at(curves: np.ndarray, turns: np.ndarray) -> np.ndarray:
    from sketchface.data.realfits import PITCH_STEPS

    return np.array([np.interp(t, PITCH_STEPS, c) for c, t in zip(curves, turns)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", default="../shared/data/realsketch")
    ap.add_argument("--points", default="data/facemesh_train.json")
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--ridge", type=float, nargs="+", default=[1.0, 10.0, 100.0, 1000.0])
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    from sketchface.data.realfits import PITCH_STEPS
    from sketchface.data.realpairs import list_pairs
    from sketchface.evaluate_real import GROUPS, load_dev
    from sketchface.pipeline import SketchFace
    from sketchface.train.outline import reference_points

    sf = SketchFace.from_pretrained(a.checkpoints, coarse="face_model", outline=False, facecheck=False)
    refs = json.loads(Path(a.points).read_text())
    root = Path(a.real) / "train"
    train_items = []
    for group, path, _ in list_pairs(root):
        ref = reference_points(refs.get(path.relative_to(root).as_posix(), {}))
        if ref is not None:
            train_items.append((group, path, ref, "sketch"))
    dev_items = [(r["group"], r["path"], r["points"], "lines" if r["group"] == "lines" else "sketch")
                 for r in load_dev(Path(a.real))]
    train, dev = collect(sf, train_items), collect(sf, dev_items)
    zero = int(np.argmin(np.abs(PITCH_STEPS)))
    report = {"train as fitted": {g: round(float(train["curves"][train["group"] == g, zero].mean()), 4)
                                  for g in ("cufs", "fs2k")},
              "dev as fitted": {g: round(float(np.nanmean(dev["curves"][dev["group"] == g, zero])), 4) for g in GROUPS},
              "train best turn": {g: round(float(train["best"][train["group"] == g].mean()), 2)
                                  for g in ("cufs", "fs2k")}}
    fold = np.random.default_rng(0).integers(0, 5, len(train["best"]))
    for lam in a.ridge:
        pred = np.zeros(len(fold))
        for f in range(5):
            pred[fold == f] = ridge(train["features"][fold != f], train["best"][fold != f], lam)(
                train["features"][fold == f])
        on_dev = ridge(train["features"], train["best"], lam)(dev["features"])
        report[f"ridge {lam:g}"] = {
            "train, cross-validated": {g: round(float(r_at(train["curves"][train["group"] == g],
                                                           pred[train["group"] == g]).mean()), 4)
                                       for g in ("cufs", "fs2k")},
            "dev": {g: round(float(np.nanmean(r_at(dev["curves"][dev["group"] == g], on_dev[dev["group"] == g]))), 4)
                    for g in GROUPS}}
        print(lam, json.dumps(report[f"ridge {lam:g}"]), flush=True)
    print(json.dumps({k: v for k, v in report.items() if not k.startswith("ridge")}))
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
