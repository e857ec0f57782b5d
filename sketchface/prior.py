"""The face-model prior: FaceFit's answer turned into a framing, a depth map and a whole-head mesh.

    prior = FacePrior(facefit, face_model)
    box, fit = prior.frame(rgb, first_box, fill)        # FaceFit re-frames the input (``rounds`` times)
    depth, mask = prior.render(fit, size)              # the fitted face's depth in that frame (1 = near)
    mesh = prior.mesh(fit, detail=fine - depth, size=size)   # ICT topology, the detail moved onto the front

FaceFit (``sketchface.nets.facefit``) answers coefficients, pose and a 2-D placement in the crop it was shown;
``reframe`` moves the crop so that the fitted face sits where the training framing puts a face (camera scale 1,
no offset), which is also the framing the CoarseNets and FineNet learned on.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sketchface.render import (DEPTH_FAR_CM, DEPTH_NEAR_CM, FRAME_CENTER, FRAME_CM, Camera, fill_holes,
                               rasterize, rotation_matrix)


@dataclass
class Fit:
    """One fitted face: coefficients (padded to the face model's), pose (degrees) and placement in its crop."""
    identity: np.ndarray     # (n_identity of the face model,)
    expression: np.ndarray   # (n_expression,)
    angles: np.ndarray       # (3,) yaw, pitch, roll
    scale: float             # crop units per cm (1/14 = the training framing at camera scale 1)
    shift: np.ndarray        # (2,) crop units
    outline: np.ndarray | None = None   # (17, 2) the jaw points' move onto the drawn outline, fractions of the
                                        # crop's side (``FacePrior.follow_outline``); None: the face as fitted

    def camera(self) -> Camera:
        from sketchface.nets.facefit import CANONICAL_SCALE

        return Camera(yaw=float(self.angles[0]), pitch=float(self.angles[1]), roll=float(self.angles[2]),
                      scale=float(self.scale / CANONICAL_SCALE), offset=(float(self.shift[0] / 2),
                                                                         float(self.shift[1] / 2)))

    @classmethod
    def from_camera(cls, identity, expression, camera) -> "Fit":
        """The fit whose ``camera()`` is ``camera`` (6: yaw, pitch, roll, scale, offset x, y, as make-data's
        params.jsonl and ``sketchface.data.realfits.camera_of`` hold one)."""
        from sketchface.nets.facefit import CANONICAL_SCALE

        c = np.asarray(camera, np.float32)
        return cls(np.asarray(identity, np.float32), np.asarray(expression, np.float32), c[:3].copy(),
                   float(c[3] * CANONICAL_SCALE), 2 * c[4:6])

    def as_dict(self) -> dict:
        out = {"identity": np.round(self.identity, 4).tolist(), "expression": np.round(self.expression, 4).tolist(),
               "angles": np.round(self.angles, 3).tolist(), "scale": round(float(self.scale), 6),
               "shift": np.round(self.shift, 5).tolist()}
        if self.outline is not None:
            out["outline"] = np.round(self.outline, 5).tolist()
        return out


def _fit_key(fit: Fit) -> tuple:
    """A fit's value as a dictionary key (its arrays' bytes)."""
    return (fit.identity.tobytes(), fit.expression.tobytes(), fit.angles.tobytes(), float(fit.scale),
            fit.shift.tobytes(), None if fit.outline is None else fit.outline.tobytes())


def reframe(crop_box, fit: Fit) -> tuple[int, int, int, int]:
    """The square (input pixels) in which ``fit``, answered for ``crop_box``, sits at the training framing."""
    from sketchface.nets.facefit import CANONICAL_SCALE

    x0, y0, x1, y1 = crop_box
    half, cx, cy = (x1 - x0) / 2, (x0 + x1) / 2, (y0 + y1) / 2
    ratio = float(np.clip(fit.scale / CANONICAL_SCALE, 0.25, 4.0))
    new_half = max(half * ratio, 4.0)       # the training frame spans 1 / CANONICAL_SCALE cm, s per cm
    ncx, ncy = cx + half * float(fit.shift[0]), cy + half * float(fit.shift[1])
    side = int(round(2 * new_half))
    bx, by = int(round(ncx - new_half)), int(round(ncy - new_half))
    return bx, by, bx + side, by + side


def turned(fit: Fit, points: np.ndarray, d_pitch: float = 0.0, size: int = 128, d_yaw: float = 0.0) -> Fit:
    """``fit`` with its head pitched by ``d_pitch`` (and turned by ``d_yaw``) more degrees and its scale and 2-D shift
    refitted (least squares) so that ``points`` (model vertices, (P, 3) cm: the fitted face's 68 feature points) stay
    where they were in the picture: the depth changes, the placement does not. (The head turns about the frame's centre at
    depth 0, far behind the face; turning ``fit.angles`` alone would also slide the face across the picture.)"""
    from dataclasses import replace

    before, _ = fit.camera().project(points, size)
    out = replace(fit, angles=(np.asarray(fit.angles, np.float64) + [d_yaw, d_pitch, 0.0]).astype(np.float32))
    cam = out.camera()
    after, _ = cam.project(points, size)
    centre = size / 2 - 0.5
    rel = after - np.asarray(cam.offset) * size - centre        # scale × rotated points, in pixels
    a = np.zeros((2 * len(rel), 3))
    a[0::2, 0], a[1::2, 0], a[0::2, 1], a[1::2, 2] = rel[:, 0], rel[:, 1], 1.0, 1.0
    gain, ox, oy = np.linalg.lstsq(a, (before - centre).reshape(-1), rcond=None)[0]
    return replace(out, scale=float(fit.scale * gain), shift=(np.array([ox, oy]) / size * 2).astype(np.float32))


DETAIL_LIMIT_CM = 0.3  # the head mesh takes the detail (fine - prior) softly limited to this depth (tanh)
DETAIL_SMOOTHING = 2    # passes of neighbour averaging of the detail on the head mesh (FacePrior._smooth)
DETAIL_FADE_PX = 3.0   # at 128 px: FineNet's detail fades out over this many pixels inside the narrow face's rim
BEND_PX = 256          # the thin-plate spline of ``bend`` is solved in a frame of this many pixels
BEND_SMOOTHING = 1.0   # its smoothing (pixels² at BEND_PX): the handles are followed to within a fraction of a pixel


def bend(v: np.ndarray, fit: Fit, landmarks68: np.ndarray) -> np.ndarray:
    """The face's vertices ``v`` (V, 3, cm) bent in the picture's plane so that its jaw points (``landmarks68``'s
    first 17) move by ``fit.outline`` while its other 51 points stay: a thin-plate spline through the 68 points
    (the second paper's deformation), applied across the view; the depth along the view does not change."""
    from scipy.interpolate import RBFInterpolator

    if fit.outline is None:
        return v
    cam = fit.camera()
    xy, _ = cam.project(np.asarray(v, np.float32), BEND_PX)
    handles = xy[landmarks68].astype(np.float64)
    moved = np.zeros_like(handles)
    moved[:17] = np.asarray(fit.outline, np.float64) * BEND_PX
    dxy = RBFInterpolator(handles, moved, kernel="thin_plate_spline", smoothing=BEND_SMOOTHING)(xy.astype(np.float64))
    per_cm = BEND_PX / FRAME_CM * cam.scale
    across = np.stack([dxy[:, 0] / per_cm, -dxy[:, 1] / per_cm, np.zeros(len(dxy))], 1)    # camera frame, cm
    rot = rotation_matrix(cam.yaw, cam.pitch, cam.roll).astype(np.float64)
    return (np.asarray(v, np.float64) + across @ rot).astype(np.asarray(v).dtype)


class FacePrior:
    """FaceFit plus the face model it was trained with. Without the face model (``face_model=None``) FaceFit still
    frames (``frame``, ``fit``: its placement needs no model); ``render`` and ``mesh`` need the model."""

    def __init__(self, facefit, face_model=None, rounds: int = 2, outline=None, mouth=None):
        from sketchface.errors import InputError

        self.net = facefit.eval()
        self.outline = outline.eval() if outline is not None else None    # sketchface.nets.outline.Outline
        self.mouth = mouth.eval() if mouth is not None else None          # sketchface.nets.mouth.Mouth
        self.runner = self.net          # what ``fit`` calls: the module, or its ONNX Runtime stand-in
        self.fm = face_model
        self.rounds = int(rounds)
        self._loops = None
        self._front_cache = None
        self._sample_cache = None
        self._renders: dict = {}
        self._landmark_basis = None
        self._neighbours = None
        if face_model is None:
            return
        self._face_triangles = face_model.face_triangles
        # which of the face's triangles belong to the narrow face (a subset: its vertices come first)
        self._inner_of_face = (self._face_triangles < face_model.narrow_count).all(1)
        self._raster_cache = None
        self._vertex_cache = None
        if int(facefit.config.face_vertices) != int(face_model.neutral.shape[0]):
            raise InputError(f"FaceFit was trained with a face model of {facefit.config.face_vertices} vertices "
                             f"but the one found has {face_model.neutral.shape[0]}; use the ICT Face Model Light "
                             "that `python -m sketchface fetch-face-model` fetches")

    @property
    def has_model(self) -> bool:
        """Whether the face model is there (the prior's depth and the head mesh can be made)."""
        return self.fm is not None

    @property
    def size(self) -> int:
        return int(self.net.config.image_size)

    def fit(self, framed: np.ndarray, mouth: bool = True) -> Fit:
        """FaceFit's answer for one framed RGB (or grey) image in [0, 1] at the network's size; with ``mouth`` the jaw
        opened by the bundle's Mouth (``read_mouth``)."""
        import torch

        x = np.asarray(framed, np.float32)
        x = np.repeat(x[..., None], 3, -1) if x.ndim == 2 else x[..., :3]
        t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(self.net.device)
        with torch.inference_mode():
            out = {k: v[0].float().cpu().numpy() for k, v in self.runner.fit(t).items()}
        ident = np.zeros(self.fm.n_identity if self.has_model else len(out["identity"]), np.float32)
        ident[: len(out["identity"])] = out["identity"]
        expr = np.zeros(self.fm.n_expression if self.has_model else len(out["expression"]), np.float32)
        expr[: len(out["expression"])] = out["expression"]
        fit = Fit(ident, expr, out["angles"].astype(np.float32), float(out["scale"]), out["shift"].astype(np.float32))
        return self.read_mouth(x, fit) if mouth else fit

    def read_mouth(self, framed: np.ndarray, fit: Fit) -> Fit:
        """``fit`` with its jaw opened as far as the bundle's Mouth reads the mouth drawn in ``framed`` (the image
        FaceFit read, at its size); unchanged without the Mouth, the face model or a jawOpen expression."""
        if self.mouth is None or not self.has_model or "jawOpen" not in self.fm.expression_names:
            return fit
        if self._landmark_basis is None:         # the face model at its 68 points only
            lm = self.fm.landmarks68
            self._landmark_basis = (self.fm.neutral[lm].astype(np.float32),
                                    self.fm.identity_deltas[:, lm].astype(np.float32),
                                    self.fm.expression_deltas[:, lm].astype(np.float32))
        neutral, ident, expr = self._landmark_basis
        v = neutral + np.tensordot(fit.identity, ident[: len(fit.identity)], axes=1) + \
            np.tensordot(fit.expression, expr[: len(fit.expression)], axes=1)
        x = np.asarray(framed, np.float32)
        points, _ = fit.camera().project(v, x.shape[0])
        e = fit.expression.copy()
        e[self.fm.expression_names.index("jawOpen")] = self.mouth.jaw_open(x.mean(-1) if x.ndim == 3 else x, points)
        return replace(fit, expression=e)

    def frame(self, rgb: np.ndarray, crop_box, fill=None, rounds: int | None = None):
        """Show FaceFit the crop, move the crop to where it places the face, ``rounds`` times; returns the final
        crop box, the framed image at the network's size, and the fit answered for that final crop."""
        from sketchface.framing import crop_to_frame

        box = tuple(int(v) for v in crop_box)
        framed = crop_to_frame(rgb, box, self.size, fill)
        fit = self.fit(framed, mouth=False)        # the rounds need only the placement
        for _ in range(self.rounds if rounds is None else rounds):
            box = reframe(box, fit)
            framed = crop_to_frame(rgb, box, self.size, fill)
            fit = self.fit(framed, mouth=False)
        return box, framed, self.read_mouth(framed, fit)

    def find(self, rgb: np.ndarray, kind: str):
        """Frame an input of ``kind`` as the pipeline does without its locator (detector or ink box, then
        FaceFit's rounds) -> (crop box in input pixels, fit for that crop)."""
        from sketchface.framing import frame_face, model_source

        src, fill, _ = model_source(rgb, kind)
        box, _, fit = self.frame(src, frame_face(src, kind).crop_box, fill)
        return box, fit

    def follow_outline(self, src: np.ndarray, crop_box, fill, fit: Fit) -> Fit:
        """``fit`` (answered for ``crop_box`` of ``src``, a drawing) with its jaw moved onto the drawing's outline
        as the bundle's Outline finds it (``sketchface.nets.outline``); unchanged without the Outline or the face
        model."""
        from dataclasses import replace

        from sketchface.framing import crop_to_frame, to_gray

        if self.outline is None or not self.has_model:
            return fit
        size = int(self.outline.config.image_size)
        gray = to_gray(crop_to_frame(src, tuple(int(v) for v in crop_box), size, fill))
        points, _ = fit.camera().project(self.vertices(replace(fit, outline=None))[self.fm.landmarks68], size)
        moved = self.outline.moved_jaw(gray, points)
        return replace(fit, outline=((moved - points[:17]) / size).astype(np.float32))

    def landmarks(self, fit: Fit, crop_box) -> np.ndarray:
        """The fitted face's 68 feature points (the face model's ``landmarks68``) in the pixels of the input the
        crop ``crop_box`` was cut from: (68, 2), x right, y down, pixel centres at integers."""
        xy, _ = fit.camera().project(self.vertices(fit)[self.fm.landmarks68], self.size)
        x0, y0, x1, _ = crop_box
        per_px = (x1 - x0) / self.size                 # input pixels per framed pixel
        return ((xy + 0.5) * per_px + np.array([x0, y0]) - 0.5).astype(np.float32)

    def feature_points(self, rgb: np.ndarray, kind: str) -> np.ndarray:
        """The 68 feature points (input pixels) of the face FaceFit fits to an input of ``kind`` (``find``)."""
        box, fit = self.find(rgb, kind)
        return self.landmarks(fit, box)

    def detail_mask(self, fit: Fit, size: int, fade: float = DETAIL_FADE_PX) -> np.ndarray:
        """Where FineNet may carve the fitted face (size, size, in [0, 1]): the narrow face, fading to 0 over
        ``fade`` pixels towards its rim, so that hair, collar and neck strokes beside the face leave no grooves and
        the detail ends without a step."""
        return _fade_at_rim(np.ones((size, size)), self.render(fit, size, inner=True)[1], fade).astype(np.float32)

    def _kept(self, name: str, key, make):
        """The value kept in attribute ``name`` for ``key``, made (``make()``) and kept when the key differs. The
        attribute is read once: the app's model and download events, on two threads, never get each other's."""
        kept = getattr(self, name)
        if kept is None or kept[0] != key:
            kept = (key, make())
            setattr(self, name, kept)
        return kept[1]

    def vertices(self, fit: Fit) -> np.ndarray:
        """The fitted face's vertices (V, 3, cm; read-only): the last fit's are kept."""
        def make():
            v = bend(self.fm.vertices(fit.identity, fit.expression), fit, self.fm.landmarks68)
            v.flags.writeable = False
            return v
        return self._kept("_vertex_cache", _fit_key(fit), make)

    def render(self, fit: Fit, size: int, inner: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The fitted face's depth (size, size; normalised as the training depth, 1 = near) and mask; ``inner``:
        the narrow face only (no ears, neck or forehead edge). The last few answers are kept (read-only): a λ move
        renders nothing again."""
        key = (_fit_key(fit), int(size), bool(inner))
        out = self._renders.get(key)
        if out is None:
            out = self._render(fit, size, inner)
            for a in out:
                a.flags.writeable = False
            while len(self._renders) >= 4:
                self._renders.pop(next(iter(self._renders)), None)
            self._renders[key] = out
        return out

    def _raster(self, fit: Fit, size: int):
        """The face's triangles rasterised once per fit and size: the depth and which triangle each pixel shows."""
        def make():
            xy, d = fit.camera().project(self.vertices(fit), size)
            return rasterize(xy, d, self._face_triangles, (size, size))
        return self._kept("_raster_cache", (_fit_key(fit), int(size)), make)

    def _render(self, fit: Fit, size: int, inner: bool) -> tuple[np.ndarray, np.ndarray]:
        return self._depth_of(self._raster(fit, size), inner)

    def sample_depths(self, n: int = 16, size: int | None = None, seed: int = 0) -> list[np.ndarray]:
        """The mean face's depth (as ``render`` gives it) in ``n`` random poses and placements like the training
        world's (yaw ±25°, pitch ±10°, roll ±8°, size ±10 %, shift ±5 % of the crop): depth maps like the
        pipeline's, made without any input (the int8 line extractor's calibration). The last answer is kept (the
        app's pipelines share one prior; read-only arrays)."""
        from sketchface.nets.facefit import CANONICAL_SCALE

        def make():
            rng = np.random.default_rng(seed)
            v = self.fm.vertices()
            out = []
            for _ in range(int(n)):
                fit = Fit(np.zeros(self.fm.n_identity, np.float32), np.zeros(self.fm.n_expression, np.float32),
                          rng.uniform([-25, -10, -8], [25, 10, 8]).astype(np.float32),
                          float(CANONICAL_SCALE * rng.uniform(0.9, 1.1)),
                          rng.uniform(-0.05, 0.05, 2).astype(np.float32))
                xy, d = fit.camera().project(v, size)
                depth = self._depth_of(rasterize(xy, d, self._face_triangles, (size, size)), False)[0]
                depth.flags.writeable = False
                out.append(depth)
            return out
        size = int(size or self.size)
        return self._kept("_sample_cache", (int(n), size, int(seed)), make)

    def _depth_of(self, raster, inner: bool) -> tuple[np.ndarray, np.ndarray]:
        zbuf = raster.zbuf
        mask = np.isfinite(zbuf)
        if inner:       # the narrow face where it is seen (an ear or the forehead's edge in front of it hides it)
            mask &= self._inner_of_face[np.maximum(raster.tri, 0)]
        depth, mask, _ = fill_holes(np.where(mask, zbuf, 0.0).astype(np.float32), mask)
        return (np.clip(depth, 0.0, 1.0) * mask).astype(np.float32), mask

    def _front(self, fit: Fit, size: int):
        """What ``mesh`` needs of a fit to move a picture's detail and colours onto it, the same for every detail:
        the vertices (cm), their pixel coordinates (2, V: row, col) in a ``size`` frame, how much each takes of the
        picture (1 on the visible front of the face), the rotation and the rendered mask. The last fit's answer is
        kept: a λ move or a download of the same result rebuilds only the detail."""
        return self._kept("_front_cache", (_fit_key(fit), int(size)), lambda: self._make_front(fit, size))

    def _make_front(self, fit: Fit, size: int):
        import trimesh
        from scipy.ndimage import map_coordinates

        v = self.vertices(fit).astype(np.float64)
        cam = fit.camera()
        xy, d = cam.project(v.astype(np.float32), size)
        depth, mask = self.render(fit, size)
        rot = rotation_matrix(cam.yaw, cam.pitch, cam.roll).astype(np.float64)
        normals = trimesh.Trimesh(v, self.fm.triangles, process=False).vertex_normals
        normal_view = np.asarray(normals) @ rot.T                                # (V, 3) camera space
        coords = np.stack([xy[:, 1], xy[:, 0]])
        zbuf = map_coordinates(np.where(mask, depth, -1.0), coords, order=1, mode="constant", cval=-1.0)
        # how much each vertex takes of the picture's detail: 1 on the visible front of the face, falling to 0
        # smoothly where the surface turns away or is hidden, so the detail leaves no step at the turn
        # (either winding: the hidden back of the head fails the visibility test below)
        facing = np.clip((np.abs(normal_view[:, 2]) - 0.1) / 0.3, 0.0, 1.0)
        visible = np.clip(1.0 - (zbuf - d) / 0.01, 0.0, 1.0) * (zbuf > -0.5)
        weight = facing * visible * (np.arange(len(v)) < self.fm.face_vertex_count)
        out = (v, coords, weight, rot, mask)
        for a in out:
            a.flags.writeable = False
        return out

    def _smooth(self, values: np.ndarray) -> np.ndarray:
        """Per-vertex values averaged half with their mesh neighbours' mean, ``DETAIL_SMOOTHING`` times: a carved
        line keeps its place but no longer jumps by the whole limit between two neighbouring vertices (a spike to
        the eye; with one pass, stripes of detail flipping sign every 1-5 pixels still left 2-35 of them)."""
        if self._neighbours is None:
            from scipy import sparse

            t = self.fm.triangles
            i = np.concatenate([t[:, 0], t[:, 1], t[:, 2], t[:, 1], t[:, 2], t[:, 0]])
            j = np.concatenate([t[:, 1], t[:, 2], t[:, 0], t[:, 0], t[:, 1], t[:, 2]])
            n = len(self.fm.neutral)
            adj = sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
            adj.data[:] = 1.0                                   # an edge counts once, however many triangles share it
            deg = np.asarray(adj.sum(1)).ravel()
            self._neighbours = sparse.diags(1.0 / np.maximum(deg, 1)) @ adj
        for _ in range(DETAIL_SMOOTHING):
            values = 0.5 * values + 0.5 * (self._neighbours @ values)
        return values

    def mesh(self, fit: Fit, detail: np.ndarray | None = None, colors: np.ndarray | None = None,
             relief: float = 1.0, close_holes: bool = True, detail_limit_cm: float | None = DETAIL_LIMIT_CM):
        """The fitted face in the face model's own topology (head and neck), upright and facing +Z, centimetres.

        ``detail`` (size, size; depth units, e.g. fine - prior) is moved onto the vertices that face the viewer and
        are visible in the frame, along the view direction, softly limited to ``detail_limit_cm`` (None: as it is;
        the default limit is the one the pipeline puts on FineNet's detail over the face model), then scaled by
        ``relief``; ``colors`` (size, size, 3) in
        [0, 1] colours those vertices (a photo), the others a neutral skin tone. ``close_holes`` closes the eye,
        mouth and neck openings so that the mesh is watertight where the model allows."""
        import trimesh
        from scipy.ndimage import map_coordinates

        cam = fit.camera()
        tris = self.fm.triangles
        if detail is None and colors is None:
            v = self.vertices(fit).astype(np.float64)
        else:
            size = int((detail if detail is not None else colors).shape[0])
            v, coords, weight, rot, mask = self._front(fit, size)
            front = weight > 0.5
        base = np.full((len(v), 3), (0.86, 0.74, 0.66))
        if detail is not None or colors is not None:
            if detail is not None:
                dd = map_coordinates(_fade_at_rim(np.asarray(detail, np.float64), mask), coords, order=1,
                                     mode="constant", cval=0.0)
                dz_cm = dd * (DEPTH_NEAR_CM - DEPTH_FAR_CM) / max(cam.scale, 1e-3)
                # softly limited: a carved stroke reads as a crease, never as a slot or a spike
                if detail_limit_cm:
                    dz_cm = detail_limit_cm * np.tanh(dz_cm / detail_limit_cm)
                dz_cm = self._smooth(weight * dz_cm) * relief
                v = v + np.outer(dz_cm, rot[2])          # the camera's +z (toward the viewer) in model space
            if colors is not None:
                c = np.stack([map_coordinates(np.asarray(colors[..., i], np.float64), coords, order=1,
                                              mode="nearest") for i in range(3)], 1)
                base = np.where(front[:, None], np.clip(c, 0, 1), base)
        v = v - np.array([FRAME_CENTER[0], FRAME_CENTER[1], 0.0])
        rgba = np.concatenate([base * 255, np.full((len(v), 1), 255)], 1).astype(np.uint8)
        if close_holes:
            if self._loops is None:
                self._loops = boundary_loops(tris)
            v, tris, rgba = close_boundaries(v, tris, rgba, self._loops)
        return trimesh.Trimesh(v, tris, vertex_colors=rgba, process=False)   # normals: when exported


def boundary_loops(triangles: np.ndarray) -> list[np.ndarray]:
    """The mesh's open boundaries as closed vertex loops (edges used by one triangle, chained head to tail)."""
    e = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    key = np.sort(e, 1)
    _, inv, count = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    border = e[count[inv.ravel()] == 1]
    nxt = {int(a): int(b) for a, b in border}
    loops, seen = [], set()
    for start in nxt:
        if start in seen:
            continue
        loop, cur = [], start
        while cur not in seen and cur in nxt:
            seen.add(cur)
            loop.append(cur)
            cur = nxt[cur]
        if len(loop) >= 3 and cur == start:
            loops.append(np.array(loop))
    return loops


def close_boundaries(v: np.ndarray, triangles: np.ndarray, rgba: np.ndarray, loops=None):
    """Close every open boundary loop by a cap around its centroid: a ring halfway to the centroid, then a fan (the
    loop's own orientation kept, so the new triangles face the same way as their neighbours). The ring halves the
    depth span of each cap triangle: an eye opening's cap has no triangle that reads as a spike
    (``sketchface.mesh.spiky_triangles``). Returns vertices, triangles and colours."""
    v, tris, cols = [v], [triangles], [rgba]
    n = len(v[0])
    for loop in boundary_loops(triangles) if loops is None else loops:
        k = len(loop)
        centre = v[0][loop].mean(0)
        centre_col = rgba[loop].mean(0)
        v += [(v[0][loop] + centre) / 2, centre[None]]
        cols += [((rgba[loop] + centre_col) / 2).astype(rgba.dtype), centre_col[None].astype(rgba.dtype)]
        # a border edge (a, b) runs one way in its triangle; the cap's triangle (b, a, centre) uses it the other
        # way, split here by the ring points ra, rb on a-centre and b-centre into (b, a, ra), (b, ra, rb), (rb, ra, c)
        a, b = loop, np.roll(loop, -1)
        ra = n + np.arange(k)
        rb = np.roll(ra, -1)
        c = np.full(k, n + k)
        tris += [np.stack([b, a, ra], 1), np.stack([b, ra, rb], 1), np.stack([rb, ra, c], 1)]
        n += k + 1
    return np.concatenate(v), np.concatenate(tris).astype(np.int64), np.concatenate(cols)


def _fade_at_rim(detail: np.ndarray, mask: np.ndarray, width: float = 4.0) -> np.ndarray:
    """``detail`` inside ``mask``, faded to 0 over ``width`` pixels towards the mask's rim (0 outside)."""
    from scipy.ndimage import distance_transform_edt

    return np.where(mask, detail, 0.0) * np.clip(distance_transform_edt(mask) / width, 0.0, 1.0)
