"""Where the face model's synthetic Err comes from: inside the face or at its outline (docs/TRAINING.md, "Where the
face model loses on synthetic drawings").

On the synthetic test split (training framing, coarse depth), Err (eq. 12) of DP-CoarseNet and of the face model
FaceFit fits, each split by ``sketchface.metrics.depth_error_parts`` into the part over the pixels both the true and
the predicted face cover and the part over the pixels only one of them covers (the outline). Two more rows ask what
the outline is worth:

- *true outline* (a bound that reads the answer): the face model's depth, carried outward by its nearest value where
  the true face reaches beyond it, cut to the true face's mask;
- *soft outline, sigma*: the face model's depth carried outward the same way, times its own mask blurred by a Gaussian
  of ``sigma`` pixels: the depth a squared error favours when the outline may lie a pixel or two either way.

    python scripts/experiments/face_model_outline.py --data data/syn128 --n 400
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def carried_out(depth: np.ndarray) -> np.ndarray:
    """``depth`` (H, W; 0 off the face) with every off-face pixel given the value of the nearest face pixel."""
    from scipy import ndimage

    have = depth > 0
    if not have.any():
        return depth
    iy, ix = ndimage.distance_transform_edt(~have, return_distances=False, return_indices=True)
    return depth[iy, ix]


def soft_outline(depth: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    return carried_out(depth) * ndimage.gaussian_filter((depth > 0).astype(np.float32), sigma)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--n", type=int, default=400, help="test samples (0 = all)")
    ap.add_argument("--sigmas", type=float, nargs="*", default=[1.0, 1.5, 2.0])
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch

    from sketchface.evaluate import STYLE_KEYS, load_split, predict
    from sketchface.facemodel import load_face_model
    from sketchface.framing import flatten_paper
    from sketchface.metrics import depth_error_parts
    from sketchface.nets import load_network
    from sketchface.prior import FacePrior

    torch.set_num_threads(1)
    styles = ("pencil", "lines")
    test = load_split(args.data, "test", ("depth", "mask", *[STYLE_KEYS[s] for s in styles]), args.n)
    mouth = Path(args.checkpoints, "mouth")
    prior = FacePrior(load_network(f"{args.checkpoints}/facefit"), load_face_model(None),
                      mouth=load_network(mouth) if (mouth / "config.json").is_file() else None)
    dp = load_network(f"{args.checkpoints}/dp_coarse")
    gt, mask = test["depth"], test["mask"] > 0
    out = {}
    for style in styles:
        x = test[STYLE_KEYS[style]]
        face = np.stack([prior.render(prior.fit(flatten_paper(img)), gt.shape[-1])[0] for img in x])
        rows = {"DP-CoarseNet": predict(dp, x[:, None], "sketch", 16, "cpu"), "face model": face,
                "face model, true outline (bound)": np.stack([np.where(m, carried_out(f), 0) for f, m in
                                                              zip(face, mask)])}
        for s in args.sigmas:
            rows[f"face model, soft outline {s:g} px"] = np.stack([soft_outline(f, s) for f in face])
        parts = {name: depth_error_parts(gt, p, mask) for name, p in rows.items()}
        out[style] = {name: {"Err": round(v["inside"] + v["outline"], 1), **{k: round(x, 1) for k, x in v.items()}}
                      for name, v in parts.items()}
    print(f"| coarse depth ({len(gt)} test drawings per style) | pencil: Err = inside + outline | "
          "lines: Err = inside + outline |")
    print("|---|---|---|")
    for name in out[styles[0]]:
        print(f"| {name} | " + " | ".join(f"{out[s][name]['Err']:.1f} = {out[s][name]['inside']:.1f} + "
                                           f"{out[s][name]['outline']:.1f}" for s in styles) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
