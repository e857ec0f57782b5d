"""How much line recall can any displacement buy? Optimise the displacement of each test sample directly.

    python scripts/experiments/line_oracle.py --n 16 --steps 200 --gate 2 0 --dis-scale 3 1 0

FineNet predicts one displacement per input; here each sample's displacement is a free per-pixel variable,
d = max_displacement * tanh(p) (times the line gate of radius r and the face mask, as in FineNet), fitted by Adam
to that sample's own loss λ_line * L_line + (1 - λ_line) * L_dis (the paper's (9), or its logit form with
--line-loss logit) with the shipped line extractor fixed. One network for every input can hardly fit each
sample's loss better than an optimiser working on that sample alone, so the recall reached here is what minimising
the same loss, gate and line extractor leads to (with --blur, at FineNet's smoothness). The shipped FineNet is
scored on the same samples for reference.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=16, help="test samples")
    ap.add_argument("--style", default="lines", choices=["lines", "pencil"])
    ap.add_argument("--lambda-line", type=float, default=0.85)
    ap.add_argument("--steps", type=int, default=200, help="Adam steps per setting")
    ap.add_argument("--lr", type=float, default=0.05, help="Adam learning rate on p (d = max_disp * tanh(p))")
    ap.add_argument("--gate", type=int, nargs="+", default=[2, 0], help="line gate radii (0 = no gate)")
    ap.add_argument("--dis-scale", type=float, nargs="+", default=[3.0, 1.0, 0.0])
    ap.add_argument("--line-loss", default="logit", choices=["l1", "logit"])
    ap.add_argument("--blur", type=float, nargs="+", default=[0.0, 1.5],
                    help="Gaussian sigmas (px) applied to p before the tanh: 0 lets the optimiser write pixel noise "
                         "that fools the line extractor; larger keeps the displacement as smooth as FineNet's")
    ap.add_argument("--show", type=int, default=3, help="samples in the picture")
    ap.add_argument("--out", default="", help="PNG: lines l, then shaded depth and its l' for the coarse depth, the "
                                             "shipped FineNet and each optimised displacement (empty = none)")
    a = ap.parse_args(argv)

    import torch

    from sketchface.evaluate import STYLE_KEYS, finenet_inputs, load_split
    from sketchface.metrics import displacement_locality, line_scores, roughness
    from sketchface.nets import load_network
    from sketchface.nets.finenet import line_gate

    bundle = Path(a.checkpoints)
    le = load_network(bundle / "line_extractor").eval().requires_grad_(False)
    fine_net = load_network(bundle / "finenet").eval()
    size, max_disp = fine_net.config.image_size, fine_net.config.max_displacement
    test = load_split(a.data, "test", ("depth", "mask", STYLE_KEYS[a.style]), a.n)
    x, coarse, lines, mask = (torch.from_numpy(v[:, None] if v.ndim == 3 else v)
                              for v in finenet_inputs(load_network(bundle / "dp_coarse"), test, a.style, size))
    with torch.no_grad():
        lam = torch.full((len(x),), a.lambda_line)
        shipped = fine_net(coarse, lines, lam, mask)["displacement"]

    def score(disp: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            lp = le((coarse + disp).clamp(0, 1))
        ln, m = lines[:, 0].numpy(), mask[:, 0].numpy()
        sc = line_scores(ln, lp[:, 0].numpy())
        loc = displacement_locality(ln, disp[:, 0].numpy(), m)
        return {"recall": sc["recall"], "recall_face": line_scores(ln, lp[:, 0].numpy(), region=m)["recall"],
                "precision": sc["precision"], "on": loc["on"], "off": loc["off"],
                "rough": roughness(disp[:, 0].numpy(), m) if disp.abs().max() > 0 else 0.0}

    ref = score(torch.zeros_like(coarse))
    print(f"{len(x)} test samples ({a.style}), λ_line {a.lambda_line:g}, {a.line_loss} line loss, {a.steps} steps; "
          f"coarse recall {ref['recall']:.3f} (in face {ref['recall_face']:.3f})")
    print("| displacement | recall gain | gain in face | precision | |d| on / off lines | roughness |")
    print("|---|---|---|---|---|---|")

    def row(name: str, s: dict[str, float]) -> None:
        print(f"| {name} | {s['recall'] - ref['recall']:+.3f} | {s['recall_face'] - ref['recall_face']:+.3f} | "
              f"{s['precision']:.3f} | {s['on']:.2f} / {s['off']:.2f} | {s['rough']:.3f} |", flush=True)

    shown = {"coarse": torch.zeros_like(coarse), "shipped FineNet": shipped}
    row("shipped FineNet", score(shipped))
    for r in a.gate:
        gate = (line_gate(lines, r) if r > 0 else torch.ones_like(lines)) * mask
        for ds in a.dis_scale:
            for b in a.blur:
                disp = fit_displacement(le, coarse, lines, gate, max_disp, ds, b, a)
                row(f"optimised per sample, gate r = {r}, dis_scale {ds:g}, blur {b:g} px", score(disp))
                shown[f"optimised, r {r}, blur {b:g}"] = disp
    if a.out:
        picture(coarse[:a.show], lines[:a.show], mask[:a.show], {k: v[:a.show] for k, v in shown.items()}, le, a.out)
    return 0


def fit_displacement(le, coarse, lines, gate, max_disp: float, dis_scale: float, blur: float, a):
    """Adam on p, per sample, for d = max_disp * tanh(blur(p)) * gate; returns the fitted d (no gradient)."""
    import torch

    from sketchface import losses as L

    p = torch.zeros_like(coarse, requires_grad=True)
    opt = torch.optim.Adam([p], lr=a.lr)
    for _ in range(a.steps):
        disp = max_disp * torch.tanh(gaussian_blur(p, blur)) * gate
        fine = coarse + disp
        z = le.logits(fine) if a.line_loss == "logit" else None
        lp = torch.sigmoid(z) if z is not None else le(fine)
        t = L.finenet_loss(lines, lp, disp * dis_scale, a.lambda_line, line_logits=z)
        opt.zero_grad()
        t["total"].backward()
        opt.step()
    with torch.no_grad():
        return max_disp * torch.tanh(gaussian_blur(p, blur)) * gate


def gaussian_blur(x, sigma: float):
    """x (N, 1, H, W) blurred by a Gaussian of ``sigma`` pixels (reflect padding); sigma 0 returns x."""
    import torch
    import torch.nn.functional as F

    if sigma <= 0:
        return x
    r = int(3 * sigma + 0.5)
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))


def picture(coarse, lines, mask, shown, le, out) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from sketchface.webapp.figures import shaded_image
    from sketchface.data.preview import save_grid

    titles = ["l"] + [t for k in shown for t in (k, "l'")]
    fig, axes = plt.subplots(len(coarse), len(titles), figsize=(1.9 * len(titles), 2.0 * len(coarse)), squeeze=False)
    for i in range(len(coarse)):
        pics = [lines[i, 0].numpy()]
        for disp in shown.values():
            fine = (coarse[i:i + 1] + disp[i:i + 1]).clamp(0, 1)
            with torch.no_grad():
                pics += [shaded_image(fine[0, 0].numpy(), mask[i, 0].numpy() > 0, side=None), le(fine)[0, 0].numpy()]
        for ax, pic in zip(axes[i], pics):
            ax.imshow(pic, cmap="gray" if pic.ndim == 2 else None, vmin=0, vmax=1 if pic.ndim == 2 else None)
    save_grid(fig, axes, titles, "coarse depth + displacement: shaded, and its lines l'", out)


if __name__ == "__main__":
    raise SystemExit(main())
