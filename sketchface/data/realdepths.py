"""``prepare-real-depths --real DIR --out DIR``: real train sketches with the face model's depth, for CoarseNet.

The synthetic world's drawings are rendered; real artist sketches are not, and the paper's CoarseNets trained on the
world alone carve the hair, glasses and hatching of real sketches into the face (docs/RESULTS.md, "Real sketches").
The real *train* pairs (``realsketch/train``, never the dev ones) carry no depth, but the face model fitted by
FaceFit gives one: for each pair the sketch is framed exactly as the pipeline frames it (FaceFit's rounds), and the
target is the depth of the face model fitted to the *photo* seen through the same crop where photo and sketch are
pixel-aligned (``--photo-groups``, CUFS: FaceFit reads a photo's pose and shape a little better than its sketch's),
else the fit of the sketch itself. ``train coarse coarse.real_depths=DIR`` then mixes these into CoarseNet's
batches beside the synthetic world.

    OUT/depths.npz  sketch (N, S, S) uint8: the framed sketch the coarse network reads (grey, paper made white);
                    photo (N, S, S, 3) uint8: the photo through the same crop; depth (N, S, S) float16: the fitted
                    face's depth (0..1, 1 = near, as make-data's), 0 off the face; teacher (N,) str: "photo" or
                    "sketch"; group, name (N,) str
    OUT/meta.json   counts, what was skipped, the licence
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sketchface.errors import UserError

PHOTO_GROUPS = ("cufs",)     # pairs whose photo and sketch are pixel-aligned (realsketch README)
KEYS = ("sketch", "photo", "depth", "teacher", "group", "name")


def prepare_real_depths(real: str | Path, out: str | Path, checkpoints: str | Path | None = None,
                        face_model=None, photo_groups=PHOTO_GROUPS, progress: bool = True) -> dict:
    """Frame and fit every pair under ``real`` (``<group>/sketches``, ``<group>/photos``); write ``out/depths.npz``."""
    from PIL import Image
    from tqdm import tqdm

    from sketchface.data.realpairs import _u8, list_pairs, write_prepared
    from sketchface.errors import InputError
    from sketchface.framing import crop_to_frame, model_source, to_gray
    from sketchface.pipeline import SketchFace

    sf = SketchFace.from_pretrained(checkpoints, coarse="face_model", face_model=face_model)
    prior = sf.prior
    if prior is None or not prior.has_model:
        raise UserError("prepare-real-depths needs a bundle with FaceFit and the face model "
                        "(python -m sketchface fetch-face-model)")
    size = sf.size
    rows: dict[str, list] = {k: [] for k in KEYS}
    skipped = []
    for group, sketch_path, photo_path in tqdm(list_pairs(real), desc="prepare-real-depths", unit="pair",
                                               disable=not progress):
        try:
            rgb, _, framing, framed, fit = sf.prepare(str(sketch_path), "sketch", with_fit=True)
        except InputError as exc:
            skipped.append(f"{sketch_path.name}: {exc}")
            continue
        h, w = rgb.shape[:2]
        photo = np.asarray(Image.open(photo_path).convert("RGB").resize((w, h), Image.BILINEAR), np.float32) / 255
        src, fill, _ = model_source(photo, "photo")
        seen = crop_to_frame(src, framing.crop_box, size, fill)
        teacher = "photo" if group in photo_groups else "sketch"
        if teacher == "photo":
            fit = prior.fit(seen if prior.size == size else crop_to_frame(src, framing.crop_box, prior.size, fill))
        depth, _ = prior.render(fit, size)
        rows["sketch"].append(_u8(to_gray(framed)))
        rows["photo"].append(_u8(seen))
        rows["depth"].append(depth.astype(np.float16))
        rows["teacher"].append(teacher)
        rows["group"].append(group)
        rows["name"].append(sketch_path.name)
    return write_prepared(out, "depths.npz", real, rows, skipped, size=size,
                          teacher={t: int(sum(x == t for x in rows["teacher"])) for t in ("photo", "sketch")},
                          target=f"the depth of the face model fitted by FaceFit of {Path(checkpoints or 'checkpoints')} "
                                 f"to the photo through the sketch's crop ({', '.join(photo_groups) or 'no group'}) or "
                                 "to the sketch")


def load_real_depths(folder: str | Path) -> dict[str, np.ndarray]:
    from sketchface.data.realpairs import load_prepared

    return load_prepared(folder, "depths.npz", "prepare-real-depths")


def real_examples(real: dict, index, gen, size: int):
    """Tensors of the real examples ``index`` (sketch (n, 1, S, S), photo (n, 3, S, S), depth (n, 1, S, S), all in
    [0, 1]), each mirrored left-right with probability 1/2 (the face model's depth mirrors with its drawing)."""
    import torch
    import torch.nn.functional as F

    idx = np.asarray(index)
    s = torch.from_numpy(real["sketch"][idx]).float()[:, None] / 255
    p = torch.from_numpy(real["photo"][idx]).float().permute(0, 3, 1, 2) / 255
    d = torch.from_numpy(real["depth"][idx]).float()[:, None]
    flip = torch.rand(len(idx), generator=gen) < 0.5
    s, p, d = (torch.where(flip[:, None, None, None], x.flip(-1), x) for x in (s, p, d))
    if s.shape[-1] != size:
        s, p, d = (F.interpolate(x, size=(size, size), mode="area") for x in (s, p, d))
    return s, p, d


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare-real-depths", help="real train sketches with the face model's depth (CoarseNet)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", required=True, help="folder of <group>/sketches and <group>/photos (realsketch/train)")
    p.add_argument("--out", required=True, help="folder to write (e.g. data/realdepths)")
    p.add_argument("--checkpoints", default=None, help="bundle whose FaceFit frames and fits (default: the shipped one)")
    p.add_argument("--face-model", default=None)
    p.add_argument("--photo-groups", nargs="*", default=list(PHOTO_GROUPS),
                   help="groups whose photos are pixel-aligned with their sketches: their target is the photo's fit")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(a: argparse.Namespace) -> int:
    meta = prepare_real_depths(a.real, a.out, a.checkpoints, a.face_model, tuple(a.photo_groups),
                               progress=not a.no_progress)
    print(f"wrote {a.out}: {meta['pairs']} pairs {meta['per_group']}, teacher {meta['teacher']}, "
          f"{len(meta['skipped'])} skipped")
    return 0
