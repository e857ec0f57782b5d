"""``python -m sketchface nets --preset lite|paper``: parameters and GFLOPs of every network.

GFLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` (2 x multiply-adds of
convolutions and matrix products) for one forward at batch 1 at the preset's resolution,
on the meta device (shapes only, no arithmetic), so even the paper preset is instant.
"forward" is the training forward (every output the losses use); "inference" is the
path a user runs (``predict_depth``, ``refine``, ``translate``).
"""
from __future__ import annotations

import argparse
from typing import Any, Callable

from sketchface.nets.config import PRESETS, NetConfig, preset

NAMES = {
    "sp_coarse_minus": "SP-CoarseNet-", "sp_coarse": "SP-CoarseNet", "dp_coarse": "DP-CoarseNet",
    "dnet": "D-Net (DF2Net coarse)", "line_extractor": "Line extractor",
    "finenet": "FineNet refinement", "cyclegan": "CycleGAN (2 G + 2 D)",
}


def example_calls(kind: str, model: Any, config: NetConfig, batch: int = 1,
                  device: Any = "cpu") -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(training forward, inference) closures on random inputs of the config's size."""
    import torch

    s = config.image_size

    def rand(c: int) -> "torch.Tensor":
        return torch.rand(batch, c, s, s, device=device)

    if kind in ("sp_coarse_minus", "sp_coarse", "dnet"):
        x = rand(config.in_channels)
        return (lambda: model(x)), (lambda: model.predict_depth(x))
    if kind == "dp_coarse":
        sk, ph = rand(config.in_channels), rand(config.photo_channels)
        return (lambda: model(sk, ph)), (lambda: model.predict_depth(sk, "sketch"))
    if kind == "line_extractor":
        d = rand(config.in_channels)
        return (lambda: model(d)), (lambda: model(d))
    if kind == "finenet":
        d, l = rand(1), rand(config.in_channels - 1)
        lam = torch.full((batch,), 0.85, device=device)
        return (lambda: model(d, l, lam)), (lambda: model.refine(d, l, lam))
    if kind == "cyclegan":
        ph, sk = rand(config.photo_channels), rand(config.sketch_channels)
        return (lambda: model(ph, sk)), (lambda: model.translate(ph))
    raise ValueError(f"no example inputs for kind {kind!r}")


def _gflops(fn: Callable[[], Any]) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn()
    return counter.get_total_flops() / 1e9


def summarize(preset_name: str) -> list[dict[str, Any]]:
    """One row per network of the preset: name, kind, params (M), GFLOPs."""
    import torch

    from sketchface.nets import build

    rows = []
    for kind, cfg in preset(preset_name).items():
        with torch.device("meta"):
            model = build(kind, cfg)
        n_params = sum(p.numel() for p in model.parameters())
        train_fn, infer_fn = example_calls(kind, model, cfg, device="meta")
        rows.append({"name": NAMES.get(kind, kind), "kind": kind, "params_m": n_params / 1e6,
                     "forward_gflops": _gflops(train_fn), "inference_gflops": _gflops(infer_fn),
                     "size": cfg.image_size})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    out = ["| network | kind | params (M) | forward GFLOPs | inference GFLOPs | input |",
           "|---|---|---:|---:|---:|---|"]
    for r in rows:
        out.append(f"| {r['name']} | `{r['kind']}` | {r['params_m']:.2f} | {r['forward_gflops']:.2f} "
                   f"| {r['inference_gflops']:.2f} | {r['size']}x{r['size']} |")
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    print(f"Networks, preset '{args.preset}' (batch 1; GFLOPs = 2 x multiply-adds; "
          f"forward = training forward, inference = user path)\n")
    print(markdown(summarize(args.preset)))
    return 0


def add_cli(subparsers: Any) -> None:
    parser = subparsers.add_parser("nets", help="table of every network: parameters and GFLOPs",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=PRESETS, default="lite",
                        help="network sizes: lite (128x128, width 16) or paper (256x256, width 64)")
    parser.set_defaults(func=run)
