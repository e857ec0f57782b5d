"""Training PriorFusion, which joins DP-CoarseNet's depth and the face model's (sketchface/nets/fusion.py;
docs/TRAINING.md, "DP-CoarseNet on the face model").

    python -m sketchface prepare-fusion --data data/syn128 --out data/fusion128          # 13 min, one core
    python -m sketchface train-fusion --fusion data/fusion128 --out runs/fusion/final    # 13 min, one core

``prepare-fusion``: every train and test drawing of a make-data folder (pencil, lines, artist; train drawings dressed
with hair, glasses and collars by chance) read by the bundle's DP-CoarseNet (once, as ``evaluate`` reads) and by its
FaceFit (the face model's depth rendered in the drawing's frame), saved with the true depth and mask as .npy files.
``train-fusion``: the squared depth error of eq. 12 over random windows and their mirror images, Adam with a one-cycle
schedule; then Err (inside both faces + outline) of DP-CoarseNet, the face model and the fusion on the test split,
written with the settings to ``training.json`` beside the weights.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

STYLES = ("pencil", "lines", "artist")


def prepare_fusion(data: str | Path, out: str | Path, checkpoints: str | Path = "checkpoints", n: int = 1600,
                   n_test: int = 800, dress_share: float = 0.5, progress: bool = True) -> Path:
    """Write ``{split}_depth``, ``{split}_mask`` and per style ``{split}_{style}`` (drawing), ``_prior`` (face model's
    depth) and ``_dp`` (DP-CoarseNet's) .npy files into ``out``."""
    import torch
    from tqdm import tqdm

    from sketchface.evaluate import STYLE_KEYS, load_split, predict
    from sketchface.framing import flatten_paper
    from sketchface.nets import load_network
    from sketchface.pipeline import SketchFace
    from sketchface.synth.dress import dress

    prior = SketchFace.from_pretrained(checkpoints, coarse="face_model").prior
    dp = load_network(Path(checkpoints) / "dp_coarse").float().eval()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for split in ("test", "train"):
        d = load_split(data, split, ("depth", "mask", "landmarks", *[STYLE_KEYS[s] for s in STYLES]),
                       n if split == "train" else n_test)
        rng = np.random.default_rng(0 if split == "train" else 1)
        np.save(out / f"{split}_depth.npy", d["depth"].astype(np.float16))
        m = d["mask"]
        np.save(out / f"{split}_mask.npy", (m[..., 0] if m.ndim == 4 else m) > 0)
        for style in STYLES:
            x = d[STYLE_KEYS[style]]
            x = (x[..., 0] if x.ndim == 4 and x.shape[-1] in (1, 3) else x).copy()
            priors = np.zeros(x.shape[:3], np.float16)
            for i in tqdm(range(len(x)), desc=f"{split} {style}", unit="drawing", disable=not progress):
                if split == "train" and rng.random() < dress_share:
                    x[i] = dress(x[i], d["landmarks"][i], rng)
                priors[i] = prior.render(prior.fit(flatten_paper(x[i])), x.shape[1])[0]
            with torch.no_grad():
                coarse = predict(dp, x[:, None], "sketch", 16, "cpu")
            np.save(out / f"{split}_{style}.npy", x.astype(np.float16))
            np.save(out / f"{split}_{style}_prior.npy", priors)
            np.save(out / f"{split}_{style}_dp.npy", coarse.astype(np.float16))
    return out


def load_fusion_set(folder: str | Path, split: str, styles=STYLES) -> tuple:
    """(true depth (K, S, S), mask (K, S, S), {style: (drawings, face model depths, DP-CoarseNet depths)})."""
    from sketchface.errors import UserError

    folder = Path(folder)
    if not (folder / f"{split}_depth.npy").is_file():
        raise UserError(f"{folder} holds no {split} split of `prepare-fusion` ({split}_depth.npy is missing)")
    depth = np.load(folder / f"{split}_depth.npy").astype(np.float32)
    depth = depth[:, 0] if depth.ndim == 4 else depth
    styles = [s for s in styles if (folder / f"{split}_{s}.npy").is_file()]
    sets = {s: tuple(np.load(folder / f"{split}_{s}{k}.npy").astype(np.float32) for k in ("", "_prior", "_dp"))
            for s in styles}
    return depth, np.load(folder / f"{split}_mask.npy"), sets


def joined(net, drawings: np.ndarray, dp: np.ndarray, prior: np.ndarray, batch: int = 64) -> np.ndarray:
    """PriorFusion's depth (K, S, S) of drawings, DP-CoarseNet depths and face-model depths (each (K, S, S)), the
    arguments in the order of ``PriorFusion.forward``."""
    import torch

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, np.float32)[:, None])

    with torch.inference_mode():
        return np.concatenate([net(t(drawings[i:i + batch]), t(dp[i:i + batch]), t(prior[i:i + batch]))[:, 0].numpy()
                               for i in range(0, len(drawings), batch)])


