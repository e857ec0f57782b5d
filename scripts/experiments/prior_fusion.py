"""DP-CoarseNet on the face model: a small network that joins DP-CoarseNet's depth and the face model's (the prior).

On the synthetic test split the face model is five times closer to the true face than DP-CoarseNet inside it and
loses everything at its outline (docs/TRAINING.md, "Where the face model loses on synthetic drawings"): DP-CoarseNet
reads the outline from the drawing. ``PriorFusion`` (``sketchface/nets/fusion.py``) sees the drawing, DP-CoarseNet's
depth, the prior carried a few pixels beyond its outline and the prior's mask, and answers per pixel how much of
each to take, plus a small correction.

    python scripts/experiments/prior_fusion.py data --data data/syn128 --out data/fusion128          # ~15 min
    python scripts/experiments/prior_fusion.py train --fusion data/fusion128 --out runs/fusion --steps 3000
    python scripts/experiments/prior_fusion.py measure --fusion data/fusion128 --run runs/fusion/final

``data``: every train and test drawing (pencil, lines, artist; train drawings dressed by chance) read by DP-CoarseNet
(once, as ``evaluate`` does) and by FaceFit (the prior rendered in the drawing's frame), saved with the true depth.
``train``: mean squared depth error (eq. 12's Err) over random 64-pixel windows, Adam. ``measure``: Err = inside + outline on
the test split for DP-CoarseNet, the face model and the fusion.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

STYLES = ("pencil", "lines", "artist")


def make_data(a) -> None:
    import torch
    from tqdm import tqdm

    from sketchface.evaluate import STYLE_KEYS, load_split, predict
    from sketchface.framing import flatten_paper
    from sketchface.nets import load_network
    from sketchface.pipeline import SketchFace
    from sketchface.synth.dress import dress

    torch.set_num_threads(a.threads)
    prior = SketchFace.from_pretrained(a.checkpoints, coarse="face_model").prior
    dp = load_network(Path(a.checkpoints) / "dp_coarse").float().eval()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for split in ("test", "train"):
        d = load_split(a.data, split, ("depth", "mask", "landmarks", *[STYLE_KEYS[s] for s in STYLES]),
                       a.n if split == "train" else a.n_test)
        rng = np.random.default_rng(0 if split == "train" else 1)
        np.save(out / f"{split}_depth.npy", d["depth"].astype(np.float16))
        m = d["mask"]
        np.save(out / f"{split}_mask.npy", (m[..., 0] if m.ndim == 4 else m) > 0)
        for style in STYLES:
            x = d[STYLE_KEYS[style]]
            x = (x[..., 0] if x.ndim == 4 and x.shape[-1] in (1, 3) else x).copy()
            priors = np.zeros(x.shape[:3], np.float16)
            for i in tqdm(range(len(x)), desc=f"{split} {style}", unit="drawing"):
                if split == "train" and rng.random() < a.dress:
                    x[i] = dress(x[i], d["landmarks"][i], rng)
                priors[i] = prior.render(prior.fit(flatten_paper(x[i])), x.shape[1])[0]
            with torch.no_grad():
                coarse = predict(dp, x[:, None], "sketch", 16, "cpu")
            np.save(out / f"{split}_{style}.npy", x.astype(np.float16))
            np.save(out / f"{split}_{style}_prior.npy", priors)
            np.save(out / f"{split}_{style}_dp.npy", coarse.astype(np.float16))


def load_set(folder: Path, split: str, styles=STYLES):
    depth = np.load(folder / f"{split}_depth.npy").astype(np.float32)
    depth = depth[:, 0] if depth.ndim == 4 else depth
    sets = {s: tuple(np.load(folder / f"{split}_{s}{k}.npy").astype(np.float32) for k in ("", "_prior", "_dp"))
            for s in styles}
    return depth, np.load(folder / f"{split}_mask.npy"), sets


def train(a) -> None:
    import torch
    from tqdm import tqdm

    from sketchface.nets.fusion import FusionConfig, PriorFusion

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    depth, _, sets = load_set(Path(a.fusion), "train")
    x = np.concatenate([s[0] for s in sets.values()])
    p = np.concatenate([s[1] for s in sets.values()])
    d = np.concatenate([s[2] for s in sets.values()])
    y = np.concatenate([depth] * len(sets))
    net = PriorFusion(FusionConfig(width=a.width))
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=a.steps, pct_start=0.05)
    rng = np.random.default_rng(a.seed)
    t = lambda v: torch.from_numpy(v[:, None])     # noqa: E731
    log = []
    bar = tqdm(range(a.steps), desc="train fusion", unit="step")
    for step in bar:
        i = rng.integers(0, len(x), a.batch)
        if rng.random() < 0.5:                     # the mirror image is as likely
            xs, ps, ds, ys = x[i, :, ::-1], p[i, :, ::-1], d[i, :, ::-1], y[i, :, ::-1]
        else:
            xs, ps, ds, ys = x[i], p[i], d[i], y[i]
        if a.crop:                                 # a random window: the network is local (radius 17 px)
            y0, x0 = rng.integers(0, x.shape[1] - a.crop + 1, 2)
            xs, ps, ds, ys = (v[:, y0:y0 + a.crop, x0:x0 + a.crop] for v in (xs, ps, ds, ys))
        xs, ps, ds, ys = (np.ascontiguousarray(v) for v in (xs, ps, ds, ys))
        out = net(t(xs), t(ds), t(ps))
        loss = ((out - t(ys)) ** 2).mean() * 255.0 ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0:
            bar.set_postfix(err=f"{loss.item():.1f}")
            log.append({"step": step, "err": round(loss.item(), 2)})
    out = Path(a.out)
    net.save_pretrained(out / "final")
    (out / "log.json").write_text(json.dumps(log))
    # what export-checkpoints copies beside the weights (RUNS/fusion/final -> the bundle's prior_fusion/)
    (out / "final" / "training.json").write_text(json.dumps(
        {"steps": a.steps, "batch": a.batch, "crop": a.crop, "lr": a.lr, "data": str(a.fusion),
         "last_err": log[-1]["err"] if log else None}, indent=1) + "\n")


def fuse(net, x, p, d, batch=64):
    import torch

    t = lambda v: torch.from_numpy(np.ascontiguousarray(v[:, None]))     # noqa: E731
    with torch.no_grad():
        return np.concatenate([net(t(x[i:i + batch]), t(d[i:i + batch]), t(p[i:i + batch]))[:, 0].numpy()
                               for i in range(0, len(x), batch)])


def measure(a) -> None:
    import torch

    from sketchface.metrics import depth_error_parts
    from sketchface.nets import load_network

    torch.set_num_threads(a.threads)
    net = load_network(a.run).float().eval()
    depth, mask, sets = load_set(Path(a.fusion), "test")
    res = {}
    for style, (x, p, d) in sets.items():
        rows = {"DP-CoarseNet": d, "face model": p, "fusion": fuse(net, x, p, d)}
        res[style] = {k: {n: round(v, 1) for n, v in depth_error_parts(depth, r, mask).items()}
                      for k, r in rows.items()}
        for k, v in res[style].items():
            print(f"{style:7s} {k:14s} Err {v['inside'] + v['outline']:7.1f} = {v['inside']:6.1f} + {v['outline']:6.1f}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("data")
    p.add_argument("--data", default="data/syn128")
    p.add_argument("--checkpoints", default="checkpoints")
    p.add_argument("--out", default="data/fusion128")
    p.add_argument("--n", type=int, default=1600)
    p.add_argument("--n-test", type=int, default=800)
    p.add_argument("--dress", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=1)
    p = sub.add_parser("train")
    p.add_argument("--fusion", default="data/fusion128")
    p.add_argument("--out", default="runs/fusion")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--crop", type=int, default=64, help="train on random windows of this side (0: whole)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p = sub.add_parser("measure")
    p.add_argument("--fusion", default="data/fusion128")
    p.add_argument("--run", default="runs/fusion/final")
    p.add_argument("--json", default=None)
    p.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    {"data": make_data, "train": train, "measure": measure}[a.cmd](a)


if __name__ == "__main__":
    main()
