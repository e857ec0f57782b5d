"""Frontal orthographic z-buffer rasteriser (vectorised numpy, no per-pixel Python loops).

``rasterize`` fills every triangle's bounding box at once (triangles grouped by box size), keeps the
nearest surface per pixel with ``np.maximum.at`` and returns depth, the winning triangle and its
barycentric coordinates. ``render_face`` poses a face-model mesh, frames it and returns depth, normals,
mask and the 68 projected landmarks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# Frame of a face at scale 1: a square of FRAME_CM centimetres centred on FRAME_CENTER (x, y) in model units.
FRAME_CM = 28.0
FRAME_CENTER = (0.0, 0.5)
# Depth normalisation: model z (cm, after posing and centring) -> [0, 1]; 0 is the far background.
DEPTH_NEAR_CM = 14.0
DEPTH_FAR_CM = -16.0


@dataclass
class Raster:
    zbuf: np.ndarray   # (H, W) float32, -inf where empty; same units as the input z
    tri: np.ndarray    # (H, W) int32, -1 where empty
    bary: np.ndarray   # (H, W, 3) float32


def rasterize(xy: np.ndarray, z: np.ndarray, triangles: np.ndarray, size: tuple[int, int]) -> Raster:
    """Rasterise triangles given vertex pixel coordinates ``xy`` (V, 2; x right, y down, pixel centres at
    integers) and depth ``z`` (V,; larger is nearer). Returns the nearest surface per pixel."""
    h, w = size
    p = xy[triangles]                                   # (T, 3, 2)
    zt = z[triangles]                                   # (T, 3)
    p0, p1, p2 = p[:, 0], p[:, 1], p[:, 2]
    lo = np.ceil(np.minimum(np.minimum(p0, p1), p2)).astype(np.int64)             # (T, 2)
    hi = np.floor(np.maximum(np.maximum(p0, p1), p2)).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [w - 1, h - 1])
    ext = hi - lo + 1                                   # (T, 2) box size in pixels
    ok = (ext > 0).all(1)
    # signed area; drop degenerate triangles
    e1 = p1 - p0
    e2 = p2 - p0
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok &= np.abs(area) > 1e-9
    zbuf = np.full(h * w, -np.inf, np.float32)
    cand_idx, cand_z, cand_tri, cand_b = [], [], [], []
    idx_ok = np.nonzero(ok)[0]
    # group by box extent so that each group is a dense (n, ey, ex) block
    key = np.minimum(ext[idx_ok], 64)  # very large triangles are clipped into several passes below
    code = key[:, 0] * 100 + key[:, 1]
    order = np.argsort(code, kind="stable")
    codes, starts = np.unique(code[order], return_index=True)
    bounds = np.append(starts, len(order))
    for gi, c in enumerate(codes):
        ex, ey = int(c // 100), int(c % 100)
        sel = idx_ok[order[bounds[gi]:bounds[gi + 1]]]
        # tiles for triangles whose box is larger than 64 pixels
        big_x = int(ext[sel, 0].max()) if len(sel) else 0
        big_y = int(ext[sel, 1].max()) if len(sel) else 0
        for oy in range(0, max(big_y, 1), ey):
            for ox in range(0, max(big_x, 1), ex):
                gx = lo[sel, 0, None, None] + ox + np.arange(ex)[None, None, :]   # (n, 1, ex)
                gy = lo[sel, 1, None, None] + oy + np.arange(ey)[None, :, None]   # (n, ey, 1)
                gx, gy = np.broadcast_arrays(gx, gy)
                inbox = (gx <= hi[sel, 0, None, None]) & (gy <= hi[sel, 1, None, None])
                t = sel[:, None, None]
                dx = gx - p[t, 0, 0]
                dy = gy - p[t, 0, 1]
                a = area[t]
                b1 = (dx * e2[t, 1] - dy * e2[t, 0]) / a
                b2 = (e1[t, 0] * dy - e1[t, 1] * dx) / a
                b0 = 1.0 - b1 - b2
                eps = -1e-6
                inside = inbox & (b0 >= eps) & (b1 >= eps) & (b2 >= eps)
                if not inside.any():
                    continue
                tt = np.broadcast_to(t, inside.shape)[inside]
                bb = np.stack([b0[inside], b1[inside], b2[inside]], 1)
                zs = zt[tt]
                zz = bb[:, 0] * zs[:, 0] + bb[:, 1] * zs[:, 1] + bb[:, 2] * zs[:, 2]
                cand_idx.append(gy[inside] * w + gx[inside])
                cand_z.append(zz.astype(np.float32))
                cand_tri.append(tt)
                cand_b.append(bb.astype(np.float32))
    tri = np.full(h * w, -1, np.int32)
    bary = np.zeros((h * w, 3), np.float32)
    if cand_idx:
        ci = np.concatenate(cand_idx)
        cz = np.concatenate(cand_z)
        ct = np.concatenate(cand_tri)
        cb = np.concatenate(cand_b)
        np.maximum.at(zbuf, ci, cz)
        win = cz >= zbuf[ci]
        tri[ci[win]] = ct[win]
        bary[ci[win]] = cb[win]
    return Raster(zbuf.reshape(h, w), tri.reshape(h, w), bary.reshape(h, w, 3))


def rotation_matrix(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """Rotation (degrees): yaw about y, pitch about x, roll about z; applied as R @ v."""
    y, p, r = np.deg2rad([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return (rz @ rx @ ry).astype(np.float32)


@dataclass
class Camera:
    """Orthographic frontal camera: pose, scale (1 = the standard framing) and offset (fraction of the frame)."""
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)

    def project(self, v: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Model vertices (V, 3, cm) -> pixel xy (V, 2) and normalised depth (V,) in [0, 1] for the face."""
        c = np.array([FRAME_CENTER[0], FRAME_CENTER[1], 0.0], np.float32)
        vr = (v - c) @ rotation_matrix(self.yaw, self.pitch, self.roll).T
        px_per_cm = size / FRAME_CM * self.scale
        x = size / 2 + vr[:, 0] * px_per_cm + self.offset[0] * size - 0.5
        y = size / 2 - vr[:, 1] * px_per_cm + self.offset[1] * size - 0.5
        d = (vr[:, 2] * self.scale - DEPTH_FAR_CM) / (DEPTH_NEAR_CM - DEPTH_FAR_CM)
        return np.stack([x, y], 1).astype(np.float32), d.astype(np.float32)

    def depth_per_pixel(self, size: int) -> float:
        """Normalised-depth units per pixel of lateral distance (for normals from depth gradients)."""
        return FRAME_CM / size / (DEPTH_NEAR_CM - DEPTH_FAR_CM)


