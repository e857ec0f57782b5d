"""What the framing of a drawing costs: depth error through the pipeline with the ink box alone and with the face
locator (`checkpoints/locator`, `python -m sketchface train-locator`).

    python scripts/framing_error.py --n 500 --skip 300

Every test drawing is already in the training framing, so a perfect framing would crop it as it is; the pipeline
finds it again (ink box, then the locator), runs CoarseNet and FineNet and pastes the depth back into the
drawing's frame. Err (eq. 12) against the ground truth then counts the framing's misses along the silhouette as
well as the shape. The crop side (mean ± std, pixels; the drawings are 128 px) shows how steady the framing is.
"""
from __future__ import annotations

import argparse

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=200, help="test samples")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first SKIP test samples")
    a = ap.parse_args(argv)

    from sketchface import SketchFace
    from sketchface.evaluate import load_split
    from sketchface.metrics import depth_error

    keys = ("depth", "sketch_lines", "sketch_pencil")
    test = {k: v[a.skip:] for k, v in load_split(a.data, "test", keys, a.n + a.skip).items()}
    sf = SketchFace.from_pretrained(a.checkpoints)
    locator = sf.locator
    print(f"{len(test['depth'])} test drawings (from #{a.skip}); Err coarse / fine at λ_line 0.85\n")
    print("| input | framing | Err | crop side px |")
    print("|---|---|---|---|")
    for key, kind, name in (("sketch_lines", "lines", "line drawing"), ("sketch_pencil", "sketch", "pencil sketch")):
        for label, loc in (("ink box", None), ("ink box + locator", locator)):
            if label != "ink box" and loc is None:
                continue
            sf.locator = loc
            rs = [sf(np.repeat(x[..., None], 3, -1), kind=kind) for x in test[key]]
            err = [depth_error(test["depth"], np.stack([r.depth_in_input_frame(w) for r in rs]))
                   for w in ("coarse", "fine")]
            side = np.array([r.crop_box[2] - r.crop_box[0] for r in rs])
            print(f"| {name} | {label} | {err[0]:.1f} / {err[1]:.1f} | {side.mean():.1f} ± {side.std():.1f} |",
                  flush=True)
    sf.locator = locator
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
