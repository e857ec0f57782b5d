"""Index groups of the 68-point Multi-PIE landmark scheme (0-based)."""
import numpy as np

JAW = list(range(0, 17))
BROW_R = list(range(17, 22))   # image left
BROW_L = list(range(22, 27))
NOSE_BRIDGE = list(range(27, 31))
NOSE_BOTTOM = list(range(31, 36))
EYE_R = list(range(36, 42))
EYE_L = list(range(42, 48))
LIPS_OUTER = list(range(48, 60))
LIPS_INNER = list(range(60, 68))

# (indices, closed) polylines of a clean line drawing
POLYLINES = [
    (JAW, False), (BROW_R, False), (BROW_L, False), (NOSE_BRIDGE, False), (NOSE_BOTTOM, False),
    (EYE_R, True), (EYE_L, True), (LIPS_OUTER, True), (LIPS_INNER, True),
]


def interocular(lm: np.ndarray) -> float:
    """Distance between the outer eye corners (pixels)."""
    return float(np.linalg.norm(lm[45] - lm[36]))
