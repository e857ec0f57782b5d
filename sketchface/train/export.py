"""``export-checkpoints --runs runs/lite --out checkpoints``: collect trained runs into a checkpoint bundle.

Each network is written as fp16 safetensors + config.json, inference-only (image decoders, style encoders
and discriminators are training-only and left out), with ``pipeline.json`` naming the default networks.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from sketchface.cli import UserError

# bundle folder <- run folder (relative to --runs)
RUNS = {
    "dp_coarse": "coarse-dp-full/final",
    "sp_coarse": "coarse-sp/final",
    "sp_coarse_minus": "coarse-sp-/final",
    "dnet": "coarse-dnet/final",
    "line_extractor": "lines/final",
    "finenet": "fine-line+dis/final",
    "cyclegan": "cyclegan/final",
}
REQUIRED = ("dp_coarse", "line_extractor", "finenet")


def export_bundle(runs: str | Path, out: str | Path, only: tuple[str, ...] = ()) -> dict[str, int]:
    import torch

    from sketchface.nets import load_network
    from sketchface.pipeline import DEFAULT_BUNDLE, PIPELINE_FILE

    runs, out = Path(runs), Path(out)
    missing = [n for n in REQUIRED if not (runs / RUNS[n] / "config.json").is_file()]
    if missing:
        raise UserError(f"no trained {', '.join(missing)} under {runs} (expected {runs / RUNS[missing[0]]}); "
                        "train those stages first")
    sizes = {}
    for name, rel in RUNS.items():
        if only and name not in only:
            continue
        src = runs / rel
        if not (src / "config.json").is_file():
            print(f"skip {name}: {src} not found")
            continue
        net = load_network(src)
        net.save_pretrained(out / name, dtype=torch.float16, inference_only=True)
        sizes[name] = (out / name / "model.safetensors").stat().st_size
        print(f"{name:16s} <- {src}  {sizes[name] / 2**20:.1f} MB")
    (out / PIPELINE_FILE).write_text(json.dumps(DEFAULT_BUNDLE, indent=2) + "\n")
    print(f"total {sum(sizes.values()) / 2**20:.1f} MB in {out}")
    return sizes


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-checkpoints", help="collect trained runs into a fp16 checkpoint bundle",
                       description=__doc__)
    p.add_argument("--runs", default="runs/lite", help="folder holding the run folders (default runs/lite)")
    p.add_argument("--out", default="checkpoints", help="bundle folder (default checkpoints)")
    p.add_argument("--only", nargs="*", default=(), help="export only these networks")
    p.set_defaults(func=lambda a: export_bundle(a.runs, a.out, tuple(a.only)) and 0)
