"""``train-sparse``: train the learned parts of the sparse-model pipeline on synthetic renders of the database.

* ASM (photo) on renders of the database faces under random pose/light/expression with their 68 known
  feature points (the paper trains on XM2VTS' manual 68 points); ASM (sketch) the same on pencil sketches and
  line drawings of those renders.
* Recognition CNN: classify the ``n_train`` database identities from aligned renders under varied light, pose
  and expression (the skin, brows and eye colours are drawn anew for every render, so the network must go by
  the face's shape); then the database's frontal projections are embedded once (the retrieval gallery).

Outputs (``--out``, default checkpoints/sparse/): asm_photo.npz, asm_sketch.npz, cnn/{config.json,
model.safetensors (fp16)}, gallery.safetensors (features of the frontal projections, fp16), sparse.json.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from sketchface.sparse.database import DatabaseConfig, FaceDatabase, frontal_projection, random_view

RENDER_SIZE = 160
DEFAULT_OUT = Path("checkpoints/sparse")
CACHE = Path("runs/sparse/cache")


def render_views(fm, db: FaceDatabase, ids, n_views: int, seed: int, kind: str = "photo", size: int = RENDER_SIZE,
                 cache: Path | None = CACHE, progress: bool = False) -> dict:
    """Views of each id: {"images" (M,S,S,3) uint8, "landmarks" (M,68,2), "labels" (M,) id, "boxes" (M,4) NaN
    where the detector found nothing, "methods" (M,) str}. Cached as .npz (keyed by the arguments)."""
    from tqdm import tqdm

    from sketchface.sparse.detect import detect

    ids = np.asarray(ids)
    key = f"views_{kind}_{db.config.world_seed}_{ids.min()}-{ids.max()}-{len(ids)}_{n_views}_{seed}_{size}.npz"
    if cache is not None and (cache / key).is_file():
        with np.load(cache / key, allow_pickle=False) as d:
            return {k: d[k] for k in d}
    imgs = np.zeros((len(ids) * n_views, size, size, 3), np.uint8)
    lms = np.zeros((len(ids) * n_views, 68, 2), np.float32)
    boxes = np.full((len(ids) * n_views, 4), np.nan, np.float32)
    methods = np.array([""] * len(imgs), dtype="<U8")
    labels = np.repeat(ids, n_views)
    j = 0
    for i in tqdm(ids, desc=f"render {kind} views", disable=not progress):
        rng = np.random.default_rng([seed, int(i)])
        for _ in range(n_views):
            imgs[j], lms[j] = random_view(fm, db, int(i), size, rng, kind=kind)
            det = detect(imgs[j], kind)
            if det is not None:
                boxes[j], methods[j] = det.box, det.method
            j += 1
    out = {"images": imgs, "landmarks": lms, "labels": labels, "boxes": boxes, "methods": methods}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(cache / key, **out)
    return out


def detections(views: dict) -> list:
    from sketchface.sparse.detect import Detection

    return [None if not m else Detection(tuple(float(v) for v in b), str(m))
            for b, m in zip(views["boxes"], views["methods"])]


def jittered_landmarks(lm: np.ndarray, rng: np.random.Generator, shift: float = 0.04, scale: float = 0.05,
                       rot_deg: float = 5.0) -> np.ndarray:
    """A random similarity of the points (mimics the error of automatic feature points on the crop)."""
    c = lm.mean(0)
    r = np.sqrt(((lm - c) ** 2).sum(1).mean())
    th = np.deg2rad(rng.uniform(-rot_deg, rot_deg))
    s = 1 + rng.uniform(-scale, scale)
    m = s * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return (lm - c) @ m.T + c + rng.uniform(-shift, shift, 2) * r * 4


def crops(views: dict, template: np.ndarray, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
    from sketchface.sparse.recognition import align_crop

    out = np.zeros((len(views["images"]), size, size, 3), np.uint8)
    for j, (im, lm) in enumerate(zip(views["images"], views["landmarks"])):
        out[j] = align_crop(im, jittered_landmarks(lm, rng) if rng is not None else lm, template, size)
    return out


def gallery_images(db: FaceDatabase, ids, size: int = RENDER_SIZE):
    """Frontal projections (fixed frontal light) of the database faces and their feature points."""
    imgs, lms = [], []
    for i in ids:
        img, r = frontal_projection(db.vertices[i], db.triangles, db.landmarks68, size,
                                    np.random.default_rng([db.config.world_seed, 31, int(i)]), light="front")
        imgs.append(img)
        lms.append(r.landmarks)
    return np.stack(imgs), np.stack(lms).astype(np.float32)


def template_for(db: FaceDatabase) -> np.ndarray:
    from sketchface.sparse.recognition import template_from_points

    return template_from_points(db.mean_face(db.train_ids)[db.landmarks68][:, :2])


def embed_gallery(net, db: FaceDatabase) -> np.ndarray:
    from sketchface.sparse.recognition import align_crop, cnn_embed

    template = np.asarray(net.config.template, np.float32)
    imgs, lms = gallery_images(db, db.train_ids)
    c = np.stack([align_crop(im, lm, template, net.config.image_size) for im, lm in zip(imgs, lms)])
    return cnn_embed(net, c)


def train_all(fm, db: FaceDatabase, out: Path, size: int = 112, steps: int = 3000, batch: int = 32,
              views: int = 12, asm_views: int = 2, seed: int = 0, progress: bool = True, cache=CACHE,
              render_size: int = RENDER_SIZE, parts=("asm", "cnn"), recipe: str = "paper") -> dict:
    import torch
    from safetensors.numpy import save_file

    from sketchface.sparse.asm import ActiveShapeModel, ASMConfig
    from sketchface.sparse.recognition import RECIPES, CNNConfig, TrainConfig, build_cnn, save_cnn, train_cnn

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"database": asdict(db.config), "size": size, "steps": steps, "batch": batch, "views": views}
    ids = db.train_ids
    v = render_views(fm, db, ids, views, seed, size=render_size, cache=cache, progress=progress)
    if "asm" in parts:
        t = time.time()
        sel = np.concatenate([np.arange(i * views, i * views + min(asm_views, views)) for i in range(len(ids))])
        sub = {k: a[sel] for k, a in v.items()}
        asm = ActiveShapeModel.train(sub["images"], sub["landmarks"], detections(sub), ASMConfig(), "photo",
                                     progress)
        asm.save(out / "asm_photo.npz")
        sk = render_views(fm, db, ids, asm_views, seed + 1, kind="sketch", size=render_size, cache=cache,
                          progress=progress)
        asm_s = ActiveShapeModel.train(sk["images"], sk["landmarks"], detections(sk), ASMConfig(), "sketch",
                                       progress)
        asm_s.save(out / "asm_sketch.npz")
        report["asm"] = {"shapes": len(sel), "modes": int(asm.modes.shape[1]), "seconds": round(time.time() - t, 1),
                         "init_photo": asm.init, "init_sketch": asm_s.init}
    if "cnn" in parts:
        torch.manual_seed(seed)
        template = template_for(db)
        rng = np.random.default_rng(seed)
        x = np.concatenate([crops(v, template, size), crops(v, template, size, rng)])
        y = np.concatenate([v["labels"], v["labels"]])
        net_kw, train_kw = RECIPES[recipe]
        net = build_cnn(CNNConfig(image_size=size, n_classes=len(ids), template=template.round(5).tolist(), **net_kw))
        log = train_cnn(net, x, y, TrainConfig(steps=steps, batch=batch, seed=seed, **train_kw), progress=progress)
        save_cnn(net, out / "cnn")
        feats = embed_gallery(net, db)
        save_file({"features": feats.astype(np.float16), "ids": ids.astype(np.int32)}, str(out / "gallery.safetensors"))
        report["cnn"] = {"train_images": len(x), "seconds": round(log["seconds"], 1), "recipe": recipe,
                         "final": log["history"][-1], "paper_deviations": "input size and steps reduced for CPU"}
    meta_path = out / "sparse.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    prev = meta.get("train_report", {})
    prev.update(report)
    meta.update({"database": asdict(db.config), "k": meta.get("k", 10), "train_report": prev})
    meta_path.write_text(json.dumps(meta, indent=1))
    return report


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-sparse", help="train the ASM and the recognition CNN of the sparse-model pipeline",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    p.add_argument("--db", default=None, help="database .npz from build-sparse-db (default: built from the face model)")
    p.add_argument("--size", type=int, default=224, help="CNN input size (paper: 224; 112 on a CPU)")
    p.add_argument("--steps", type=int, default=3000, help="SGD steps (default: %(default)s)")
    p.add_argument("--batch", type=int, default=32, help="batch size (default: %(default)s)")
    p.add_argument("--views", type=int, default=12, help="training renders per identity (default: %(default)s)")
    p.add_argument("--asm-views", type=int, default=2, help="renders per identity for the ASMs (default: %(default)s)")
    p.add_argument("--only", choices=["asm", "cnn"], default=None, help="train one part only")
    p.add_argument("--recipe", choices=["paper", "robust"], default="paper",
                   help="CNN training: the paper's as written, or robust (BatchNorm, standardised crops, cosine "
                        "schedule, label smoothing, colour jitter; recognises held-out renders)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_run)


def _run(args) -> int:
    import torch

    from sketchface.facemodel import load_face_model
    from sketchface.sparse.database import load_or_build

    torch.set_num_threads(args.threads)
    fm = load_face_model()
    db = load_or_build(args.db, fm, DatabaseConfig())
    parts = (args.only,) if args.only else ("asm", "cnn")
    rep = train_all(fm, db, Path(args.out), size=args.size, steps=args.steps, batch=args.batch, views=args.views,
                    asm_views=args.asm_views, seed=args.seed, parts=parts, recipe=args.recipe)
    print(json.dumps(rep, indent=1))
    return 0
