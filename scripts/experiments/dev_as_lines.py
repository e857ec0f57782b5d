"""The real dev sketches shown as line drawings: how well a pipeline reads line drawings of real faces, on 257
drawings instead of the five of the dev set's line group (docs/TRAINING.md, "Line drawings of real faces").

Each CUFS and FS2K dev sketch is scaled so that its longer side is 256 px and turned into its XDoG lines
(``sketchface.xdog.xdog``, default parameters), its FaceMesh points scaled with it; each pipeline reads them as
``kind="lines"`` and is scored as ``evaluate-real`` scores a sketch (mean Pearson r of the depth at the points
against their depth), coarse and fine depth. ``--drawn`` also scores the sketches as drawn, for the comparison.
``--keep features`` keeps only the strokes near the eyes, brows, nose and lips (within 0.12 eye distances of their
FaceMesh points), ``--keep features+jaw`` those and the jaw's: sparse line drawings like the dev set's ``edt_1`` and
``edt_4``. The points only choose which of the artist's strokes stay (so they hint at where the features are); nothing
is trained on them, the dev points stay a measurement.

    python scripts/experiments/dev_as_lines.py default=checkpoints dp=checkpoints:dp_coarse [--drawn] [--limit 20]
    python scripts/experiments/dev_as_lines.py default=checkpoints --keep features
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

# MediaPipe FaceMesh points of the features and of the jaw (its lower face oval)
LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409, 78, 95, 88, 178,
        87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415]
EYES = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
        33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173]
BROWS = [276, 283, 282, 295, 285, 300, 293, 334, 296, 336, 46, 53, 52, 65, 55, 70, 63, 105, 66, 107]
NOSE = [1, 2, 98, 327, 4, 5, 195, 197, 6, 168, 48, 278, 64, 294, 129, 358, 49, 279, 102, 331, 219, 439, 94, 19, 45,
        275]
JAW = [234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454]
KEEP = {"all": None, "features": LIPS + EYES + BROWS + NOSE, "features+jaw": LIPS + EYES + BROWS + NOSE + JAW}
REACH = 0.12    # a stroke pixel stays within this many eye distances of a kept point


def near(points: np.ndarray, shape, reach: float) -> np.ndarray:
    """(H, W) bool: within ``reach`` pixels of any of ``points`` (N, 2+; x, y)."""
    from scipy import ndimage

    seed = np.zeros(shape, bool)
    x, y = np.round(points[:, 0]).astype(int), np.round(points[:, 1]).astype(int)
    ok = (x >= 0) & (x < shape[1]) & (y >= 0) & (y < shape[0])
    seed[y[ok], x[ok]] = True
    return ndimage.distance_transform_edt(~seed) < reach


def as_lines(real: Path, out: Path, groups=("cufs", "fs2k"), side: int = 256, limit: int = 0,
             keep: str = "all") -> int:
    """Write ``out/dev/<group>/sketches/NAME`` (the XDoG lines of each dev sketch at ``side`` px; with ``keep`` only
    the strokes near those FaceMesh points) and ``out/dev/landmarks.json`` (its points scaled alike); returns the
    number of drawings."""
    from PIL import Image

    from sketchface.xdog import xdog

    refs = json.loads((real / "dev" / "landmarks.json").read_text())
    kept, count = {}, {}
    for rel, ref in sorted(refs.items()):
        group = rel.split("/")[1]
        if group not in groups or (limit and count.get(group, 0) >= limit):
            continue
        count[group] = count.get(group, 0) + 1
        img = Image.open(real / rel).convert("L")
        s = side / max(img.size)
        img = img.resize((max(1, round(img.size[0] * s)), max(1, round(img.size[1] * s))), Image.LANCZOS)
        lines = xdog(np.asarray(img, np.float32) / 255)
        pts = np.asarray(ref["points"], np.float64) * s
        if KEEP[keep] is not None:
            eye = np.linalg.norm(pts[[33, 133], :2].mean(0) - pts[[362, 263], :2].mean(0))
            lines = np.where(near(pts[KEEP[keep]], lines.shape, REACH * eye), lines, 1.0)
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((np.clip(lines, 0, 1) * 255).astype(np.uint8)).save(path)
        kept[rel] = {**ref, "points": pts.tolist()}
    (out / "dev").mkdir(parents=True, exist_ok=True)
    (out / "dev" / "landmarks.json").write_text(json.dumps(kept))
    return len(kept)


def scores(model, root: Path, kind: str | None, limit: int = 0) -> dict:
    """{group: {"coarse": r, "fine": r, "n": count}} of one pipeline on a dev-layout folder; ``kind`` None reads
    each drawing as its group is drawn (lines for the line group, else sketch)."""
    from sketchface.evaluate_real import depth_in_input, load_dev, pearson, sample

    out = {}
    for row in load_dev(root, groups=("cufs", "fs2k"), limit=limit):
        r = model(str(row["path"]), kind=kind or "sketch")
        truth = -row["points"][:, 2]
        out.setdefault(row["group"], []).append(
            [pearson(sample(depth_in_input(r, w), row["points"]), truth) for w in ("coarse", "fine")])
    return {g: {"coarse": float(np.nanmean(v, 0)[0]), "fine": float(np.nanmean(v, 0)[1]), "n": len(v)}
            for g, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pipelines", nargs="+", help="NAME=BUNDLE or NAME=BUNDLE:COARSE (a coarse= of SketchFace)")
    ap.add_argument("--real", default="../shared/data/realsketch")
    ap.add_argument("--limit", type=int, default=0, help="first N sketches per group (0 = all)")
    ap.add_argument("--drawn", action="store_true", help="also score the sketches as drawn")
    ap.add_argument("--keep", choices=list(KEEP), default="all", help="which strokes of the lines stay")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    import torch

    from sketchface.pipeline import SketchFace

    torch.set_num_threads(a.threads)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        n = as_lines(Path(a.real), Path(tmp), limit=a.limit, keep=a.keep)
        print(f"{n} dev sketches as XDoG line drawings ({a.keep} strokes)", flush=True)
        for spec in a.pipelines:
            name, where = spec.split("=", 1)
            bundle, _, coarse = where.partition(":")
            model = SketchFace.from_pretrained(bundle, **({"coarse": coarse} if coarse else {}))
            results[name] = {"lines": scores(model, Path(tmp), "lines", a.limit)}
            if a.drawn:
                results[name]["drawn"] = scores(model, Path(a.real), None, a.limit)
            print(name, json.dumps(results[name]), flush=True)
    print("| pipeline | read | CUFS coarse / fine | FS2K coarse / fine |")
    print("|---|---|---|---|")
    for name, r in results.items():
        for read, s in r.items():
            print(f"| {name} | {f'XDoG lines ({a.keep})' if read == 'lines' else 'as drawn'} | "
                  + " | ".join(f"{s[g]['coarse']:.3f} / {s[g]['fine']:.3f}" for g in ("cufs", "fs2k")) + " |")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
