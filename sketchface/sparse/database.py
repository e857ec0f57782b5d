"""The 3-D face database (the BJUT-3D role): N identities of the face model, aligned by feature points.

BJUT-3D scans are brought into dense correspondence by resampling every scan onto a common grid; the face
model's meshes already share one vertex grid (the face-area vertices of its topology), so each database face
is ``neutral + w @ identity_deltas`` on that grid. Each "scan" is taken in a slightly different pose
(``scan_jitter_*``) and then aligned rigidly by its 68 feature points onto the reference (the model's
neutral face), as the paper's preprocessing does. Frontal projections (photos) are rendered for recognition.

Identities are numbered 0..N-1 and are a pure function of (``world_seed``, id); ids [0, n_train) form the
database that recognition searches (the paper's 200 training faces) and [n_train, n_train + n_test) the
test faces whose ground truth meshes the evaluation compares against.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from sketchface.errors import UserError
from sketchface.facemodel import FaceModel
from sketchface.render import Camera, render_face, rotation_matrix
from sketchface.synth import photo as P
from sketchface.synth.sample import identity_weights


@dataclass
class DatabaseConfig:
    n_identities: int = 500        # faces in the database file
    n_train: int = 200             # ids [0, n_train): the searchable database (paper: 200)
    n_test: int = 200              # ids [n_train, n_train + n_test): test faces (paper: 200)
    world_seed: int = 4004         # identities are a pure function of (world_seed, id)
    identity_std: float = 1.0      # w ~ N(0, std^2 I)
    scan_jitter_deg: float = 3.0   # pose of each raw "scan" before alignment (degrees, each axis)
    scan_jitter_cm: float = 0.5    # translation of each raw scan (cm, each axis)
    image_size: int = 112          # frontal projections stored with the database

    def __post_init__(self):
        if self.n_train + self.n_test > self.n_identities:
            raise UserError(f"n_train + n_test ({self.n_train + self.n_test}) exceeds n_identities "
                            f"({self.n_identities}); build a larger database")

    @classmethod
    def from_dict(cls, d: dict) -> "DatabaseConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise UserError(f"unknown database config keys: {', '.join(sorted(unknown))}")
        return cls(**d)


def rigid_align(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R and translation t minimising ||R src + t - dst|| (Kabsch, no scale). src, dst: (n, 3)."""
    ms, md = src.mean(0), dst.mean(0)
    h = (src - ms).T @ (dst - md)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return r.astype(np.float32), (md - r @ ms).astype(np.float32)


