"""Pictures and figures the app shows: Plotly depth surfaces, displacement heat maps, the λ sweep strip.

Everything takes the numpy maps of a Reconstruction (model frame, depth in [0, 1], 1 near the viewer) and returns
a plotly Figure or a uint8 RGB array; nothing here runs a network.
"""
from __future__ import annotations

import cv2
import numpy as np

from sketchface.mesh import shade
from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM

DEPTH_RANGE_CM = DEPTH_NEAR_CM - DEPTH_FAR_CM      # one depth unit in centimetres
SKIN = "rgb(226, 196, 170)"
PLOT_MAX_SIDE = 128                                # surfaces are drawn at most this many samples a side
PICTURE_SIDE = 256                                 # side of the pictures the app shows


# ------------------------------------------------------------------------------------------------ 3-D views
# Every 3-D view is a lit triangle mesh (Plotly Mesh3d): the fitted head when there is one, else the depth map's
# heightfield on the pixels whose depth can be trusted (sketchface.mesh.trusted_mask), so no view shows the
# curtain of spikes a plunging rim makes, and hovering never meets a hole. The camera starts at three-quarter
# view, lit from the side, so the shape reads before anyone drags.

CAMERA_EYE = dict(x=0.95, y=0.18, z=1.25)          # three-quarter view from the face's left
LIGHT = dict(x=-1800, y=1200, z=1400)              # from the upper side opposite the camera: the relief casts shade
LIGHTING = dict(ambient=0.38, diffuse=0.85, specular=0.12, roughness=0.65, fresnel=0.1)


def heightfield(depth: np.ndarray, mask: np.ndarray, relief: float = 1.0, max_side: int = PLOT_MAX_SIDE):
    """The depth map's trusted pixels as a trimesh heightfield (cm, x right, y up, +z toward the viewer), at most
    ``max_side`` vertices a side."""
    from sketchface.mesh import trusted_heightfield

    depth = np.asarray(depth, np.float32)
    step = max(1, int(np.ceil(max(depth.shape) / max_side)))
    return trusted_heightfield(depth[::step, ::step], np.asarray(mask, bool)[::step, ::step], relief=relief)


def _mesh_trace(vertices, triangles, colors=None, scene: str = "scene", name: str = "face") -> dict:
    """One lit Mesh3d trace as a plain dict (``meshes_figure`` builds the figure without plotly's per-property
    validation: 1-2 ms instead of 6-15 ms for a head, the same JSON)."""
    v = np.asarray(vertices, np.float32)
    f = np.asarray(triangles, np.int32)
    if len(v) <= np.iinfo(np.uint16).max:        # half the bytes sent to the browser for every update
        f = f.astype(np.uint16)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or not len(f):
        raise ValueError("a 3-D view needs (V, 3) vertices and (T, 3) triangles")
    kw = dict(color=SKIN)
    if colors is not None:
        rgb = (np.clip(np.asarray(colors, np.float32)[:, :3], 0, 1) * 255 + 0.5).astype(np.uint8)
        kw = dict(vertexcolor=[f"rgb({r},{g},{b})" for r, g, b in rgb])
    return dict(type="mesh3d", x=v[:, 0], y=v[:, 1], z=v[:, 2], i=f[:, 0], j=f[:, 1], k=f[:, 2], name=name,
                scene=scene, flatshading=False, showscale=False, hoverinfo="skip", lighting=dict(LIGHTING),
                lightposition=dict(LIGHT), **kw)


def _scene() -> dict:
    axis = dict(visible=False, showbackground=False, showspikes=False)
    return dict(xaxis=axis, yaxis=axis, zaxis=axis, aspectmode="data", dragmode="orbit",
                camera=dict(eye=dict(CAMERA_EYE), up=dict(x=0, y=1, z=0), center=dict(x=0, y=0, z=0),
                            projection=dict(type="perspective")))


def meshes_figure(panels: list, height: int = 480, uirevision: str = "sketchface"):
    """A Plotly figure with one lit mesh per (title, trimesh or (vertices, triangles[, colours])) panel, side by
    side, equal aspect, three-quarter view (x right, y up, +z toward the viewer)."""
    import plotly.graph_objects as go

    if not panels:
        raise ValueError("a figure needs at least one panel")
    n = len(panels)
    layout = dict(height=height, margin=dict(l=0, r=0, t=28 if n > 1 else 4, b=0), showlegend=False,
                  paper_bgcolor="rgba(0,0,0,0)", uirevision=uirevision)
    traces, annotations = [], []
    for i, (title, mesh) in enumerate(panels):
        scene = "scene" if i == 0 else f"scene{i + 1}"
        if isinstance(mesh, tuple):
            v, f, c = (mesh + (None,))[:3]
        else:
            v, f = mesh.vertices, mesh.faces
            vc = getattr(mesh.visual, "vertex_colors", None)
            c = None if vc is None or len(vc) != len(v) or np.ptp(vc[:, :3], 0).max() == 0 else vc[:, :3] / 255.0
        traces.append(_mesh_trace(v, f, c, scene, title))
        sc = _scene()
        sc["domain"] = dict(x=[i / n, (i + 1) / n], y=[0, 1])
        layout[scene] = sc
        if n > 1:
            annotations.append(dict(text=title, x=(i + 0.5) / n, y=1.0, xref="paper", yref="paper",
                                    showarrow=False, yanchor="bottom", font=dict(size=14)))
    if annotations:
        layout["annotations"] = annotations
    # every key above is a valid Plotly property (tests/test_app.py compares with a validated figure)
    return go.Figure(data=traces, layout=layout, _validate=False)


