"""What real train sketches with the face model's depth buy DP-CoarseNet (docs/TRAINING.md, "Real sketches
with the face model's depth").

Scores finished coarse runs, each with the shipped FineNet after it and FaceFit framing the input, on the real dev
sketches (mean r against the FaceMesh landmarks of their photos, ``evaluate-real``'s "DP-CoarseNet + FineNet" row)
and, coarse depth only, on the synthetic test split (Err on 0..255 depth, training framing):

    python -m sketchface prepare-real-depths --real ../shared/data/realsketch/train --out data/realdepths
    python -m sketchface train coarse --config configs/lite/coarse_dp_real.yaml
    python -m sketchface train coarse --config configs/lite/coarse_dp_real.yaml coarse.real_depths= \
        out=runs/lite/coarse-dp-real-control                        # the control: the same steps, synthetic only
    python scripts/experiments/coarse_real_depths.py shipped=checkpoints/dp_coarse \
        control=runs/lite/coarse-dp-real-control/final real=runs/lite/coarse-dp-real/final
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path


def _ablation():
    path = Path(__file__).with_name("coarse_data_ablation.py")
    spec = importlib.util.spec_from_file_location("coarse_data_ablation", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="NAME=FOLDER of a DP-CoarseNet checkpoint (config.json + model.safetensors)")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--real", default="../shared/data/realsketch")
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--n-test", type=int, default=400, help="synthetic test samples (0 = all)")
    ap.add_argument("--out", default="runs/coarse_real_depths", help="folder for the bundles")
    ap.add_argument("--json", default="runs/coarse_real_depths.json")
    args = ap.parse_args()

    from sketchface.evaluate_real import MODELS, evaluate_real

    ab = _ablation()
    row = [m for m in MODELS if m[0] == ab.ROW]
    path = Path(args.json)
    results = json.loads(path.read_text()) if path.is_file() else {}
    for spec in args.runs:
        name, folder = spec.split("=", 1)
        if name in results:
            continue
        net = Path(folder)
        bundle = Path(args.checkpoints) if net.resolve() == (Path(args.checkpoints) / "dp_coarse").resolve() \
            else ab.bundle_with(net, args)
        t0 = time.time()
        real = evaluate_real(bundle, args.real, models=row, progress=False)
        results[name] = {"folder": folder, "real": real["models"][ab.ROW], "template": real["template"],
                         "synthetic": ab.synthetic(net, args), "eval_seconds": round(time.time() - t0, 1)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1))
        print(name, json.dumps(results[name]), flush=True)
    print("| DP-CoarseNet | CUFS r | FS2K r | lines r | CUFS / FS2K > template | Err lines / pencil / artist |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        real, syn = r["real"], r["synthetic"]
        print(f"| {name} | {real['cufs']['r']:.3f} | {real['fs2k']['r']:.3f} | {real['lines']['r']:.3f} | "
              f"{100 * real['cufs']['beats_template']:.0f} / {100 * real['fs2k']['beats_template']:.0f} % | "
              + " / ".join(f"{syn[s]['Err']:.1f}" for s in ("lines", "pencil", "artist") if s in syn) + " |")


if __name__ == "__main__":
    main()
