"""Compare CoarseNet checkpoints side by side on the test split: Err, Var_20 / Var_20(GT), the pixel grid, a picture.

    python scripts/experiments/compare_coarse.py checkpoints/dp_coarse runs/exp/coarse-dp-bilinear/final \
        --data data/syn128 --n 0 --out docs/img/coarse_compare.png

Per model and sketch style: Err (eq. 12, 0..255 scale) over the image, inside the ground-truth face mask
(Err_face) and inside it without the 4-pixel silhouette rim (Err_inner), Var_20 over that of the ground
truth (the evaluate target), and ``grid_artifact`` at a 4- and an 8-pixel period (about 1 for the ground truth;
higher when the decoder's upsampling leaves a grid). The picture shades the coarse depth of the demo
drawings, one column per model, so faint streaks show.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("coarse", nargs="+", help="CoarseNet folders (config.json + model.safetensors)")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=0, help="test samples (0 = all)")
    ap.add_argument("--styles", nargs="+", default=["lines", "pencil"])
    ap.add_argument("--examples", nargs="+", default=["demo/examples/strokes_face.png",
                                                      "demo/examples/lines_1.png", "demo/examples/pencil_1.png"])
    ap.add_argument("--out", default="", help="PNG of the shaded coarse depth of the examples (empty = none)")
    a = ap.parse_args(argv)

    import torch

    from sketchface.evaluate import RIM, STYLE_KEYS, VAR_TOP_K, _chw, _resize, load_split, predict
    from sketchface.metrics import depth_error, erode_mask, grid_artifact, variance_metric
    from sketchface.nets import load_network

    torch.set_num_threads(1)
    nets = [load_network(p).eval() for p in a.coarse]
    size = nets[0].config.image_size
    test = load_split(a.data, "test", ("depth", "mask", *[STYLE_KEYS[s] for s in a.styles]), a.n)
    gt = _resize(_chw(test["depth"]), size)[:, 0]
    mask = _resize(_chw(test["mask"]), size)[:, 0] > 0.5
    inner = erode_mask(mask, RIM)
    gt_var = variance_metric(gt, top_k=VAR_TOP_K)
    print(f"{len(gt)} test samples; ground truth: grid p4 {grid_artifact(gt, 4):.3f}, p8 {grid_artifact(gt, 8):.3f}")
    print("| model | style | Err | Err_face | Err_inner | Var_20 / GT | grid p4 | grid p8 |")
    print("|---|---|---|---|---|---|---|---|")
    for path, net in zip(a.coarse, nets):
        for style in a.styles:
            d = predict(net, _resize(_chw(test[STYLE_KEYS[style]]), size), "sketch", 16, "cpu")
            var = variance_metric(d, top_k=VAR_TOP_K) / gt_var
            err, err_face, err_inner = (depth_error(gt, d, mask=m) for m in (None, mask, inner))
            print(f"| {path} | {style} | {err:.1f} | {err_face:.1f} | {err_inner:.1f} | {var:.3f} | "
                  f"{grid_artifact(d, 4):.3f} | {grid_artifact(d, 8):.3f} |", flush=True)
    if a.out:
        picture(a, nets)
    return 0


def picture(a, nets) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sketchface import SketchFace
    from sketchface.data.preview import save_grid
    from sketchface.nets import load_network
    from sketchface.webapp.figures import shaded_image

    bundle = Path("checkpoints")
    lines, fine = load_network(bundle / "line_extractor").eval(), load_network(bundle / "finenet").eval()
    names = [Path(p).parent.name if Path(p).name == "final" else Path(p).name for p in a.coarse]
    fig, axes = plt.subplots(len(a.examples), len(nets) + 1, figsize=(2.4 * (len(nets) + 1), 2.5 * len(a.examples)),
                             squeeze=False)
    for i, ex in enumerate(a.examples):
        for j, net in enumerate(nets):
            res = SketchFace(net, lines, fine, backend="torch")(ex)
            if j == 0:
                axes[i, 0].imshow(res.image, cmap="gray", vmin=0, vmax=1)
            axes[i, j + 1].imshow(shaded_image(res.coarse, res.mask, side=None))
    save_grid(fig, axes, ["input", *names], "shaded coarse depth", a.out)


if __name__ == "__main__":
    raise SystemExit(main())
