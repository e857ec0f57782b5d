"""How much the head's pitch costs the face model on real sketches (docs/TRAINING.md, "The head's pitch on real
sketches").

For every dev sketch, FaceFit's fit turned in pitch by each of −12 … +12 degrees with its placement kept
(``sketchface.prior.turned``: the 68 feature points stay where FaceFit put them, only the depth changes), and the
mean r of the face model's depth against the FaceMesh landmarks (score.py's measure) per group: for every constant
turn, and for each sketch's own best turn (a bound that reads the answer: a measurement only, nothing learns from
the dev landmarks). Also FaceFit's mean pitch per group.

    python scripts/experiments/pitch_oracle.py --real ../shared/data/realsketch --json runs/pitch_oracle.json

With ``--train-points data/facemesh_train.json`` (``facemesh_points.py``) the same on the real *train* sketches,
measured by FaceMesh's points of their pairs: the turn a FaceFit fine-tuned on those targets has left to learn there.
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
    ap.add_argument("--limit", type=int, default=0, help="first N sketches of each group (0 = all)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--train-points", default=None, help="FaceMesh points of the train pairs: measure on train")
    a = ap.parse_args()

    from PIL import Image

    from sketchface.data.realfits import PITCH_STEPS, best_pitch
    from sketchface.evaluate_real import GROUPS
    from sketchface.pipeline import SketchFace

    sf = SketchFace.from_pretrained(a.checkpoints, coarse="face_model", outline=False, facecheck=False)
    train = json.loads(Path(a.train_points).read_text()) if a.train_points else None
    summary = {}
    for group in GROUPS:
        curves, pitches, best = [], [], []
        for row in rows_of(Path(a.real), group, a.limit, train):
            kind = "lines" if group == "lines" else "sketch"
            _, _, framing, _, fit = sf.prepare(str(row["path"]), kind=kind, with_fit=True)
            w, h = Image.open(row["path"]).size
            turn, rs = best_pitch(sf.prior, fit, framing.crop_box, row["points"], (h, w))
            curves.append(rs)
            pitches.append(float(fit.angles[1]))
            best.append(turn)
        if not curves:
            continue
        curves = np.array(curves)
        summary[group] = {"n": len(curves), "FaceFit pitch": round(float(np.mean(pitches)), 2),
                          "best turn mean": round(float(np.mean(best)), 2), "best turn sd": round(float(np.std(best)), 2),
                          "r per constant turn": {f"{s:+.0f}": round(float(np.mean(curves[:, j])), 4)
                                                  for j, s in enumerate(PITCH_STEPS)},
                          "r, each sketch's best turn (bound)": round(float(np.mean(curves.max(1))), 4)}
        print(group, json.dumps(summary[group]), flush=True)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(summary, indent=1) + "\n")


def rows_of(real: Path, group: str, limit: int, train: dict | None) -> list[dict]:
    """The dev rows of ``group`` (their landmarks), or with ``train`` (FaceMesh's points of the train pairs, by the
    sketch's path under train/) the train sketches of ``group`` measured by those points (``reference_points``)."""
    from sketchface.evaluate_real import load_dev
    from sketchface.train.outline import reference_points

    if train is None:
        return load_dev(real, groups=(group,), limit=limit)
    rows = []
    for rel, entry in sorted(train.items()):
        points = reference_points(entry) if rel.split("/")[0] == group else None
        if points is not None:
            rows.append({"rel": rel, "group": group, "path": real / "train" / rel, "points": points})
    return rows[:limit] if limit else rows


if __name__ == "__main__":
    main()
