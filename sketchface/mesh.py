"""Depth map -> triangle mesh (trimesh) and the files people open: GLB, OBJ, PLY, 16-bit PNG, .npy.

Coordinates are centimetres of the synthetic world (docs/CONVENTIONS.md): x to the right, y up, z towards the
viewer, so the face is upright and looks along +Z in Blender's and glTF viewers' default front view. A pixel is
FRAME_CM / size wide; depth 1 is DEPTH_NEAR_CM and depth 0 is DEPTH_FAR_CM.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM, FRAME_CM

FORMATS = ("glb", "obj", "ply")


def depth_to_mesh(depth: np.ndarray, mask: np.ndarray | None = None, colors: np.ndarray | None = None,
                  frame_cm: float = FRAME_CM, min_depth: float = 0.02, max_edge_cm: float = 2.0,
                  relief: float = 1.0):
    """A mesh with one vertex per face pixel and two triangles per 2x2 pixel block inside the mask.

    depth: (H, W) in [0, 1]; mask: (H, W) bool (default: depth > min_depth); colors: (H, W) gray or (H, W, 3)
    RGB in [0, 1] for vertex colours (default: a soft gray). Triangles spanning a depth jump larger than
    ``max_edge_cm`` (silhouette edges) are dropped. ``relief`` scales the depth of the face about its
    deepest point (2 = twice as deep; 1 = as predicted). Returns a ``trimesh.Trimesh`` with vertex normals.
    """
    import trimesh

    depth = np.asarray(depth, np.float32)
    if depth.ndim != 2 or min(depth.shape) < 2:
        raise ValueError(f"depth must be a 2-D map of at least 2x2 pixels, got shape {depth.shape}")
    if not np.isfinite(depth).all():
        raise ValueError("depth holds NaN or infinite values")
    h, w = depth.shape
    mask = depth > min_depth if mask is None else np.asarray(mask, bool)
    px = frame_cm / max(h, w)
    jj, ii = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    relief = float(relief)
    if not np.isfinite(relief) or relief <= 0:
        raise ValueError(f"relief must be a positive number, got {relief}")
    z = DEPTH_FAR_CM + depth * (DEPTH_NEAR_CM - DEPTH_FAR_CM)
    if relief != 1.0 and mask.any():
        base = float(z[mask].min())
        z = base + (z - base) * relief
        max_edge_cm = max_edge_cm * relief
    verts = np.stack([(jj - (w - 1) / 2) * px, ((h - 1) / 2 - ii) * px, z], -1).reshape(-1, 3)

    idx = np.arange(h * w).reshape(h, w)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    m = mask.reshape(-1)
    zf = z.reshape(-1)
    tris = []
    # counter-clockwise seen from +Z (y points up, rows go down): (a, c, b) and (b, c, d)
    for t in (np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)):
        keep = m[t].all(1) & (np.ptp(zf[t], axis=1) <= max_edge_cm)
        tris.append(t[keep])
    faces = np.concatenate(tris)
    if len(faces) == 0:
        raise ValueError("the depth map has no face pixels to build a mesh from")

    if colors is None:
        rgb = np.full((h * w, 3), 0.8, np.float32)
    else:
        colors = np.asarray(colors, np.float32)
        rgb = (np.repeat(colors[..., None], 3, -1) if colors.ndim == 2 else colors[..., :3]).reshape(-1, 3)
    rgba = np.concatenate([np.clip(rgb, 0, 1) * 255, np.full((h * w, 1), 255)], 1).astype(np.uint8)
    mesh = trimesh.Trimesh(vertices=verts, faces=faces, vertex_colors=rgba, process=False)
    mesh.remove_unreferenced_vertices()
    return mesh


SPIKE_RATIO = 3.0     # a cell or triangle is a spike when its depth span exceeds this many times its neighbours'
SPIKE_MIN_CM = 0.5    # ... and this many centimetres


def _neighbour_median(span: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per cell of a 2-D grid, the median span of its (up to 8) valid neighbours (inf where it has none)."""
    h, w = span.shape
    pad = np.pad(np.where(valid, span, np.nan), 1, constant_values=np.nan)
    stack = np.stack([pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                      if dy or dx])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # cells without valid neighbours: NaN, then inf
        med = np.nanmedian(stack, 0)
    return np.where(np.isnan(med), np.inf, med)


def spiky_cells(z: np.ndarray, ratio: float = SPIKE_RATIO, min_cm: float = SPIKE_MIN_CM) -> np.ndarray:
    """Which 2x2 cells of a height grid (cm; NaN where there is no surface) are spikes: all four corners on the
    surface, a depth span over ``min_cm`` and over ``ratio`` times the median span of the neighbouring cells.
    Shape (H - 1, W - 1), bool."""
    z = np.asarray(z, np.float64)
    corners = np.stack([z[:-1, :-1], z[:-1, 1:], z[1:, :-1], z[1:, 1:]])
    valid = np.isfinite(corners).all(0)
    span = np.where(valid, np.where(valid, corners, 0.0).max(0) - np.where(valid, corners, 0.0).min(0), 0.0)
    return valid & (span > min_cm) & (span > ratio * _neighbour_median(span, valid))


def spiky_triangles(mesh, ratio: float = SPIKE_RATIO, min_cm: float = SPIKE_MIN_CM) -> np.ndarray:
    """Which triangles of a mesh (cm, +z toward the viewer) are spikes: a z span over ``min_cm`` and over ``ratio``
    times the median z span of the triangles that share a vertex with it. (T,) bool."""
    f = np.asarray(mesh.faces)
    z = np.asarray(mesh.vertices)[:, 2][f]
    span = z.max(1) - z.min(1)
    bad = np.zeros(len(f), bool)
    candidates = np.nonzero(span > min_cm)[0]
    if not len(candidates):
        return bad
    vertex_faces = np.asarray(mesh.vertex_faces)             # (V, most triangles at a vertex), -1 padded
    for t in candidates:                                     # only the few candidates need their neighbours
        around = np.unique(vertex_faces[f[t]].ravel())
        around = around[(around >= 0) & (around != t)]
        bad[t] = not len(around) or span[t] > ratio * np.median(span[around])
    return bad


