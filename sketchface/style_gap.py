"""``python -m sketchface style-gap --real-pairs DIR --data DIR``: how far each training sketch style is from real ones.

For each sketch style of a make-data folder (pencil, lines, cyclegan, artist: whichever it holds), a small CNN
learns to tell that style's sketches (train split) from real artist sketches (the train pairs of
``prepare-real-pairs``), and is then scored on sketches it never saw: the held-out real pairs against as many
test-split sketches of the style. Its held-out accuracy is the gap: 100 % means the style is told from real
sketches every time, 50 % means the classifier cannot tell them apart. All sketches are seen as the networks see
them (the pipeline's framing, 128² shrunk to 64²).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sketchface.errors import UserError
from sketchface.data.make_data import SKETCH_STYLES as STYLE_KEYS

VIEW = 64


def _classifier():
    from torch import nn

    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(block(1, 16), block(16, 32), block(32, 64), block(64, 64), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Dropout(0.3), nn.Linear(64, 1))


def _view(a: np.ndarray):
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.asarray(a, np.float32))
    x = x / 255 if x.max() > 1.5 else x
    return F.interpolate(x[:, None], size=(VIEW, VIEW), mode="area")


def _style_sketches(data: str | Path, key: str, split: str, n: int, seed: int) -> np.ndarray | None:
    from sketchface.data.synthetic import SyntheticShards

    ds = SyntheticShards(data, split, keys=(key,), to_tensor=False)
    if not ds.shards or not (ds.root / ds.shards[0] / f"{key}.npy").is_file():
        return None
    idx = np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False)
    return np.stack([ds[int(i)][key] for i in idx])


def measure_gap(real: np.ndarray, real_val: np.ndarray, synth: np.ndarray, synth_val: np.ndarray,
                steps: int = 400, seed: int = 0) -> float:
    """Held-out accuracy of a real-vs-style classifier trained on (real, synth), tested on (real_val, synth_val)."""
    import torch

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.cat([_view(real), _view(synth)])
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(synth))])
    w = torch.cat([torch.full((len(real),), 0.5 / len(real)), torch.full((len(synth),), 0.5 / len(synth))])
    net = _classifier()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(steps):
        i = torch.multinomial(w, 32, replacement=True, generator=g)
        xb = x[i]
        flip = torch.rand(len(i), generator=g) < 0.5
        xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xb)[:, 0], y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        pr = net(_view(real_val))[:, 0] > 0
        ps = net(_view(synth_val))[:, 0] > 0
    return float(0.5 * (pr.float().mean() + (~ps).float().mean()))


def style_gap(real_pairs: str | Path, data: str | Path, styles=tuple(STYLE_KEYS), steps: int = 400,
              seed: int = 0) -> dict[str, float]:
    """{style: held-out accuracy (balanced)} for each style of ``data`` that is there."""
    from sketchface.data.realpairs import load_real_pairs

    real = load_real_pairs(real_pairs, "train")["sketch"]
    real_val = load_real_pairs(real_pairs, "val")["sketch"]
    if len(real_val) == 0:
        raise UserError(f"{real_pairs} holds no held-out pairs")
    out = {}
    for style in styles:
        key = STYLE_KEYS[style]
        synth = _style_sketches(data, key, "train", 2000, seed)
        if synth is None:
            continue
        synth_val = _style_sketches(data, key, "test", len(real_val), seed + 1)
        out[style] = measure_gap(real, real_val, synth, synth_val, steps, seed)
    if not out:
        raise UserError(f"{data} holds none of the sketch styles {', '.join(styles)}")
    return out


def style_sheet(real_pairs: str | Path, data: str | Path, path: str | Path, n: int = 8,
                styles=("artist", "cyclegan", "pencil", "lines"), seed: int = 0) -> Path:
    """A contact sheet (JPEG): a row of real train sketches, then the world's photos and, under them, each sketch
    style of the same test faces (a row per style present), each row named on its left."""
    import cv2

    from sketchface.data.realpairs import load_real_pairs
    from sketchface.data.synthetic import SyntheticShards
    from sketchface.mesh import label

    real = load_real_pairs(real_pairs, "train")["sketch"]
    pick = np.random.default_rng(seed).choice(len(real), size=min(n, len(real)), replace=False)
    keys = [STYLE_KEYS[s] for s in styles]
    ds = SyntheticShards(data, "test", keys=("photo",), to_tensor=False)
    present = [k for k in keys if ds.shards and (ds.root / ds.shards[0] / f"{k}.npy").is_file()]
    ds = SyntheticShards(data, "test", keys=("photo", *present), to_tensor=False)
    faces = [ds[int(i)] for i in np.linspace(0, len(ds) - 1, n).astype(int)]

    def u8(a):
        a = np.asarray(a)
        a = a if a.dtype == np.uint8 else (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
        return np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a

    rows = [("real artist sketches (train pairs)", [u8(real[i]) for i in pick]),
            ("the world's photos (test faces)", [u8(f["photo"]) for f in faces])]
    rows += [(f"{k.removeprefix('sketch_')} style of those photos", [u8(f[k]) for f in faces]) for k in present]
    out = np.concatenate([label(np.concatenate(pics, 1), name) for name, pics in rows], 0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    return path


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("style-gap", help="how well a small CNN tells each training sketch style from real sketches",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real-pairs", required=True, help="prepare-real-pairs folder")
    p.add_argument("--data", required=True, help="make-data folder")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sheet", default=None, help="also write a contact sheet of the styles here (e.g. "
                                                   "docs/img/sketch_styles.jpg)")

    def run(a):
        if a.sheet:
            print(f"wrote {style_sheet(a.real_pairs, a.data, a.sheet, seed=a.seed)}")
        res = style_gap(a.real_pairs, a.data, steps=a.steps, seed=a.seed)
        print("| style | held-out accuracy, real vs style (50 % = indistinguishable) |\n|---|---|")
        for k, v in res.items():
            print(f"| {k} | {100 * v:.1f} % |")
        return 0

    p.set_defaults(func=run)
