"""Compare FineNet checkpoints side by side: line scores and where the surface moves, plus a picture.

    python scripts/experiments/compare_finenet.py runs/lite/fine-line+dis/final runs/exp/fine-extra/final \
        --checkpoints checkpoints --data data/syn128 --n 200 --out docs/img/finenet_compare.png

Every FineNet runs on the same CoarseNet and line extractor (from --checkpoints, or --coarse/--lines).
The table gives, per model and λ_line, the line recall gain over the coarse result, precision, and the mean
|displacement| on and off the drawn lines (off = creases nobody drew); a first row per style, "ground-truth
depth", gives the same recall gain and precision for the line extractor on the true depth (what an exact shape
would score, with no grooves carved). The picture shows the shaded fine
depth of the demo line drawings at λ_line 0.85 for each model, the coarse depth first.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("finenets", nargs="+", help="FineNet checkpoint folders (config.json + model.safetensors)")
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--coarse", default="", help="CoarseNet folder (default: CHECKPOINTS/dp_coarse)")
    ap.add_argument("--lines", default="", help="line extractor folder (default: CHECKPOINTS/line_extractor)")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=200, help="test samples")
    ap.add_argument("--styles", nargs="+", default=["lines", "pencil"])
    ap.add_argument("--lambdas", nargs="+", type=float, default=[0.0, 0.5, 0.85, 1.0])
    ap.add_argument("--examples", nargs="+", default=["demo/examples/strokes_face.png",
                                                      "demo/examples/lines_1.png", "demo/examples/pencil_1.png"])
    ap.add_argument("--out", default="", help="PNG of the demo examples at λ_line 0.85 (empty = none)")
    a = ap.parse_args(argv)

    import torch

    from sketchface.evaluate import EvalConfig, finenet_sweep, load_split, STYLE_KEYS
    from sketchface.nets import load_network

    torch.set_num_threads(1)
    bundle = Path(a.checkpoints)
    coarse = load_network(a.coarse or bundle / "dp_coarse")
    lines = load_network(a.lines or bundle / "line_extractor").eval()
    fines = [load_network(f).eval() for f in a.finenets]
    test = load_split(a.data, "test", ("depth", "mask", *[STYLE_KEYS[s] for s in a.styles]), a.n)
    cfg = EvalConfig(n=a.n, lambdas=tuple(a.lambdas))
    print(f"{len(test['depth'])} test samples")
    print("| model | style | λ_line | recall gain | gain in face | precision | F1 | |disp| on lines | "
          "|disp| off lines | on/off | roughness |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path, net in zip(a.finenets, fines):
        for style in a.styles:
            rows = finenet_sweep(coarse, lines, net, test, cfg, style)
            ref = rows[0]
            print(f"| {path} | {style} | ground-truth depth | {ref['recall_gt'] - ref['recall']:+.3f} | "
                  f"{ref['recall_face_gt'] - ref['recall_face']:+.3f} | {ref['precision_gt']:.3f} | | | | | |")
            for r in rows[1:]:
                ratio = r["disp_on"] / r["disp_off"] if r["disp_off"] else float("inf")
                print(f"| {path} | {style} | {r['lambda_line']:.2f} | {r['recall'] - ref['recall']:+.3f} | "
                      f"{r['recall_face'] - ref['recall_face']:+.3f} | "
                      f"{r['precision']:.3f} | {r['f1']:.3f} | {r['disp_on']:.2f} | {r['disp_off']:.2f} | "
                      f"{ratio:.2f} | {r['disp_rough']:.3f} |", flush=True)
    if a.out:
        picture(a, coarse, lines, fines)
    return 0


def picture(a, coarse, lines, fines) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sketchface import SketchFace
    from sketchface.data.preview import save_grid
    from sketchface.webapp.figures import shaded_image

    cols = ["coarse", *[Path(f).parent.name if Path(f).name == "final" else Path(f).name for f in a.finenets]]
    fig, axes = plt.subplots(len(a.examples), len(cols) + 1, figsize=(2.2 * (len(cols) + 1), 2.3 * len(a.examples)),
                             squeeze=False)
    for i, ex in enumerate(a.examples):
        pics = []
        for j, fine in enumerate(fines):
            sf = SketchFace(coarse, lines, fine, backend="torch")
            res = sf(ex, lambda_line=0.85, kind="sketch")
            if j == 0:
                pics += [res.lines, shaded_image(res.coarse, res.mask, side=None)]
            pics.append(shaded_image(res.fine, res.mask, side=None))
        for ax, p in zip(axes[i], pics):
            ax.imshow(p, cmap="gray" if p.ndim == 2 else None, vmin=0, vmax=1 if p.ndim == 2 else None)
    save_grid(fig, axes, ["l", *cols], "shaded depth at λ_line 0.85", a.out)


if __name__ == "__main__":
    raise SystemExit(main())
