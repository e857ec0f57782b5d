"""One synthetic sample set: a posed face (identity, expression, camera) and K fine-detail variants, each
with a photo, every sketch style, XDoG lines, depth, normals, mask and landmarks."""
from __future__ import annotations

from dataclasses import dataclass, field, asdict

import numpy as np

from sketchface.facemodel import FaceModel
from sketchface.render import Camera, FaceRender, nearest_inside, normals_from_depth, render_face
from sketchface.synth import photo as P
from sketchface.synth import sketch as S
from sketchface.synth.details import sample_details
from sketchface.xdog import xdog


@dataclass
class WorldConfig:
    """How faces vary in the synthetic world."""
    size: int = 256                 # output resolution (square)
    variants: int = 4               # fine-detail variants per base face (the FineData idea)
    identity_std: float = 1.0       # w ~ N(0, identity_std^2 I) over the 100 identity modes
    expressions_max: int = 3        # at most this many of the 53 expression shapes are active
    expression_max_weight: float = 0.6
    neutral_prob: float = 0.3       # probability of a neutral expression
    open_mouth_prob: float = 0.0    # probability that the jaw is also opened (jawOpen ~ U(0.1, 0.7)): real faces
                                    # smile with their teeth showing far more often than 3 random shapes of 53 open it
    smile_prob: float = 0.0         # probability of an added symmetric smile (both mouthSmile shapes, U(0.2, 0.8))
    max_yaw: float = 15.0           # degrees
    max_pitch: float = 10.0
    max_roll: float = 8.0
    scale_jitter: float = 0.08      # scale ~ U(1 - j, 1 + j)
    offset_jitter: float = 0.03     # fraction of the frame
    detail_amount: float = 1.0      # scales how many wrinkles/scars/moles appear
    augment_prob: float = 0.7       # probability that a sketch gets hair/neck/scan augmentation


@dataclass
class FaceParams:
    identity: np.ndarray      # (100,)
    expression: np.ndarray    # (53,)
    camera: Camera = field(default_factory=Camera)

    def as_dict(self) -> dict:
        return {"identity": self.identity.round(4).tolist(), "expression": self.expression.round(4).tolist(),
                "camera": asdict(self.camera)}


def identity_weights(identity_id: int, n_modes: int, std: float, world_seed: int) -> np.ndarray:
    """The identity weight vector of a numbered identity: a pure function of (world_seed, identity_id), so an
    identity means the same face wherever it appears (needed for an honest train/test split)."""
    rng = np.random.default_rng([world_seed, 7919, identity_id])
    return (rng.standard_normal(n_modes) * std).astype(np.float32)


def sample_params(fm: FaceModel, identity: np.ndarray, rng: np.random.Generator, cfg: WorldConfig) -> FaceParams:
    e = np.zeros(fm.n_expression, np.float32)
    if rng.random() > cfg.neutral_prob:
        k = rng.integers(1, cfg.expressions_max + 1)
        idx = rng.choice(fm.n_expression, size=k, replace=False)
        e[idx] = rng.uniform(0.1, cfg.expression_max_weight, k)
    _mouth(fm, e, rng, cfg)
    cam = Camera(yaw=float(rng.uniform(-cfg.max_yaw, cfg.max_yaw)),
                 pitch=float(rng.uniform(-cfg.max_pitch, cfg.max_pitch)),
                 roll=float(rng.uniform(-cfg.max_roll, cfg.max_roll)),
                 scale=float(rng.uniform(1 - cfg.scale_jitter, 1 + cfg.scale_jitter)),
                 offset=(float(rng.uniform(-cfg.offset_jitter, cfg.offset_jitter)),
                         float(rng.uniform(-cfg.offset_jitter, cfg.offset_jitter))))
    return FaceParams(identity, e, cam)


def _mouth(fm: FaceModel, e: np.ndarray, rng: np.random.Generator, cfg: WorldConfig) -> None:
    """Open the jaw and add a symmetric smile with the world's chances (in place). Draws nothing from ``rng`` when
    both chances are 0, so worlds made before these options existed come out the same."""
    names = list(fm.expression_names)
    if cfg.open_mouth_prob > 0 and "jawOpen" in names and rng.random() < cfg.open_mouth_prob:
        e[names.index("jawOpen")] = rng.uniform(0.1, 0.7)
    if cfg.smile_prob > 0 and rng.random() < cfg.smile_prob:
        w = rng.uniform(0.2, 0.8)
        for name in ("mouthSmile_L", "mouthSmile_R"):
            if name in names:
                e[names.index(name)] = w


def render_base(fm: FaceModel, params: FaceParams, size: int) -> FaceRender:
    v = fm.vertices(params.identity, params.expression)
    return render_face(v, fm.face_triangles, fm.landmarks68, size, params.camera)


def make_variants(base: FaceRender, params: FaceParams, rng: np.random.Generator, cfg: WorldConfig) -> list[dict]:
    """K detail variants of one base face, each a sample dict (see docs/CONVENTIONS.md)."""
    size = base.depth.shape[0]
    lm = base.landmarks
    out = []
    alb = P.albedo(lm, base.mask, base.holes, rng)
    nearest = nearest_inside(base.mask)
    for k in range(cfg.variants):
        layer = sample_details(lm, rng, cfg.detail_amount) if k > 0 or cfg.variants == 1 else sample_details(lm, rng, 0.0)
        disp = layer.displacement(size, params.camera.scale) * (base.mask & ~base.holes)
        depth = np.clip(base.depth + disp, 0, 1) * base.mask
        normals = normals_from_depth(depth, base.mask, params.camera.depth_per_pixel(size), nearest)
        photo, shading, light = P.shade(alb, normals, base.mask, rng)
        pencil, plain = S.pencil(photo, shading, base.mask, rng)
        drawing = S.line_drawing(lm, base.mask, layer, rng)
        lines = xdog(plain)
        aug = rng.random() < cfg.augment_prob
        out.append({
            "photo": (photo * 255 + 0.5).astype(np.uint8),
            "sketch_pencil": _u8(S.augment_sketch(pencil, lm, base.mask, rng) if aug else pencil),
            "sketch_lines": _u8(S.augment_sketch(drawing, lm, base.mask, rng) if aug else drawing),
            "lines": _u8(lines),
            "depth": depth.astype(np.float32),
            "depth_coarse_gt": base.depth.astype(np.float32),
            "normals": normals,
            "mask": base.mask.copy(),
            "landmarks": lm.astype(np.float32),
            "shading": _u8(shading),
            "params": {**params.as_dict(), **light, "variant": k,
                       "details": [{"kind": d.kind, "depth_cm": round(d.depth_cm, 4), "width_cm": round(d.width_cm, 4)}
                                   for d in layer.details]},
        })
    return out


def _u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
