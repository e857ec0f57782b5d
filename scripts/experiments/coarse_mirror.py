"""What reading the mirror image too buys the paper's CoarseNets (docs/TRAINING.md, "The CoarseNets read the
mirror image too").

For each CoarseNet of the bundle, read once (as the paper does) and read together with its mirror image (the
pipeline's default, ``SketchFace(mirror=True)``): mean r on the real dev sketches with FineNet after it and
FaceFit framing the input (``evaluate-real``'s rows), and Err / Err_inner of the coarse depth on the synthetic
test drawings (training framing):

    python scripts/experiments/coarse_mirror.py --real ../shared/data/realsketch --data data/syn128 \
        --json runs/coarse_mirror.json
    OMP_NUM_THREADS=1 python scripts/experiments/coarse_mirror.py --time 30
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

NETS = ("dp_coarse", "sp_coarse", "sp_coarse_minus", "dnet")


def synthetic(net, test: dict, styles, mirror: bool) -> dict:
    import torch

    from sketchface.evaluate import RIM, STYLE_KEYS
    from sketchface.metrics import depth_error, erode_mask
    from sketchface.pipeline import mirrored_depth

    inner = erode_mask(test["mask"], RIM)
    out = {}
    for s in styles:
        x = torch.from_numpy(np.ascontiguousarray(test[STYLE_KEYS[s]][:, None], np.float32))
        preds = []
        with torch.inference_mode():
            for i in range(0, len(x), 16):
                xb = x[i:i + 16]
                d = mirrored_depth(net, xb) if mirror else net.predict_depth(xb, "sketch")
                preds.append(d[:, 0].numpy())
        pred = np.concatenate(preds)
        out[s] = {"Err": round(depth_error(test["depth"], pred), 1),
                  "Err_inner": round(depth_error(test["depth"], pred, mask=inner), 1)}
    return out


def timing(checkpoints: str, n: int) -> None:
    import torch

    from sketchface.pipeline import SketchFace
    from sketchface.webapp.strokes import draw_strokes, face_strokes

    torch.set_num_threads(1)
    img = draw_strokes(face_strokes(), 512, 3)
    sfs = {m: SketchFace.from_pretrained(checkpoints, coarse="dp_coarse", mirror=m, backend="onnx")
           for m in (False, True)}
    times: dict[bool, list] = {False: [], True: []}
    for sf in sfs.values():
        sf(img, kind="lines")                 # exports, caches and warms up
    for _ in range(n):
        for m, sf in sfs.items():
            t0 = time.perf_counter()
            sf(img, kind="lines")
            times[m].append(1000 * (time.perf_counter() - t0))
    print(f"DP-CoarseNet + FineNet end to end, p50 of {n}: read once {np.median(times[False]):.1f} ms, with the "
          f"mirror image {np.median(times[True]):.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", default="../shared/data/realsketch")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--nets", nargs="+", default=list(NETS))
    ap.add_argument("--n-test", type=int, default=400, help="synthetic test drawings per style (0 = all)")
    ap.add_argument("--json", default="runs/coarse_mirror.json")
    ap.add_argument("--time", type=int, default=0, metavar="N",
                    help="only time DP-CoarseNet + FineNet end to end, read once and with the mirror image (N calls "
                         "each, alternating; one thread, ONNX Runtime, a 512 px drawing of the pad's face)")
    a = ap.parse_args()
    if a.time:
        return timing(a.checkpoints, a.time)

    from sketchface.evaluate import STYLE_KEYS, load_split
    from sketchface.evaluate_real import find_real, load_dev, score_model, summarise, template_scores
    from sketchface.facemodel import load_face_model
    from sketchface.pipeline import SketchFace

    rows = load_dev(find_real(a.real))
    template = template_scores(load_face_model(None), rows)
    styles = ("lines", "pencil", "artist")
    test = load_split(a.data, "test", ("depth", "mask", *[STYLE_KEYS[s] for s in styles]), a.n_test)
    styles = tuple(s for s in styles if STYLE_KEYS[s] in test)
    path = Path(a.json)
    results = json.loads(path.read_text()) if path.is_file() else {}
    for name in a.nets:
        for mirror in (False, True):
            key = f"{name} {'mirror' if mirror else 'once'}"
            if key in results:
                continue
            sf = SketchFace.from_pretrained(a.checkpoints, coarse=name, mirror=mirror)
            t0 = time.time()
            per, _ = score_model(sf, rows, ("fine",), progress=False)
            results[key] = {"real": summarise(per["fine"], template),
                            "synthetic": synthetic(sf.coarse, test, styles, mirror),
                            "seconds": round(time.time() - t0, 1)}
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=1) + "\n")
            r, s = results[key]["real"], results[key]["synthetic"]
            print(key, " ".join(f"{g} {r[g]['r']:.3f} ({r[g]['beats_template']:.0%})" for g in r),
                  " ".join(f"{st} {v['Err']}/{v['Err_inner']}" for st, v in s.items()), flush=True)


if __name__ == "__main__":
    main()
