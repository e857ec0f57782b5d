"""``export-checkpoints --runs runs/lite --out checkpoints``: collect trained runs into a checkpoint bundle.

Each network is written as fp16 safetensors + config.json, inference-only (image decoders, style encoders
and discriminators are training-only and left out), with ``pipeline.json`` naming the default networks.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from sketchface.errors import UserError

# the run folder (relative to --runs; scripts/train_lite.sh) of each network of the bundle; the notebooks find
# the lite runs by it too (sketchface.notebook.LITE_RUNS)
RUN_FOLDERS = {
    "dp_coarse": "coarse-dp-full",
    "sp_coarse": "coarse-sp",
    "sp_coarse_minus": "coarse-sp-",
    "dnet": "coarse-dnet",
    "line_extractor": "lines",
    "finenet": "fine-line+dis",
    "cyclegan": "cyclegan",
    "locator": "locator",          # python -m sketchface train-locator --out RUNS/locator/final
    "facefit": "facefit",          # python -m sketchface train-facefit --out RUNS/facefit/final
    # the roles trained by commands of their own (no Trainer run folder; each writes a report beside its weights)
    "facecheck": "facecheck",      # python -m sketchface train-facecheck --out RUNS/facecheck/final
    "outline": "outline",          # python -m sketchface train-outline --out RUNS/outline/final
    "mouth": "mouth",              # python -m sketchface train-mouth --out RUNS/mouth/final
    "prior_fusion": "fusion",      # python -m sketchface train-fusion --out RUNS/fusion/final
}
OWN_COMMAND = ("locator", "facefit", "facecheck", "outline", "mouth", "prior_fusion")   # trained outside the Trainer's run folders
REPORTS = ("training.json", "train_report.json")     # what those commands write beside the weights
# bundle folder <- the finished run's final/ folder
RUNS = {kind: f"{folder}/final" for kind, folder in RUN_FOLDERS.items()}
REQUIRED = ("dp_coarse", "line_extractor", "finenet")


def export_bundle(runs: str | Path, out: str | Path, only: tuple[str, ...] = ()) -> dict[str, int]:
    import torch

    from sketchface.nets import load_network
    from sketchface.pipeline import DEFAULT_BUNDLE, FACE_MODEL, PIPELINE_FILE

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
        for report in REPORTS:                       # how it was trained and measured travels with it
            if (src / report).is_file():
                (out / name / report).write_text((src / report).read_text())
        sizes[name] = (out / name / "model.safetensors").stat().st_size
        print(f"{name:16s} <- {src}  {sizes[name] / 2**20:.1f} MiB")
    # with FaceFit in the bundle, the face model's depth is the default coarse depth (docs/RESULTS.md, "Real
    # sketches"); without the face model the pipeline falls back to the DP-CoarseNet on its own
    spec = {**DEFAULT_BUNDLE, "coarse": FACE_MODEL} if "facefit" in sizes else DEFAULT_BUNDLE
    (out / PIPELINE_FILE).write_text(json.dumps(spec, indent=2) + "\n")
    (out / "TRAINING.md").write_text(training_table(runs, sizes))
    print(f"total {sum(sizes.values()) / 2**20:.1f} MiB in {out}")
    return sizes


def run_summary(run: Path) -> dict:
    """Steps, wall time (summed over resumed segments), mean images/s and the last losses of a run folder."""
    import csv

    from sketchface.train.config import load_config

    out: dict = {}
    cfg_file = run / "config.yaml"
    if cfg_file.is_file():     # flat (older runs) or sectioned: the config reads both
        cfg = load_config(cfg_file)
        out.update({"steps": cfg.steps, "batch_size": cfg.batch_size, "preset": cfg.preset, "data": cfg.data,
                    "loss": cfg.stage_loss, "sketch_styles": cfg.sketch_styles, "threads": cfg.threads,
                    "lambda_conditioned": cfg.fine.lambda_conditioned})
    rows = list(csv.DictReader(open(run / "metrics.csv"))) if (run / "metrics.csv").is_file() else []
    if rows:
        total, prev = 0.0, 0.0
        for r in rows:                       # the time column restarts at 0 in a resumed process
            t = float(r["time"])
            if t < prev:
                total += prev
            prev = t
        total += prev
        out["trained_steps"] = int(rows[-1]["step"])
        out["hours"] = round(total / 3600, 2)
        out["images_per_s"] = round(sum(float(r["images_per_s"]) for r in rows) / len(rows), 2)
        out["last"] = {k: float(v) for k, v in rows[-1].items() if k not in ("step", "time", "images_per_s")}
    return out


def training_table(runs: Path, sizes: dict[str, int]) -> str:
    lines = ["# How the shipped networks were trained", "",
             "Written by `python -m sketchface export-checkpoints`. One row per network: its run folder, the steps it",
             "trained, wall time (2-core CPU unless the run says otherwise), mean training images/s and the last",
             "logged losses.", "",
             "| network | run | steps | batch | hours | images/s | sketch styles | last losses | MiB (fp16) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, rel in RUNS.items():
        if name not in sizes:
            continue
        run = runs / Path(rel).parent
        s = run_summary(run)
        for report in REPORTS:                       # a role trained by its own command: its report's steps
            if "trained_steps" not in s and (runs / rel / report).is_file():
                s["trained_steps"] = json.loads((runs / rel / report).read_text()).get("steps", "?")
        last = ", ".join(f"{k} {v:.4g}" for k, v in (s.get("last") or {}).items())
        styles = ", ".join(s.get("sketch_styles") or []) if name not in ("line_extractor", "cyclegan") else "–"
        lines.append(f"| {name} | `{run}` | {s.get('trained_steps', '?')} | {s.get('batch_size') or 'paper'} | "
                     f"{s.get('hours', '?')} | {s.get('images_per_s', '?')} | {styles} | {last} | "
                     f"{sizes[name] / 2**20:.1f} |")
    return "\n".join(lines) + "\n"


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-checkpoints", help="collect trained runs into a fp16 checkpoint bundle",
                       description=__doc__)
    p.add_argument("--runs", default="runs/lite", help="folder holding the run folders (default runs/lite)")
    p.add_argument("--out", default="checkpoints", help="bundle folder (default checkpoints)")
    p.add_argument("--only", nargs="*", default=(), help="export only these networks")
    p.set_defaults(func=lambda a: export_bundle(a.runs, a.out, tuple(a.only)) and 0)
