"""``prepare-real-fits --real DIR --out DIR``: real sketches with the face their *photo* shows, for FaceFit.

On the real dev pairs FaceFit reads the head's pose and shape a little better from a photo than from its artist
sketch (CUFS mean r 0.931 on the photos against 0.927 on their sketches, 54 pairs; docs/TRAINING.md, "FaceFit and
the faces of the real train photos"). The real *train* pairs (``realsketch/train``, never the dev ones) turn that into training targets: for each
pair, FaceFit fits the photo (teacher) and the sketch; the target keeps the photo's pose, identity and expression
and the sketch's own placement (scale and 2-D position in the sketch's crop, which needs no pixel alignment between
photo and sketch; FS2K pairs are aligned only roughly). ``train-facefit --real-fits DIR`` then shows FaceFit these
sketches beside the synthetic world.

``--pose-from FACEMESH.json`` makes another target: the sketch's own fit (coefficients, placement) with the head's
pitch turned, its placement kept (``sketchface.prior.turned``), to where the fitted face's depth agrees best (Pearson
r at the points) with MediaPipe FaceMesh's 3-D points of the pair (``scripts/experiments/facemesh_points.py``; the
photo's points where they agree with the sketch's, else the sketch's). On real artist sketches FaceFit read every
face about 4° pitched down, whether the face was frontal (CUFS) or raised (FS2K) (docs/TRAINING.md, "The head's pitch
on real sketches"); FaceMesh on the world's rendered photos shows no such tilt against their true depth, so these
targets teach the pitch of real faces rather than FaceMesh's habits.

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
PITCH_STEPS = np.arange(-12.0, 12.5, 1.0)   # --pose-from: the pitch changes (degrees) tried on each sketch's fit


def best_pitch(prior, fit, crop_box, points: np.ndarray, shape, steps=PITCH_STEPS) -> tuple[float, np.ndarray]:
    """The pitch change (degrees, placement kept) under which the fitted face's depth, pasted into the input's
    pixels (``shape``), correlates best with the depth (−z) of FaceMesh ``points`` (468, 3): the best step refined by
    a parabola through its neighbours. Also returns r at every step."""
    from sketchface.evaluate_real import pasted_depth, pearson, sample
    from sketchface.prior import turned

    feature_points = prior.vertices(fit)[prior.fm.landmarks68]
    rs = []
    for step in steps:
        depth, mask = prior.render(turned(fit, feature_points, d_pitch=float(step), size=prior.size), prior.size)
        rs.append(pearson(sample(pasted_depth(depth, mask, crop_box, shape), points), -points[:, 2]))
    rs = np.nan_to_num(np.array(rs), nan=-1.0)
    j = int(np.clip(np.argmax(rs), 1, len(steps) - 2))
    y0, y1, y2 = rs[j - 1:j + 2]
    curve = y0 - 2 * y1 + y2
    best = float(steps[j]) + (0.5 * (y0 - y2) / curve * float(steps[1] - steps[0]) if curve < 0 else 0.0)
    return float(np.clip(best, steps[0], steps[-1])), rs


MP_LIPS, MP_EYES = (13, 14), ((33, 133), (362, 263))   # FaceMesh: inner lips (upper, lower), eye corners
ICT_LIPS, ICT_EYES = (62, 66), ((36, 39), (42, 45))   # the same on the face model's 68 points
JAW_STEPS = np.linspace(0.0, 1.0, 41)                 # jawOpen weights tried by ``jaw_for_gap``


def lip_gap(points: np.ndarray, lips=MP_LIPS, eyes=MP_EYES) -> float:
    """How far the mouth is open: the distance between the inner lips over the distance between the eyes' centres,
    in the view (x, y of ``points``); about 0.01 for a closed mouth, 0.2 for a smile showing the teeth."""
    p = np.asarray(points, np.float64)[:, :2]
    eye = np.linalg.norm(p[list(eyes[0])].mean(0) - p[list(eyes[1])].mean(0))
    return float(np.linalg.norm(p[lips[0]] - p[lips[1]]) / max(eye, 1e-9))


def jaw_for_gap(fm, identity: np.ndarray, expression: np.ndarray, gap: float) -> np.ndarray:
    """``expression`` with its jawOpen weight set so that the face model's lip gap (``lip_gap`` of its 68 points,
    seen from the front) is closest to ``gap``; the other weights are kept."""
    from sketchface.errors import UserError

    if "jawOpen" not in fm.expression_names:
        raise UserError("this face model has no jawOpen expression, so a target's mouth cannot be opened")
    j = list(fm.expression_names).index("jawOpen")
    gaps = []
    for w in JAW_STEPS:
        e = np.array(expression, np.float32)
        e[j] = w
        gaps.append(lip_gap(fm.vertices(identity, e)[fm.landmarks68], ICT_LIPS, ICT_EYES))
    e = np.array(expression, np.float32)
    e[j] = JAW_STEPS[int(np.argmin(np.abs(np.array(gaps) - gap)))]
    return e


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
                      face_model=None, progress: bool = True, pose_from: str | Path | None = None,
                      open_mouths: bool = False) -> dict:
    """Fit every pair under ``real`` (``<group>/sketches``, ``<group>/photos``) and write ``out/fits.npz``. With
    ``pose_from`` (FaceMesh points of the pairs, by the sketch's path under ``real``) the target is the sketch's own
    fit, its pitch turned to where FaceMesh's depth puts it (``best_pitch``), not the photo's fit; ``open_mouths``
    also opens its jaw as far as FaceMesh's lips are apart (``jaw_for_gap``)."""
    import json
    from dataclasses import replace

    from PIL import Image
    from tqdm import tqdm

    from sketchface.data.realpairs import _u8, list_pairs, write_prepared
    from sketchface.errors import InputError, UserError
    from sketchface.framing import crop_to_frame, load_image, model_source
    from sketchface.pipeline import SketchFace
    from sketchface.prior import turned
    from sketchface.train.outline import reference_points

    if open_mouths and not pose_from:
        raise UserError("--open-mouths reads the lips from FaceMesh's points: give them with --pose-from")
    if pose_from and not Path(pose_from).is_file():
        raise UserError(f"{pose_from} does not exist: scripts/experiments/facemesh_points.py writes the FaceMesh "
                        "points of the train pairs")
    sf = SketchFace.from_pretrained(checkpoints, coarse="face_model", face_model=face_model)
    prior = sf.prior
    refs = json.loads(Path(pose_from).read_text()) if pose_from else None
    turns = []
    size = 2 * prior.size
    rows: dict[str, list] = {k: [] for k in ("sketch", "identity", "expression", "camera", "group", "name")}
    skipped = []
    for group, sketch_path, photo_path in tqdm(list_pairs(real), desc="prepare-real-fits", unit="pair",
                                               disable=not progress):
        ref = None
        if refs is not None:
            ref = reference_points(refs.get(sketch_path.relative_to(real).as_posix(), {}))
            if ref is None:
                skipped.append(f"{sketch_path.name}: no FaceMesh points")
                continue
        try:
            sketch = load_image(str(sketch_path))
            h, w = sketch.shape[:2]
            box, fit_s = prior.find(sketch, "sketch")
            if ref is None:
                photo = np.asarray(Image.open(photo_path).convert("RGB").resize((w, h), Image.BILINEAR),
                                   np.float32) / 255.0
                _, fit_p = prior.find(photo, "photo")
        except InputError as exc:
            skipped.append(f"{sketch_path.name}: {exc}")
            continue
        x0, y0, x1, y1 = box
        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, CONTEXT * (x1 - x0) / 2
        wide = tuple(int(round(v)) for v in (cx - half, cy - half, cx + half, cy + half))
        src, fill, _ = model_source(sketch, "sketch")
        img = crop_to_frame(src, wide, size, fill)
        if ref is None:
            target = teacher_target(fit_s, fit_p)
        else:
            turn, _ = best_pitch(prior, fit_s, box, ref, (h, w))
            target = turned(fit_s, prior.vertices(fit_s)[prior.fm.landmarks68], d_pitch=turn, size=prior.size)
            if open_mouths:
                target = replace(target, expression=jaw_for_gap(prior.fm, target.identity, target.expression,
                                                                lip_gap(ref)))
            turns.append(turn)
        rows["sketch"].append(_u8(img.mean(-1) if img.ndim == 3 else img))
        rows["identity"].append(target.identity)
        rows["expression"].append(target.expression)
        rows["camera"].append(camera_of(target))
        rows["group"].append(group)
        rows["name"].append(sketch_path.name)
    by = f"FaceFit of {Path(checkpoints or 'checkpoints')}"
    if refs is None:
        return write_prepared(out, "fits.npz", real, rows, skipped, context=CONTEXT, size=size,
                              target=f"the photo's pose, identity and expression; the sketch's placement ({by})")
    groups = np.array(rows["group"])
    return write_prepared(out, "fits.npz", real, rows, skipped, context=CONTEXT, size=size,
                          target=f"the sketch's own fit ({by}), its pitch turned, placement kept, to where the "
                                 f"depth agrees best with FaceMesh's points in {Path(pose_from).name}"
                                 + ("; its jaw opened as far as FaceMesh's lips are apart" if open_mouths else ""),
                          pitch_turn={g: {"mean": round(float(np.mean(np.array(turns)[groups == g])), 3),
                                          "sd": round(float(np.std(np.array(turns)[groups == g])), 3)}
                                      for g in sorted(set(rows["group"]))})


def stored_landmarks(real: dict, face_model) -> np.ndarray:
    """(N, 68, 2) the 68 feature points of each real example's target fit, in the pixels of its stored sketch (which
    spans ``CONTEXT`` times the crop box the fit was answered for, about the same centre)."""
    from sketchface.prior import Fit

    size = real["sketch"].shape[-1]
    lm = face_model.landmarks68
    out = np.empty((len(real["sketch"]), 68, 2), np.float32)
    for i in range(len(out)):
        fit = Fit.from_camera(real["identity"][i], real["expression"][i], real["camera"][i])
        v = face_model.vertices(fit.identity, fit.expression)[lm]
        crop, _ = fit.camera().project(v, size)                   # pixels of the crop box shown at ``size``
        out[i] = (0.5 + ((crop + 0.5) / size - 0.5) / CONTEXT) * size - 0.5
    return out


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
    p.add_argument("--pose-from", default=None, metavar="FACEMESH_JSON",
                   help="FaceMesh points of the train pairs (scripts/experiments/facemesh_points.py): the target is "
                        "the sketch's own fit with its pitch turned to where their depth puts it")
    p.add_argument("--open-mouths", action="store_true",
                   help="with --pose-from: also open each target's jaw as far as FaceMesh's lips are apart")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(a: argparse.Namespace) -> int:
    meta = prepare_real_fits(a.real, a.out, a.checkpoints, a.face_model, progress=not a.no_progress,
                             pose_from=a.pose_from, open_mouths=a.open_mouths)
    print(f"wrote {a.out}: {meta['pairs']} pairs {meta['per_group']}, {len(meta['skipped'])} skipped")
    return 0
