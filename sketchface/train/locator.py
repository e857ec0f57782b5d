"""``train-locator --data DIR --out DIR``: train the face locator (``sketchface.nets.locator``, not in the papers).

The training drawings (line drawings and pencil sketches of the training identities, paper made white) are in
the training framing by construction. Each step crops a batch of them at random squares (half-side 0.75-1.33 of
the frame, centre within +-0.25) and the locator learns to say which square it was shown (L1 on log s, cx, cy).
About 40 s for the lite checkpoint's 1,500 steps on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

SCALE_RANGE = (0.75, 1.33)   # half-side of the shown square, in units of the training frame's half-side
SHIFT = 0.25                 # largest centre offset, same units


def sample_params(n: int, generator):
    import torch

    u = torch.rand(n, 3, generator=generator)
    lo, hi = math.log(SCALE_RANGE[0]), math.log(SCALE_RANGE[1])
    return torch.stack([lo + (hi - lo) * u[:, 0], SHIFT * (2 * u[:, 1] - 1), SHIFT * (2 * u[:, 2] - 1)], 1)


def load_drawings(data: str | Path, split: str, n: int = 0) -> np.ndarray:
    """(K, H, W) line drawings and pencil sketches of one split, paper made white, as the pipeline reads them."""
    from sketchface.evaluate import load_split
    from sketchface.framing import flatten_paper

    d = load_split(data, split, ("sketch_lines", "sketch_pencil"), n)
    return np.stack([flatten_paper(x) for x in np.concatenate([d["sketch_lines"], d["sketch_pencil"]])])


def train_locator(data: str | Path, out: str | Path, steps: int = 1500, batch: int = 64, lr: float = 2e-3,
                  seed: int = 0, config=None, progress: bool = True) -> dict:
    """Train, save ``out`` (fp16 safetensors + config.json) and return the mean |error| on test drawings."""
    import torch
    from tqdm.auto import tqdm

    from sketchface.nets.locator import FaceLocator, LocatorConfig, crop_views

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = FaceLocator(config or LocatorConfig())
    view = net.config.view
    train = torch.from_numpy(load_drawings(data, "train"))[:, None]
    opt = torch.optim.Adam(net.parameters(), lr)
    bar = tqdm(range(steps), desc="train-locator", unit="step", disable=not progress)
    for step in bar:
        if step == int(0.7 * steps):
            for g in opt.param_groups:
                g["lr"] = lr / 4
        idx = torch.randint(0, len(train), (batch,), generator=gen)
        p = sample_params(batch, gen)
        loss = (net(crop_views(train[idx], p, view)) - p).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
    net.eval()
    test = torch.from_numpy(load_drawings(data, "test", 200))[:, None]
    p = sample_params(len(test), torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        err = (net(crop_views(test, p, view)) - p).abs().mean(0).tolist()
    net.save_pretrained(out, dtype=torch.float16)
    return {"steps": steps, "test_abs_err": {"log_s": err[0], "cx": err[1], "cy": err[2]}}


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-locator", help="train the face locator that refines the framing of drawings",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="make-data folder")
    p.add_argument("--out", required=True, help="checkpoint folder to write (e.g. checkpoints/locator)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(a: argparse.Namespace) -> int:
    res = train_locator(a.data, a.out, steps=a.steps, seed=a.seed, progress=not a.no_progress)
    e = res["test_abs_err"]
    print(f"wrote {a.out}: mean |error| on 200 test drawings' random crops: log s {e['log_s']:.3f}, "
          f"cx {e['cx']:.3f}, cy {e['cy']:.3f} (frame half-side units)")
    return 0
