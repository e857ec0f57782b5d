"""Hold out part of the real train pairs: does what FaceFit learns from them carry over to real sketches it never saw?

Keeps every k-th pair of each group of a ``prepare-real-fits`` folder (their order in ``fits.npz``) and writes

    OUT/fits.npz, OUT/meta.json   the kept pairs, for ``train facefit facefit.real_fits=OUT``
    OUT/points_seen.json          FaceMesh's points of the kept pairs   (for ``pitch_oracle.py --train-points``)
    OUT/points_held.json          FaceMesh's points of the other pairs  (the same, on sketches it did not see)

    python scripts/experiments/real_fits_split.py --fits data/realfits_pitch --points data/facemesh_train.json \
        --out data/realfits_pitch_half --every 2

Measured 2026-12-07: docs/TRAINING.md, "The head's pitch on real sketches".
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fits", required=True, help="a prepare-real-fits folder")
    ap.add_argument("--points", required=True, help="FaceMesh points of the train pairs (facemesh_points.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--every", type=int, default=2, help="keep every k-th pair of each group")
    a = ap.parse_args(argv)

    fits = dict(np.load(Path(a.fits) / "fits.npz"))
    keep = np.zeros(len(fits["name"]), bool)
    for group in np.unique(fits["group"]):
        keep[np.flatnonzero(fits["group"] == group)[::a.every]] = True
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "fits.npz", **{k: v[keep] for k, v in fits.items()})
    meta = json.loads((Path(a.fits) / "meta.json").read_text())
    meta["held_out"] = f"one pair in {a.every} of each group of {a.fits}; the others are in points_held.json"
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    refs = json.loads(Path(a.points).read_text())
    for name, mask in (("points_seen.json", keep), ("points_held.json", ~keep)):
        keys = [f"{g}/sketches/{n}" for g, n in zip(fits["group"][mask], fits["name"][mask])]
        (out / name).write_text(json.dumps({k: refs[k] for k in keys if k in refs}))
    print(f"{out}: {int(keep.sum())} pairs kept, {int((~keep).sum())} held out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
