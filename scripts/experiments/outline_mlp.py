"""A small MLP in place of the Outline's linear map, with FaceMesh's convention taken off its targets
(docs/TRAINING.md, "The drawn outline"): trained on the real train sketches alone, or on them and the world's
pencil and artist-style drawings (whose jaw is known, so that it learns to leave a right jaw alone); scored on the
real dev sketches (face model only, as outline_oracle.py scores it) and on 400 synthetic pencil test sketches.

    python scripts/experiments/outline_mlp.py --points data/facemesh_train.json \
        --convention data/facemesh_convention.json [--synthetic data/fit128]
"""
from __future__ import annotations

import argparse
import glob
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch


def design(x: np.ndarray) -> np.ndarray:
    """Each jaw point's profiles, the mean of its two neighbours' and which point it is."""
    k = x.shape[1]
    return np.concatenate([x, (np.roll(x, 1, 1) + np.roll(x, -1, 1)) / 2,
                           np.broadcast_to(np.eye(k, dtype=np.float32), (len(x), k, k))], 2)


def synthetic_examples(prior, folder: str, shards: int, config):
    """Features and targets of the fit world's train drawings (pencil and artist, every second one)."""
    import cv2

    from sketchface.framing import flatten_paper
    from sketchface.nets.outline import eye_distance, jaw_normals, profiles

    x, y = [], []
    for shard in sorted(glob.glob(f"{folder}/train-*"))[:shards]:
        marks = np.load(f"{shard}/landmarks.npy")
        for style in ("pencil", "artist"):
            drawings = np.load(f"{shard}/sketch_{style}.npy")
            for i in range(0, len(drawings), 2):
                g = flatten_paper(drawings[i].astype(np.float32) / 255)
                fit = prior.fit(g)
                size = config.image_size
                big = cv2.resize(g, (size, size), interpolation=cv2.INTER_LINEAR)
                pts, _ = fit.camera().project(prior.vertices(fit)[prior.fm.landmarks68], size)
                true = (marks[i][:17].astype(np.float64) + 0.5) * size / g.shape[0] - 0.5
                x.append(profiles(big, pts, config))
                y.append(((true - pts[:17]) * jaw_normals(pts)).sum(1) / eye_distance(pts))
    return np.array(x), np.array(y, np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", required=True, help="FaceMesh points of the real train pairs (facemesh_points.py)")
    ap.add_argument("--convention", required=True)
    ap.add_argument("--synthetic", default=None, help="also train on this fit world's drawings (data/fit128)")
    ap.add_argument("--shards", type=int, default=40)
    ap.add_argument("--real", default="../shared/data/realsketch")
    ap.add_argument("--data", default="data/syn128", help="synthetic test split for Err")
    ap.add_argument("--checkpoints", default="checkpoints")
    a = ap.parse_args()

    import json

    from PIL import Image

    from sketchface.evaluate import RIM, STYLE_KEYS, load_split
    from sketchface.evaluate_real import load_dev, pasted_depth, pearson, sample
    from sketchface.framing import flatten_paper
    from sketchface.metrics import depth_error, erode_mask
    from sketchface.nets.outline import OutlineConfig, eye_distance, jaw_normals, profiles
    from sketchface.pipeline import SketchFace

    torch.manual_seed(0)
    config = OutlineConfig()
    sf = SketchFace.from_pretrained(a.checkpoints, coarse="face_model", outline=False)
    prior = sf.prior
    from sketchface.train.outline import collect

    data = collect(Path(a.real) / "train", a.points, a.checkpoints, config=config, progress=False)
    x = data["features"]
    y = data["targets"] - np.asarray(json.loads(Path(a.convention).read_text())["median"], np.float32)
    if a.synthetic:
        sx, sy = synthetic_examples(prior, a.synthetic, a.shards, config)
        x, y = np.concatenate([x, sx]), np.concatenate([y, sy])
    k, f = x.shape[1], x.shape[2]
    xt = torch.tensor(design(x).reshape(-1, 2 * f + k))
    yt = torch.tensor(y.reshape(-1))
    mu, sd = xt.mean(0), xt.std(0) + 1e-6
    net = torch.nn.Sequential(torch.nn.Linear(2 * f + k, 32), torch.nn.GELU(), torch.nn.Linear(32, 1))
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-3)
    for _ in range(100):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 512):
            b = perm[i:i + 512]
            loss = (net((xt[b] - mu) / sd)[:, 0] - yt[b]).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    class Reader:           # stands in for the Outline network in FacePrior.follow_outline
        def __init__(self):
            self.config = config

        def moved_jaw(self, gray, points):
            feats = torch.tensor(design(profiles(gray, points, config)[None]).reshape(-1, 2 * f + k))
            with torch.no_grad():
                off = net((feats - mu) / sd)[:, 0].numpy().astype(np.float64)
            off = np.clip(np.convolve(np.pad(off, 1, mode="edge"), [0.25, 0.5, 0.25], "valid"), -0.25, 0.25)
            return (points[:17] + (off * eye_distance(points))[:, None] * jaw_normals(points)).astype(np.float32)

    prior.outline = Reader()
    for group in ("cufs", "fs2k"):
        before, after = [], []
        for row in load_dev(Path(a.real), groups=(group,)):
            _, _, framing, _, fit = sf.prepare(str(row["path"]), kind="sketch", with_fit=True)   # follows the MLP
            w, h = Image.open(row["path"]).size
            for f_, acc in ((replace(fit, outline=None), before), (fit, after)):
                depth, mask = prior.render(f_, sf.size)
                d = pasted_depth(depth, mask, framing.crop_box, (h, w))
                acc.append(pearson(sample(d, row["points"]), -row["points"][:, 2]))
        print(f"{group}: face model only {np.nanmean(before):.4f}, with the MLP outline {np.nanmean(after):.4f}")
    test = load_split(a.data, "test", ("depth", "mask", STYLE_KEYS["pencil"]), 400)
    gt, inner, size = test["depth"], erode_mask(test["mask"], RIM), test["depth"].shape[-1]
    for name, moved in (("as fitted", False), ("with the MLP outline", True)):
        preds = []
        for img in test[STYLE_KEYS["pencil"]]:
            g = flatten_paper(img)
            fit = prior.fit(g)
            if moved:
                fit = prior.follow_outline(np.repeat(g[..., None], 3, -1), (0, 0, size, size), (1.0, 1.0, 1.0), fit)
            preds.append(prior.render(fit, size)[0])
        preds = np.stack(preds)
        print(f"synthetic pencil, {name}: Err {depth_error(gt, preds):.1f}, "
              f"Err_inner {depth_error(gt, preds, mask=inner):.1f}")


if __name__ == "__main__":
    main()
