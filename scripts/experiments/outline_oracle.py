"""How much the fitted face's outline is worth on the real dev sketches (docs/TRAINING.md, "The drawn outline").

For each dev sketch, the face model's depth (FaceFit's fit, no FineNet) scored as score.py scores it, three ways:
as FaceFit fits it; with its jaw moved by the bundle's Outline (what the pipeline does for sketches); and with its
jaw moved onto the outline of the sketch's own FaceMesh landmarks, the answer itself (a bound, a measurement
only: nothing learns from the dev landmarks). Also the jaw points' mean distance from that outline along their
normals, in eye distances.

    python scripts/experiments/outline_oracle.py --real ../shared/data/realsketch --group cufs fs2k
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", default="../shared/data/realsketch")
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--group", nargs="+", default=["cufs", "fs2k"])
    ap.add_argument("--limit", type=int, default=0, help="first N sketches of each group (0 = all)")
    ap.add_argument("--json", default=None, help="write the summary here")
    ap.add_argument("--convention", default=None, help="also the bound with FaceMesh's convention taken off the true "
                    "outline (facemesh_convention.py's JSON)")
    a = ap.parse_args()

    from PIL import Image

    from sketchface.evaluate_real import load_dev, pasted_depth, pearson, sample
    from sketchface.nets.outline import eye_distance, jaw_normals
    from sketchface.pipeline import SketchFace
    from sketchface.train.outline import FACEMESH_JAW

    sf = SketchFace.from_pretrained(a.checkpoints, coarse="face_model")
    if sf.prior is None or sf.prior.outline is None:
        raise SystemExit(f"{a.checkpoints} has no outline network (python -m sketchface train-outline)")
    prior = sf.prior
    summary = {}
    for group in a.group:
        rs = {"as fitted": [], "Outline": [], "jaw on the true outline (bound)": []}
        if a.convention:
            conv = np.asarray(json.loads(Path(a.convention).read_text())["median"])
            rs["the same, less FaceMesh's convention"] = []
        dist = {"as fitted": [], "Outline": []}
        for row in load_dev(Path(a.real), groups=(group,), limit=a.limit):
            _, _, framing, _, fit = sf.prepare(str(row["path"]), kind="sketch", with_fit=True)
            box, pts = framing.crop_box, row["points"]
            plain = replace(fit, outline=None)
            before = prior.landmarks(plain, box)
            true_jaw = pts[list(FACEMESH_JAW), :2]
            bound = replace(fit, outline=((true_jaw - before[:17]) / (box[2] - box[0])).astype(np.float32))
            w, h = Image.open(row["path"]).size
            runs = [("as fitted", plain), ("Outline", fit), ("jaw on the true outline (bound)", bound)]
            if a.convention:      # the face model's jaw where FaceMesh's contour would put it on a face it fits
                jaw = true_jaw - (conv * eye_distance(before))[:, None] * jaw_normals(before)
                runs.append(("the same, less FaceMesh's convention",
                             replace(fit, outline=((jaw - before[:17]) / (box[2] - box[0])).astype(np.float32))))
            for name, f in runs:
                depth, mask = prior.render(f, sf.size)
                d = pasted_depth(depth, mask, box, (h, w))
                rs[name].append(pearson(sample(d, pts), -pts[:, 2]))
                if name in dist:
                    jaw = prior.landmarks(f, box)
                    off = ((true_jaw - jaw[:17]) * jaw_normals(jaw)).sum(1) / eye_distance(jaw)
                    dist[name].append(float(np.abs(off).mean()))
        summary[group] = {"n": len(rs["as fitted"]), **{k: round(float(np.nanmean(v)), 4) for k, v in rs.items()},
                          **{f"jaw distance, {k}": round(float(np.mean(v)), 4) for k, v in dist.items()}}
        print(group, json.dumps(summary[group]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
