"""A CoarseNet on the face-model prior: the drawing and FaceFit's depth in, the residual from that depth out.

    python scripts/experiments/prior_coarse.py priors --data data/syn128 --out data/prior128      # ~4 min
    python scripts/experiments/prior_coarse.py train --priors data/prior128 --out runs/prior_coarse --steps 1500
    python scripts/experiments/prior_coarse.py measure --priors data/prior128 --run runs/prior_coarse \
        --real ../shared/data/realsketch

``priors``: FaceFit (the bundle's) reads every train and test drawing of a make-data folder (pencil, lines, artist)
in its own frame (the world's drawings are at the training framing), and the fitted face's depth is rendered there:
what the pipeline's default coarse depth would be for that drawing. Saved beside the drawings and true depths.
``--dress 0.7`` first dresses 70 % of the drawings with hair, glasses and collars (the depth stays the bald face's).

``train``: the residual network: DP-CoarseNet's sketch content encoder (its first convolution widened to read the
prior as a second channel, the new weights zero) and its depth decoder, whose last convolution starts at zero, so
the network starts as the prior itself; the residual is ``MAX_RESIDUAL · tanh(·)``, only inside the prior's mask.
Loss: the mean squared depth error where both the prior and the true face are (L_3d of the CoarseNets there). Adam, lr 1e-4, batch 8.

``measure``: Err on the synthetic test split (prior alone, prior + residual; Err_face: where both faces are) and, with ``--real``, the real dev r of
the face model + FineNet with the residual network between the prior and FineNet (``evaluate-real``'s rows).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

STYLES = ("pencil", "lines", "artist")
MAX_RESIDUAL = 0.1        # of the 0..1 depth range (30 cm): 3 cm either way


def make_priors(a) -> None:
    import torch
    from tqdm import tqdm

    from sketchface.evaluate import STYLE_KEYS, load_split
    from sketchface.pipeline import SketchFace
    from sketchface.synth.dress import dress

    torch.set_num_threads(2)
    prior = SketchFace.from_pretrained(a.checkpoints, coarse="face_model").prior
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        d = load_split(a.data, split, ("depth", "mask", "landmarks", *[STYLE_KEYS[s] for s in STYLES]),
                       a.n if split == "train" else a.n_test)
        rng = np.random.default_rng(0 if split == "train" else 1)
        np.save(out / f"{split}_depth.npy", d["depth"].astype(np.float16))
        np.save(out / f"{split}_mask.npy", d["mask"].astype(bool))
        for style in STYLES:
            x = d[STYLE_KEYS[style]]
            x = x[..., 0] if x.ndim == 4 and x.shape[-1] in (1, 3) else x
            priors = np.zeros(x.shape[:3], np.float16)
            x = x.copy()
            for i in tqdm(range(len(x)), desc=f"{split} {style}", unit="drawing"):
                if rng.random() < a.dress:          # hair, glasses, collar drawn over it; the depth unchanged
                    x[i] = dress(x[i], d["landmarks"][i], rng)
                fit = prior.fit(x[i])
                priors[i] = prior.render(fit, x.shape[1])[0]
            np.save(out / f"{split}_{style}.npy", x.astype(np.float16))
            np.save(out / f"{split}_{style}_prior.npy", priors)


def build(checkpoints: str):
    """The residual network, initialised from the bundle's DP-CoarseNet."""
    import torch
    from torch import nn

    from sketchface.nets import load_network
    from sketchface.nets.blocks import to_signed
    from sketchface.nets.coarse import _content_encoder, _depth_decoder

    dp = load_network(Path(checkpoints) / "dp_coarse").float()
    cfg = dp.config

    class PriorResidual(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = _content_encoder(cfg, 2)
            self.dec = _depth_decoder(cfg, self.enc.out_dim, 1)

        def forward(self, sketch, prior, mask):
            code = self.enc(torch.cat([to_signed(sketch), to_signed(prior)], 1))
            return (prior + MAX_RESIDUAL * self.dec(code) * mask).clamp(0, 1)

    net = PriorResidual()
    own = net.state_dict()
    src = {**{f"enc.{k}": v for k, v in dp.enc_con_s.state_dict().items()},
           **{f"dec.{k}": v for k, v in dp.dec_3d.state_dict().items()}}
    for k, v in own.items():
        w = src[k]
        if w.shape != v.shape:                 # the first convolution: the prior's channel starts at zero
            v.zero_()
            v[:, : w.shape[1]] = w
        else:
            v.copy_(w)
    last = net.dec.out
    for p in last.parameters():                # the residual starts at zero: the network starts as the prior
        nn.init.zeros_(p)
    return net


def load_set(priors: Path, split: str):
    depth = np.load(priors / f"{split}_depth.npy")
    mask = np.load(priors / f"{split}_mask.npy")
    mask = mask[..., 0] if mask.ndim == 4 else mask
    sets = [(np.load(priors / f"{split}_{s}.npy"), np.load(priors / f"{split}_{s}_prior.npy")) for s in STYLES]
    return depth, mask, sets


def train(a) -> None:
    import torch
    from safetensors.torch import save_file
    from tqdm import tqdm

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    depth, mask, sets = load_set(Path(a.priors), "train")
    net = build(a.checkpoints).train()
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.steps)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    log = []
    t0 = time.time()
    for step in tqdm(range(1, a.steps + 1), desc="prior residual", unit="step"):
        idx = rng.integers(0, len(depth), a.batch)
        style = rng.integers(0, len(sets), a.batch)
        x = torch.from_numpy(np.stack([sets[s][0][i] for s, i in zip(style, idx)]).astype(np.float32))[:, None]
        p = torch.from_numpy(np.stack([sets[s][1][i] for s, i in zip(style, idx)]).astype(np.float32))[:, None]
        gt = torch.from_numpy(depth[idx].astype(np.float32))[:, None]
        m = (p > 0).float()
        pred = net(x, p, m)
        # where both the prior and the true face are: a misplaced outline is FaceFit's to fix, not the residual's
        both = m * torch.from_numpy(mask[idx].astype(np.float32))[:, None]
        loss = (((pred - gt) ** 2) * both).sum() / both.sum().clamp(min=1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        log.append(loss.item())
        if step % 250 == 0 or step == a.steps:
            save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(out / "model.safetensors"))
            (out / "log.json").write_text(json.dumps({"step": step, "seconds": round(time.time() - t0, 1),
                                                      "loss": log}))


