"""Do drawings of the features alone (eyes, a nose, a mouth; no outline) find their face? FaceFit's placement on
synthetic line drawings of new faces, whole and drawn as their features alone, through the pipeline's own framing
(the ink box, then FaceFit's rounds).

    python scripts/experiments/facefit_sparse.py --data data/fit128 --n 200 \
        --facefit checkpoints/facefit runs/facefit_sparse

For each FaceFit: the mean distance of the 68 fitted feature points from the true ones, in units of the true
distance between the eyes' centres (mean and median over the test faces), for the whole line drawings and for the
same drawings reduced by ``sketchface.synth.dress.features_only`` (its own random choice of brows, nose, mouth and
cheeks per face, the same for every FaceFit; a drawing left without ink is skipped, for every FaceFit alike). The
drawings are the test split's (faces never trained on), shown at 256 px. Needs the face model
($SKETCHFACE_FACE_MODEL).
"""
import argparse
import json

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/fit128", help="make-data folder with the lines style")
    ap.add_argument("--n", type=int, default=200, help="test faces")
    ap.add_argument("--facefit", nargs="+", default=["checkpoints/facefit"], help="FaceFit checkpoint folders")
    ap.add_argument("--checkpoints", default="checkpoints", help="the bundle around them")
    ap.add_argument("--json", help="write the numbers here")
    a = ap.parse_args(argv)

    import cv2
    import torch

    from sketchface.errors import InputError
    from sketchface.nets import load_network
    from sketchface.pipeline import SketchFace
    from sketchface.synth.dress import features_only
    from sketchface.train.facefit import load_fit_split

    torch.set_num_threads(max(1, torch.get_num_threads()))
    d = load_fit_split(a.data, "test", a.n, keys=("sketch_lines",))
    n = len(d["identity"])
    scale = 2                                            # 128 px drawings shown at 256 px
    drawings = {"whole": [], "features only": []}
    for i in range(n):
        img = d["sketch_lines"][i].astype(np.float32) / 255
        lm = np.asarray(d["landmarks"][i], np.float32)
        drawings["whole"].append(img)
        drawings["features only"].append(features_only(img, lm, np.random.default_rng(i)))
    truth = np.asarray(d["landmarks"][:n], np.float64) * scale
    eye_dist = np.linalg.norm(truth[:, 36:42].mean(1) - truth[:, 42:48].mean(1), axis=1)

    sf = SketchFace.from_pretrained(a.checkpoints, backend="torch")
    if sf.prior is None or not sf.prior.has_model:
        raise SystemExit("needs the bundle's FaceFit and the face model ($SKETCHFACE_FACE_MODEL)")
    report = {}
    for ckpt in a.facefit:
        net = load_network(ckpt).float().eval()
        sf.prior.net = sf.prior.runner = net
        row = {}
        for kind, imgs in drawings.items():
            errs = []
            for i, img in enumerate(imgs):
                big = cv2.resize((img * 255).astype(np.uint8), None, fx=scale, fy=scale,
                                 interpolation=cv2.INTER_LINEAR)
                try:
                    _, _, framing, _, fit = sf.prepare(big, kind="lines", with_fit=True)
                except InputError:           # no ink left (faint strokes): the same faces for every FaceFit
                    errs.append(np.nan)
                    continue
                pts = sf.prior.landmarks(fit, framing.crop_box)
                errs.append(np.linalg.norm(pts - truth[i], axis=1).mean() / eye_dist[i])
            errs = np.asarray(errs)
            ok = errs[np.isfinite(errs)]
            row[kind] = {"n": int(len(ok)), "mean": round(float(ok.mean()), 4),
                         "median": round(float(np.median(ok)), 4), "over_half": round(float((ok > 0.5).mean()), 4)}
        report[ckpt] = row
        print(ckpt, json.dumps(row))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": n, "data": a.data, "report": report}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
