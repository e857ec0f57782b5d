"""The Gradio app: sketch pad, λ slider, Plotly 3-D surface, line editing, λ sweep, downloads, and the photo → 3-D
path of the sparse face model.

``build_demo()`` makes the gr.Blocks; the top-level ``app.py`` launches it. The functions behind the interface
live in ``handlers`` (callable without a browser) and ``sparse_tab`` (the sparse face model), the figures in
``figures``, model loading in ``models``. docs/APP.md describes the controls and the API.
"""
import ctypes
import os
import sys

from sketchface.webapp.models import ModelBank
from sketchface.webapp.sparse_tab import SparseLogic
from sketchface.webapp.ui import LAUNCH_KWARGS, QUEUE_KWARGS, build_demo

__all__ = ["LAUNCH_KWARGS", "QUEUE_KWARGS", "ModelBank", "SparseLogic", "build_demo", "fetch_face_model_if_missing",
           "limit_malloc_arenas"]

M_ARENA_MAX = -8    # glibc mallopt parameter


def limit_malloc_arenas(n: int = 2) -> bool:
    """Cap glibc's malloc arenas, as MALLOC_ARENA_MAX=n does (an explicit MALLOC_ARENA_MAX wins).

    glibc gives each thread of the server its own arena; with gradio's worker threads the freed memory stays
    fragmented across them and the resident memory creeps up under load. Measured with scripts/load_app.py (20
    users, shipped checkpoints, one core): +25.7 % from 50 to 1,500 requests by default, +6.7 % from 50 to
    1,000 with 2 arenas, at the same latency. Returns whether the cap was set."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, int(n)))
    except (OSError, AttributeError):        # not glibc (e.g. musl): nothing to do
        return False


def fetch_face_model_if_missing() -> bool:
    """Fetch the ICT face model into the user cache when none is found; never raises (the app then runs without
    the face-model prior). Returns whether a face model is there afterwards."""
    import logging

    from sketchface.facemodel import FaceModelNotFound, find_face_model

    try:
        find_face_model()
        return True
    except FaceModelNotFound:
        pass
    try:
        from sketchface.fetch import fetch_face_model
        fetch_face_model(progress=False)
        return True
    except Exception as exc:     # offline, rate-limited ...: the app still starts
        logging.getLogger(__name__).warning("the face model could not be fetched (%s); the app runs without the "
                                            "face-model prior", str(exc).splitlines()[0] if str(exc) else exc)
        return False
