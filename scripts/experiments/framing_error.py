"""What the framing of a drawing costs: depth error through the pipeline (DP-CoarseNet) with the ink box alone, with
the face locator (`checkpoints/locator`, `python -m sketchface train-locator`) and with FaceFit
(`checkpoints/facefit`, with or without the locator before it).

    python scripts/experiments/framing_error.py --n 500 --skip 300

Every test drawing is already in the training framing, so a perfect framing would crop it as it is; the pipeline
finds it again (ink box, then the locator), runs CoarseNet and FineNet and pastes the depth back into the
drawing's frame. Err (eq. 12) against the ground truth then counts the framing's misses along the silhouette as
well as the shape. The crop side (mean ± std, pixels; the drawings are 128 px) shows how steady the framing is;
"box off" is the mean distance of the crop's corners from the drawing's own frame, in pixels. The last column
leaves out the near-blank drawings (ink on under 1 % of the pixels, after the paper is made white): a few of the
synthetic line drawings lost almost every stroke to the "thinner pen" augmentation, and no framing can find a
face in a few dots.

    python scripts/experiments/framing_error.py --n 500 --skip 300 --locators checkpoints/locator runs/loc/a runs/loc/b

compares locator checkpoints (each replaces the shipped one); ``--coarse-only`` skips FineNet. ``--scales 0.95 1
1.05`` adds rows framed by the drawing's own frame scaled about its centre (``crop_box`` given, no search): what
a crop too tight or too wide costs. ``--coarse DIR ...`` adds rows with each of these CoarseNets in place of the
bundle's (e.g. one trained with ``jitter_share``, docs/TRAINING.md).
"""
from __future__ import annotations

import argparse

import numpy as np

NEAR_BLANK = 0.01   # ink share under which a drawing counts as near-blank


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=200, help="test samples")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first SKIP test samples")
    ap.add_argument("--locators", nargs="*", default=None, metavar="DIR",
                    help="locator checkpoints to compare (default: the one in --checkpoints)")
    ap.add_argument("--rounds", type=int, default=None, help="locator rounds (default: each locator's own)")
    ap.add_argument("--scales", nargs="*", type=float, default=[], metavar="F",
                    help="also frame by the drawing's own frame scaled by F (no search)")
    ap.add_argument("--coarse-only", action="store_true", help="score the coarse depth only (faster)")
    ap.add_argument("--coarse", nargs="*", default=None, metavar="DIR",
                    help="CoarseNet checkpoints to compare (each replaces the bundle's)")
    a = ap.parse_args(argv)

    from sketchface import SketchFace
    from sketchface.evaluate import load_split
    from sketchface.framing import flatten_paper
    from sketchface.metrics import depth_error
    from sketchface.nets.hub import load_network

    keys = ("depth", "sketch_lines", "sketch_pencil")
    test = {k: v[a.skip:] for k, v in load_split(a.data, "test", keys, a.n + a.skip).items()}
    base = SketchFace.from_pretrained(a.checkpoints, coarse="dp_coarse")
    locator, prior = base.locator, base.prior
    pipelines = [("", base)] + [(f"{p}: ", SketchFace(load_network(p), base.line_extractor, base.finenet,
                                                       base.cyclegan, locator=locator)) for p in a.coarse or []]
    if a.coarse:
        pipelines[0] = (f"{a.checkpoints}: ", base)
    choices = [(f"own frame × {f:g}", f, None) for f in a.scales] + [("ink box", None, None)]
    if a.locators is None:
        choices += [("ink box + locator", locator, None)] if locator is not None else []
    else:
        choices += [(f"ink box + {p}", load_network(p).eval(), None) for p in a.locators]
    if prior is not None:   # FaceFit (checkpoints/facefit) re-frames after the ink box, with or without the locator
        choices += [("ink box + FaceFit", None, prior)]
        choices += [("ink box + locator + FaceFit", locator, prior)] if locator is not None else []
    if a.rounds is not None:
        for _, loc, _ in choices:
            if loc is not None and not isinstance(loc, float):
                loc.config.rounds = a.rounds
    what = "coarse" if a.coarse_only else "coarse / fine at λ_line 0.85"
    print(f"{len(test['depth'])} test drawings (from #{a.skip}); Err {what}\n")
    print("| input | framing | Err | crop side px | box off px | Err, near-blank left out |")
    print("|---|---|---|---|---|---|")
    for key, kind, name in (("sketch_lines", "lines", "line drawing"), ("sketch_pencil", "sketch", "pencil sketch")):
        h, w = test[key].shape[1:3]
        inked = np.array([(flatten_paper(x) < 0.5).mean() >= NEAR_BLANK for x in test[key]])
        for tag, sf, label, loc, pr in [(t, sf, lab, loc, pr) for t, sf in pipelines for lab, loc, pr in choices]:
            box = None
            if isinstance(loc, float):  # the drawing's own frame, scaled about its centre
                half = round(w * loc / 2)
                box, loc = (w // 2 - half, h // 2 - half, w // 2 + half, h // 2 + half), None
            sf.locator, sf.prior = loc, pr
            rs = [sf(np.repeat(x[..., None], 3, -1), kind=kind, refine=not a.coarse_only, crop_box=box)
                  for x in test[key]]
            per = [depth_error(test["depth"], np.stack([r.depth_in_input_frame(stage) for r in rs]),
                               per_sample=True) for stage in (("coarse",) if a.coarse_only else ("coarse", "fine"))]
            crops = np.array([r.crop_box for r in rs], float)
            off = np.abs(crops - [0, 0, w, h]).mean()
            side = crops[:, 2] - crops[:, 0]
            print(f"| {name} | {tag}{label} | {' / '.join(f'{e.mean():.1f}' for e in per)} | "
                  f"{side.mean():.1f} ± {side.std():.1f} | {off:.1f} | "
                  f"{' / '.join(f'{e[inked].mean():.1f}' if inked.any() else '–' for e in per)} "
                  f"({(~inked).sum()} left out) |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
