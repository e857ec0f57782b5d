"""Regenerate the app's example images in demo/examples/ (all made by the project, no outside data).

    SKETCHFACE_FACE_MODEL=/path/to/ict_face_light python scripts/make_examples.py [--out demo/examples]

Renders a few test-identity faces of the synthetic world with `python -m sketchface make-data` and keeps
4 clean line drawings, 2 pencil sketches and 2 photos (256 px), plus one face drawn as pen strokes
(sketchface.webapp.strokes). Identities are test identities, never seen in training.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _load(folder: Path, key: str) -> np.ndarray:
    return np.load(folder / f"{key}.npy")


def _ink(a: np.ndarray) -> float:
    return float((a < 128).mean())


def _paper(a: np.ndarray) -> float:
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    return float(np.median(border))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "demo" / "examples"))
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--n", type=int, default=60, help="samples to render before choosing")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from sketchface.webapp.strokes import draw_strokes, face_strokes

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "sketchface", "make-data", "--out", tmp, "--n", str(args.n), "--size", "256",
               "--variants", "2", "--seed", str(args.seed), "--workers", "1", "--test-fraction", "0.5"]
        subprocess.run(cmd, check=True, cwd=ROOT)
        shards = sorted(p for p in Path(tmp).glob("test-*") if p.is_dir())
        if not shards:
            raise SystemExit("make-data wrote no test shard")
        folder = shards[0]
        params = [json.loads(line) for line in (folder / "params.jsonl").read_text().splitlines()]
        photo, lines, pencil = _load(folder, "photo"), _load(folder, "sketch_lines"), _load(folder, "sketch_pencil")
        # faces with fine detail (variant 1) on clean white paper, with enough ink to read as a face
        detailed = [i for i, p in enumerate(params) if p.get("variant", 0) > 0 and p.get("details")]
        clean_lines = [i for i in detailed if _paper(lines[i]) > 240 and 0.02 < _ink(lines[i]) < 0.12]
        clean_pencil = [i for i in detailed if _paper(pencil[i]) > 235 and i not in clean_lines[:4]]
        photos = [i for i in detailed if i not in clean_lines[:4] + clean_pencil[:2]]
        if len(clean_lines) < 4 or len(clean_pencil) < 2 or len(photos) < 2:
            raise SystemExit("not enough clean samples: raise --n")
        for old in out.glob("*.png"):
            old.unlink()
        written = []
        for j, i in enumerate(clean_lines[:4], 1):
            written.append(out / f"lines_{j}.png")
            Image.fromarray(lines[i]).save(written[-1], optimize=True)
        for j, i in enumerate(clean_pencil[:2], 1):
            written.append(out / f"pencil_{j}.png")
            Image.fromarray(pencil[i]).save(written[-1], optimize=True)
        for j, i in enumerate(photos[:2], 1):
            written.append(out / f"photo_{j}.png")
            Image.fromarray(photo[i]).save(written[-1], optimize=True)
    written.append(out / "strokes_face.png")
    Image.fromarray(draw_strokes(face_strokes(), 256, 2, jitter=0.4, seed=args.seed)).save(written[-1], optimize=True)
    total = sum(p.stat().st_size for p in written)
    for p in written:
        print(f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}  {p.stat().st_size // 1024} KB")
    print(f"{len(written)} examples, {total / 1024:.0f} KB in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
