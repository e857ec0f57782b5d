"""Does FineNet carve what is worn? FineNet checkpoints on dressed drawings (synthetic) and on the real dev sketches.

    python scripts/experiments/finenet_dressing.py checkpoints/finenet runs/fine-dressed/final \
        --data data/syn128 --real ../shared/data/realsketch --picture docs/img/finenet_dressing.jpg

Synthetic: the test drawings (pencil, lines) dressed with hair, glasses and collars (``sketchface.synth.dress``,
fixed seed), the coarse depth of the bundle's DP-CoarseNet on the dressed drawing, FineNet at λ_line 0.85. Mean
|displacement| in mm on the *worn* strokes (lines of the dressed drawing that the undressed one does not have), on the
face's own lines that stay visible, and, for the undressed drawing, on its lines (what FineNet is for).
Real: mean r on the dev sketches (as ``evaluate-real``) for the face model + FineNet and DP-CoarseNet + FineNet with
each FineNet in a copy of the bundle; the picture shows the first 8 dev sketches with the first and the last FineNet.
Sweep (``--sweep N``): ``evaluate``'s FineNet λ sweep of each FineNet on N undressed test drawings per style, on the
bundle's DP-CoarseNet: line recall and precision of l′ against l, mean |displacement| and Err (docs/RESULTS.md).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

LAMBDA = 0.85


def synthetic(finenets, a) -> list[dict]:
    import torch

    from sketchface.evaluate import STYLE_KEYS, load_split
    from sketchface.nets import load_network
    from sketchface.pipeline import MASK_THRESHOLD
    from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM
    from sketchface.synth.dress import dress_batch
    from sketchface.xdog import xdog_torch

    mm = (DEPTH_NEAR_CM - DEPTH_FAR_CM) * 10.0
    coarse_net = load_network(Path(a.checkpoints) / "dp_coarse").eval()
    test = load_split(a.data, "test", ("landmarks", *[STYLE_KEYS[s] for s in a.styles]), a.n)
    rows = []
    for style in a.styles:
        clean = torch.from_numpy(test[STYLE_KEYS[style]][:, None].astype(np.float32))
        size = clean.shape[-1]
        lm = torch.from_numpy(test["landmarks"].astype(np.float32))
        dressed = dress_batch(clean, lm, np.random.default_rng(0), 1.0)
        with torch.no_grad():
            ins = {}
            for name, s in (("clean", clean), ("dressed", dressed)):
                coarse = torch.cat([coarse_net.predict_depth(s[i:i + 16], "sketch") for i in range(0, len(s), 16)])
                ins[name] = (coarse, xdog_torch(s), (coarse > MASK_THRESHOLD).float())
            worn = (ins["dressed"][1] < 0.5) & (ins["clean"][1] >= 0.5) & (ins["dressed"][2] > 0)
            own = (ins["dressed"][1] < 0.5) & (ins["clean"][1] < 0.5) & (ins["dressed"][2] > 0)
            own_clean = (ins["clean"][1] < 0.5) & (ins["clean"][2] > 0)
            for path in finenets:
                net = load_network(path).eval()
                disp = {}
                for name, (coarse, l, mask) in ins.items():
                    lam = torch.full((len(coarse),), LAMBDA)
                    disp[name] = torch.cat([net(coarse[i:i + 16], l[i:i + 16], lam[i:i + 16], mask[i:i + 16])
                                            ["displacement"] for i in range(0, len(coarse), 16)]).abs() * mm
                rows.append({"finenet": str(path), "style": style, "n": len(clean), "size": size,
                             "worn": float(disp["dressed"][worn].mean()),
                             "own": float(disp["dressed"][own].mean()),
                             "own_undressed": float(disp["clean"][own_clean].mean())})
    return rows


def real(finenets, a) -> tuple[list[dict], dict]:
    from sketchface.evaluate_real import PICTURE, find_real, load_dev, score_model, summarise, template_scores
    from sketchface.facemodel import load_face_model
    from sketchface.pipeline import SketchFace

    rows = load_dev(find_real(a.real))
    template = template_scores(load_face_model(), rows)
    chosen = {r["rel"] for g, k in PICTURE for r in [x for x in rows if x["group"] == g][:k]}
    out, kept_all = [], {}
    tmp = Path(tempfile.mkdtemp(prefix="finenet-bundle-"))
    try:
        for i, path in enumerate(finenets):
            bundle = tmp / str(i)
            shutil.copytree(a.checkpoints, bundle, ignore=shutil.ignore_patterns("finenet"))
            shutil.copytree(path, bundle / "finenet")
            for coarse in ("face_model", "dp_coarse"):
                sf = SketchFace.from_pretrained(bundle, coarse=coarse)
                per, kept = score_model(sf, rows, ("fine",), False, chosen if coarse == "face_model" else None)
                s = summarise(per["fine"], template)
                out.append({"finenet": str(path), "coarse": coarse, **{g: s[g]["r"] for g in s}})
                if coarse == "face_model":
                    kept_all[str(path)] = kept
                print(out[-1], flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out, {"rows": rows, "chosen": chosen, "kept": kept_all}


def sweep(finenets, a) -> list[dict]:
    """``evaluate.finenet_sweep`` of each FineNet on ``a.sweep`` undressed test drawings per style."""
    from sketchface.evaluate import STYLE_KEYS, EvalConfig, finenet_sweep, load_split
    from sketchface.nets import load_network

    cfg = EvalConfig(checkpoints=a.checkpoints, data=a.data, n=a.sweep)
    test = load_split(a.data, "test", ("depth", "mask", *[STYLE_KEYS[s] for s in a.styles]), a.sweep)
    bundle = Path(a.checkpoints)
    coarse = load_network(bundle / "dp_coarse")
    lines = load_network(bundle / "line_extractor").eval()
    out = []
    for f in finenets:
        fine = load_network(f).eval()
        for style in a.styles:
            out += [{"finenet": str(f), "style": style, **r}
                    for r in finenet_sweep(coarse, lines, fine, test, cfg, style)]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("finenets", nargs="+")
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--styles", nargs="+", default=["lines", "pencil"])
    ap.add_argument("--real", default="", help="realsketch folder (empty: synthetic only)")
    ap.add_argument("--picture", default="")
    ap.add_argument("--sweep", type=int, default=0, help="also the λ sweep on this many test drawings per style")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    print("| FineNet | style | |d| on worn strokes (mm) | |d| on the face's own lines, dressed (mm) | "
          "|d| on the lines, undressed (mm) |\n|---|---|---|---|---|")
    for r in synthetic(a.finenets, a):
        print(f"| {r['finenet']} | {r['style']} | {r['worn']:.2f} | {r['own']:.2f} | {r['own_undressed']:.2f} |",
              flush=True)
    if a.sweep:
        print("| FineNet | style | λ_line | line recall | recall in face | precision | mean |d| (0..255) | Err |\n"
              "|---|---|---|---|---|---|---|---|")
        for r in sweep(a.finenets, a):
            lam = "coarse" if r["lambda_line"] is None else f"{r['lambda_line']:.2f}"
            print(f"| {r['finenet']} | {r['style']} | {lam} | {r['recall']:.3f} | {r['recall_face']:.3f} | "
                  f"{r['precision']:.3f} | {r['mean_abs_disp']:.2f} | {r['err']:.1f} |", flush=True)
    if a.real:
        rows, pic = real(a.finenets, a)
        print("| FineNet | coarse | CUFS r | FS2K r | lines r |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['finenet']} | {r['coarse']} | {r['cufs']:.3f} | {r['fs2k']:.3f} | {r['lines']:.3f} |")
        if a.picture:
            from sketchface.evaluate_real import real_picture

            first, last = str(a.finenets[0]), str(a.finenets[-1])
            real_picture(pic["rows"], pic["chosen"], pic["kept"][first], pic["kept"][last], a.picture)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