def similarity_align(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """src (n, d) mapped onto dst by the least-squares similarity (Umeyama); returns the mapped src."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, s, vt = np.linalg.svd(a.T @ b)
    d = np.ones(src.shape[1])
    d[-1] = np.sign(np.linalg.det(u @ vt))
    r = u @ np.diag(d) @ vt
    scale = (s * d).sum() / max((a ** 2).sum(), 1e-12)
    return a @ r * scale + md


@dataclass
class FaceDatabase:
    config: DatabaseConfig
    vertices: np.ndarray      # (N, V, 3) float32, aligned, cm (face-area vertices)
    triangles: np.ndarray     # (T, 3) int32 face-area triangles
    landmarks68: np.ndarray   # (68,) vertex index of each feature point
    weights: np.ndarray       # (N, K) identity weights
    images: np.ndarray | None = None   # (N, S, S, 3) uint8 frontal projections (optional)

    @property
    def train_ids(self) -> np.ndarray:
        return np.arange(self.config.n_train)

    @property
    def test_ids(self) -> np.ndarray:
        return np.arange(self.config.n_train, self.config.n_train + self.config.n_test)

    def feature_points(self, ids=None) -> np.ndarray:
        """(n, 68, 3) 3-D feature points (the sparse face models) of the given ids (default: all)."""
        v = self.vertices if ids is None else self.vertices[np.asarray(ids)]
        return v[:, self.landmarks68]

    def mean_face(self, ids=None) -> np.ndarray:
        v = self.vertices if ids is None else self.vertices[np.asarray(ids)]
        return v.mean(0)

    def projection(self, i: int, size: int | None = None) -> np.ndarray:
        """Frontal projection photo (S, S, 3) uint8 of identity i (stored or rendered)."""
        size = size or self.config.image_size
        if self.images is not None and self.images.shape[1] == size:
            return self.images[i]
        return frontal_projection(self.vertices[i], self.triangles, self.landmarks68, size,
                                  np.random.default_rng([self.config.world_seed, 31, int(i)]))[0]

    # ------------------------------------------------------------------------------------------- files
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(vertices=self.vertices.astype(np.float32), triangles=self.triangles.astype(np.int32),
                      landmarks68=self.landmarks68.astype(np.int32), weights=self.weights.astype(np.float32),
                      config=np.array(json.dumps(asdict(self.config))))
        if self.images is not None:
            arrays["images"] = self.images
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "FaceDatabase":
        path = Path(path)
        if not path.is_file():
            raise UserError(f"no face database at {path}; build it with `python -m sketchface build-sparse-db`")
        with np.load(path, allow_pickle=False) as d:
            return cls(DatabaseConfig.from_dict(json.loads(str(d["config"]))), d["vertices"], d["triangles"],
                       d["landmarks68"].astype(np.int64), d["weights"],
                       d["images"] if "images" in d else None)


def build_database(fm: FaceModel, config: DatabaseConfig | None = None, images: bool = False,
                   progress: bool = False) -> FaceDatabase:
    """All identities, aligned by feature points onto the model's neutral face; frontal projections if asked."""
    cfg = config or DatabaseConfig()
    nv = int(fm.face_vertex_count)
    tris = fm.face_triangles
    lm = fm.landmarks68.astype(np.int64)
    ref = fm.neutral[:nv][lm]
    deltas = fm.identity_deltas[:, :nv].reshape(fm.n_identity, -1)         # (K, V*3)
    w = np.stack([identity_weights(i, fm.n_identity, cfg.identity_std, cfg.world_seed)
                  for i in range(cfg.n_identities)])                          # (N, K)
    verts = (fm.neutral[:nv].reshape(1, -1) + w @ deltas).reshape(cfg.n_identities, nv, 3).astype(np.float32)
    for i in range(cfg.n_identities):
        rng = np.random.default_rng([cfg.world_seed, 17, i])
        r = rotation_matrix(*rng.uniform(-cfg.scan_jitter_deg, cfg.scan_jitter_deg, 3))
        scan = verts[i] @ r.T + rng.uniform(-cfg.scan_jitter_cm, cfg.scan_jitter_cm, 3).astype(np.float32)
        ra, ta = rigid_align(scan[lm], ref)                                  # alignment by feature points
        verts[i] = scan @ ra.T + ta
    # wind the triangles so that the face looks toward +Z (normals out of the face)
    v0 = verts.mean(0)
    fn = np.cross(v0[tris[:, 1]] - v0[tris[:, 0]], v0[tris[:, 2]] - v0[tris[:, 0]])
    if fn[:, 2].sum() < 0:
        tris = tris[:, [0, 2, 1]]
    db = FaceDatabase(cfg, verts, tris.astype(np.int32), lm, w.astype(np.float32))
    if images:
        from tqdm import tqdm
        imgs = np.zeros((cfg.n_identities, cfg.image_size, cfg.image_size, 3), np.uint8)
        for i in tqdm(range(cfg.n_identities), desc="frontal projections", disable=not progress):
            imgs[i] = db.projection(i)
        db.images = imgs
    return db


# ----------------------------------------------------------------------------------------------- rendering

def frontal_projection(vertices, triangles, lm_idx, size, rng, camera: Camera | None = None,
                       light: str = "random"):
    """A synthetic photo of a database face: (uint8 RGB, FaceRender). ``light="front"`` uses a fixed light."""
    r = render_face(vertices, triangles, lm_idx, size, camera or Camera())
    alb = P.albedo(r.landmarks, r.mask, r.holes, rng)
    if light == "front":
        lv = np.array([0.2, 0.3, 0.93], np.float32)
        shading = 0.3 + 0.7 * np.clip(r.normals @ (lv / np.linalg.norm(lv)), 0, 1)
        img = alb * shading[..., None]
        soft = (r.mask.astype(np.float32))[..., None]
        img = img * soft + 0.85 * (1 - soft)
    else:
        img = P.shade(alb, r.normals, r.mask, rng)[0]
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), r


@dataclass
class ViewConfig:
    """How the recognition / landmark training renders vary (pose, light, expression)."""
    max_yaw: float = 15.0
    max_pitch: float = 10.0
    max_roll: float = 6.0
    scale_jitter: float = 0.08
    offset_jitter: float = 0.04
    expression_prob: float = 0.4
    expression_max_weight: float = 0.4


