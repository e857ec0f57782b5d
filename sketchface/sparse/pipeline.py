"""One image -> textured 3-D face with the sparse-face-model pipeline (the app calls this).

    from sketchface.sparse.pipeline import SparseFace
    sf = SparseFace.from_checkpoints()            # checkpoints/sparse/ + the face model ($SKETCHFACE_FACE_MODEL)
    r = sf(image)                                 # path, PIL image or numpy RGB; photo, sketch or line drawing
    r.box, r.landmarks, r.retrieved_ids, r.thumbnails, r.mesh    # detection, 68 points, similar faces, trimesh
    r.draw()                                      # uint8 RGB: the input with the box and the feature points
    r.save_glb("face.glb")                        # vertex colours, upright, facing +Z

A face-less input raises ``NoFaceError`` (a UserError with one sentence).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from sketchface.errors import UserError
from sketchface.sparse.database import FaceDatabase, frontal_projection
from sketchface.sparse.detect import Detection, detect_or_raise
from sketchface.sparse.statistical import (SparseFit, SparseStatistics, estimate_feature_points, landmark_descriptor,
                                           statistical_face)
from sketchface.sparse.tps import tps_deform


@dataclass
class SparseConfig:
    k: int = 10                  # similar faces averaged into the statistical face
    retrieval: str = "auto"      # "cnn", "landmarks", or "auto": CNN for photos, landmarks for drawings
    points: str = "auto"         # feature points: "facefit" (learned: the 68 points of the face model FaceFit
    #                              fits), "asm" (the paper's Active Shape Model), "auto": facefit when it is loaded
    noise_cm: float = 1.0        # feature-point noise assumed by the depth estimation; set on validation ids
    #                              400-479 with the learned points (0.5: TPS 4.17 mm, worse than the statistical
    #                              face's 4.16; 1.0: 4.13, aligned 3.11 against 3.13)
    keep_observed_xy: bool = False  # True: x, y of the sparse model = the observed points (exact points only);
    #                                 False: the regularised 3-D fit (measured better with ASM points)
    texture: bool = True         # map the photo onto the mesh (Poisson fill); else grey shading


@dataclass
class SparseResult:
    kind: str                          # "photo", "sketch" or "lines"
    image: np.ndarray                  # (H, W, 3) float32 input
    box: tuple[float, float, float, float]   # detection x0, y0, x1, y1 (px)
    detection_method: str              # "haar" or "ink"
    landmarks: np.ndarray              # (68, 2) px
    retrieved_ids: np.ndarray          # (k,) database ids
    similarities: np.ndarray           # (k,)
    statistical_vertices: np.ndarray   # (V, 3) mean of the retrieved faces
    feature_points_3d: np.ndarray      # (68, 3) sparse face model of the input
    vertices: np.ndarray               # (V, 3) deformed statistical face (cm, y up, +Z toward the viewer)
    triangles: np.ndarray              # (T, 3)
    colors: np.ndarray                 # (V, 3) in [0, 1]
    seen: np.ndarray                   # (V,) bool: vertices whose colour came from the image
    fit: SparseFit
    timings: dict = field(default_factory=dict)
    database: FaceDatabase | None = field(default=None, repr=False)

    @cached_property
    def thumbnails(self) -> list[np.ndarray]:
        """Small (64 px) frontal projections of the retrieved database faces, uint8 RGB."""
        if self.database is None:
            return []
        db = self.database
        return [frontal_projection(db.vertices[i], db.triangles, db.landmarks68, 64,
                                   np.random.default_rng([db.config.world_seed, 31, int(i)]), light="front")[0]
                for i in self.retrieved_ids]

    @property
    def mesh(self):
        from sketchface.sparse.texture import to_trimesh

        return to_trimesh(self.vertices, self.triangles, self.colors)

    def save_glb(self, path: str | Path) -> Path:
        from sketchface.sparse.texture import write_glb

        return write_glb(self.mesh, path)

    def draw(self) -> np.ndarray:
        return draw_detection(self.image, self.box, self.landmarks)


def draw_detection(image: np.ndarray, box, landmarks: np.ndarray | None = None) -> np.ndarray:
    """The image (uint8 RGB) with the face box (green) and the 68 feature points (red)."""
    import cv2

    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    out = np.ascontiguousarray(img[..., :3]).copy()
    t = max(1, round(max(out.shape[:2]) / 300))
    if box is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 200, 0), t)
    if landmarks is not None:
        for x, y in np.asarray(landmarks):
            cv2.circle(out, (int(round(x)), int(round(y))), t + 1, (230, 20, 20), -1, cv2.LINE_AA)
    return out


def _bundle_prior(bundle: Path, face_model=None):
    """FaceFit of the checkpoint bundle the sparse folder sits in, with the face model; None when either is
    missing (the pipeline then places the feature points by ASM)."""
    from sketchface.facemodel import FaceModelNotFound, load_face_model
    from sketchface.errors import InputError
    from sketchface.nets.hub import CheckpointError, load_network
    from sketchface.prior import FacePrior

    folder = Path(bundle) / "facefit"
    if not (folder / "config.json").is_file():
        return None
    try:
        fm = face_model if face_model is not None else load_face_model()
        return FacePrior(load_network(folder), fm)
    except (FaceModelNotFound, CheckpointError, InputError):   # no face model, or not the one FaceFit knows
        return None


def default_folder() -> Path:
    from sketchface.pipeline import default_checkpoints

    return default_checkpoints() / "sparse"


class SparseFace:
    def __init__(self, database: FaceDatabase, asm_photo, asm_sketch=None, cnn=None, gallery=None,
                 config: SparseConfig | None = None, prior=None):
        self.db = database
        self.prior = prior if prior is not None and prior.has_model else None   # sketchface.prior.FacePrior
        self.asm = {"photo": asm_photo, "sketch": asm_sketch or asm_photo}
        self.cnn = cnn
        self.gallery = gallery                       # (n_train, D) CNN features of the frontal projections
        self.config = config or SparseConfig()
        ids = database.train_ids
        self.ids = ids
        fp = database.feature_points(ids)
        self.stats = SparseStatistics.fit(fp)
        self.descriptors = np.stack([landmark_descriptor(p[:, :2] * np.array([1.0, -1.0])) for p in fp])
        self._donor_cache: dict = {}

    @classmethod
    def from_checkpoints(cls, folder: str | Path | None = None, database: str | Path | FaceDatabase | None = None,
                         face_model=None, config: SparseConfig | None = None) -> "SparseFace":
        """Load the ASMs, the CNN and its gallery from ``folder`` (default: checkpoints/sparse/); the database is
        a built .npz or rebuilt from the face model with the configuration the checkpoints were trained on."""
        from safetensors.numpy import load_file

        from sketchface.sparse.asm import ActiveShapeModel
        from sketchface.sparse.database import DatabaseConfig, build_database
        from sketchface.sparse.recognition import load_cnn

        folder = Path(folder) if folder is not None else default_folder()
        meta_path = folder / "sparse.json"
        if not meta_path.is_file():
            raise UserError(f"no sparse-model checkpoints in {folder}; run `python -m sketchface train-sparse`")
        meta = json.loads(meta_path.read_text())
        if isinstance(database, FaceDatabase):
            db = database
        elif database is not None:
            db = FaceDatabase.load(database)
        else:
            if face_model is None:
                from sketchface.facemodel import load_face_model
                face_model = load_face_model()
            db = build_database(face_model, DatabaseConfig.from_dict(meta["database"]))
        cfg = config or SparseConfig(k=int(meta.get("k", 10)))
        asm_p = ActiveShapeModel.load(folder / "asm_photo.npz")
        asm_s = ActiveShapeModel.load(folder / "asm_sketch.npz") if (folder / "asm_sketch.npz").is_file() else None
        cnn, gallery = None, None
        if (folder / "cnn" / "config.json").is_file():
            cnn = load_cnn(folder / "cnn")
            gallery = load_file(str(folder / "gallery.safetensors"))["features"].astype(np.float32)
            if len(gallery) != db.config.n_train:
                raise UserError(f"the gallery in {folder} has {len(gallery)} faces but the database "
                                f"{db.config.n_train}; retrain with `python -m sketchface train-sparse`")
        return cls(db, asm_p, asm_s, cnn, gallery, cfg, _bundle_prior(folder.parent, face_model))

    # ------------------------------------------------------------------------------------------- stages
    @property
    def points(self) -> str:
        """Which feature points ``locate`` answers: "facefit" or "asm"."""
        if self.config.points not in ("auto", "facefit", "asm"):
            raise UserError(f"points must be auto, facefit or asm, not {self.config.points!r}")
        if self.config.points == "facefit" and self.prior is None:
            raise UserError("the learned feature points need the bundle's facefit network and the face model; "
                            "use points='asm' or fetch the shipped checkpoints")
        return "asm" if self.config.points == "asm" or self.prior is None else "facefit"

    def locate(self, image: np.ndarray, kind: str, points: str | None = None) -> tuple[Detection, np.ndarray]:
        """The face's detection and its 68 feature points (px); ``points``: "facefit" or "asm" (default: the
        configured ones)."""
        det = detect_or_raise(image, kind)
        if (points or self.points) == "facefit":
            return det, self.prior.feature_points(image, kind)
        asm = self.asm["photo" if kind == "photo" else "sketch"]
        return det, asm.search(image, det)

    def retrieve(self, image: np.ndarray, landmarks: np.ndarray, kind: str = "photo",
                 method: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Database ids (k,) of the most similar faces and their similarities."""
        from sketchface.sparse.recognition import align_crop, cnn_embed, cosine_top_k

        method = method or self.config.retrieval
        if method == "auto":
            method = "cnn" if (kind == "photo" and self.cnn is not None) else "landmarks"
        k = min(self.config.k, len(self.ids))
        if method == "cnn":
            if self.cnn is None:
                raise UserError("no recognition CNN is loaded; train it with `python -m sketchface train-sparse`")
            crop = align_crop(image, landmarks, np.asarray(self.cnn.config.template, np.float32),
                              self.cnn.config.image_size)
            f = cnn_embed(self.cnn, crop[None])[0]
            idx, sim = cosine_top_k(f, self.gallery, k)
        elif method == "landmarks":
            d = np.linalg.norm(self.descriptors - landmark_descriptor(landmarks), axis=1)
            idx = np.argsort(d)[:k]
            sim = 1.0 / (1.0 + d[idx])
        elif method == "random":
            idx = np.random.default_rng(int(abs(landmarks).sum() * 1000) % 2**32).choice(len(self.ids), k, replace=False)
            sim = np.zeros(k)
        else:
            raise ValueError(f"unknown retrieval method {method!r}")
        return self.ids[idx], np.asarray(sim, np.float32)

    def reconstruct(self, landmarks: np.ndarray, ids: np.ndarray, deform: bool = True):
        """Statistical face of ``ids``, the input's 3-D feature points, and the TPS-deformed face."""
        stat = statistical_face(self.db.vertices, ids)
        src = stat[self.db.landmarks68]
        fit = estimate_feature_points(landmarks, src, self.stats, noise_cm=self.config.noise_cm,
                                      keep_observed_xy=self.config.keep_observed_xy)
        verts = tps_deform(src, fit.points3d, stat) if deform else stat
        return stat, fit, verts

    # ------------------------------------------------------------------------------------------- all
    def __call__(self, image, kind: str = "auto", retrieval: str | None = None) -> SparseResult:
        from sketchface.framing import guess_kind, load_image
        from sketchface.sparse.texture import close_inner_holes, donor_colors, texture_mesh

        t = {}
        t0 = time.perf_counter()
        rgb = load_image(image)
        if kind == "auto":
            kind = guess_kind(rgb)
        if kind not in ("photo", "sketch", "lines"):
            raise UserError(f"kind must be photo, sketch, lines or auto, not {kind!r}")
        det, lm = self.locate(rgb, kind)
        t["detect+points"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        ids, sim = self.retrieve(rgb, lm, kind, retrieval)
        t["retrieval"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        stat, fit, verts = self.reconstruct(lm, ids)
        t["sparse+tps"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        tris = self.db.triangles
        if self.config.texture and kind == "photo":
            skin = self._skin_tone(rgb, lm)
            colors, seen = texture_mesh(verts, tris, rgb, fit.rotation, fit.scale, fit.translation,
                                        donor=donor_colors(verts, tris, skin))
        else:
            colors, seen = donor_colors(verts, tris, (0.8, 0.8, 0.8)), np.zeros(len(verts), bool)
        verts, tris, colors, seen = close_inner_holes(verts, tris, colors, seen)   # eyes, not holes
        t["texture"] = time.perf_counter() - t1
        t["total"] = time.perf_counter() - t0
        return SparseResult(kind, rgb, det.box, det.method, lm, ids, sim, stat, fit.points3d, verts, tris,
                            colors, seen, fit, t, self.db)

    @staticmethod
    def _skin_tone(rgb: np.ndarray, lm: np.ndarray) -> tuple:
        """Median colour of the cheeks (between eye, nose and jaw feature points)."""
        pts = [(lm[2] + lm[31] + lm[36]) / 3, (lm[14] + lm[35] + lm[45]) / 3]
        r = max(2, int(0.08 * np.linalg.norm(lm[45] - lm[36])))
        vals = []
        for x, y in pts:
            x, y = int(round(x)), int(round(y))
            patch = rgb[max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1].reshape(-1, 3)
            if len(patch):
                vals.append(patch)
        return tuple(np.median(np.concatenate(vals), 0).tolist()) if vals else (0.78, 0.6, 0.5)


# ----------------------------------------------------------------------------------------------- CLI

def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconstruct-sparse", help="photo or sketch -> textured 3-D face with the sparse face model",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="image file")
    p.add_argument("--out", required=True, help="output folder: face.glb, face_landmarks.png, face.json")
    p.add_argument("--kind", default="auto", choices=["auto", "photo", "sketch", "lines"])
    p.add_argument("--checkpoints", default=None, help="folder of the sparse checkpoints (default: checkpoints/sparse)")
    p.add_argument("--db", default=None, help="database .npz (default: rebuilt from the face model)")
    p.add_argument("--k", type=int, default=None, help="similar faces to average")
    p.add_argument("--points", default="auto", choices=["auto", "facefit", "asm"],
                   help="feature points: learned (facefit; the default when the bundle has it) or the paper's ASM")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from PIL import Image

    sf = SparseFace.from_checkpoints(args.checkpoints, database=args.db)
    if args.k:
        sf.config.k = args.k
    sf.config.points = args.points
    r = sf(args.image, kind=args.kind)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    r.save_glb(out / "face.glb")
    Image.fromarray(r.draw()).save(out / "face_landmarks.png")
    (out / "face.json").write_text(json.dumps({
        "kind": r.kind, "box": [round(v, 1) for v in r.box], "detection": r.detection_method, "points": sf.points,
        "landmarks": np.round(r.landmarks, 2).tolist(), "retrieved_ids": r.retrieved_ids.tolist(),
        "similarities": np.round(r.similarities, 4).tolist(), "timings_s": {k: round(v, 4) for k, v in r.timings.items()},
    }, indent=1))
    print(f"{args.image}: {r.kind}, face box {tuple(round(v) for v in r.box)} ({r.detection_method}), "
          f"{sf.points} points, similar faces {r.retrieved_ids.tolist()} -> {out / 'face.glb'}")
    return 0
