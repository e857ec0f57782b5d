"""``train-locator --data DIR --out DIR``: train the face locator (``sketchface.nets.locator``, not in the papers).

The training drawings (line drawings and pencil sketches of the training identities, paper made white) are in
the training framing by construction. Each step crops a batch of them at random squares (half-side 0.75-1.33 of
the frame, centre within +-0.25; 30 % of them close to the frame itself, where the last round looks), with the pen
varied (strokes thickened or lighter, half the batch), shrunk as the pipeline shrinks a drawing, and the locator
learns to say which square it was shown (L1 on log s, cx, cy). The shipped checkpoint: the defaults (12,000 steps,
``SHIPPED`` settings), about 13 minutes on one CPU core.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

SCALE_RANGE = (0.75, 1.33)   # half-side of the shown square, in units of the training frame's half-side
SHIFT = 0.25                 # largest centre offset, same units
SHIPPED = {"coords": True, "head": "flat", "rounds": 3, "mirror": True, "widen": 0.02}   # checkpoints/locator
NEAR = (1.1, 0.08)           # "near" squares: half-side within 1/1.1-1.1, centre within +-0.08


def sample_params(n: int, generator, near: float = 0.0):
    """(n, 3) random squares (log s, cx, cy); a share ``near`` of them close to the training frame itself, where
    the locator's last round looks."""
    import torch

    u = torch.rand(n, 3, generator=generator)
    lo, hi = math.log(SCALE_RANGE[0]), math.log(SCALE_RANGE[1])
    p = torch.stack([lo + (hi - lo) * u[:, 0], SHIFT * (2 * u[:, 1] - 1), SHIFT * (2 * u[:, 2] - 1)], 1)
    if near > 0:
        close = torch.rand(n, generator=generator) < near
        q = torch.stack([math.log(NEAR[0]) * (2 * u[:, 0] - 1), NEAR[1] * (2 * u[:, 1] - 1),
                         NEAR[1] * (2 * u[:, 2] - 1)], 1)
        p = torch.where(close[:, None], q, p)
    return p


def load_drawings(data: str | Path, split: str, n: int = 0) -> np.ndarray:
    """(K, H, W) line drawings and pencil sketches of one split, paper made white, as the pipeline reads them."""
    from sketchface.evaluate import load_split
    from sketchface.framing import flatten_paper

    d = load_split(data, split, ("sketch_lines", "sketch_pencil"), n)
    return np.stack([flatten_paper(x) for x in np.concatenate([d["sketch_lines"], d["sketch_pencil"]])])


def restyle(drawings, generator, share: float = 0.5):
    """Vary the pen (a share of the batch): strokes thickened by a pixel or drawn lighter, so that stroke width,
    which a user's pen sets, is no clue to the scale of the face."""
    import torch
    import torch.nn.functional as F

    n = len(drawings)
    ink = 1.0 - drawings
    u = torch.rand(n, 2, generator=generator)
    thick = (u[:, 0] < share / 2)[:, None, None, None]
    light = ((u[:, 0] >= share / 2) & (u[:, 0] < share))[:, None, None, None]
    ink = torch.where(thick, F.max_pool2d(ink, 3, 1, 1), ink)
    ink = torch.where(light, ink * (0.4 + 0.6 * u[:, 1, None, None, None]), ink)
    return 1.0 - ink


def views(drawings, params, view: int):
    """``crop_views`` after an area shrink to ``view`` px, as the pipeline shrinks a drawing before the locator
    reads it (``framing.crop_to_frame``): thin strokes come out grey, not dotted."""
    import torch.nn.functional as F

    from sketchface.nets.locator import crop_views

    if drawings.shape[-1] > view:
        drawings = F.interpolate(drawings, size=(view, view), mode="area")
    return crop_views(drawings, params, view)


def train_locator(data: str | Path, out: str | Path, steps: int = 12000, batch: int = 64, lr: float = 2e-3,
                  seed: int = 0, config=None, progress: bool = True, near: float = 0.3,
                  pen: float = 0.5) -> dict:
    """Train, save ``out`` (fp16 safetensors + config.json) and return the mean |error| on test drawings."""
    import torch
    from tqdm.auto import tqdm

    from sketchface.nets.locator import FaceLocator, LocatorConfig

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = FaceLocator(config or LocatorConfig(**SHIPPED))
    view = net.config.view
    train = torch.from_numpy(load_drawings(data, "train"))[:, None]
    opt = torch.optim.Adam(net.parameters(), lr)
    bar = tqdm(range(steps), desc="train-locator", unit="step", disable=not progress)
    for step in bar:
        if step == int(0.7 * steps):
            for g in opt.param_groups:
                g["lr"] = lr / 4
        idx = torch.randint(0, len(train), (batch,), generator=gen)
        p = sample_params(batch, gen, near)
        loss = (net(views(restyle(train[idx], gen, pen), p, view)) - p).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
    net.eval()
    test = torch.from_numpy(load_drawings(data, "test", 200))[:, None]
    p = sample_params(len(test), torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        err = (net.locate(views(test, p, view)) - p).abs().mean(0).tolist()
    net.save_pretrained(out, dtype=torch.float16)
    return {"steps": steps, "test_abs_err": {"log_s": err[0], "cx": err[1], "cy": err[2]}}


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-locator", help="train the face locator that refines the framing of drawings",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="make-data folder")
    p.add_argument("--out", required=True, help="checkpoint folder to write (e.g. checkpoints/locator)")
    p.add_argument("--steps", type=int, default=12000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--near", type=float, default=0.3,
                   help="share of training squares drawn close to the training frame (refines the last round)")
    p.add_argument("--pen", type=float, default=0.5,
                   help="share of training drawings with thickened or lighter strokes")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help=f"LocatorConfig fields over the shipped ones ({SHIPPED}), e.g. view=96 mirror=false")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(a: argparse.Namespace) -> int:
    from sketchface.errors import UserError
    from sketchface.nets.config import ConfigError
    from sketchface.nets.locator import LocatorConfig

    try:
        config = LocatorConfig.from_dict({**SHIPPED, **_parse_sets(a.set)})
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    res = train_locator(a.data, a.out, steps=a.steps, seed=a.seed, progress=not a.no_progress, near=a.near,
                        config=config, pen=a.pen)
    e = res["test_abs_err"]
    print(f"wrote {a.out}: mean |error| on 200 test drawings' random crops: log s {e['log_s']:.3f}, "
          f"cx {e['cx']:.3f}, cy {e['cy']:.3f} (frame half-side units)")
    return 0


def _parse_sets(items: list[str]) -> dict:
    """``KEY=VALUE`` strings -> dict, each value read as YAML (``96`` an int, ``true`` a bool)."""
    import yaml

    from sketchface.nets.config import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r} must look like key=value")
        out[key.strip()] = yaml.safe_load(value)
    return out
