"""Open the jaws of existing real-fit targets as far as FaceMesh's lips are apart (docs/TRAINING.md, "Open mouths").

``prepare-real-fits --pose-from F --open-mouths`` does this while it fits; this script applies the same
``jaw_for_gap`` to a folder made without it, so that the pitch targets stay exactly those of the shipped recipe and
only the mouths change (a minute instead of refitting for 13):

    python scripts/experiments/real_fits_mouth.py --fits data/realfits_pitch --points data/facemesh_train.json \\
        --out data/realfits_mouth
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fits", required=True, help="folder written by prepare-real-fits --pose-from")
    ap.add_argument("--points", required=True, help="FaceMesh points of the train pairs (facemesh_points.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--face-model", default=None)
    a = ap.parse_args()

    from sketchface.data.realfits import jaw_for_gap, lip_gap, load_real_fits
    from sketchface.facemodel import load_face_model
    from sketchface.train.outline import reference_points

    fm = load_face_model(a.face_model)
    fits = load_real_fits(a.fits)
    refs = json.loads(Path(a.points).read_text())
    gaps = []
    for i, (group, name) in enumerate(zip(fits["group"], fits["name"])):
        ref = reference_points(refs.get(f"{group}/sketches/{name}", {}))
        gap = lip_gap(ref) if ref is not None else None
        if gap is not None:
            fits["expression"][i] = jaw_for_gap(fm, fits["identity"][i], fits["expression"][i], gap)
        gaps.append(gap)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "fits.npz", **fits)
    meta = json.loads((Path(a.fits) / "meta.json").read_text())
    meta["target"] += "; its jaw opened as far as FaceMesh's lips are apart (real_fits_mouth.py)"
    g = np.array([x for x in gaps if x is not None])
    meta["lip_gap"] = {"mean": round(float(g.mean()), 4), "open (> 0.1)": int((g > 0.1).sum()), "n": len(g)}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print(f"wrote {out}: {len(g)} targets, {meta['lip_gap']}")


if __name__ == "__main__":
    main()
