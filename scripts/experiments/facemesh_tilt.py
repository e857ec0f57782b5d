"""Does FaceMesh tilt a face's depth against the truth? FaceMesh on rendered photos whose depth is known.

    .venv-facemesh/bin/python scripts/experiments/facemesh_tilt.py --data data/syn128 --n 512

MediaPipe FaceMesh (the 0.10.21 of the dev landmarks) on the world's rendered test photos (upscaled 3×). For each
face, the true depth map at FaceMesh's 468 points is compared with FaceMesh's own depth (−z): the tilt k (the true
depth, standardised, minus k × the point's height or width below/right of the eyes in eye distances) under which
they correlate best. A mean k near 0 says FaceMesh has no pitch (or yaw) habit of its own on faces whose depth is
known, so its points can teach the pitch of real faces (``prepare-real-fits --pose-from``; docs/TRAINING.md, "The
head's pitch on real sketches"). Runs in the FaceMesh environment (numpy < 2).
"""
import argparse
import glob
import json

import numpy as np
from PIL import Image

TILTS = np.linspace(-1.5, 1.5, 61)


def best_tilt(depth: np.ndarray, reference: np.ndarray, coordinate: np.ndarray) -> float:
    d = (depth - depth.mean()) / depth.std()
    return float(TILTS[int(np.argmax([np.corrcoef(d - k * coordinate, reference)[0, 1] for k in TILTS]))])


def main():
    import mediapipe as mp

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
    rows = []
    for shard in sorted(glob.glob(f"{a.data}/test-*")):
        photos, depths, masks = (np.load(f"{shard}/{k}.npy") for k in ("photo", "depth", "mask"))
        for photo, depth, mask in zip(photos, depths, masks):
            if len(rows) >= a.n:
                break
            side = photo.shape[0]
            res = mesh.process(np.asarray(Image.fromarray(photo).resize((3 * side, 3 * side), Image.BICUBIC)))
            if not res.multi_face_landmarks:
                continue
            pts = np.array([[q.x * side, q.y * side, q.z * side] for q in res.multi_face_landmarks[0].landmark])
            x = np.clip(np.round(pts[:, 0]).astype(int), 0, side - 1)
            y = np.clip(np.round(pts[:, 1]).astype(int), 0, side - 1)
            inside = np.asarray(mask).reshape(side, side)[y, x] > 0.5
            true = np.asarray(depth, np.float64).reshape(side, side)[y, x][inside]
            eyes = pts[[33, 133], :2].mean(0), pts[[362, 263], :2].mean(0)
            unit = np.linalg.norm(eyes[1] - eyes[0])
            centre = (eyes[0] + eyes[1]) / 2
            rel = (pts[:, :2] - centre)[inside] / unit
            ref = -pts[inside, 2]
            rows.append({"pitch tilt": best_tilt(true, ref, rel[:, 1]), "yaw tilt": best_tilt(true, ref, rel[:, 0]),
                         "r": float(np.corrcoef(true, ref)[0, 1])})
    out = {"n": len(rows), **{k: {"mean": round(float(np.mean([r[k] for r in rows])), 3),
                                  "median": round(float(np.median([r[k] for r in rows])), 3),
                                  "sd": round(float(np.std([r[k] for r in rows])), 3)}
                              for k in ("pitch tilt", "yaw tilt", "r")}}
    print(json.dumps(out))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
