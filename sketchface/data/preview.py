"""``preview-data``: a contact sheet of a synthetic data folder for a person to look at.

One row per sample: photo | pencil sketch | line drawing | XDoG lines l | depth | shading of the depth.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sketchface.errors import UserError

COLUMNS = ("photo", "pencil sketch", "line drawing", "lines l", "depth", "depth shaded")


def _shade(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from sketchface.render import normals_from_depth, FRAME_CM, DEPTH_NEAR_CM, DEPTH_FAR_CM
    n = normals_from_depth(depth, mask, FRAME_CM / depth.shape[0] / (DEPTH_NEAR_CM - DEPTH_FAR_CM))
    light = np.array([0.35, 0.4, 0.85]) / np.linalg.norm([0.35, 0.4, 0.85])
    return np.clip(n @ light, 0, 1) * mask


def _depth_vis(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if not mask.any():
        return np.zeros_like(depth)
    lo, hi = depth[mask].min(), depth[mask].max()
    return np.where(mask, 0.15 + 0.85 * (depth - lo) / max(hi - lo, 1e-6), 0.0)


def sample_row(s: dict, tile: int) -> np.ndarray:
    """Row of tiles (tile, 6*tile, 3) uint8 from a decoded sample dict."""
    def rgb(x):
        x = np.asarray(x, np.float32)
        if x.ndim == 2:
            x = np.repeat(x[..., None], 3, -1)
        im = Image.fromarray((np.clip(x, 0, 1) * 255).astype(np.uint8)).resize((tile, tile), Image.BILINEAR)
        return np.asarray(im)
    mask = s["mask"].astype(bool)
    cols = [s["photo"], s["sketch_pencil"], s["sketch_lines"], s["lines"], _depth_vis(s["depth"], mask),
            _shade(s["depth"], mask)]
    return np.concatenate([rgb(c) for c in cols], 1)


def contact_sheet(root: str | Path, out: str | Path, n: int = 8, split: str = "train", tile: int = 160,
                  seed: int = 0) -> Path:
    from sketchface.data.synthetic import SyntheticShards
    ds = SyntheticShards(root, split=split, to_tensor=False)
    if len(ds) == 0:
        raise UserError(f"no {split} samples in {root}")
    idx = np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False)
    rows = [sample_row(ds[int(i)], tile) for i in sorted(idx)]
    header = np.full((22, tile * len(COLUMNS), 3), 255, np.uint8)
    im = Image.fromarray(np.concatenate([header] + rows, 0))
    d = ImageDraw.Draw(im)
    for j, name in enumerate(COLUMNS):
        d.text((j * tile + 6, 5), name, fill=(0, 0, 0))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    im.save(out)
    return out


def add_cli(sub) -> None:
    p = sub.add_parser("preview-data", help="write a contact sheet (photo | sketches | lines | depth | shading)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("data", help="folder written by make-data")
    p.add_argument("--out", default="sheet.png")
    p.add_argument("--n", type=int, default=8, help="rows")
    p.add_argument("--split", default="train", choices=["train", "test"])
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=lambda a: print(contact_sheet(a.data, a.out, a.n, a.split, seed=a.seed)) or 0)


def save_grid(fig, axes, titles: list[str], suptitle: str, out: str | Path) -> None:
    """Hide the axes of a matplotlib grid, title its first row, and write it to ``out`` (the pictures of the
    measurement scripts in scripts/experiments/)."""
    for i, row in enumerate(axes):
        for ax, title in zip(row, titles):
            ax.set_axis_off()
            if i == 0:
                ax.set_title(title, fontsize=8)
    fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