def measure_fusion(net, folder: str | Path) -> dict:
    """{style: {coarse depth: {"Err", "inside", "outline"}}} on the test split of a ``prepare-fusion`` folder."""
    from sketchface.metrics import depth_error_parts

    depth, mask, sets = load_fusion_set(folder, "test")
    out = {}
    for style, (x, p, d) in sets.items():
        rows = {"DP-CoarseNet": d, "face model": p, "DP-CoarseNet on the face model": joined(net, x, d, p)}
        out[style] = {}
        for name, pred in rows.items():
            parts = depth_error_parts(depth, pred, mask)
            out[style][name] = {"Err": round(parts["inside"] + parts["outline"], 1),
                                **{k: round(v, 1) for k, v in parts.items()}}
    return out


def train_fusion(fusion: str | Path, out: str | Path, steps: int = 3000, batch: int = 16, lr: float = 3e-3,
                 width: int = 16, crop: int = 64, seed: int = 0, measure: bool = True, progress: bool = True) -> dict:
    """Train PriorFusion on a ``prepare-fusion`` folder; save it (fp32) to ``out`` with ``training.json``."""
    import torch
    from tqdm import tqdm

    from sketchface.errors import UserError
    from sketchface.nets.fusion import FusionConfig, PriorFusion

    torch.manual_seed(seed)
    depth, _, sets = load_fusion_set(fusion, "train")
    if not sets:
        raise UserError(f"{fusion} holds no train drawings of `prepare-fusion`")
    x, p, d = (np.concatenate([s[k] for s in sets.values()]) for k in range(3))
    y = np.concatenate([depth] * len(sets))
    size = x.shape[-1]
    crop = min(int(crop), size) if crop else size
    net = PriorFusion(FusionConfig(width=width))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.05)
    rng = np.random.default_rng(seed)
    log = []
    bar = tqdm(range(steps), desc="train fusion", unit="step", disable=not progress)
    for step in bar:
        i = rng.integers(0, len(x), batch)
        flip = -1 if rng.random() < 0.5 else 1            # the mirror image is as likely
        y0, x0 = rng.integers(0, size - crop + 1, 2)     # a random window: the network is local (17 px either way)
        win = (i, slice(y0, y0 + crop), slice(x0, x0 + crop))
        xs, ps, ds, ys = (torch.from_numpy(np.ascontiguousarray(v[win][..., ::flip])[:, None]) for v in (x, p, d, y))
        loss = ((net(xs, ds, ps) - ys) ** 2).mean() * 255.0 ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(err=f"{loss.item():.1f}")
            log.append({"step": step, "err": round(loss.item(), 2)})
    out = Path(out)
    net.save_pretrained(out)
    report = {"steps": steps, "batch": batch, "crop": crop, "lr": lr, "width": width, "seed": seed,
              "data": str(fusion), "styles": list(sets), "n_train": int(len(depth)), "last_err": log[-1]["err"]}
    if measure:
        report["test"] = measure_fusion(net.eval(), fusion)
    (out / "training.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare-fusion", help="drawings read by DP-CoarseNet and FaceFit, for train-fusion",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="make-data folder (with the artist style: synthesize-sketches)")
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoints", default="checkpoints", help="bundle whose DP-CoarseNet and FaceFit read them")
    p.add_argument("--n", type=int, default=1600, help="train samples (0 = all)")
    p.add_argument("--n-test", type=int, default=800, help="test samples (0 = all)")
    p.add_argument("--dress", type=float, default=0.5, help="share of train drawings dressed (hair, glasses, collar)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_prepare)
    p = sub.add_parser("train-fusion", help="train PriorFusion: DP-CoarseNet's depth and the face model's joined",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fusion", required=True, help="prepare-fusion folder")
    p.add_argument("--out", required=True, help="folder to write (config.json, model.safetensors, training.json)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--crop", type=int, default=64, help="side of the random training windows (0: whole drawings)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_train)


def _prepare(a: argparse.Namespace) -> int:
    prepare_fusion(a.data, a.out, a.checkpoints, a.n, a.n_test, a.dress, not a.no_progress)
    print(f"wrote {a.out}")
    return 0


def _train(a: argparse.Namespace) -> int:
    report = train_fusion(a.fusion, a.out, a.steps, a.batch, a.lr, a.width, a.crop, a.seed,
                          progress=not a.no_progress)
    for style, rows in report.get("test", {}).items():
        print(f"{style}: " + ", ".join(f"{name} Err {v['Err']:.1f}" for name, v in rows.items()))
    print(f"wrote {a.out}")
    return 0
