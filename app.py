"""SketchFace web app: draw or upload a face sketch and get a 3-D face.

    python app.py                       # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT to change)

Checkpoints come from $SKETCHFACE_CHECKPOINTS, else the checkpoints/ folder; CUDA is used when present. On a
Hugging Face Space (or with SKETCHFACE_FETCH_FACE_MODEL=1) the ICT face model is fetched once at start-up when it
is missing: the face-model prior and the photo tab need it; without it the app runs the CoarseNets alone.
"""
import os
import threading

from sketchface.webapp import (LAUNCH_KWARGS, QUEUE_KWARGS, ModelBank, build_demo, fetch_face_model_if_missing,
                               limit_malloc_arenas)

limit_malloc_arenas()          # steady memory under many users (docs/APP.md)
if os.environ.get("SPACE_ID") or os.environ.get("SKETCHFACE_FETCH_FACE_MODEL") == "1":
    fetch_face_model_if_missing()
bank = ModelBank.load()
demo = build_demo(bank)
demo.queue(**QUEUE_KWARGS)

if __name__ == "__main__":
    # the ONNX graphs are exported while the page loads, not during the first visitor's request
    threading.Thread(target=bank.warm_up, name="warm-up", daemon=True).start()
    demo.launch(**LAUNCH_KWARGS)
