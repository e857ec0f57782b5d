"""``prepare-real-pairs --real DIR --out DIR``: real photo–sketch pairs framed as the pipeline frames its input.

The paper trains its CycleGAN on real photo–sketch pairs. The real pairs (a folder laid out as
``<group>/sketches/NAME`` and ``<group>/photos/NAME``, e.g. ``realsketch/train``) come in every size and framing;
this step shows each sketch and each photo to the pipeline's own framing (ink box or face detector, then
FaceFit's re-framing) and stores the crops at the networks' size, so that the CycleGAN learns the style of real
sketches in exactly the frame the networks later see:

    OUT/pairs.npz    photo (N, S, S, 3) uint8, sketch (N, S, S) uint8, group (N,) str, name (N,) str, split (N,)
                     str ("train" or "val": a fixed tenth of the pairs of each group, kept for measuring)
    OUT/meta.json    where the pairs came from, how they were framed, and the licence note of the source

The source images are only read; nothing of them goes into the repository. Models trained on them say so in
their model card (see checkpoints/README.md).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sketchface.errors import UserError

VAL_EVERY = 10      # every 10th pair of a group (sorted by name) is held out for measuring


def list_pairs(root: str | Path) -> list[tuple[str, Path, Path]]:
    """(group, sketch path, photo path) of every pair under ``root`` (``<group>/sketches`` and ``<group>/photos``,
    joined by name, or by the number after ``sketch``/``image`` as FS2K names them)."""
    from sketchface.data.real import IMAGE_EXTS, list_files

    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder; pass the folder that holds <group>/sketches and <group>/photos "
                        "(e.g. realsketch/train)")
    pairs = []
    for group in sorted(p for p in root.iterdir() if (p / "sketches").is_dir() and (p / "photos").is_dir()):
        sketches = list_files(group / "sketches", IMAGE_EXTS)
        photos = list_files(group / "photos", IMAGE_EXTS)
        by_key = {_pair_key(k): v for k, v in photos.items()}
        for name in sorted(sketches):
            photo = photos.get(name) or by_key.get(_pair_key(name))
            if photo is not None:
                pairs.append((group.name, sketches[name], photo))
    if not pairs:
        raise UserError(f"no photo–sketch pairs under {root} (expected <group>/sketches/NAME and "
                        "<group>/photos/NAME)")
    return pairs


def _pair_key(name: str) -> str:
    """FS2K pairs ``sketch1_sketch0110`` with ``photo1_image0110``: the style folder and number join them."""
    import re

    m = re.match(r"(?:sketch|photo)(\d+)_(?:sketch|image)(\d+)", Path(name).stem)
    return f"{m.group(1)}_{m.group(2)}" if m else Path(name).stem


def prepare_real_pairs(real: str | Path, out: str | Path, checkpoints: str | Path | None = None,
                       progress: bool = True) -> dict:
    """Frame every pair under ``real`` with the pipeline of ``checkpoints`` (default: the shipped bundle) and write
    ``out/pairs.npz`` and ``out/meta.json``; returns the meta dict."""
    from tqdm import tqdm

    from sketchface.errors import InputError
    from sketchface.pipeline import SketchFace

    pipe = SketchFace.from_pretrained(checkpoints, coarse="dp_coarse")
    size = pipe.size
    rows: dict[str, list] = {k: [] for k in ("photo", "sketch", "group", "name", "split")}
    count: dict[str, int] = {}
    skipped = []
    for group, sketch_path, photo_path in tqdm(list_pairs(real), desc="prepare-real-pairs", unit="pair",
                                               disable=not progress):
        try:
            s = pipe.prepare(str(sketch_path), kind="sketch")[3]
            p = pipe.prepare(str(photo_path), kind="photo")[3]
        except InputError as exc:
            skipped.append(f"{sketch_path.name}: {exc}")
            continue
        i = count.get(group, 0)
        count[group] = i + 1
        rows["sketch"].append(_u8(s[..., 0] if s.ndim == 3 else s))
        rows["photo"].append(_u8(p))
        rows["group"].append(group)
        rows["name"].append(sketch_path.name)
        rows["split"].append("val" if i % VAL_EVERY == VAL_EVERY - 1 else "train")
    return write_prepared(out, "pairs.npz", real, rows, skipped, size=size,
                          val=int(sum(s == "val" for s in rows["split"])),
                          framing="the pipeline's own: ink box (sketch) or face detector (photo), then FaceFit's "
                                  "re-framing")


def _u8(a: np.ndarray) -> np.ndarray:
    return (np.clip(np.asarray(a, np.float32), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


LICENCE = "research use: see the source folder's README (CUFS: academic, non-commercial; FS2K: research)"


def write_prepared(out: str | Path, file: str, real: str | Path, rows: dict[str, list], skipped: list,
                   **meta) -> dict:
    """Write what a ``prepare-real-*`` command gathered: ``out/file`` (each row list stacked; strings as arrays of
    str) and ``out/meta.json`` (where from, how many per group, what was skipped, the licence, and ``meta``)."""
    if not rows["sketch"]:
        raise UserError(f"none of the pairs under {real} could be used")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / file, **{k: np.array(v) if isinstance(v[0], str) else np.stack(v)
                                       for k, v in rows.items()})
    meta = {"source": str(Path(real).resolve()), "pairs": len(rows["sketch"]),
            "per_group": {g: int(sum(x == g for x in rows["group"])) for g in sorted(set(rows["group"]))},
            "skipped": skipped, **meta, "licence": LICENCE}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def load_prepared(folder: str | Path, file: str, command: str) -> dict[str, np.ndarray]:
    """The arrays a ``prepare-real-*`` command wrote to ``folder/file``; a missing file says which command makes it."""
    path = Path(folder) / file
    if not path.is_file():
        raise UserError(f"{folder} has no {file}; run `python -m sketchface {command} --real DIR --out {folder}` "
                        "first")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_real_pairs(folder: str | Path, split: str = "train") -> dict[str, np.ndarray]:
    """The arrays of ``prepare_real_pairs`` for one split ("train", "val" or "all")."""
    arrays = load_prepared(folder, "pairs.npz", "prepare-real-pairs")
    if split != "all":
        keep = arrays["split"] == split
        arrays = {k: v[keep] for k, v in arrays.items()}
    return arrays


class RealSketchDomains:
    """The CycleGAN's two domains with real sketches: photos (a share ``real_photo_share`` of them real photos of
    the pairs, the rest the world's rendered photos, which the generator must translate later) and real sketches
    (``sketch_real``), unpaired: item i pairs a photo with the sketch of another pair. Both are mirrored at random
    (fixed per item and ``seed``, so a resumed run sees the same batches)."""

    def __init__(self, rendered, folder: str | Path, real_photo_share: float = 0.5, split: str = "train",
                 seed: int = 0):
        import torch

        arrays = load_real_pairs(folder, split)
        self.sketch = torch.from_numpy(arrays["sketch"])            # (N, S, S) uint8
        self.photo = torch.from_numpy(arrays["photo"])              # (N, S, S, 3) uint8
        self.rendered, self.share, self.seed = rendered, float(real_photo_share), int(seed)

    def __len__(self) -> int:
        return max(len(self.rendered), len(self.sketch))

    def __getitem__(self, i: int) -> dict:
        import torch

        g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(i))
        u = torch.rand(3, generator=g)
        n = len(self.sketch)
        if u[0] < self.share:
            photo = self.photo[int(torch.randint(n, (1,), generator=g))].permute(2, 0, 1).float() / 255
        else:
            photo = self.rendered[int(i) % len(self.rendered)]["photo"]
        sketch = self.sketch[(int(i) * 7919 + 13) % n][None].float() / 255
        if u[1] < 0.5:
            photo = photo.flip(-1)
        if u[2] < 0.5:
            sketch = sketch.flip(-1)
        return {"photo": photo, "sketch_real": sketch}


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare-real-pairs", help="frame real photo–sketch pairs for the CycleGAN",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", required=True, help="folder of <group>/sketches and <group>/photos (realsketch/train)")
    p.add_argument("--out", required=True, help="output folder (pairs.npz, meta.json)")
    p.add_argument("--checkpoints", default=None, help="bundle whose framing to use (default: the shipped one)")

    def run(a):
        meta = prepare_real_pairs(a.real, a.out, a.checkpoints)
        print(f"wrote {meta['pairs']} pairs ({meta['val']} held out) into {a.out}; skipped {len(meta['skipped'])}")
        return 0

    p.set_defaults(func=run)
