"""SketchFace: face sketch -> 3-D face (depth map and mesh).

Data flows one way: image -> lines -> coarse depth -> fine depth -> mesh.

Tensor conventions used throughout the package (see docs/CONVENTIONS.md):
images, sketches, lines and depth maps are float32 in [0, 1], channel-first in torch
(N, C, H, W) and channel-last in numpy (H, W[, C]). Lines are black (0) on white (1).
Depth is 1 near the viewer and 0 at the far background.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # imported on first use so that `python -m sketchface --help` does not load torch
    if name in ("SketchFace", "Reconstruction"):
        from sketchface import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f"module 'sketchface' has no attribute {name!r}")


__all__ = ["SketchFace", "Reconstruction", "__version__"]
