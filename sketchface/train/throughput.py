"""``bench-train``: training throughput of every stage (images/s, peak memory) with a preset's configs.

Each stage is set up exactly as ``train`` sets it up from ``configs/PRESET/*.yaml`` (same networks, batch size,
optimizers, mixed precision on CUDA), then timed over ``--steps`` optimizer steps after ``--warmup`` untimed
ones, on the training split of ``--data``. Nothing is written to a run folder. FineNet needs a CoarseNet and a
line extractor: untrained ones of the preset are used (they cost the same per step as trained ones).

    python -m sketchface bench-train --preset paper --data data/syn256 --out docs/BENCHMARKS_TRAIN.md

Results go to a markdown table and JSON beside it. On a CUDA machine this is the "images/s per stage" of the
paper preset; on a CPU it tells students how long a stage would take before they start it.
"""
from __future__ import annotations

import argparse
import itertools
import json
import platform
import tempfile
import time
from pathlib import Path

# (label, config file stem, overrides)
STAGES = [
    ("CycleGAN photo→sketch", "cyclegan", []),
    ("SP-CoarseNet−", "coarse_sp", ["variant=sp-"]),
    ("SP-CoarseNet", "coarse_sp", ["variant=sp"]),
    ("DP-CoarseNet (full loss)", "coarse_dp", []),
    ("D-Net", "coarse_sp", ["variant=dnet"]),
    ("line extractor", "lines", []),
    ("FineNet (L_line + L_dis)", "fine", []),
]


def _untrained(kind_stage: str, config: Path, overrides: list[str], out: Path) -> str:
    """Export an untrained network of a stage (for FineNet's fixed CoarseNet and line extractor)."""
    from sketchface.train.config import load_config
    from sketchface.train.stages import get_stage
    cfg = load_config(config, overrides)
    stage = get_stage(kind_stage)
    models = stage.build_models(cfg, "cpu")
    stage.export(models, out, cfg)
    return str(out)


def measure_stage(config: Path, overrides: list[str], steps: int, warmup: int) -> dict:
    """Median ms per optimizer step, images/s and peak memory of one stage's training step."""
    from sketchface.bench import time_call
    from sketchface.train.config import load_config
    from sketchface.train.loop import Trainer
    from sketchface.train.stages import get_stage

    cfg = load_config(config, overrides)
    trainer = Trainer(get_stage(cfg.stage), cfg, progress=False)
    step = itertools.count()
    r = time_call(lambda: trainer.optimizer_step(next(step)), steps, str(trainer.device), warmup=warmup)
    batch = cfg.effective_batch
    return {"batch": batch, "ms": r["ms"], "images_per_s": batch / (r["ms"] / 1000), "peak_mb": r["peak_mb"],
            "device": str(trainer.device), "amp": trainer.amp, "config_steps": cfg.steps,
            "config_hours": cfg.steps * r["ms"] / 3.6e6, "image_size": trainer.models["net"].config.image_size}


def run_all(preset: str, data: str, steps: int, warmup: int, configs: Path, device: str, threads: int,
            stages: list[str] | None = None, progress: bool = True) -> list[dict]:
    from tqdm import tqdm

    from sketchface.errors import UserError
    if not (configs / preset).is_dir():
        raise UserError(f"no config folder {configs / preset}")
    common = [f"data={data}", f"device={device}", f"threads={threads}", f"preset={preset}"]
    # a stage answers to its config name and to the value of each override (the coarse variants)
    aliases = [{stem, *(o.split("=", 1)[1] for o in extra)} for _, stem, extra in STAGES]
    names = set().union(*aliases)
    unknown = sorted(set(stages or []) - names)
    if unknown:
        raise UserError(f"unknown stage(s) {', '.join(unknown)}; choose from {', '.join(sorted(names))}")
    chosen = [s for s, a in zip(STAGES, aliases) if not stages or a & set(stages)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        common.append(f"out={tmp / 'run'}")
        for label, stem, extra in tqdm(chosen, desc=f"bench-train {preset}", unit="stage", disable=not progress):
            cfg_file = configs / preset / f"{stem}.yaml"
            over = [*common, *extra]
            if stem == "fine":
                coarse = _untrained("coarse", configs / preset / "coarse_dp.yaml", common, tmp / "coarse")
                lines = _untrained("lines", configs / preset / "lines.yaml", common, tmp / "lines")
                over += [f"coarse_ckpt={coarse}", f"lines_ckpt={lines}"]
            t0 = time.time()
            r = measure_stage(cfg_file, over, steps, warmup)
            rows.append({"preset": preset, "stage": label, "config": f"{cfg_file}", "overrides": extra,
                         "timed_steps": steps, "warmup_steps": warmup, "wall_s": round(time.time() - t0, 1), **r})
    return rows


def write_report(rows: list[dict], out: Path, note: str = "") -> None:
    import torch
    dev = rows[0]["device"] if rows else "cpu"
    if dev.startswith("cuda"):
        machine = torch.cuda.get_device_name(torch.device(dev))
    else:
        machine = f"{platform.machine()}, torch threads: {torch.get_num_threads()}"
    lines = [f"<!-- written by `python -m sketchface bench-train` on {time.strftime('%Y-%m-%d %H:%M')} -->", "",
             f"Training throughput, {machine}, torch {torch.__version__}; median over the timed steps after "
             "untimed warm-up steps. Mixed precision on CUDA. The last column is the config's steps at this speed "
             "(sample grids and checkpoints add a little).", ""]
    if note:
        lines += [note, ""]
    lines += ["| preset | stage | image size | batch | ms / step | images/s | peak MB | mixed precision | "
              "config's steps | hours for them |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['preset']} | {r['stage']} | {r['image_size']} | {r['batch']} | {r['ms']:.1f} | "
                     f"{r['images_per_s']:.2f} | {r['peak_mb']:.0f} | {'yes' if r['amp'] else 'no'} | "
                     f"{r['config_steps']:,} | {r['config_hours']:.2f} |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")


def add_cli(sub) -> None:
    p = sub.add_parser("bench-train", help="training throughput (images/s) of every stage of a preset",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="paper", choices=["lite", "paper"])
    p.add_argument("--data", required=True, help="make-data folder of the preset's image size")
    p.add_argument("--steps", type=int, default=20, help="timed optimizer steps per stage")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (CUDA kernels, allocator)")
    p.add_argument("--stages", nargs="*", default=None,
                   help="subset, by config name or variant: cyclegan coarse_sp coarse_dp sp- sp dnet lines fine")
    p.add_argument("--configs", default="configs", help="folder holding lite/ and paper/")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="CPU torch threads (0 = torch's default)")
    p.add_argument("--out", default="docs/BENCHMARKS_TRAIN.md")
    p.add_argument("--note", default="", help="a line written above the table")
    p.set_defaults(func=_run)


def _run(args) -> int:
    rows = run_all(args.preset, args.data, args.steps, args.warmup, Path(args.configs), args.device, args.threads,
                   args.stages)
    write_report(rows, Path(args.out), args.note)
    for r in rows:
        print(f"{r['stage']}: {r['images_per_s']:.2f} images/s (batch {r['batch']}, {r['ms']:.0f} ms/step)")
    print(f"wrote {args.out}")
    return 0
