"""FineNet's displacement on DP-CoarseNet softly limited to L cm (``L·tanh(d/L)``, the face model path's
``_limit_detail``): what it gives back on real sketches and what it takes from λ_line (docs/TRAINING.md, "The face's
inside only").

    python scripts/experiments/finenet_limit.py real [--limit 0]          # real dev r at λ_line 0.85 per limit
    python scripts/experiments/finenet_limit.py sweep --n 200 --styles lines   # evaluate's λ sweep per limit

``real``: the shipped pipeline with ``coarse="dp_coarse"`` reads each dev sketch once; FineNet is re-run
(``SketchFace.refine``) with the displacement limited to each L, at the fit's camera scale as on the face model's
path. ``sweep``: ``evaluate.finenet_sweep`` on the synthetic test split with FineNet's output limited alike (camera
scale 1, the training framing). ``none`` in ``--limits`` is the shipped, unlimited FineNet.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from unittest import mock

import numpy as np


def units(cm: float, scale: float = 1.0) -> float:
    """``cm`` on the 0..1 depth scale of a face at camera scale ``scale``."""
    from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM

    return cm * scale / (DEPTH_NEAR_CM - DEPTH_FAR_CM)


def limited(displacement, limit: float):
    return displacement if limit is None else limit * (displacement / limit).tanh()


def real(a, limits) -> dict:
    import sketchface.pipeline as P
    from sketchface.evaluate_real import depth_in_input, load_dev, pearson, sample

    sf = P.SketchFace.from_pretrained(a.checkpoints, coarse="dp_coarse")
    out = {}
    for row in load_dev(Path(a.real), limit=a.limit):
        r = sf(str(row["path"]), kind="lines" if row["group"] == "lines" else "sketch", refine=False)
        truth = -row["points"][:, 2]
        vals = [pearson(sample(depth_in_input(r, "coarse"), row["points"]), truth)]
        for cm in limits:
            scale = r.fit.camera().scale if r.fit is not None else 1.0
            with mock.patch.object(P, "_limit_detail",
                                   lambda res, d, cm=cm: limited(d, None if cm is None else units(cm, scale))):
                fine = sf.refine(r, a.lambda_line)
            vals.append(pearson(sample(depth_in_input(fine, "fine"), row["points"]), truth))
        out.setdefault(row["group"], []).append(vals)
    return {g: dict(zip(["coarse", *map(str, limits)], np.nanmean(v, 0).round(4).tolist())) for g, v in out.items()}


def sweep(a, limits) -> dict:
    import torch

    from sketchface.evaluate import STYLE_KEYS, EvalConfig, finenet_sweep, load_split
    from sketchface.nets import load_network

    class Limited(torch.nn.Module):
        def __init__(self, net, cm):
            super().__init__()
            self.net, self.cm, self.config = net, cm, net.config

        def forward(self, coarse, lines, lam, mask):
            out = self.net(coarse, lines, lam, mask)
            d = limited(out["displacement"], None if self.cm is None else units(self.cm))
            return {**out, "displacement": d, "fine": coarse + d}

    cfg = EvalConfig(checkpoints=a.checkpoints, data=a.data, n=a.n)
    cfg.lambdas = tuple(a.lambdas)
    test = load_split(a.data, "test", ("depth", "mask", *[STYLE_KEYS[s] for s in a.styles]), a.n)
    bundle = Path(a.checkpoints)
    coarse = load_network(bundle / "dp_coarse")
    lines = load_network(bundle / "line_extractor").eval()
    fine = load_network(bundle / "finenet").eval()
    out = {}
    for style in a.styles:
        for cm in limits:
            rows = finenet_sweep(coarse, lines, Limited(fine, cm), test, cfg, style)
            out.setdefault(style, {})[str(cm)] = [
                {k: r[k] for k in ("lambda_line", "recall", "precision", "err", "disp_on", "disp_off")} for r in rows]
            print(style, cm, json.dumps(out[style][str(cm)]), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["real", "sweep"])
    ap.add_argument("--limits", nargs="+", default=["none", "0.3", "0.5", "0.8", "1.2"], help="cm, or none")
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--real", default="../shared/data/realsketch")
    ap.add_argument("--limit", type=int, default=0, help="real: first N sketches per group (0 = all)")
    ap.add_argument("--lambda-line", type=float, default=0.85)
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=200, help="sweep: test drawings per style")
    ap.add_argument("--styles", nargs="+", default=["lines", "pencil"])
    ap.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 0.5, 0.85, 1.0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    limits = [None if x == "none" else float(x) for x in a.limits]
    res = real(a, limits) if a.part == "real" else sweep(a, limits)
    print(json.dumps(res, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
