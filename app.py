"""SketchFace web app: draw or upload a face sketch and get a 3-D face.

    python app.py                       # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT to change)

Checkpoints come from $SKETCHFACE_CHECKPOINTS, else the checkpoints/ folder; CUDA is used when present.
"""
from sketchface.webapp import LAUNCH_KWARGS, QUEUE_KWARGS, build_demo, limit_malloc_arenas

limit_malloc_arenas()          # steady memory under many users (docs/APP.md)
demo = build_demo()
demo.queue(**QUEUE_KWARGS)

if __name__ == "__main__":
    demo.launch(**LAUNCH_KWARGS)