def load_trained(a):
    import torch
    from safetensors.torch import load_file

    net = build(a.checkpoints)
    net.load_state_dict(load_file(str(Path(a.run) / "model.safetensors")))
    return net.eval(), torch


def measure(a) -> None:
    from sketchface.metrics import depth_error

    net, torch = load_trained(a)
    torch.set_num_threads(a.threads)
    depth, mask, sets = load_set(Path(a.priors), "test")
    gt = depth.astype(np.float32)
    print("| input | prior Err | prior + residual Err | prior Err_face | prior + residual Err_face |\n"
          "|---|---|---|---|---|")
    for style, (x, p) in zip(STYLES, sets):
        with torch.inference_mode():
            xs = torch.from_numpy(x.astype(np.float32))[:, None]
            ps = torch.from_numpy(p.astype(np.float32))[:, None]
            pred = torch.cat([net(xs[i:i + 32], ps[i:i + 32], (ps[i:i + 32] > 0).float())
                              for i in range(0, len(xs), 32)])[:, 0].numpy()
        both = (mask & (p > 0)).astype(np.float32)
        print(f"| {style} | {depth_error(gt, p.astype(np.float32)):.1f} | {depth_error(gt, pred):.1f} | "
              f"{depth_error(gt, p.astype(np.float32), mask=both):.1f} | {depth_error(gt, pred, mask=both):.1f} |")
    if a.real:
        real(net, torch, a)


def real(net, torch, a) -> None:
    from sketchface.evaluate_real import MODELS, evaluate_real
    from sketchface.pipeline import SketchFace

    plain = SketchFace.__call__

    def call(self, image, lambda_line=0.85, kind="auto", xdog=None, refine=True, min_stroke=None, crop_box=None,
             check_face=False):
        r = plain(self, image, lambda_line, kind, xdog, False, min_stroke, crop_box, check_face)
        if r.prior is None:
            return self.refine(r, lambda_line) if refine else r
        with torch.inference_mode():
            p = torch.from_numpy(np.asarray(r.coarse, np.float32))[None, None]
            s = torch.from_numpy(np.asarray(r.sketch, np.float32).reshape(p.shape))
            c = net(s, p, torch.from_numpy(np.asarray(r.mask, np.float32))[None, None])[0, 0].numpy()
        r = replace(r, coarse=c, fine=c)
        return self.refine(r, lambda_line) if refine else r

    SketchFace.__call__ = call
    rows = [m for m in MODELS if m[0] in ("face model only (FaceFit)", "face model + FineNet")]
    report = evaluate_real(a.checkpoints, a.real, models=rows, progress=False)
    SketchFace.__call__ = plain
    print("| with the residual network | CUFS r | FS2K r | lines r | CUFS > template |\n|---|---|---|---|---|")
    for name, res in report["models"].items():
        print(f"| {name} | {res['cufs']['r']:.3f} | {res['fs2k']['r']:.3f} | {res['lines']['r']:.3f} | "
              f"{res['cufs']['beats_template']:.0%} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["priors", "train", "measure"])
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--priors", default="data/prior128")
    ap.add_argument("--out", default="")
    ap.add_argument("--run", default="runs/prior_coarse")
    ap.add_argument("--n", type=int, default=0, help="train drawings per style (0 = all)")
    ap.add_argument("--n-test", type=int, default=400)
    ap.add_argument("--dress", type=float, default=0.0, help="priors: share of the drawings dressed (hair, glasses, "
                    "collar; sketchface.synth.dress)")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--real", default="")
    a = ap.parse_args()
    if a.what == "priors":
        a.out = a.out or "data/prior128"
        make_priors(a)
    elif a.what == "train":
        a.out = a.out or a.run
        train(a)
    else:
        measure(a)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
