"""Does FaceFit read how far the mouth is open? (docs/TRAINING.md, "Open mouths")

The lip gap (``sketchface.data.realfits.lip_gap``: inner lips apart over the eyes' distance) of the face FaceFit fits,
against the truth:

- synthetic: the world's test faces (``--data``, their 68 true points), drawn as pencil sketches and line drawings
  and as photos, read in the training framing;
- real: every dev sketch framed as the pipeline frames it, against the lips of its FaceMesh landmarks (a
  measurement only; nothing learns from them). A lip gap above 0.1 is an open mouth (about 0.2 for a smile with
  the teeth showing).

Reports the correlation, the slope of fitted against true gap, and the mean fitted gap of the open mouths.

    python scripts/experiments/mouth_reading.py --checkpoints checkpoints --data data/fit128m --n 256

``--picture PATH --before BUNDLE``: the dev sketches with the widest open mouths (FaceMesh's lips) and the dev line
drawings that show the teeth, each beside the shaded head mesh of BUNDLE and of ``--checkpoints``, front and 45°.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def summary(true: np.ndarray, fitted: np.ndarray) -> dict:
    open_ = true > 0.1
    return {"n": int(len(true)), "open": int(open_.sum()), "r": round(float(np.corrcoef(true, fitted)[0, 1]), 3),
            "slope": round(float(np.polyfit(true, fitted, 1)[0]), 3),
            "open: true / fitted": [round(float(true[open_].mean()), 3), round(float(fitted[open_].mean()), 3)]
            if open_.any() else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--data", default="data/fit128m", help="a world with open mouths (make-data open_mouth_prob)")
    ap.add_argument("--n", type=int, default=256, help="synthetic test faces")
    ap.add_argument("--real", default="../shared/data/realsketch")
    ap.add_argument("--json", default=None)
    ap.add_argument("--picture", default=None, help="write a before/after picture of open-mouthed sketches here")
    ap.add_argument("--before", default=None, help="the bundle the picture's 'before' comes from")
    a = ap.parse_args()

    from sketchface.data.realfits import ICT_EYES, ICT_LIPS, lip_gap
    from sketchface.evaluate import load_split
    from sketchface.framing import flatten_paper
    from sketchface.pipeline import SketchFace

    sf = SketchFace.from_pretrained(a.checkpoints, coarse="face_model", outline=False, facecheck=False)
    prior, fm = sf.prior, sf.prior.fm
    out: dict = {}
    if a.data:
        test = load_split(a.data, "test", ("landmarks", "sketch_pencil", "sketch_lines", "photo"), a.n)
        true = np.array([lip_gap(p, ICT_LIPS, ICT_EYES) for p in test["landmarks"]])
        for key in ("sketch_pencil", "sketch_lines", "photo"):
            fitted = []
            for img in test[key]:
                x = np.asarray(img, np.float32)          # load_split gives [0, 1]
                fit = prior.fit(x if key == "photo" else flatten_paper(x))
                xy, _ = fit.camera().project(prior.vertices(fit)[fm.landmarks68], prior.size)
                fitted.append(lip_gap(xy, ICT_LIPS, ICT_EYES))
            out[f"synthetic {key}"] = summary(true, np.array(fitted))
            print(f"synthetic {key}", json.dumps(out[f"synthetic {key}"]), flush=True)
    if a.real and Path(a.real, "dev", "landmarks.json").is_file():
        marks = json.loads(Path(a.real, "dev", "landmarks.json").read_text())
        rows: dict[str, list] = {}
        for rel, entry in marks.items():
            group = rel.split("/")[1]
            kind = "lines" if group == "lines" else "sketch"
            _, _, framing, _, fit = sf.prepare(str(Path(a.real, rel)), kind=kind, with_fit=True)
            pts = sf.prior.landmarks(fit, framing.crop_box)
            rows.setdefault(group, []).append((lip_gap(entry["points"]), lip_gap(pts, ICT_LIPS, ICT_EYES)))
        for group, r in rows.items():
            t, f = np.array(r).T
            out[f"real {group}"] = summary(t, f)
            print(f"real {group}", json.dumps(out[f"real {group}"]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    if a.picture and a.before:
        from sketchface.evaluate_real import real_picture

        marks = json.loads(Path(a.real, "dev", "landmarks.json").read_text())
        widest = sorted(marks, key=lambda rel: -lip_gap(marks[rel]["points"]))[:4]
        chosen = widest + ["dev/lines/sketches/edt_2.png"]
        rows = [{"rel": rel, "path": Path(a.real, rel)} for rel in chosen]
        results = []
        for bundle in (a.before, a.checkpoints):
            b = SketchFace.from_pretrained(bundle, facecheck=False)
            results.append({r["rel"]: b(str(r["path"]), kind="lines" if "/lines/" in r["rel"] else "sketch")
                             for r in rows})
        real_picture(rows, set(chosen), results[0], results[1], a.picture)


if __name__ == "__main__":
    main()