def nearest_inside(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """For every pixel, the (row, col) of the nearest pixel inside ``mask`` (None if the mask is empty/full)."""
    if not (~mask).any() or not mask.any():
        return None
    _, (iy, ix) = ndimage.distance_transform_edt(~mask, return_indices=True)
    return iy, ix


def normals_from_depth(depth: np.ndarray, mask: np.ndarray, depth_per_pixel: float,
                       nearest: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Unit normals (H, W, 3; x right, y up, z toward the viewer) from a normalised depth map.
    ``nearest`` (from ``nearest_inside(mask)``) may be passed to reuse it across maps with the same mask."""
    z = depth / depth_per_pixel  # in pixel units
    # replicate edge values outside the mask so the silhouette does not create a cliff
    if nearest is None:
        nearest = nearest_inside(mask)
    if nearest is not None:
        z = z[nearest[0], nearest[1]]
    gy, gx = np.gradient(z)
    n = np.stack([-gx, gy, np.ones_like(z)], -1)  # image y points down, model y up
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    n[~mask] = 0.0
    return n.astype(np.float32)


def fill_holes(depth: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill interior holes of the mask (eye sockets, mouth: the compact model has no eyeballs or teeth) with a
    smooth membrane from the hole's border. Returns depth, filled mask, and the hole mask."""
    filled = ndimage.binary_fill_holes(mask)
    holes = filled & ~mask
    if not holes.any():
        return depth, mask, holes
    out = depth.copy()
    ys, xs = np.nonzero(holes)
    y0, y1 = max(ys.min() - 2, 0), ys.max() + 3
    x0, x1 = max(xs.min() - 2, 0), xs.max() + 3
    sub, hsub, msub = out[y0:y1, x0:x1], holes[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    _, (iy, ix) = ndimage.distance_transform_edt(~msub, return_indices=True)
    sub[hsub] = sub[iy[hsub], ix[hsub]]
    # a few smoothing passes inside the holes only (a cheap membrane)
    for _ in range(30):
        sm = ndimage.uniform_filter(sub, 3)
        sub[hsub] = sm[hsub]
    return out, filled, holes


@dataclass
class FaceRender:
    depth: np.ndarray      # (H, W) float32 in [0, 1]; 0 outside the mask
    mask: np.ndarray       # (H, W) bool
    holes: np.ndarray      # (H, W) bool: eye and mouth openings filled in
    normals: np.ndarray    # (H, W, 3) float32
    landmarks: np.ndarray  # (68, 2) float32 pixel coordinates
    tri: np.ndarray        # (H, W) int32 triangle id (-1 outside / in holes)
    bary: np.ndarray       # (H, W, 3)
    vertex_xy: np.ndarray  # (V, 2) projected vertices
    vertex_depth: np.ndarray  # (V,)


def render_face(vertices: np.ndarray, triangles: np.ndarray, landmarks68: np.ndarray, size: int = 256,
                camera: Camera | None = None) -> FaceRender:
    """Render a face-model mesh (face-area triangles) to depth, mask, normals and landmarks."""
    camera = camera or Camera()
    xy, d = camera.project(vertices, size)
    r = rasterize(xy, d, triangles, (size, size))
    mask = np.isfinite(r.zbuf)
    depth = np.where(mask, r.zbuf, 0.0).astype(np.float32)
    depth, mask, holes = fill_holes(depth, mask)
    depth = np.clip(depth, 0.0, 1.0) * mask
    normals = normals_from_depth(depth, mask, camera.depth_per_pixel(size))
    return FaceRender(depth.astype(np.float32), mask, holes, normals, xy[landmarks68].copy(), r.tri, r.bary, xy, d)
