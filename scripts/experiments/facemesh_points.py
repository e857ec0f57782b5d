"""FaceMesh 3-D landmarks of the real *train* pairs, as dev/landmarks.json holds them for the dev pairs.

    python -m venv .venv-facemesh && .venv-facemesh/bin/pip install mediapipe==0.10.21
    .venv-facemesh/bin/python scripts/experiments/facemesh_points.py --real ../shared/data/realsketch/train \
        --out data/facemesh_train.json

For every pair: MediaPipe FaceMesh (static images, one face) on the photo resized to the sketch's size and on the
sketch itself; 468 points (x, y, z) in the sketch's pixels, smaller z nearer (z scaled by the image width, as
MediaPipe scales it like x). ``prepare-real-fits --reference`` turns them into face-model targets. Only the train
split: the dev landmarks measure, they never teach. Runs in its own environment (mediapipe pins numpy < 2).
"""
import argparse
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

EXTS = {".jpg", ".jpeg", ".png", ".bmp"}


def pair_key(name: str) -> str:
    m = re.match(r"(?:sketch|photo)(\d+)_(?:sketch|image)(\d+)", Path(name).stem)
    return f"{m.group(1)}_{m.group(2)}" if m else Path(name).stem


def pairs(root: Path):
    for group in sorted(p for p in root.iterdir() if (p / "sketches").is_dir()):
        photos = {pair_key(p.name): p for p in (group / "photos").iterdir() if p.suffix.lower() in EXTS}
        for s in sorted(p for p in (group / "sketches").iterdir() if p.suffix.lower() in EXTS):
            if pair_key(s.name) in photos:
                yield group.name, s, photos[pair_key(s.name)]


def main():
    import mediapipe as mp
    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    root = Path(a.real)
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)

    def points(img: Image.Image):
        res = mesh.process(np.asarray(img.convert("RGB")))
        if not res.multi_face_landmarks:
            return None
        w, h = img.size
        return [[round(p.x * w, 2), round(p.y * h, 2), round(p.z * w, 2)] for p in res.multi_face_landmarks[0].landmark]

    out = {}
    todo = list(pairs(root))
    for group, s, p in tqdm(todo, desc="facemesh", unit="pair"):
        sketch = Image.open(s)
        photo = Image.open(p).convert("RGB").resize(sketch.size, Image.BILINEAR)
        out[f"{group}/sketches/{s.name}"] = {"photo": points(photo), "sketch": points(sketch), "size": sketch.size}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out))
    found = {k: sum(v[k] is not None for v in out.values()) for k in ("photo", "sketch")}
    print(f"wrote {a.out}: {len(out)} pairs; FaceMesh found a face on {found['photo']} photos, {found['sketch']} sketches")


if __name__ == "__main__":
    main()
