"""Where FaceMesh's face contour lies beside the face model's jaw points, on faces whose jaw is known.

    .venv-facemesh/bin/python scripts/experiments/facemesh_convention.py --data data/fit128 --n 320 \
        --out data/facemesh_convention.json

MediaPipe FaceMesh (the 0.10.21 of the dev landmarks) on rendered photos of the fit world's test faces (upscaled 3×),
and for each of the 17 jaw points of the face model (``landmarks.npy``, the truth) the offset of the matching FaceMesh
contour point along the jaw's outward normal, in eye distances. Its median per point is FaceMesh's *convention*:
what separates the two landmark sets on a face where neither is wrong (docs/TRAINING.md, "The drawn outline").
``train-outline --convention FILE`` takes it off its targets. Runs in the FaceMesh environment (numpy < 2), so the
normals and the jaw's correspondence are written out here rather than imported.
"""
import argparse
import glob
import json
from pathlib import Path

import numpy as np
from PIL import Image

FACEMESH_JAW = (162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389)  # as train/outline


def jaw_offsets(contour: np.ndarray, points68: np.ndarray) -> np.ndarray:
    """(17,) offsets of ``contour`` from the jaw of ``points68`` along its outward normals, in eye distances (the
    same normals as sketchface.nets.outline.jaw_normals)."""
    jaw = points68[:17]
    tangent = np.roll(jaw, -1, 0) - np.roll(jaw, 1, 0)
    tangent[0], tangent[-1] = jaw[1] - jaw[0], jaw[-1] - jaw[-2]
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    normal *= np.sign(((jaw - points68[27:36].mean(0)) * normal).sum(1, keepdims=True))
    eye = np.linalg.norm(points68[36:42].mean(0) - points68[42:48].mean(0))
    return ((contour - jaw) * normal).sum(1) / eye


def main():
    import mediapipe as mp

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data/fit128")
    ap.add_argument("--n", type=int, default=320)
    ap.add_argument("--out", default="data/facemesh_convention.json")
    a = ap.parse_args()
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
    offsets = []
    for shard in sorted(glob.glob(f"{a.data}/test-*")):
        photos, marks = np.load(f"{shard}/photo.npy"), np.load(f"{shard}/landmarks.npy")
        for photo, lm in zip(photos, marks):
            if len(offsets) >= a.n:
                break
            side = photo.shape[0]
            res = mesh.process(np.asarray(Image.fromarray(photo).resize((3 * side, 3 * side), Image.BICUBIC)))
            if res.multi_face_landmarks:
                pts = np.array([[p.x * side, p.y * side] for p in res.multi_face_landmarks[0].landmark])
                offsets.append(jaw_offsets(pts[list(FACEMESH_JAW)], lm.astype(np.float64)))
    offsets = np.array(offsets)
    out = {"median": np.round(np.median(offsets, 0), 4).tolist(), "n": len(offsets),
           "spread": np.round(np.median(np.abs(offsets - np.median(offsets, 0)), 0), 4).tolist(),
           "what": "FaceMesh contour minus the face model's jaw point, along the jaw's outward normal, eye distances"}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
