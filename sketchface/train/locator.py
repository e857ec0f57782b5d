"""``train-locator --data DIR --out DIR``: train the face locator (``sketchface.nets.locator``, not in the papers).

The training drawings (line drawings and pencil sketches of the training identities, paper made white) are in
the training framing by construction. Each step crops a batch of them at random squares (half-side 0.75-1.33 of
the frame, centre within +-0.25; 30 % of them close to the frame itself, where the last round looks), with the pen
varied (strokes thickened or lighter, half the batch), shrunk as the pipeline shrinks a drawing, and the locator
learns to say which square it was shown (L1 on log s, cx, cy). It trains as a stage of the shared Trainer
(``python -m sketchface train locator``: exact resume, metrics.csv, sample grids; ``train-locator`` is the same
with the test error at the end). The checkpoint once shipped: the defaults (12,000 steps, ``SHIPPED`` settings),
about 13 minutes on one CPU core.
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


class Drawings:
    """The line drawings and pencil sketches of a make-data split, paper made white, as the pipeline reads them:
    item 2k is sample k's line drawing, 2k + 1 its pencil sketch (``{"drawing": (1, H, W)}``)."""

    def __init__(self, samples):
        self.samples = samples

    def __len__(self) -> int:
        return 2 * len(self.samples)

    def __getitem__(self, i: int) -> dict:
        import torch

        from sketchface.framing import flatten_paper

        x = self.samples[i // 2][("sketch_lines", "sketch_pencil")[i % 2]]
        x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, np.float32)
        return {"drawing": torch.from_numpy(flatten_paper(x.reshape(x.shape[-2:])))[None]}


def locator_config(cfg):
    """The locator a training config builds: the shipped settings with ``cfg.net`` over them."""
    from sketchface.nets.locator import LocatorConfig

    return LocatorConfig.from_dict({**SHIPPED, **cfg.net})


def locator_stage():
    """The locator as a stage of the shared Trainer (``python -m sketchface train locator``)."""
    import torch

    from sketchface.train.loop import tile
    from sketchface.train.stages import Losses, Stage, _module, training_dataset

    class LocatorStage(Stage):
        """Random squares around the training frame -> the locator says which square it was shown."""
        name = "locator"
        keys = ("sketch_lines", "sketch_pencil")
        export_dtype = torch.float16

        def dataset(self, cfg, split):
            return Drawings(training_dataset(cfg, split, self.keys))

        def build_models(self, cfg, device):
            from sketchface.nets.locator import FaceLocator
            from sketchface.train.stages import load_fixed

            if cfg.init_from:
                net = load_fixed(cfg.init_from, "init_from").float()
            else:
                net = FaceLocator(locator_config(cfg))
            return {"net": net.to(device).train()}

        def losses(self, models, batch, cfg, gen) -> Losses:
            net = _module(models["net"])
            x = batch["drawing"]
            p = sample_params(len(x), gen, cfg.locator.near).to(x.device)
            seen = views(restyle(x, gen, cfg.locator.pen), p, net.config.view)
            loss = (models["net"](seen) - p).abs().mean()
            return Losses.single({"l1": loss, "total": loss})

        def sample_grid(self, models, batch, cfg):
            net = _module(models["net"])
            x = batch["drawing"]
            p = sample_params(len(x), torch.Generator().manual_seed(0), cfg.locator.near).to(x.device)
            seen = views(x, p, net.config.view)
            # what the locator says it was shown, cut out again: the same picture as the second column when right
            return tile([views(x, torch.zeros_like(p), net.config.view), seen,
                         views(x, net.locate(seen), net.config.view)])

    return LocatorStage()


def test_error(net, data: str | Path, seed: int = 0, n: int = 200) -> dict:
    """Mean |error| (log s, cx, cy; frame half-side units) on random squares of ``n`` test drawings."""
    import torch

    net.eval()
    test = torch.from_numpy(load_drawings(data, "test", n))[:, None]
    p = sample_params(len(test), torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        err = (net.locate(views(test, p, net.config.view)) - p).abs().mean(0).tolist()
    return {"log_s": err[0], "cx": err[1], "cy": err[2]}


def train_locator(data: str | Path, out: str | Path, steps: int = 12000, batch: int = 64, lr: float = 2e-3,
                  seed: int = 0, config=None, progress: bool = True, near: float = 0.3,
                  pen: float = 0.5, run: str | Path | None = None, resume: bool = False) -> dict:
    """Train with the shared Trainer in the run folder ``run`` (default: OUT-run), write ``out`` (fp16
    safetensors + config.json) and return the mean |error| on test drawings."""
    from sketchface.nets import load_network
    from sketchface.train.config import make_config
    from sketchface.train.loop import fit_into, run_folder

    run = run_folder(out, run)
    net = dict(config.to_dict()) if config is not None else {}
    net.pop("kind", None)
    cfg = make_config({"stage": "locator", "data": str(data), "out": str(run), "steps": steps, "batch_size": batch,
                       "lr": lr, "beta1": 0.9, "lr_schedule": "cosine", "seed": seed,
                       "locator": {"near": near, "pen": pen}, "net": net, "ckpt_every": max(1, min(500, steps)),
                       "sample_every": max(1, min(2000, steps)), "log_every": max(1, min(50, steps))})
    fit_into(locator_stage(), cfg, out, progress, resume)
    return {"steps": steps, "run": str(run), "test_abs_err": test_error(load_network(out), data, seed)}


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
    p.add_argument("--run", default=None, help="run folder (checkpoint, metrics.csv, samples; default OUT-run)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
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
                        config=config, pen=a.pen, run=a.run, resume=a.resume)
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
