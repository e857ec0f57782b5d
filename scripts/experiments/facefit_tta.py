"""Does reading FaceFit over several crops help? The final framing's fit averaged over jittered crops.

    python scripts/experiments/facefit_tta.py --real ../shared/data/realsketch \
        --jitter "0.94,0,0;1.06,0,0;1,0.04,0;1,-0.04,0;1,0,0.04;1,0,-0.04"

Each jitter is (scale, dx, dy) of the final crop (dx, dy in half-sides). The head's angles, identity and expression
are averaged over the crop and its jittered copies; the placement stays the crop's own (the other crops' placements
are in their own frames). Prints the real dev r of the face model alone and of the face model + FineNet
(``evaluate-real``'s rows). Measured 2026-12-06 with six jitters: CUFS / FS2K / lines 0.927 / 0.836 / 0.868 →
0.928 / 0.834 / 0.864 (face model only): FaceFit's errors on a sketch are the same in every crop, not noise that
averaging removes (docs/TRAINING.md).
"""
import argparse
import json
from dataclasses import replace

import numpy as np


def jittered_frame(jitters):
    """A ``FacePrior.frame`` that averages the final fit over ``jitters`` (scale, dx, dy)."""
    import sketchface.prior as prior_module

    plain = prior_module.FacePrior.frame

    def frame(self, rgb, crop_box, fill=None, rounds=None):
        from sketchface.framing import crop_to_frame

        box, framed, fit = plain(self, rgb, crop_box, fill, rounds)
        x0, y0, x1, y1 = box
        half, cx, cy = (x1 - x0) / 2, (x0 + x1) / 2, (y0 + y1) / 2
        fits = [fit]
        for s, dx, dy in jitters:
            h, jx, jy = half * s, cx + dx * half, cy + dy * half
            b = tuple(int(round(v)) for v in (jx - h, jy - h, jx + h, jy + h))
            fits.append(self.fit(crop_to_frame(rgb, b, self.size, fill)))
        mean = {k: np.mean([getattr(f, k) for f in fits], 0).astype(np.float32)
                for k in ("angles", "identity", "expression")}
        return box, framed, replace(fit, **mean)

    return frame


def main() -> int:
    import torch

    import sketchface.prior as prior_module
    from sketchface.evaluate_real import MODELS, evaluate_real

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", required=True)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--jitter", default="", help="'s,dx,dy;s,dx,dy;...' (empty: FaceFit as shipped)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    jitters = [tuple(float(x) for x in j.split(",")) for j in a.jitter.split(";") if j]
    if jitters:
        prior_module.FacePrior.frame = jittered_frame(jitters)
    rows = [m for m in MODELS if m[0] in ("face model only (FaceFit)", "face model + FineNet")]
    report = evaluate_real(a.checkpoints, a.real, models=rows, progress=False)
    print(json.dumps(report["models"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
