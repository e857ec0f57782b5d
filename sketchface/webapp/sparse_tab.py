"""The app's third input path: one photo -> 3-D face with the second paper's sparse-face-model pipeline.

``SparseLogic.reconstruct`` runs ``sketchface.sparse.pipeline.SparseFace`` (face box, 68 feature points: those of
the face model FaceFit fits, or the paper's Active Shape Model, the most similar faces of the 3-D database, their statistical face deformed onto the sparse
face model, the photo mapped onto it) and returns what the tab shows: a Plotly mesh, the photo with the
detected box and points, the retrieved database faces, the GLB for the 3-D viewer, the downloads and a summary
line. The model is loaded on first use (a few seconds: the database is rebuilt from the face model) and then
shared by every session. A missing checkpoint, a missing face model or a photo without a detectable face give
one ``gr.Error`` sentence. Callable without a browser.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from sketchface.errors import InputError, UserError
from sketchface.webapp import figures
from sketchface.webapp.handlers import clean_old_exports, error_boundary

log = logging.getLogger(__name__)

KINDS = ("photo", "auto", "sketch", "lines")
ENV_VAR = "SKETCHFACE_SPARSE_CHECKPOINTS"
CHECKOUT_FOLDER = Path(__file__).resolve().parents[2] / "checkpoints" / "sparse"
POINTS_MAX_SIDE = 512                 # the picture with the feature points is shown at most this large
TITLE = "Sparse face model"


def sparse_folder() -> Path:
    """Where the sparse-model checkpoints are: $SKETCHFACE_SPARSE_CHECKPOINTS, else the ``sparse/`` folder of the
    checkpoint bundle ($SKETCHFACE_CHECKPOINTS, then checkpoints/), else checkpoints/sparse of the checkout."""
    from sketchface.sparse.pipeline import default_folder

    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    bundle = default_folder()
    if (bundle / "sparse.json").is_file() or not (CHECKOUT_FOLDER / "sparse.json").is_file():
        return bundle
    return CHECKOUT_FOLDER


# the package's one-sentence errors (NoFaceError, InputError, missing checkpoints or face model) as gr.Error
sparse_errors = error_boundary((UserError,), title=TITLE, retry="Try another photo.", bug_title=TITLE)


def finds_face(path: str | Path, kind: str = "photo") -> bool:
    """Whether the sparse pipeline's detector finds a face in the image file (used to pick the examples)."""
    try:
        from sketchface.framing import load_image
        from sketchface.sparse.detect import detect

        return detect(load_image(path), kind) is not None
    except Exception:
        return False


def points_picture(result) -> np.ndarray:
    """The input with the detected box and the 68 feature points, at most POINTS_MAX_SIDE pixels a side."""
    import cv2

    pic = result.draw()
    side = max(pic.shape[:2])
    if side > POINTS_MAX_SIDE:
        s = POINTS_MAX_SIDE / side
        pic = cv2.resize(pic, (max(1, round(pic.shape[1] * s)), max(1, round(pic.shape[0] * s))),
                         interpolation=cv2.INTER_AREA)
    return pic


class SparseLogic:
    """The sparse tab's handler over a lazily loaded SparseFace.

    ``folder``: the sparse checkpoints (default: ``sparse_folder()``, read at the first use); ``face_model`` and
    ``database``: passed to ``SparseFace.from_checkpoints`` (default: the face model of $SKETCHFACE_FACE_MODEL)."""

    def __init__(self, folder: str | Path | None = None, face_model=None, database=None,
                 export_root: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else None
        self.face_model = face_model
        self.database = database
        self.export_root = Path(export_root) if export_root else Path(tempfile.gettempdir()) / "sketchface_app"
        self._model = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def model(self):
        """The SparseFace, loaded on the first call (a failed load is tried again on the next call)."""
        with self._lock:
            if self._model is None:
                from sketchface.sparse.pipeline import SparseFace

                t = time.perf_counter()
                folder = self.folder if self.folder is not None else sparse_folder()
                self._model = SparseFace.from_checkpoints(folder, database=self.database,
                                                          face_model=self.face_model)
                self.load_seconds = time.perf_counter() - t
                log.info("sparse face model loaded from %s in %.1f s", folder, self.load_seconds)
            return self._model

    @sparse_errors
    def reconstruct(self, photo: Any, kind: str = "photo", progress=gr.Progress()) -> tuple:
        """-> (Plotly mesh, photo with box and feature points, [(database face, caption)], GLB path, [downloads],
        summary line)."""
        if photo is None:
            raise InputError("no photo was uploaded: drop a photo of a face (front view) on the upload box first")
        if kind not in KINDS:
            raise InputError(f"the input kind must be one of {', '.join(KINDS)}, not {kind!r}")
        first = not self.loaded
        if progress is not None:
            progress(0.1, desc="Loading the sparse face model (first use)" if first else "Finding the face")
        sf = self.model()
        if progress is not None:
            progress(0.4, desc="Feature points, similar faces, deformation, texture")
        t = time.perf_counter()
        r = sf(photo, kind=kind)
        run_ms = (time.perf_counter() - t) * 1e3
        if progress is not None:
            progress(0.85, desc="Drawing the face")
        fig = figures.mesh_figure(r.vertices, r.triangles, r.colors)
        similar = [(thumb, f"face {int(i)} · {float(s):.2f}")
                   for thumb, i, s in zip(r.thumbnails, r.retrieved_ids, r.similarities)]
        glb, files = self.export(r)
        parts = [f"**{TITLE}**", f"input: {r.kind}",
                 f"face found by {'the Haar detector' if r.detection_method == 'haar' else 'the ink box'}",
                 "points from the fitted face model" if sf.points == "facefit" else "points by the shape model",
                 f"{len(r.retrieved_ids)} similar faces averaged", f"{len(r.vertices)} vertices",
                 f"run {run_ms:.0f} ms"]
        if first and self.load_seconds is not None:
            parts.append(f"model loaded in {self.load_seconds:.1f} s")
        return fig, points_picture(r), similar, glb, files, " · ".join(parts)

    # ------------------------------------------------------------------------------ downloads
    def export(self, result) -> tuple[str, list[str]]:
        """GLB (vertex colours) for the viewer, and GLB, OBJ and the detected points (JSON) as downloads."""
        clean_old_exports(self.export_root, "sparse_*")
        self.export_root.mkdir(parents=True, exist_ok=True)
        out = Path(tempfile.mkdtemp(prefix="sparse_", dir=self.export_root))
        stem = f"sketchface_sparse_{result.kind}"
        glb = result.save_glb(out / f"{stem}.glb")
        obj = out / f"{stem}.obj"
        result.mesh.export(obj)
        points = out / f"{stem}_points.json"
        points.write_text(json.dumps({
            "kind": result.kind, "box": [round(float(v), 1) for v in result.box],
            "detection": result.detection_method, "landmarks": np.round(result.landmarks, 2).tolist(),
            "retrieved_ids": [int(i) for i in result.retrieved_ids],
            "similarities": [round(float(s), 4) for s in result.similarities]}, indent=1))
        return str(glb), [str(glb), str(obj), str(points)]
