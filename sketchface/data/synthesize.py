"""``synthesize-sketches --data DIR --cyclegan CKPT [--style artist]``: the paper's step between CycleGAN and
CoarseNet.

The trained photo -> sketch generator turns every photo of a make-data folder into a sketch, stored beside
the other modalities as ``sketch_<style>.npy`` (uint8) in each shard: style ``cyclegan`` for a CycleGAN trained on
the world's own pencil sketches, ``artist`` for one trained on real artist sketches (``configs/lite/
cyclegan_real.yaml``). Training stages then mix them in through ``sketch_styles: [pencil, lines, artist]``.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from sketchface.errors import UserError

STYLES = ("cyclegan", "artist")


def synthesize_sketches(data: str | Path, cyclegan: str | Path, batch: int = 32, device: str = "cpu",
                        progress: bool = True, style: str = "cyclegan") -> int:
    import json

    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from sketchface.nets import CheckpointError, load_network

    if style not in STYLES:
        raise UserError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    key = f"sketch_{style}"
    root = Path(data)
    if not (root / "meta.json").is_file():
        raise UserError(f"{root} is not a make-data folder (no meta.json)")
    try:
        net = load_network(cyclegan, device=device).eval()
    except CheckpointError as exc:
        raise UserError(str(exc)) from None
    if net.config.kind != "cyclegan":
        raise UserError(f"{cyclegan} holds a {net.config.kind} network, not a CycleGAN")
    shards = list(json.loads((root / "meta.json").read_text())["shards"])
    total = sum(np.load(root / s / "photo.npy", mmap_mode="r").shape[0] for s in shards)
    bar = tqdm(total=total, desc="synthesize-sketches", unit="photo", disable=not progress)
    done = 0
    for shard in shards:
        photos = np.load(root / shard / "photo.npy", mmap_mode="r")          # (n, H, W, 3) uint8
        n, h, w = photos.shape[:3]
        out = np.empty((n, h, w), np.uint8)
        for i in range(0, n, batch):
            x = torch.from_numpy(np.array(photos[i:i + batch])).permute(0, 3, 1, 2).float() / 255
            size = net.config.image_size
            xr = F.interpolate(x, size=(size, size), mode="area") if h != size else x
            with torch.inference_mode():
                s = net.photo_to_sketch(xr.to(device)).float().cpu()
            if h != size:
                s = F.interpolate(s, size=(h, w), mode="bilinear", align_corners=False)
            out[i:i + batch] = (s[:, 0].clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
            bar.update(len(x))
        tmp = root / shard / f".{key}.tmp.npy"
        np.save(tmp, out)
        os.replace(tmp, root / shard / f"{key}.npy")                        # atomic per shard
        done += n
    bar.close()
    return done


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synthesize-sketches", help="CycleGAN sketches for every photo of a make-data folder",
                       description=__doc__)
    p.add_argument("--data", required=True, help="make-data folder")
    p.add_argument("--cyclegan", required=True, help="CycleGAN checkpoint folder (e.g. runs/lite/cyclegan/final)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--style", default="cyclegan", choices=STYLES,
                   help="the style's name: cyclegan (trained on the world's sketches) or artist (on real ones)")
    p.set_defaults(func=lambda a: print(f"wrote {synthesize_sketches(a.data, a.cyclegan, a.batch, a.device, style=a.style)} "
                                        f"sketches (sketch_{a.style}.npy) into {a.data}") or 0)
