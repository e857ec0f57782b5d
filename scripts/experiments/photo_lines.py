"""The lines l of the photo path: XDoG of the CycleGAN sketch of a photo, with and without the photo settings.

    python scripts/experiments/photo_lines.py --n 800 [--skip 0] [--variants 0.98:0 0.95:16 ...] [--out docs/img/photo_lines.jpg]

For each test photo: DP-CoarseNet's depth from the photo, the CycleGAN sketch, its XDoG lines l with one
variant (tau:min_stroke; specks of fewer pixels dropped), FineNet at λ_line 0.85. Scored against the ground-truth
depth (Err) and against the face's own clean line drawing (l_true: XDoG of the test line drawing of the same
face), since l of a photo is only as good as what it finds of the real lines: recall and precision of l' (lines
of the fine depth) against l_true, and the mean |displacement| on and off l_true (creases where the face has no
line). The first variant is the paper's plain XDoG (tau 0.98, every speck kept); the pipeline's photo default
is ``sketchface.pipeline.PHOTO_XDOG`` / ``PHOTO_MIN_STROKE``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=200, help="test samples")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first SKIP test samples (e.g. those a "
                    "setting was chosen on)")
    ap.add_argument("--variants", nargs="+", default=["0.98:0", "0.98:16", "0.95:0", "0.95:16", "0.95:32"],
                    help="tau:min_stroke pairs")
    ap.add_argument("--lambda-line", type=float, default=0.85)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--show", type=int, default=3, help="test samples in the picture")
    ap.add_argument("--out", default="", help="picture, .png or .jpg (empty = table only)")
    a = ap.parse_args(argv)

    import torch
    with torch.no_grad():
        return run(a)


def run(a: argparse.Namespace) -> int:
    import torch

    from sketchface.evaluate import _chw, load_split
    from sketchface.metrics import depth_error, displacement_locality, line_scores, roughness
    from sketchface.nets import load_network
    from sketchface.pipeline import MASK_THRESHOLD
    from sketchface.xdog import remove_specks, xdog_torch

    variants = [(float(t), int(m)) for t, m in (v.split(":") for v in a.variants)]
    bundle = Path(a.checkpoints)
    dp, le, fn, cg = (load_network(bundle / f).eval() for f in ("dp_coarse", "line_extractor", "finenet", "cyclegan"))
    test = {k: v[a.skip:] for k, v in load_split(a.data, "test", ("photo", "depth", "sketch_lines"),
                                                  a.n + a.skip).items()}
    n, B = len(test["depth"]), a.batch
    gt = _chw(test["depth"])[:, 0]

    def batched(fn_, *arrays):
        return np.concatenate([fn_(*(torch.from_numpy(np.ascontiguousarray(x[i:i + B])) for x in arrays))
                               for i in range(0, n, B)])

    photo = _chw(test["photo"]).astype(np.float32)
    coarse = batched(lambda p: dp.predict_depth(p, "photo").numpy(), photo)
    sketch = batched(lambda p: cg.photo_to_sketch(p).numpy(), photo)
    true_l = batched(lambda s: xdog_torch(s.float()).numpy(), _chw(test["sketch_lines"]).astype(np.float32))
    mask = (coarse > MASK_THRESHOLD).astype(np.float32)

    def lines_of(depth):
        return batched(lambda d: le(d).numpy(), depth)

    rows = [("coarse (no FineNet)", coarse, np.zeros_like(coarse), None)]
    for tau, min_stroke in variants:
        lines = batched(lambda s: xdog_torch(s, tau=tau).numpy(), sketch)
        lines = remove_specks(lines, min_stroke)
        out = batched(lambda c, l, m: _fine(fn, c, l, m, a.lambda_line), coarse, lines, mask)
        rows.append((f"tau {tau:g}, strokes < {min_stroke} px dropped" if min_stroke > 1 else f"tau {tau:g}",
                     out[:, :1], out[:, 1:2], lines))

    print(f"{n} test photos (from #{a.skip}), λ_line {a.lambda_line}; l_true: XDoG of the same face's line drawing\n")
    print("| lines l of the photo | ink | Err | recall of l_true | precision | |d| on / off l_true | roughness |")
    print("|---|---|---|---|---|---|---|")
    for name, fine, disp, lines in rows:
        s = line_scores(true_l, lines_of(fine))
        loc = displacement_locality(true_l, disp, mask)
        ink = f"{(lines < 0.5).mean():.3f}" if lines is not None else "–"
        rough = f"{roughness(disp, mask):.3f}" if lines is not None else "–"
        print(f"| {name} | {ink} | {depth_error(gt, fine[:, 0]):.1f} | {s['recall']:.3f} | {s['precision']:.3f} | "
              f"{loc['on']:.2f} / {loc['off']:.2f} | {rough} |")

    if a.out:
        from PIL import Image

        from sketchface.mesh import shade
        k = min(a.show, n)

        def rgb(x):
            x = (np.clip(x, 0, 1) * 255).astype(np.uint8)
            return np.repeat(x[..., None], 3, -1) if x.ndim == 3 else x
        tiles = [rgb(photo[:k].transpose(0, 2, 3, 1)), rgb(np.stack([shade(c[0], m[0] > 0) for c, m in
                                                                     zip(coarse[:k], mask[:k])]))]
        for _, fine, _, lines in rows[1:]:
            tiles += [rgb(lines[:k, 0]), rgb(np.stack([shade(f[0], m[0] > 0) for f, m in zip(fine[:k], mask[:k])]))]
        grid = np.concatenate([np.concatenate(list(t), 0) for t in tiles], 1)
        Image.fromarray(grid).save(a.out, quality=88)
        print(f"\npicture: {a.out} (photo, coarse depth, then l and the fine depth of each variant)")
    return 0


def _fine(fn, coarse, lines, mask, lam: float) -> np.ndarray:
    """(K, 2, S, S): FineNet's fine depth and displacement."""
    import torch

    out = fn(coarse, lines, torch.full((len(coarse),), lam), mask)
    return torch.cat([out["fine"].clamp(0, 1), out["displacement"]], 1).numpy()


if __name__ == "__main__":
    raise SystemExit(main())
