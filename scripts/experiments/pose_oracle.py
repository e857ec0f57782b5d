"""How much the head's pose (yaw and pitch) costs the face model on real sketches: a bound (docs/TRAINING.md, "Line
drawings of real faces").

For every dev sketch of the chosen groups, FaceFit's fit turned by each yaw and pitch step with its placement kept
(``sketchface.prior.turned``: the 68 feature points stay where FaceFit put them, only the depth changes), and r of the
face model's depth against the FaceMesh landmarks (score.py's measure): as fitted, at each sketch's best pitch, best
yaw and best pair (bounds that read the answer: a measurement only, nothing learns from the dev landmarks).

    python scripts/experiments/pose_oracle.py --groups lines
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", default="../shared/data/realsketch")
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--groups", nargs="+", default=["cufs", "fs2k", "lines"])
    ap.add_argument("--limit", type=int, default=0, help="first N sketches of each group (0 = all)")
    ap.add_argument("--yaw", type=float, nargs="+", default=list(np.arange(-12, 13, 3.0)))
    ap.add_argument("--pitch", type=float, nargs="+", default=list(np.arange(-8, 9, 2.0)))
    ap.add_argument("--kind", default=None, help="read every drawing as this kind (default: lines for the line "
                    "group, sketch for the others); e.g. lines for dev_as_lines.py's drawings")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    from PIL import Image

    from sketchface.evaluate_real import load_dev, pasted_depth, pearson, sample
    from sketchface.pipeline import SketchFace
    from sketchface.prior import turned

    sf = SketchFace.from_pretrained(a.checkpoints, coarse="face_model", facecheck=False)
    prior = sf.prior
    i0, j0 = a.yaw.index(0.0), a.pitch.index(0.0)
    out = {}
    for row in load_dev(Path(a.real), groups=tuple(a.groups), limit=a.limit):
        kind = a.kind or ("lines" if row["group"] == "lines" else "sketch")
        _, _, framing, _, fit = sf.prepare(str(row["path"]), kind=kind, with_fit=True)
        w, h = Image.open(row["path"]).size
        feature_points = prior.vertices(fit)[prior.fm.landmarks68]
        grid = np.full((len(a.yaw), len(a.pitch)), -1.0)
        for i, dy in enumerate(a.yaw):
            for j, dp in enumerate(a.pitch):
                depth, mask = prior.render(turned(fit, feature_points, d_pitch=dp, size=prior.size, d_yaw=dy),
                                           prior.size)
                r = pearson(sample(pasted_depth(depth, mask, framing.crop_box, (h, w)), row["points"]),
                            -row["points"][:, 2])
                grid[i, j] = r if np.isfinite(r) else -1.0
        bi, bj = np.unravel_index(grid.argmax(), grid.shape)
        one = {"fitted": grid[i0, j0], "best pitch": grid[i0].max(), "best yaw": grid[:, j0].max(),
               "best both": grid.max(), "FaceFit yaw": float(fit.angles[0]), "FaceFit pitch": float(fit.angles[1]),
               "best turn": [a.yaw[bi], a.pitch[bj]]}
        out.setdefault(row["group"], {})[row["rel"]] = one
        if row["group"] == "lines":
            print(row["rel"], json.dumps({k: np.round(v, 3).tolist() for k, v in one.items()}), flush=True)
    print("| group | n | as fitted | each sketch's best pitch | best yaw | best yaw and pitch |")
    print("|---|---|---|---|---|---|")
    for g, rows in out.items():
        m = {k: np.mean([r[k] for r in rows.values()]) for k in ("fitted", "best pitch", "best yaw", "best both")}
        print(f"| {g} | {len(rows)} | {m['fitted']:.3f} | {m['best pitch']:.3f} | {m['best yaw']:.3f} | "
              f"{m['best both']:.3f} |")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