def empty_figure(message: str = "Draw a face and press Reconstruct", height: int = 480):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=0, b=0), paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="rgba(0,0,0,0)", xaxis=dict(visible=False), yaxis=dict(visible=False),
                      annotations=[dict(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                                        font=dict(size=16, color="#888"))])
    return fig


# ------------------------------------------------------------------------------------------------ pictures

def to_uint8(a: np.ndarray, side: int | None = PICTURE_SIDE, nearest: bool = False) -> np.ndarray:
    """A [0, 1] gray or RGB map -> uint8 RGB, resized to ``side`` (None: keep)."""
    a = np.asarray(a, np.float32)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, -1)
    out = (np.clip(a[..., :3], 0, 1) * 255 + 0.5).astype(np.uint8)
    if side and out.shape[0] != side:
        interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if out.shape[0] > side else cv2.INTER_LINEAR)
        out = cv2.resize(out, (side, side), interpolation=interp)
    return out


def shaded_image(depth: np.ndarray, mask: np.ndarray, relief: float = 1.0, side: int | None = PICTURE_SIDE):
    """The depth map lit from the upper left, as a uint8 RGB picture (white off the face)."""
    base = float(depth[mask].min()) if mask.any() else 0.0
    d = np.where(mask, base + (depth - base) * float(relief), depth).astype(np.float32)
    return to_uint8(shade(d, mask), side)


def _diverging(t: np.ndarray) -> np.ndarray:
    """t in [-1, 1] -> RGB in [0, 1]: blue (into the face) - white - red (out of the face)."""
    blue, white, red = np.array([0.13, 0.35, 0.75]), np.array([0.97, 0.97, 0.97]), np.array([0.80, 0.15, 0.12])
    t = np.clip(t, -1, 1)[..., None]
    return np.where(t < 0, white + (blue - white) * -t, white + (red - white) * t).astype(np.float32)


def displacement_scale_mm(displacement: np.ndarray, mask: np.ndarray) -> float:
    """Symmetric colour range of the heat map: the 99th percentile of |displacement| on the face, in mm."""
    v = np.abs(displacement[mask]) if mask.any() else np.abs(displacement).ravel()
    top = float(np.percentile(v, 99)) if v.size else 0.0
    return max(top * DEPTH_RANGE_CM * 10, 0.05)


def heatmap_image(displacement: np.ndarray, mask: np.ndarray, scale_mm: float | None = None,
                  side: int = PICTURE_SIDE) -> np.ndarray:
    """Signed displacement as a blue-white-red picture with a labelled colour bar underneath (uint8 RGB)."""
    mm = np.asarray(displacement, np.float32) * DEPTH_RANGE_CM * 10
    scale = scale_mm if scale_mm else displacement_scale_mm(displacement, mask)
    rgb = _diverging(mm / scale)
    rgb[~mask] = 0.85
    pic = to_uint8(rgb, side, nearest=False)
    bar_h, pad = 12, 18
    t = np.linspace(-1, 1, side - 2 * pad, dtype=np.float32)
    bar = np.full((bar_h + 20, side, 3), 255, np.uint8)
    bar[4:4 + bar_h, pad:side - pad] = (np.clip(_diverging(t)[None].repeat(bar_h, 0), 0, 1) * 255).astype(np.uint8)
    font, fs, col = cv2.FONT_HERSHEY_SIMPLEX, 0.38, (40, 40, 40)
    for text, x in ((f"-{scale:.2g} mm", pad), ("0", side // 2 - 4), (f"+{scale:.2g} mm", side - pad - 58)):
        cv2.putText(bar, text, (x, bar_h + 17), font, fs, col, 1, cv2.LINE_AA)
    return np.concatenate([pic, bar], 0)


def mean_abs_displacement_mm(displacement: np.ndarray, mask: np.ndarray) -> float:
    return float(np.abs(displacement[mask]).mean() * DEPTH_RANGE_CM * 10) if mask.any() else 0.0


def mesh_figure(vertices: np.ndarray, triangles: np.ndarray, colors: np.ndarray | None = None,
                height: int = 480, name: str = "face"):
    """A Plotly figure of one triangle mesh (cm, x right, y up, +z toward the viewer), with per-vertex colours in
    [0, 1] when given (else skin), lit and seen like ``meshes_figure``."""
    return meshes_figure([(name, (vertices, triangles, colors))], height, uirevision="sketchface-sparse")
