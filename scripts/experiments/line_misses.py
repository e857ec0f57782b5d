"""Where line recall is lost: how far each drawn line pixel lies from the lines l' of the coarse and fine depth.

    python scripts/experiments/line_misses.py --n 200 --out docs/img/line_misses.jpg [--finenet DIR ...] [--lambda-line 0.85]

Line recall (tolerance 1 px) counts a pixel of l as found when l' has a line within 1 px. For the test line
drawings this splits the pixels of l into: off the face (no surface to carve), and on the face by their
distance to the nearest line of l': <= 1 (recalled), 2 (beside a found line), 3-4 (near miss), > 4 (no line of
l' near). The picture colours l the same way: green recalled, orange 2-4 px, red farther, grey off the face.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

BINS = (("recalled (<= 1 px)", 0, 1), ("2 px", 2, 2), ("3-4 px", 3, 4), ("> 4 px", 5, 10 ** 6))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default="checkpoints")
    ap.add_argument("--finenet", nargs="*", default=[], help="FineNet folders (default: CHECKPOINTS/finenet)")
    ap.add_argument("--data", default="data/syn128")
    ap.add_argument("--n", type=int, default=200, help="test samples")
    ap.add_argument("--style", default="lines", choices=["lines", "pencil"])
    ap.add_argument("--lambda-line", type=float, default=0.85)
    ap.add_argument("--show", type=int, default=4, help="test samples in the picture")
    ap.add_argument("--out", default="", help="picture, .png or .jpg (empty = table only)")
    a = ap.parse_args(argv)

    import torch

    from sketchface.evaluate import STYLE_KEYS, _chw, _resize, finenet_inputs, load_split
    from sketchface.metrics import line_distances
    from sketchface.nets import load_network

    bundle = Path(a.checkpoints)
    coarse_net = load_network(bundle / "dp_coarse")
    le = load_network(bundle / "line_extractor").eval()
    fines = [load_network(f).eval() for f in a.finenet or [bundle / "finenet"]]
    names = [Path(f).parent.name if Path(f).name == "final" else Path(f).name
             for f in a.finenet or [bundle / "finenet"]]
    size = fines[0].config.image_size
    test = load_split(a.data, "test", ("depth", "mask", STYLE_KEYS[a.style]), a.n)
    x, coarse, lines, mask01 = finenet_inputs(coarse_net, test, a.style, size)
    mask = mask01 > 0
    with torch.inference_mode():

        def lines_of(depth):
            return np.concatenate([le(torch.from_numpy(depth[i:i + 16, None])).numpy()
                                   for i in range(0, len(depth), 16)])[:, 0]

        maps = {"coarse": lines_of(coarse), "ground-truth depth": lines_of(_resize(_chw(test["depth"]), size)[:, 0])}
        for name, net in zip(names, fines):
            fine = []
            for i in range(0, len(x), 16):
                out = net(torch.from_numpy(coarse[i:i + 16, None]), torch.from_numpy(lines[i:i + 16, None]),
                          torch.full((len(coarse[i:i + 16]),), a.lambda_line), torch.from_numpy(mask01[i:i + 16, None]))
                fine.append(out["fine"].clamp(0, 1)[:, 0].numpy())
            maps[f"{name}, λ_line {a.lambda_line:g}"] = lines_of(np.concatenate(fine))

    ink = lines < 0.5
    on, off = ink & mask, ink & ~mask
    print(f"{len(x)} test samples ({a.style}); {off.sum() / ink.sum():.1%} of the line pixels of l lie off the face")
    print("| depth | recall | off the face: recall | " + " | ".join(f"on the face: {b[0]}" for b in BINS) +
          " | missed on the face, in a partly found stroke |")
    print("|---" * (4 + len(BINS)) + "|")
    dists = {}
    for name, lp in maps.items():
        d = line_distances(lines, lp)
        dists[name] = d
        cells = [_share((d[on] >= lo) & (d[on] <= hi)) for _, lo, hi in BINS]
        print(f"| {name} | {_share(d[ink] <= 1)} | {_share(d[off] <= 1)} | {' | '.join(cells)} | "
              f"{_partly_found(ink, on, d)} |")
    if a.out:
        picture(x[:a.show], ink[:a.show], mask[:a.show], {k: v[:a.show] for k, v in dists.items()}, a.out)
    return 0


def _share(hits: np.ndarray) -> str:
    """The share of True in ``hits``, or "–" when there is nothing to count."""
    return f"{hits.mean():.3f}" if hits.size else "–"


def _partly_found(ink: np.ndarray, on: np.ndarray, d: np.ndarray) -> str:
    """Share of the missed line pixels on the face whose stroke (8-connected ink) has some recalled pixel."""
    from scipy.ndimage import label

    missed = on & (d > 1)
    in_partly = 0
    for i in range(len(ink)):
        lab, n = label(ink[i], structure=np.ones((3, 3)))
        found = np.bincount(lab[on[i] & (d[i] <= 1)], minlength=n + 1) > 0
        found[0] = False
        in_partly += int(found[lab[missed[i]]].sum())
    return f"{in_partly / missed.sum():.3f}" if missed.any() else "–"


def picture(x, ink, mask, dists, out) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sketchface.data.preview import save_grid

    colours = {"recalled": (0.1, 0.65, 0.2), "near": (1.0, 0.55, 0.0), "far": (0.85, 0.1, 0.1),
               "off": (0.6, 0.6, 0.6)}
    fig, axes = plt.subplots(len(x), 1 + len(dists), figsize=(2.3 * (1 + len(dists)), 2.4 * len(x)), squeeze=False)
    for i in range(len(x)):
        axes[i][0].imshow(x[i].transpose(1, 2, 0).squeeze(), cmap="gray", vmin=0, vmax=1)
        for j, d in enumerate(dists.values()):
            rgb = np.ones(ink.shape[1:] + (3,))
            on = ink[i] & mask[i]
            rgb[ink[i] & ~mask[i]] = colours["off"]
            rgb[on & (d[i] <= 1)] = colours["recalled"]
            rgb[on & (d[i] >= 2) & (d[i] <= 4)] = colours["near"]
            rgb[on & (d[i] > 4)] = colours["far"]
            axes[i][j + 1].imshow(rgb)
    save_grid(fig, axes, ["input", *dists], "lines l: green found, orange 2-4 px off, red farther, grey off the face",
              out)


if __name__ == "__main__":
    raise SystemExit(main())
