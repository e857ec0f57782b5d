"""What the artist style and the dressing buy DP-CoarseNet on real sketches (docs/TRAINING.md, "Artist sketches";
docs/RESULTS.md, "Real sketches").

Four fine-tunings of the shipped DP-CoarseNet that differ only in their training drawings: today's styles (pencil,
lines, cyclegan), + the artist style (the CycleGAN trained on real pairs), + dressing (hair, glasses, collars over
70 % of the drawings), both. Each is scored, with the shipped FineNet after it and FaceFit framing the input, on the
real dev sketches (mean r against the FaceMesh landmarks of their photos) and on the synthetic test split (Err of
the coarse depth, training framing). The fine-tuning with today's styles is the control: it has the same extra steps.

    python scripts/experiments/coarse_data_ablation.py --data data/syn128 --real ../shared/data/realsketch \
        --steps 1500 --out runs/coarse_ablation --json runs/coarse_ablation/results.json

Runs one after another on one thread (``--threads``); a finished run is reused (its ``final/`` folder), so the
script can be stopped and started again.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path


BASE = ["pencil", "lines", "cyclegan"]
VARIANTS = {"today's styles": (BASE, 0.0),
            "+ artist style": ([*BASE, "artist"], 0.0),
            "+ hair, glasses, clothes": (BASE, 0.7),
            "both": ([*BASE, "artist"], 0.7)}
ROW = "DP-CoarseNet + FineNet"


def train(name: str, styles, dress: float, args) -> Path:
    out = Path(args.out) / name.strip("+ ").replace(" ", "_").replace(",", "").replace("'", "")
    if (out / "final" / "model.safetensors").is_file():
        return out / "final"
    cmd = [sys.executable, "-m", "sketchface", "train", "coarse", "--config", "configs/lite/coarse_dp.yaml",
           "--no-progress", f"out={out}", f"steps={args.steps}", f"init_from={args.checkpoints}/dp_coarse",
           f"lr={args.lr}", "lr_schedule=cosine", "warmup_steps=100", f"threads={args.threads}", f"data={args.data}",
           f"sketch_styles=[{','.join(styles)}]", f"dress_share={dress}", "export_at=[]", "sample_every=500"]
    if (out / "ckpt.pt").is_file():
        cmd.append("--resume")
    t0 = time.time()
    subprocess.run(cmd, check=True)
    print(f"{name}: trained in {time.time() - t0:.0f} s", flush=True)
    return out / "final"


def bundle_with(dp: Path, args) -> Path:
    """A copy of the shipped bundle with this DP-CoarseNet in it."""
    b = Path(args.out) / "bundle" / dp.parent.name
    if b.exists():
        shutil.rmtree(b)
    shutil.copytree(args.checkpoints, b, ignore=shutil.ignore_patterns("dp_coarse"))
    shutil.copytree(dp, b / "dp_coarse")
    return b


def synthetic(net_dir: Path, args) -> dict:
    from sketchface.evaluate import RIM, STYLE_KEYS, load_split, predict
    from sketchface.metrics import depth_error, erode_mask
    from sketchface.nets import load_network

    styles = ("lines", "pencil", "artist")
    test = load_split(args.data, "test", ("depth", "mask", *[STYLE_KEYS[s] for s in styles]), args.n_test)
    net = load_network(net_dir)
    inner = erode_mask(test["mask"], RIM)
    out = {}
    for s in styles:
        if STYLE_KEYS[s] in test:
            pred = predict(net, test[STYLE_KEYS[s]][:, None], "sketch", 16, "cpu")
            out[s] = {"Err": round(depth_error(test["depth"], pred), 1),
                      "Err_inner": round(depth_error(test["depth"], pred, mask=inner), 1)}
    return out


def markdown(results: dict, args) -> str:
    import datetime

    rows = ["| DP-CoarseNet | CUFS r (107) | FS2K r (150) | lines r (5) | CUFS > template | Err lines | Err pencil "
            "| Err artist | Err_inner lines / pencil / artist |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        real, syn = r["real"], r["synthetic"]
        label = "shipped (no fine-tuning)" if name == "shipped" else f"fine-tuned on {name}"
        cells = [f"{real[g]['r']:.3f}" if g in real else "–" for g in ("cufs", "fs2k", "lines")]
        cells.append(f"{100 * real['cufs']['beats_template']:.0f} %" if "cufs" in real else "–")
        cells += [f"{syn[s]['Err']:.1f}" if s in syn else "–" for s in ("lines", "pencil", "artist")]
        cells.append(" / ".join(f"{syn[s]['Err_inner']:.1f}" for s in ("lines", "pencil", "artist") if s in syn))
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    t = next(iter(results.values()))["template"]
    return ("## Training data: what the artist style and hair, glasses and clothes buy\n\n"
            f"Written by `python scripts/experiments/coarse_data_ablation.py --steps {args.steps}` on "
            f"{datetime.date.today().isoformat()}: the shipped DP-CoarseNet fine-tuned for {args.steps} steps (batch "
            f"2, lr {args.lr:g}, cosine) on four sets of training drawings, each run then scored with the shipped "
            "FineNet (λ_line 0.85) and FaceFit's framing on the real dev sketches (mean r, as in \"Real sketches\"; "
            f"the template scores {t['cufs']['r']:.3f} / {t['fs2k']['r']:.3f} / {t['lines']['r']:.3f}) and, coarse "
            "depth only, on the synthetic test split (Err on 0..255 depth, training framing; the artist column "
            "reads the world's photos turned into artist sketches by the CycleGAN trained on real pairs). *Today's "
            "styles* is pencil, lines and the CycleGAN sketch of the world's own pencil style; *+ hair, glasses, "
            "clothes* dresses 70 % of the drawings (`dress_share: 0.7`). The same four sets for FaceFit, the "
            "default coarse depth: docs/TRAINING.md, \"Artist sketches\".\n\n" + "\n".join(rows) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--real", required=True)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n-test", type=int, default=0, help="synthetic test samples (0 = all)")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--out", default="runs/coarse_ablation")
    ap.add_argument("--json", default=None)
    ap.add_argument("--results", default=None, help="also write the table into this file's \"data-ablation\" block "
                                                    "(docs/RESULTS.md)")
    args = ap.parse_args()
    import torch

    from sketchface.evaluate_real import MODELS, evaluate_real

    torch.set_num_threads(args.threads)
    row = [m for m in MODELS if m[0] == ROW]
    path = Path(args.json or Path(args.out) / "results.json")
    results = json.loads(path.read_text()) if path.is_file() else {}
    todo = [("shipped", None)] + [(v, VARIANTS[v]) for v in args.variants]
    for name, spec in todo:
        if name in results:
            continue
        net_dir = Path(args.checkpoints) / "dp_coarse" if spec is None else train(name, *spec, args)
        bundle = Path(args.checkpoints) if spec is None else bundle_with(net_dir, args)
        t0 = time.time()
        real = evaluate_real(bundle, args.real, models=row, progress=False)
        results[name] = {"real": real["models"][ROW], "template": real["template"],
                         "synthetic": synthetic(net_dir, args), "eval_seconds": round(time.time() - t0, 1)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1))
        print(name, json.dumps(results[name]), flush=True)
    text = markdown(results, args)
    print(text)
    if args.results:
        from sketchface.results import write_block

        write_block(args.results, "data-ablation", text)

if __name__ == "__main__":
    main()
