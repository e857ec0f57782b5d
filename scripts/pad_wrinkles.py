"""What a person at the sketch pad sees: do the wrinkles they drew deepen as λ_line rises, and does adding them
(the §4.4.4 edit) change the 3-D face there and not elsewhere?

    python scripts/pad_wrinkles.py [--checkpoints checkpoints] [--out docs/img/pad_wrinkles.png]

The face of sketchface.webapp.strokes is drawn on a 512 px pad without its forehead wrinkles and nasolabial folds;
then its lines l are replaced by those of the same face drawn with them, as the app's "edit lines" view does
(FineNet re-runs on the same coarse face). The wrinkle pixels are the lines of the edited l that are not within
2 px of a line of the first. For each λ_line the table gives, in depth levels (0..255):
|d| on the wrinkles, |d| on the other drawn lines, |d| away from every line (> 3 px: creases nobody drew), and
the edit: how much the fine depth of "with wrinkles" differs from "without" on the wrinkles and away from them.
"""
from __future__ import annotations

import argparse

import numpy as np


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    from sketchface.metrics import _binary_dilate      # the dilation the line metrics use

    return _binary_dilate(mask[None], radius)[0]


def measure(sf, lambdas=(0.0, 0.25, 0.5, 0.75, 0.85, 1.0), side: int = 512, width: float = 3.0):
    """-> (rows, with_sweep, without_sweep): one row of mean |d| and edit effects per λ_line."""
    from sketchface.webapp.strokes import draw_strokes, face_strokes

    without = sf(draw_strokes(face_strokes(False), side, width), kind="lines", lambda_line=0.85)
    drawn = sf(draw_strokes(face_strokes(True), side, width), kind="lines", lambda_line=0.85)
    with_w = sf.refine(without, lines=drawn.lines)      # the edit: the same coarse face, wrinkles added to l
    ink_w, ink_0 = with_w.lines < 0.5, without.lines < 0.5
    inside = with_w.mask > 0.5
    wrinkles = ink_w & ~dilate(ink_0, 2) & inside
    other = ink_0 & inside
    away = inside & ~dilate(ink_w, 3)
    if wrinkles.sum() < 20:
        raise RuntimeError("the wrinkles were not found in l")
    rows = []
    sw, s0 = sf.lambda_sweep(with_w, lambdas), sf.lambda_sweep(without, lambdas)
    for lam, a, b in zip(lambdas, sw, s0):
        d = np.abs(a.displacement) * 255
        edit = np.abs(a.fine - b.fine) * 255
        rows.append({"lambda_line": lam, "d_wrinkles": float(d[wrinkles].mean()), "d_other_lines": float(d[other].mean()),
                     "d_away": float(d[away].mean()), "edit_wrinkles": float(edit[wrinkles].mean()),
                     "edit_away": float(edit[away].mean())})
    return rows, sw, s0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--out", default="", help="PNG: shaded fine depth with and without wrinkles at each λ_line")
    a = ap.parse_args(argv)

    from sketchface import SketchFace
    from sketchface.mesh import shade

    sf = SketchFace.from_pretrained(a.checkpoints)
    rows, sw, s0 = measure(sf)
    print("| λ_line | \\|d\\| wrinkles | \\|d\\| other lines | \\|d\\| away from lines | edit: Δ on wrinkles | "
          "edit: Δ away |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['lambda_line']:.2f} | {r['d_wrinkles']:.2f} | {r['d_other_lines']:.2f} | {r['d_away']:.2f} | "
              f"{r['edit_wrinkles']:.2f} | {r['edit_away']:.2f} |")
    if a.out:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        n = len(rows)
        fig, ax = plt.subplots(2, n + 1, figsize=(2.2 * (n + 1), 4.6))
        for i, (res, label) in enumerate(((sw, "drawn wrinkles"), (s0, "no wrinkles"))):
            ax[i, 0].imshow(res[0].lines, cmap="gray")
            ax[i, 0].set_title(f"l ({label})", fontsize=8)
            for j, r in enumerate(res, 1):
                ax[i, j].imshow(shade(r.fine, r.mask), cmap="gray", vmin=0, vmax=1)
                ax[i, j].set_title(f"λ_line {r.lambda_line:.2f}", fontsize=8)
        for x in ax.flat:
            x.axis("off")
        fig.tight_layout()
        fig.savefig(a.out, dpi=90)
        print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
