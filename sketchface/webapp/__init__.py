"""The Gradio app: sketch pad, λ slider, Plotly 3-D surface, line editing, λ sweep, downloads, and the photo → 3-D
path of the sparse face model.

``build_demo()`` makes the gr.Blocks; the top-level ``app.py`` launches it. The functions behind the interface
live in ``handlers`` (callable without a browser) and ``sparse_tab`` (the sparse face model), the figures in
``figures``, model loading in ``models``. docs/APP.md describes the controls and the API.
"""
from sketchface.webapp.models import ModelBank
from sketchface.webapp.sparse_tab import SparseLogic
from sketchface.webapp.ui import LAUNCH_KWARGS, QUEUE_KWARGS, build_demo

__all__ = ["LAUNCH_KWARGS", "QUEUE_KWARGS", "ModelBank", "SparseLogic", "build_demo"]
