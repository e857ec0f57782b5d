"""ICT Face Model Light: a linear morphable face model built from light-stage scans.

The compact file (``ict_face_light.npz``) is found, in order, at
1. an explicit path argument,
2. the ``SKETCHFACE_FACE_MODEL`` environment variable (a file, or a folder holding the file),
3. the user cache (``$SKETCHFACE_CACHE`` or ``$XDG_CACHE_HOME/sketchface`` or ``~/.cache/sketchface``),
where ``python -m sketchface fetch-face-model`` writes it.

A face: ``v = neutral + w @ identity_deltas + e @ expression_deltas`` with ``w ~ N(0, I)`` (100 weights)
and expression weights ``e`` in [0, 1]. Units are cm; x right, y up, z toward the viewer.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sketchface.errors import UserError

FILENAME = "ict_face_light.npz"
ENV_VAR = "SKETCHFACE_FACE_MODEL"
REQUIRED_KEYS = (
    "neutral", "triangles", "identity_deltas", "expression_deltas", "expression_names",
    "landmarks68", "face_vertex_count",
)


class FaceModelNotFound(UserError, FileNotFoundError):
    """No face model file could be found."""


def cache_dir() -> Path:
    """The user cache folder of the package (not created here)."""
    if os.environ.get("SKETCHFACE_CACHE"):
        return Path(os.environ["SKETCHFACE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "sketchface"


def find_face_model(path: str | os.PathLike | None = None) -> Path:
    """Resolve the face model file: explicit path, then $SKETCHFACE_FACE_MODEL, then the user cache."""
    candidates: list[tuple[str, Path]] = []
    if path is not None:
        candidates.append(("the given path", Path(path)))
    elif os.environ.get(ENV_VAR):
        candidates.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    else:
        candidates.append(("the user cache", cache_dir() / FILENAME))
    source, p = candidates[0]
    p = p.expanduser()
    if p.is_dir():
        p = p / FILENAME
    if p.is_file():
        return p
    raise FaceModelNotFound(
        f"No face model at {p} ({source}); run `python -m sketchface fetch-face-model` to download it, "
        f"or set {ENV_VAR} to the folder holding {FILENAME}."
    )


@dataclass(frozen=True)
class FaceModel:
    neutral: np.ndarray            # (V, 3) float32
    triangles: np.ndarray          # (T, 3) int32
    identity_deltas: np.ndarray    # (100, V, 3) float32
    expression_deltas: np.ndarray  # (53, V, 3) float32
    expression_names: tuple[str, ...]
    landmarks68: np.ndarray        # (68,) int32 vertex indices
    face_vertex_count: int
    path: Path | None = None
    narrow_face_vertex_count: int | None = None   # vertices [0, n) are the face without ears and forehead edge

    @property
    def n_identity(self) -> int:
        return self.identity_deltas.shape[0]

    @property
    def n_expression(self) -> int:
        return self.expression_deltas.shape[0]

    @property
    def face_triangles(self) -> np.ndarray:
        """Triangles of the face area only (no head and neck)."""
        return self.triangles[(self.triangles < self.face_vertex_count).all(1)]

    @property
    def narrow_count(self) -> int:
        """Vertices [0, n) are the narrow face (no ears, no forehead edge; the face area when the file has none)."""
        return int(self.narrow_face_vertex_count or self.face_vertex_count)

    @property
    def inner_face_triangles(self) -> np.ndarray:
        """Triangles of the narrow face area (``narrow_count``)."""
        return self.triangles[(self.triangles < self.narrow_count).all(1)]

    def vertices(self, identity: np.ndarray | None = None, expression: np.ndarray | None = None) -> np.ndarray:
        """Vertices (V, 3) for identity weights (<=100) and expression weights (<=53)."""
        v = self.neutral.astype(np.float32).copy()
        if identity is not None:
            w = np.asarray(identity, np.float32)
            v += np.tensordot(w, self.identity_deltas[: len(w)], axes=1)
        if expression is not None:
            e = np.asarray(expression, np.float32)
            nz = np.nonzero(e)[0]
            if len(nz):
                v += np.tensordot(e[nz], self.expression_deltas[nz], axes=1)
        return v


def _validate(data, path: Path) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise UserError(f"{path} is not a SketchFace face model file (missing {', '.join(missing)}); "
                        "run `python -m sketchface fetch-face-model` to rebuild it.")


@lru_cache(maxsize=4)
def _load_cached(path: str) -> FaceModel:
    p = Path(path)
    try:
        data = np.load(p, allow_pickle=False)
    except Exception as exc:  # zip errors, truncated files
        raise UserError(f"Cannot read the face model {p} ({exc}); run `python -m sketchface fetch-face-model` "
                        "to download it again.") from exc
    with data:
        _validate(data, p)
        return FaceModel(
            neutral=data["neutral"].astype(np.float32),
            triangles=data["triangles"].astype(np.int32),
            identity_deltas=data["identity_deltas"].astype(np.float32),
            expression_deltas=data["expression_deltas"].astype(np.float32),
            expression_names=tuple(str(s) for s in data["expression_names"]),
            landmarks68=data["landmarks68"].astype(np.int64),
            face_vertex_count=int(data["face_vertex_count"]),
            path=p,
            narrow_face_vertex_count=(int(data["narrow_face_vertex_count"]) if "narrow_face_vertex_count" in data
                                      else None),
        )


def load_face_model(path: str | os.PathLike | None = None) -> FaceModel:
    """Load (and memoise) the face model; see the module docstring for the search order."""
    return _load_cached(str(find_face_model(path).resolve()))


def save_face_model(path: str | os.PathLike, *, neutral, triangles, identity_deltas, expression_deltas,
                    expression_names, landmarks68, face_vertex_count, narrow_face_vertex_count=None,
                    uv=None, triangles_uv=None) -> Path:
    """Write the compact format (float16 deltas), atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    arrays = dict(
        neutral=np.asarray(neutral, np.float32),
        triangles=np.asarray(triangles, np.int32),
        identity_deltas=np.asarray(identity_deltas, np.float16),
        expression_deltas=np.asarray(expression_deltas, np.float16),
        expression_names=np.asarray(expression_names, dtype=str),
        landmarks68=np.asarray(landmarks68, np.int32),
        face_vertex_count=np.int32(face_vertex_count),
    )
    if narrow_face_vertex_count is not None:
        arrays["narrow_face_vertex_count"] = np.int32(narrow_face_vertex_count)
    if uv is not None:
        arrays["uv"] = np.asarray(uv, np.float32)
        arrays["triangles_uv"] = np.asarray(triangles_uv, np.int32)
    tmp = p.with_name(p.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, p)
    return p
