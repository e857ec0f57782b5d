"""Texture: the photo mapped onto the reconstructed mesh; Poisson fusion fills what the photo cannot see.

1. Every vertex is projected into the input with the camera of the feature-point fit; a z-buffer of the mesh
   in the image says which vertices the photo sees (and the normal must face the camera). Seen vertices take
   the photo's colour (bilinear).
2. Unseen vertices (ears, cheek sides, under the chin) are filled by Poisson image fusion (the paper's
   Eq. 4-5): the guidance field is the colour gradient of a donor texture (the similar faces' texture), the
   boundary condition is the photo's colour around the hole, so the donor's structure is blended seamlessly
   into the input's skin. The discrete Laplacian of Eq. 4 is taken on the mesh's vertex graph (vertices play
   the role of texels), solved as one sparse linear system per colour channel.
3. Export: a GLB with vertex colours and normals, upright (+Y) and facing +Z.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from sketchface.render import rasterize


def project(vertices: np.ndarray, rotation: np.ndarray, scale: float, translation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model vertices -> image pixels (x right, y down) and camera depth (larger = nearer)."""
    y = np.asarray(vertices, np.float64) @ np.asarray(rotation).T
    uv = scale * y[:, :2] + translation
    return np.stack([uv[:, 0], -uv[:, 1]], 1).astype(np.float32), y[:, 2].astype(np.float32)


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    v = np.asarray(vertices, np.float64)
    f = np.asarray(triangles)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def visible_vertices(xy: np.ndarray, depth: np.ndarray, normals_cam: np.ndarray, triangles: np.ndarray,
                     shape: tuple[int, int], min_facing: float = 0.25, tol: float = 0.15) -> np.ndarray:
    """Vertices the camera sees: inside the image, facing it, and not behind another part of the mesh."""
    h, w = shape
    r = rasterize(xy, depth, triangles, (h, w))
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, w - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, h - 1)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= h - 1)
    zb = r.zbuf[iy, ix]
    return inside & (normals_cam[:, 2] > min_facing) & np.isfinite(zb) & (depth >= zb - tol)