def random_view(fm: FaceModel, db: FaceDatabase, i: int, size: int, rng: np.random.Generator,
                view: ViewConfig | None = None, kind: str = "photo"):
    """One render of database identity i under a random pose, light and expression.
    Returns (image uint8 (S,S,3), landmarks (68,2) px). ``kind`` "sketch" draws a pencil sketch or line drawing."""
    vc = view or ViewConfig()
    nv = db.vertices.shape[1]
    v = db.vertices[i].copy()
    if rng.random() < vc.expression_prob:
        e = np.zeros(fm.n_expression, np.float32)
        idx = rng.choice(fm.n_expression, size=int(rng.integers(1, 3)), replace=False)
        e[idx] = rng.uniform(0.1, vc.expression_max_weight, len(idx))
        v = v + np.tensordot(e, fm.expression_deltas[:, :nv], axes=1)
    cam = Camera(yaw=float(rng.uniform(-vc.max_yaw, vc.max_yaw)), pitch=float(rng.uniform(-vc.max_pitch, vc.max_pitch)),
                 roll=float(rng.uniform(-vc.max_roll, vc.max_roll)),
                 scale=float(rng.uniform(1 - vc.scale_jitter, 1 + vc.scale_jitter)),
                 offset=(float(rng.uniform(-vc.offset_jitter, vc.offset_jitter)),
                         float(rng.uniform(-vc.offset_jitter, vc.offset_jitter))))
    img, r = frontal_projection(v, db.triangles, db.landmarks68, size, rng, cam)
    if kind == "sketch":
        img = render_sketch(img, r, rng)
    return img, r.landmarks.astype(np.float32)


def render_sketch(img: np.ndarray, r, rng: np.random.Generator) -> np.ndarray:
    """A pencil sketch or a clean line drawing of a render (uint8 RGB, grey)."""
    from sketchface.synth import sketch as S

    if rng.random() < 0.5:
        photo = img.astype(np.float32) / 255
        shading = np.clip(r.normals @ np.float32([0.2, 0.3, 0.93]), 0, 1) * r.mask
        g = S.pencil(photo, shading, r.mask, rng)[0]
    else:
        g = S.line_drawing(r.landmarks, r.mask, None, rng)
    g8 = (np.clip(g, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.repeat(g8[..., None], 3, -1)


# ----------------------------------------------------------------------------------------------- CLI

DEFAULT_DB = Path("runs/sparse/database.npz")


def load_or_build(path: str | Path | None, fm: FaceModel | None = None, config: DatabaseConfig | None = None,
                  ) -> FaceDatabase:
    """The database file at ``path`` if it exists, else built from the face model (a pure function)."""
    if path is not None and Path(path).is_file():
        return FaceDatabase.load(path)
    if fm is None:
        from sketchface.facemodel import load_face_model
        fm = load_face_model()
    return build_database(fm, config)


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build-sparse-db", help="build the 3-D face database of the sparse-model pipeline",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(DEFAULT_DB), help="output .npz (default: %(default)s)")
    p.add_argument("--identities", type=int, default=500, help="faces in the database (default: %(default)s)")
    p.add_argument("--train", type=int, default=200, help="searchable database faces (default: %(default)s)")
    p.add_argument("--test", type=int, default=200, help="test faces (default: %(default)s)")
    p.add_argument("--size", type=int, default=112, help="frontal projection size in px (default: %(default)s)")
    p.add_argument("--seed", type=int, default=4004, help="world seed of the identities (default: %(default)s)")
    p.add_argument("--face-model", default=None, help="face model file or folder (default: $SKETCHFACE_FACE_MODEL)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from sketchface.facemodel import load_face_model

    cfg = DatabaseConfig(n_identities=args.identities, n_train=args.train, n_test=args.test,
                         world_seed=args.seed, image_size=args.size)
    db = build_database(load_face_model(args.face_model), cfg, images=True, progress=True)
    path = db.save(args.out)
    print(f"wrote {path}: {cfg.n_identities} faces x {db.vertices.shape[1]} vertices, "
          f"train ids 0..{cfg.n_train - 1}, test ids {cfg.n_train}..{cfg.n_train + cfg.n_test - 1}")
    return 0
