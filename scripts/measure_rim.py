"""Rim spikes in what the app shows and serves, on the demo examples and 8 real dev sketches.

A cell or triangle is a spike when its depth span exceeds 3x the median span of its neighbours and 5 mm
(sketchface.mesh.spiky_cells / spiky_triangles). Columns: the raw depth grid as the app drew it before (every mask
pixel), the heightfield mesh now shown and served (trusted pixels only), and the fitted head mesh (when the face
model is found). The app shows Mesh3d only, so hovering meets no NaN.

    python scripts/measure_rim.py [--real ../shared/data/realsketch] [--models face_model dp_coarse]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def inputs(real: Path | None) -> list[Path]:
    files = sorted((ROOT / "demo" / "examples").glob("*.png"))
    if real is not None and (real / "dev").is_dir():
        for group, n in (("cufs", 3), ("fs2k", 3), ("lines", 2)):
            files += sorted((real / "dev" / group / "sketches").glob("*.*"))[:n]
    return files


def main() -> int:
    from sketchface.mesh import spiky_cells, spiky_triangles
    from sketchface.pipeline import SketchFace
    from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", type=Path, default=None)
    p.add_argument("--models", nargs="+", default=["face_model", "dp_coarse"])
    a = p.parse_args()
    print("| model | input | raw grid: spiky cells | heightfield: triangles, spiky | head: triangles, spiky |")
    print("|---|---|---|---|---|")
    worst = {"raw": 0, "heightfield": 0, "head": 0}
    for model in a.models:
        pipe = SketchFace.from_pretrained(coarse=model)
        for f in inputs(a.real):
            r = pipe(str(f))
            raw = int(spiky_cells(np.where(r.mask, r.fine * (DEPTH_NEAR_CM - DEPTH_FAR_CM), np.nan)).sum())
            hf = r.mesh(topology="heightfield")
            n_hf = int(spiky_triangles(hf).sum())
            head = "–"
            if r.has_head:
                hm = r.mesh(topology="head")
                n_head = int(spiky_triangles(hm).sum())
                worst["head"] = max(worst["head"], n_head)
                head = f"{len(hm.faces)}, {n_head}"
            worst["raw"], worst["heightfield"] = max(worst["raw"], raw), max(worst["heightfield"], n_hf)
            print(f"| {model} | {f.name} | {raw} | {len(hf.faces)}, {n_hf} | {head} |", flush=True)
    print(f"\nworst case: raw grid {worst['raw']} spiky cells; heightfield {worst['heightfield']}, "
          f"head {worst['head']} spiky triangles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