def drop_spiky_triangles(mesh, rounds: int = 12):
    """The mesh without its spiky triangles (``spiky_triangles``), checked again after each removal (a removed
    triangle changes its neighbours' medians); unreferenced vertices go too."""
    for _ in range(rounds):
        bad = spiky_triangles(mesh)
        if not bad.any():
            break
        mesh.update_faces(~bad)
    mesh.remove_unreferenced_vertices()
    return mesh


def trusted_mask(depth: np.ndarray, mask: np.ndarray, relief: float = 1.0, rounds: int = 6) -> np.ndarray:
    """The face pixels whose depth can be trusted for a surface or a mesh: the mask without its outermost ring
    (pixels that mix face and background when the depth was resized or pasted) and without the far corners of
    cells that would stand out as spikes (``spiky_cells``): where the predicted surface plunges at the rim."""
    from scipy.ndimage import binary_erosion
    from scipy.ndimage import label as label_regions

    depth = np.asarray(depth, np.float64)
    m = binary_erosion(np.asarray(mask, bool), iterations=1, border_value=0)
    z = depth * (DEPTH_NEAR_CM - DEPTH_FAR_CM) * float(relief)
    for _ in range(rounds):
        bad = spiky_cells(np.where(m, z, np.nan))
        if not bad.any():
            break
        corners = np.stack([z[:-1, :-1], z[:-1, 1:], z[1:, :-1], z[1:, 1:]])
        far = np.argmin(corners, 0)                     # drop the farthest corner of each spiky cell
        ys, xs = np.nonzero(bad)
        k = far[ys, xs]
        m[ys + (k >= 2), xs + (k % 2)] = False
    labels, n = label_regions(m)
    if n > 1:                                           # a rim cut off by the cliff: keep the face itself
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        m = labels == int(np.argmax(sizes))
    return m


def trusted_heightfield(depth: np.ndarray, mask: np.ndarray, colors: np.ndarray | None = None,
                        relief: float = 1.0):
    """``depth_to_mesh`` on the trusted pixels only (``trusted_mask``), without spiky triangles: the heightfield
    that every view and download shows."""
    return drop_spiky_triangles(depth_to_mesh(depth, trusted_mask(depth, mask, relief), colors, relief=relief))


def shade(depth: np.ndarray, mask: np.ndarray | None = None, light=(0.3, 0.4, 0.87)) -> np.ndarray:
    """Lambertian gray shading of a depth map (H, W) -> (H, W) in [0, 1], for pictures and vertex colours."""
    from sketchface.render import normals_from_depth

    mask = depth > 0.02 if mask is None else mask
    px_depth = FRAME_CM / depth.shape[0] / (DEPTH_NEAR_CM - DEPTH_FAR_CM)   # depth units per pixel
    n = normals_from_depth(depth, mask, px_depth)
    lv = np.asarray(light, np.float32)
    lv = lv / np.linalg.norm(lv)
    s = np.clip(n @ lv, 0, 1) * 0.8 + 0.2
    return np.where(mask, s, 1.0).astype(np.float32)


def _label_font(size: int = 13):
    """DejaVu Sans (shipped with matplotlib: it has λ and the other Greek letters), else None."""
    try:
        import os

        import matplotlib
        from PIL import ImageFont

        return ImageFont.truetype(os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf",
                                               "DejaVuSans.ttf"), size)
    except Exception:       # no matplotlib or no FreeType: OpenCV's font, Greek letters spelled out
        return None


def label(picture: np.ndarray, text: str) -> np.ndarray:
    """A white strip with ``text`` above a uint8 RGB picture."""
    strip = np.full((22, picture.shape[1], 3), 255, np.uint8)
    font = _label_font()
    if font is not None:
        from PIL import Image, ImageDraw

        im = Image.fromarray(strip)
        ImageDraw.Draw(im).text((6, 3), text, font=font, fill=(30, 30, 30))
        strip = np.asarray(im)
    else:
        import cv2

        cv2.putText(strip, text.replace("λ", "lambda"), (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (30, 30, 30), 1,
                    cv2.LINE_AA)
    return np.concatenate([strip, picture], 0)


def save_depth_png16(depth: np.ndarray, path: str | Path) -> Path:
    """Depth in [0, 1] as a 16-bit gray PNG (0..65535)."""
    import cv2

    path = Path(path)
    a = (np.clip(np.asarray(depth, np.float64), 0, 1) * 65535 + 0.5).astype(np.uint16)
    if not cv2.imwrite(str(path), a):
        raise OSError(f"could not write {path}")
    return path


def export_mesh(mesh, out_dir: str | Path, stem: str = "face", formats=FORMATS) -> dict[str, Path]:
    """Write the mesh as GLB / OBJ / PLY (vertex colours and normals kept); returns {format: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _ = mesh.vertex_normals      # computed now (not for the 3-D view) so that every exporter writes them
    paths = {}
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"unknown mesh format {fmt!r}; choose from {', '.join(FORMATS)}")
        p = out_dir / f"{stem}.{fmt}"
        if fmt == "obj":
            data = mesh.export(file_type="obj", include_normals=True, include_color=True)
            p.write_text(data) if isinstance(data, str) else p.write_bytes(data)
        else:
            mesh.export(p, file_type=fmt)
        paths[fmt] = p
    return paths