def sample_colors(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear colours (V, 3) in [0, 1] of an RGB image at pixel positions xy."""
    from scipy import ndimage

    img = np.asarray(image, np.float32)
    if img.max() > 1.5:
        img = img / 255.0
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    return np.stack([ndimage.map_coordinates(img[..., c], [xy[:, 1], xy[:, 0]], order=1, mode="nearest")
                     for c in range(3)], 1).clip(0, 1)


def mesh_adjacency(triangles: np.ndarray, n: int) -> sp.csr_matrix:
    f = np.asarray(triangles)
    i = np.concatenate([f[:, 0], f[:, 1], f[:, 2], f[:, 1], f[:, 2], f[:, 0]])
    j = np.concatenate([f[:, 1], f[:, 2], f[:, 0], f[:, 0], f[:, 1], f[:, 2]])
    a = sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)).tocsr()
    a.data[:] = 1.0
    return a


def poisson_fill(colors: np.ndarray, known: np.ndarray, guide: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Colours of the unknown vertices from the Poisson equation  L f = L g  on the unknown set, f = colors on
    the known set (L: graph Laplacian of the mesh, g: the donor texture). Unknown components that touch no
    known vertex keep the donor colours shifted to the mean known colour."""
    n = len(colors)
    known = np.asarray(known, bool)
    out = np.asarray(colors, np.float64).copy()
    g = np.asarray(guide, np.float64)
    unk = np.nonzero(~known)[0]
    if len(unk) == 0:
        return out.astype(np.float32)
    adj = mesh_adjacency(triangles, n)
    deg = np.asarray(adj.sum(1)).ravel()
    lap_g = deg[:, None] * g - adj @ g                           # divergence of the guidance gradients
    a_uu = (sp.diags(deg[unk]) - adj[unk][:, unk]).tocsc()
    known_idx = np.nonzero(known)[0]
    a_uk = adj[unk][:, known_idx]
    # vertices without any neighbour (isolated) would make the system singular
    iso = deg[unk] == 0
    if iso.any():
        a_uu = a_uu + sp.diags(iso.astype(float)).tocsc()
    rhs = lap_g[unk] + a_uk @ out[known_idx]
    # components of the unknown set that touch no known vertex: pin one vertex to the shifted donor colour
    from scipy.sparse.csgraph import connected_components

    ncomp, lab = connected_components(adj[unk][:, unk], directed=False)
    touches = np.bincount(lab, weights=np.asarray(a_uk.sum(1)).ravel(), minlength=ncomp) > 0
    shift = out[known_idx].mean(0) - g[known_idx].mean(0) if len(known_idx) else np.zeros(3)
    if not touches.all():
        a_uu = a_uu.tolil()
        for cpt in np.nonzero(~touches)[0]:
            v = np.nonzero(lab == cpt)[0][0]
            a_uu[v, v] += 1.0
            rhs[v] += g[unk[v]] + shift
        a_uu = a_uu.tocsc()
    out[unk] = spsolve(a_uu, rhs).reshape(len(unk), -1)
    return np.clip(out, 0, 1).astype(np.float32)


def donor_colors(vertices: np.ndarray, triangles: np.ndarray, skin=(0.78, 0.6, 0.5)) -> np.ndarray:
    """Texture of a database face (the database holds shape only): a skin colour shaded by a soft frontal-top
    light and darkened in concavities (ear folds, nostrils), which is what the guidance gradients carry."""
    n = vertex_normals(vertices, triangles)
    light = np.array([0.0, 0.5, 0.87])
    shade = 0.55 + 0.45 * np.clip(n @ light, 0, 1)
    adj = mesh_adjacency(triangles, len(vertices))
    deg = np.maximum(np.asarray(adj.sum(1)).ravel(), 1)
    lap = (adj @ vertices) / deg[:, None] - vertices              # points inward in concavities
    conc = np.clip((lap * n).sum(1) * 4.0, -0.3, 0.3)
    shade = shade * (1 - conc)
    return np.clip(np.asarray(skin)[None] * shade[:, None], 0, 1).astype(np.float32)


def texture_mesh(vertices: np.ndarray, triangles: np.ndarray, image: np.ndarray, rotation, scale, translation,
                 donor: np.ndarray | None = None, erode: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Vertex colours (V, 3) of the mesh from the photo, unseen parts by Poisson fusion; and the seen mask."""
    img = np.asarray(image)
    xy, depth = project(vertices, rotation, scale, translation)
    ncam = vertex_normals(vertices, triangles) @ np.asarray(rotation, np.float32).T
    seen = visible_vertices(xy, depth, ncam, triangles, img.shape[:2])
    # drop the rim of the seen area (silhouette pixels mix face and background)
    adj = mesh_adjacency(triangles, len(vertices))
    for _ in range(erode):
        seen &= ~((adj @ (~seen).astype(np.float64)) > 0)
    cols = np.zeros((len(vertices), 3), np.float32)
    cols[seen] = sample_colors(img, xy[seen])
    if donor is None:
        donor = donor_colors(vertices, triangles)
    return poisson_fill(cols, seen, donor, triangles), seen


HOLE_SHADE = 0.45      # closed eye and mouth openings take their rim's colour this much darker


def close_inner_holes(vertices: np.ndarray, triangles: np.ndarray, colors: np.ndarray, seen: np.ndarray):
    """The face with its inner openings (eyes, mouth) closed by a cap around each opening's centre (a ring, then a
    fan: ``sketchface.prior.close_boundaries``), shaded darker than its rim so that the eyes read as eyes, not as
    holes onto the background; the outer border stays open. Returns vertices, triangles, colours and ``seen``
    (False for the new vertices)."""
    from sketchface.prior import boundary_loops, close_boundaries

    loops = boundary_loops(np.asarray(triangles))
    if len(loops) < 2:
        return vertices, triangles, colors, seen
    inner = sorted(loops, key=len)[:-1]                    # the longest loop is the face's outer border
    rgba = np.concatenate([np.clip(colors, 0, 1), np.ones((len(colors), 1))], 1)
    v, t, c = close_boundaries(np.asarray(vertices), np.asarray(triangles), rgba, inner)
    c[len(vertices):, :3] *= HOLE_SHADE
    return (v.astype(vertices.dtype), t.astype(triangles.dtype), c[:, :3].astype(colors.dtype),
            np.concatenate([seen, np.zeros(len(v) - len(vertices), bool)]))


def to_trimesh(vertices: np.ndarray, triangles: np.ndarray, colors: np.ndarray | None = None):
    """trimesh.Trimesh in the model frame (cm, x right, y up, z toward the viewer) with vertex colours."""
    import trimesh

    rgba = None
    if colors is not None:
        c = np.clip(np.asarray(colors, np.float32), 0, 1)
        rgba = np.concatenate([c * 255, np.full((len(c), 1), 255)], 1).round().astype(np.uint8)
    m = trimesh.Trimesh(vertices=np.asarray(vertices, np.float32), faces=np.asarray(triangles),
                        vertex_colors=rgba, process=False)
    _ = m.vertex_normals
    return m


def write_glb(mesh, path: str | Path) -> Path:
    """A binary glTF with vertex colours and normals; glTF is +Y up and the face looks along +Z."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mesh.export(file_type="glb"))
    return path
