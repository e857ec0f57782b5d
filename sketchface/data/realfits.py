"""``prepare-real-fits --real DIR --out DIR``: real sketches with the face their *photo* shows, for FaceFit.

On the real dev pairs FaceFit reads the head's pose and shape a little better from a photo than from its artist
sketch (CUFS mean r 0.931 on the photos against 0.927 on their sketches, 54 pairs; docs/TRAINING.md, "FaceFit and
the faces of the real train photos"). The real *train* pairs (``realsketch/train``, never the dev ones) turn that into training targets: for each
pair, FaceFit fits the photo (teacher) and the sketch; the target keeps the photo's pose, identity and expression
and the sketch's own placement (scale and 2-D position in the sketch's crop, which needs no pixel alignment between
photo and sketch; FS2K pairs are aligned only roughly). ``train-facefit --real-fits DIR`` then shows FaceFit these
sketches beside the synthetic world.

    OUT/fits.npz   sketch (N, 2S, 2S) uint8: the sketch around its crop box, twice as wide (paper made white), so
                   that random crops around the box see the real surroundings; identity (N, I), expression (N, E),
                   camera (N, 6: yaw, pitch, roll, scale, offset x, y, the training framing of the crop box);
                   group, name (N,) str
    OUT/meta.json  counts, what was skipped, the licence
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


CONTEXT = 2.0   # the stored image spans this many times the crop box's side


def camera_of(fit) -> np.ndarray:
    """(6,) yaw, pitch, roll, scale, offset x, y of a fit, as make-data's params.jsonl holds a camera."""
    c = fit.camera()
    return np.array([c.yaw, c.pitch, c.roll, c.scale, *c.offset], np.float32)


def teacher_target(sketch_fit, photo_fit):
    """The target for a sketch: the photo's pose, identity and expression, the sketch's own placement."""
    from dataclasses import replace

    return replace(sketch_fit, identity=photo_fit.identity, expression=photo_fit.expression,
                   angles=photo_fit.angles)


def prepare_real_fits(real: str | Path, out: str | Path, checkpoints: str | Path | None = None,
                      face_model=None, progress: bool = True) -> dict:
    """Fit every pair under ``real`` (``<group>/sketches``, ``<group>/photos``) and write ``out/fits.npz``."""
    from PIL import Image
    from tqdm import tqdm

    from sketchface.data.realpairs import _u8, list_pairs, write_prepared
    from sketchface.errors import InputError
    from sketchface.framing import crop_to_frame, load_image, model_source
    from sketchface.pipeline import SketchFace

    sf = SketchFace.from_pretrained(checkpoints, coarse="face_model", face_model=face_model)
    prior = sf.prior
    size = 2 * prior.size
    rows: dict[str, list] = {k: [] for k in ("sketch", "identity", "expression", "camera", "group", "name")}
    skipped = []
    for group, sketch_path, photo_path in tqdm(list_pairs(real), desc="prepare-real-fits", unit="pair",
                                               disable=not progress):
        try:
            sketch = load_image(str(sketch_path))
            h, w = sketch.shape[:2]
            photo = np.asarray(Image.open(photo_path).convert("RGB").resize((w, h), Image.BILINEAR),
                               np.float32) / 255.0
            box, fit_s = prior.find(sketch, "sketch")
            _, fit_p = prior.find(photo, "photo")
        except InputError as exc:
            skipped.append(f"{sketch_path.name}: {exc}")
            continue
        x0, y0, x1, y1 = box
        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, CONTEXT * (x1 - x0) / 2
        wide = tuple(int(round(v)) for v in (cx - half, cy - half, cx + half, cy + half))
        src, fill, _ = model_source(sketch, "sketch")
        img = crop_to_frame(src, wide, size, fill)
        target = teacher_target(fit_s, fit_p)
        rows["sketch"].append(_u8(img.mean(-1) if img.ndim == 3 else img))
        rows["identity"].append(target.identity)
        rows["expression"].append(target.expression)
        rows["camera"].append(camera_of(target))
        rows["group"].append(group)
        rows["name"].append(sketch_path.name)
    return write_prepared(out, "fits.npz", real, rows, skipped, context=CONTEXT, size=size,
                          target="the photo's pose, identity and expression; the sketch's placement (FaceFit of "
                                 f"{Path(checkpoints or 'checkpoints')})")


def load_real_fits(folder: str | Path) -> dict[str, np.ndarray]:
    from sketchface.data.realpairs import load_prepared

    return load_prepared(folder, "fits.npz", "prepare-real-fits")


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare-real-fits", help="real train sketches with the face their photos show (FaceFit)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", required=True, help="folder of <group>/sketches and <group>/photos (realsketch/train)")
    p.add_argument("--out", required=True, help="folder to write (e.g. data/realfits)")
    p.add_argument("--checkpoints", default=None, help="bundle whose FaceFit fits both (default: the shipped one)")
    p.add_argument("--face-model", default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(a: argparse.Namespace) -> int:
    meta = prepare_real_fits(a.real, a.out, a.checkpoints, a.face_model, progress=not a.no_progress)
    print(f"wrote {a.out}: {meta['pairs']} pairs {meta['per_group']}, {len(meta['skipped'])} skipped")
    return 0
