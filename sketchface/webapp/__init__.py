"""The Gradio app: sketch pad, λ slider, Plotly 3-D surface, line editing, λ sweep, downloads.

``build_demo()`` makes the gr.Blocks; the top-level ``app.py`` launches it. The functions behind the interface
live in ``handlers`` (callable without a browser), the figures in ``figures``, model loading in ``models``.
"""
from sketchface.webapp.models import ModelBank
from sketchface.webapp.ui import LAUNCH_KWARGS, QUEUE_KWARGS, build_demo

__all__ = ["LAUNCH_KWARGS", "QUEUE_KWARGS", "ModelBank", "build_demo"]
