"""Drawings photographed on paper: is the kind guessed right, and what does making the paper white buy?

    python scripts/experiments/paper_inputs.py --n 500 --skip 300 [--out docs/img/paper_inputs.jpg]

Each test drawing (pencil sketch and line drawing) is also turned into a "phone photo" of it: grey pencil on
tinted paper (cream to white), light falling across the sheet with a darker rim, sensor noise in every channel
(seeded, `phone_photo`). Reported:

1. How `sketchface.framing.guess_kind` labels test photos, clean drawings and drawings on paper, next to the rule
   it replaced (mean saturation > 0.06 = photo).
2. Depth error through the whole pipeline (framing included, depth pasted back into the input frame, against the
   ground truth) with the paper made white (`flatten_paper`, the pipeline's default) and without.

The kind rule's thresholds were chosen on the first 300 test samples; `--skip 300` reports on the others.
"""
from __future__ import annotations

import argparse

import numpy as np


def phone_photo(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey drawing (H, W) in [0, 1] as a phone photo of it on paper: (H, W, 3) float32 in [0, 1]."""
    import cv2

    h, w = gray.shape
    tint = np.array([1.0, rng.uniform(0.9, 1.0), rng.uniform(0.75, 0.97)], np.float32)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    a, b = rng.uniform(-0.15, 0.15, 2)
    light = rng.uniform(0.7, 0.95) + a * (xx - 0.5) + b * (yy - 0.5) - 0.15 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2)
    noise = cv2.GaussianBlur(rng.normal(0, rng.uniform(0.01, 0.03), (h, w, 3)).astype(np.float32), (0, 0), 0.7)
    ink = 1 - (1 - gray) * rng.uniform(0.6, 0.95)                      # pencil is grey, not black
    return np.clip(ink[..., None] * light[..., None] * tint + noise, 0, 1).astype(np.float32)


def saturation_rule(rgb: np.ndarray) -> str:
    """The kind rule before: colourful = photo; else lines when almost no mid-grey, else sketch."""
    from sketchface.framing import to_gray

    if (rgb.max(-1) - rgb.min(-1)).mean() > 0.06:
        return "photo"
    g = to_gray(rgb)
    return "lines" if ((g > 0.15) & (g < 0.85)).mean() < 0.03 else "sketch"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=200, help="test samples")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first SKIP test samples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=3, help="test samples in the picture")
    ap.add_argument("--out", default="", help="picture, .png or .jpg (empty = tables only)")
    a = ap.parse_args(argv)

    import sketchface.framing as framing
    from sketchface import SketchFace
    from sketchface.evaluate import load_split
    from sketchface.framing import guess_kind
    from sketchface.metrics import depth_error

    keys = ("depth", "photo", "sketch_pencil", "sketch_lines")
    test = {k: v[a.skip:] for k, v in load_split(a.data, "test", keys, a.n + a.skip).items()}
    n = len(test["depth"])
    rng = np.random.default_rng(a.seed)
    grey3 = lambda x: np.repeat(x[..., None], 3, -1)                  # noqa: E731
    inputs = {"photo": list(test["photo"]),
              "pencil sketch": [grey3(x) for x in test["sketch_pencil"]],
              "line drawing": [grey3(x) for x in test["sketch_lines"]],
              "pencil sketch on paper": [phone_photo(x, rng) for x in test["sketch_pencil"]],
              "line drawing on paper": [phone_photo(x, rng) for x in test["sketch_lines"]]}

    print(f"{n} test samples (from #{a.skip}); kind guessed (photo / sketch / lines)\n")
    print("| input | guess_kind | the rule before |")
    print("|---|---|---|")
    for name, imgs in inputs.items():
        cells = []
        for rule in (guess_kind, saturation_rule):
            got = [rule(x) for x in imgs]
            cells.append(" / ".join(f"{got.count(k) / n:.1%}" for k in ("photo", "sketch", "lines")))
        print(f"| {name} | {cells[0]} | {cells[1]} |")

    sf = SketchFace.from_pretrained(a.checkpoints)
    flatten = framing.flatten_paper          # model_source reads it from sketchface.framing
    print("\nDepth error through the pipeline (input frame), kind given; coarse / fine at λ_line 0.85\n")
    print("| input | paper made white (default) | as it is |")
    print("|---|---|---|")
    shown = {}
    for name, kind in (("pencil sketch", "sketch"), ("line drawing", "lines"),
                       ("pencil sketch on paper", "sketch"), ("line drawing on paper", "lines")):
        cells = []
        for flat in (True, False):
            framing.flatten_paper = flatten if flat else (lambda g: g)
            try:
                rs = [sf(x, kind=kind) for x in inputs[name]]
            finally:
                framing.flatten_paper = flatten
            err = [depth_error(test["depth"], np.stack([r.depth_in_input_frame(w) for r in rs]))
                   for w in ("coarse", "fine")]
            cells.append(f"{err[0]:.1f} / {err[1]:.1f}")
            shown[(name, flat)] = rs[:a.show]
        print(f"| {name} | {cells[0]} | {cells[1]} |")

    if a.out:
        from PIL import Image
        rows = []
        for name in ("pencil sketch on paper", "line drawing on paper"):
            for i in range(min(a.show, n)):
                flat, raw = shown[(name, True)][i], shown[(name, False)][i]
                rows.append(np.concatenate([raw.picture()[:, :raw.picture().shape[1] * 3 // 5],
                                            flat.picture()[:, flat.picture().shape[1] // 5:]], 1))
        Image.fromarray(np.concatenate(rows, 0)).save(a.out, quality=88)
        print(f"\npicture: {a.out} (per row: the input, as it is: l and coarse; paper made white: l, coarse, "
              f"fine, l')")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
