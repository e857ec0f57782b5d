"""The inference pipeline: image -> lines l -> coarse depth -> fine depth (+ l') -> mesh.

    from sketchface import SketchFace
    sf = SketchFace.from_pretrained()             # the repository's checkpoints/, or a Hub repo id
    r = sf("drawing.png", lambda_line=0.85)       # kind="auto" (guessed) | "sketch" | "lines" | "photo"
    r2 = sf.refine(r, lambda_line=0.3)            # FineNet only: new λ or edited lines
    r.save("out/")                                # depth PNG16 + npy, GLB, OBJ, PLY, pictures

A checkpoint bundle is a folder (or a Hub repository with the same files) holding ``pipeline.json`` and one
sub-folder per network (``config.json`` + ``model.safetensors``), see checkpoints/README.md.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sketchface.errors import CheckpointError, InputError
from sketchface.framing import (KINDS, Framing, check_size, crop_to_frame, frame_face,
                                guess_kind, load_image, model_source, paste_back, refine_framing, to_gray)
from sketchface.prior import DETAIL_FADE_PX, DETAIL_LIMIT_CM

PIPELINE_FILE = "pipeline.json"
DEFAULT_BUNDLE = {"coarse": "dp_coarse", "line_extractor": "line_extractor", "finenet": "finenet",
                  "cyclegan": "cyclegan", "locator": "locator", "facefit": "facefit", "facecheck": "facecheck",
                  "outline": "outline", "mouth": "mouth", "fusion": "prior_fusion"}
# a bundle without them still works (no photo path / ink box only / no face-model prior / every input taken /
# the fitted jaw and mouth as FaceFit answers them / no DP-CoarseNet on the face model)
OPTIONAL_ROLES = ("cyclegan", "locator", "facefit", "facecheck", "outline", "mouth", "fusion")
NOT_A_FACE = ("this does not look like a face: use a drawing or photo of one face seen from the front (outline, "
              "eyes, nose and mouth), filling much of the picture")
COARSE_FOLDERS = ("dp_coarse", "sp_coarse", "sp_coarse_minus", "dnet")
# coarse="face_model": the coarse depth is the fitted face model's (FaceFit + ICT Face Model Light), no CoarseNet
FACE_MODEL = "face_model"
# coarse="dp_face_model": DP-CoarseNet's depth and the fitted face model's joined by PriorFusion (the outline read
# from the drawing, the face's inside from the face model; sketchface.nets.fusion)
FUSED = "dp_face_model"
COARSE_CHOICES = COARSE_FOLDERS + (FACE_MODEL, FUSED)
ON_FACE_MODEL = (FACE_MODEL, FUSED)     # coarse depths whose inside is the face model's: FineNet's detail limited
MASK_THRESHOLD = 0.05   # coarse depth above this is face (as in FineNet training)
# Lines l of a photo: XDoG of its CycleGAN sketch, a little less eager (tau 0.95 instead of 0.98) and without the
# specks of fewer than 16 pixels that the photo's texture and background leave (docs/TRAINING.md, "The photo
# path's lines"); sketches and line drawings keep every stroke, a drawn mole included.
PHOTO_XDOG = {"tau": 0.95}
PHOTO_MIN_STROKE = 16   # pixels of a 128-px model frame; scaled with the frame's area for larger models


class NotAFaceError(InputError):
    """FaceCheck found no face in the input (``NOT_A_FACE``)."""


class PipelineError(CheckpointError):
    """The checkpoints cannot be found, loaded or put together; one sentence says what to do."""


def default_checkpoints() -> Path:
    """``$SKETCHFACE_CHECKPOINTS``, else the ``checkpoints/`` folder of the source checkout."""
    env = os.environ.get("SKETCHFACE_CHECKPOINTS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "checkpoints"




def resolve_bundle(path_or_repo_id: str | Path | None = None, revision: str | None = None) -> Path:
    """A local bundle folder first; otherwise a Hub repository id (downloaded once into the HF cache)."""
    if path_or_repo_id is None:
        path_or_repo_id = default_checkpoints()
    path = Path(path_or_repo_id).expanduser()
    if path.is_dir():
        return path
    from sketchface.nets.hub import fetch_from_hub

    try:
        return fetch_from_hub(path_or_repo_id, ("*.json", "*.safetensors", "*.md"), revision=revision)
    except CheckpointError as exc:
        raise PipelineError(str(exc)) from None


@dataclass
class Reconstruction:
    """Everything one run of the pipeline produced. Maps are (size, size) float32 in [0, 1] in the model frame
    unless named ``*_in_input``; depth is 1 near the viewer."""
    kind: str
    input_image: np.ndarray                 # (H, W, 3) the input as read
    image: np.ndarray                       # (size, size) or (size, size, 3): cleaned, framed model input
    crop_box: tuple[int, int, int, int]     # x0, y0, x1, y1 in input pixels
    lines: np.ndarray                       # l: XDoG lines of the (sketch) input, black on white
    coarse: np.ndarray                      # coarse depth
    mask: np.ndarray                        # bool face mask (coarse > 0.05)
    displacement: np.ndarray                # signed, depth units
    fine: np.ndarray                        # fine depth = coarse + displacement
    lines_pred: np.ndarray                  # l' = line extractor(fine)
    lambda_line: float
    framing_method: str = ""
    colors: np.ndarray | None = field(default=None, repr=False)   # vertex colours (photo input)
    sketch: np.ndarray | None = field(default=None, repr=False)   # gray sketch XDoG read (photo: CycleGAN's)
    coarse_source: str = ""                 # the CoarseNet's kind, "face_model" (the fitted face's depth) or
    #                                         "dp_face_model" (DP-CoarseNet's and the fitted face's, joined)
    fit: Any = field(default=None, repr=False)      # sketchface.prior.Fit: FaceFit's face for this frame
    prior: np.ndarray | None = field(default=None, repr=False)   # the fitted face's depth (model frame)
    face_prior: Any = field(default=None, repr=False, compare=False)   # sketchface.prior.FacePrior (meshes)
    detail_mask: np.ndarray | None = field(default=None, repr=False)   # where FineNet carves (default: mask)

    @property
    def size(self) -> int:
        return int(self.fine.shape[0])

    def notes(self) -> list[str]:
        """Sentences worth showing the user about this result (a drawing with too few strokes, a picture the model
        could not settle on as a face, a photo without a detected face); often none."""
        from sketchface.framing import UNSETTLED, few_strokes_note

        notes = []
        note = few_strokes_note(self.image) if self.kind != "photo" and self.image.ndim == 2 else None
        if note:
            notes.append(note)
        if self.fit is not None:
            from sketchface.nets.facefit import CANONICAL_SCALE

            moved = max(abs(float(np.log(max(self.fit.scale, 1e-6) / CANONICAL_SCALE))),
                        float(np.abs(self.fit.shift).max()))
            if moved > UNSETTLED:
                notes.append("The model could not settle on where the face is: this may not be a face, and the "
                             "result is close to an average face.")
        if self.kind == "photo" and self.framing_method.startswith("foreground"):
            notes.append("No face was detected in the photo, so it was framed by its outline: a front view of one "
                         "face, filling much of the picture, works best.")
        return notes

    def depth_in_input_frame(self, which: str = "fine") -> np.ndarray:
        """The depth map pasted back into the input image's frame (H, W); 0 outside the crop."""
        d = {"fine": self.fine, "coarse": self.coarse}[which] * self.mask
        return paste_back(d, self.crop_box, self.input_image.shape[:2])

    @property
    def has_head(self) -> bool:
        """Whether a whole-head mesh in the face model's topology can be made (a FaceFit fit and the model)."""
        return self.fit is not None and self.face_prior is not None and self.face_prior.has_model

    def mesh(self, which: str = "fine", relief: float = 1.0, step: int = 1, topology: str = "auto"):
        """trimesh.Trimesh of the fine (or coarse) depth, upright, facing +Z, centimetres, with vertex colours.

        ``topology``: "head" (the fitted face model's closed head, the depth's detail over the fitted face moved
        onto its front), "heightfield" (one vertex per face pixel of the depth map) or "auto" (head when
        ``has_head``). ``relief`` exaggerates (> 1) or flattens (< 1) the depth (its detail, for the head);
        ``step`` keeps every step-th pixel (heightfield only)."""
        from sketchface.mesh import shade, trusted_heightfield

        if topology not in ("auto", "head", "heightfield"):
            raise ValueError(f"topology must be auto, head or heightfield, got {topology!r}")
        if topology == "head" and not self.has_head:
            raise ValueError("a head mesh needs a FaceFit fit and the face model (coarse='face_model' or a bundle "
                             "with facefit); use topology='heightfield'")
        depth = {"fine": self.fine, "coarse": self.coarse}[which]
        if topology == "head" or (topology == "auto" and self.has_head):
            # the fitted face's depth (kept by the prior since the run: with the face model it is the coarse depth)
            prior, prior_mask = self.face_prior.render(self.fit, self.size)
            detail = np.where(prior_mask, depth - prior, 0.0)
            if self.coarse_source == FUSED and self.detail_mask is not None:
                # the head keeps its own outline: where DP-CoarseNet's outline and the head's differ, the joined
                # depth is no detail of the face (a groove along the hairline and the jaw); the narrow face only
                detail = detail * self.detail_mask
            # over the face model the detail is FineNet's, already limited (_limit_detail): not limited twice
            limit = None if self.coarse_source == FACE_MODEL else DETAIL_LIMIT_CM
            return self.face_prior.mesh(self.fit, detail=detail, colors=self.colors, relief=relief,
                                        detail_limit_cm=limit)
        colors = self.colors if self.colors is not None else shade(depth, self.mask)
        step = int(step)
        if step < 1:
            raise ValueError(f"step must be a positive integer, got {step}")
        s = slice(None, None, step)
        # only the pixels whose depth can be trusted: no rim ring, no cells that plunge like spikes
        return trusted_heightfield(depth[s, s], self.mask[s, s], colors[s, s], relief)

    def picture(self, labels: bool = True) -> np.ndarray:
        """One RGB uint8 strip: input | l | coarse | fine (shaded) | l', each named above (``labels``)."""
        from sketchface.mesh import label, shade

        def rgb(a):
            a = np.asarray(a, np.float32)
            a = np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a
            return (a * 255 + 0.5).clip(0, 255).astype(np.uint8)
        cells = [rgb(self.image), rgb(self.lines), rgb(shade(self.coarse, self.mask)),
                 rgb(shade(self.fine, self.mask)), rgb(self.lines_pred)]
        if labels:
            names = [f"input: {self.kind}", "lines l", "coarse", f"fine {self.lambda_line:.2f}", "l' of fine"]
            cells = [label(c, n) for c, n in zip(cells, names)]
        return np.concatenate(cells, 1)

    def save(self, out_dir: str | Path, stem: str = "face", formats=("glb", "obj", "ply"), relief: float = 1.0,
             step: int = 1, topology: str = "auto") -> dict[str, Path]:
        """depth (16-bit PNG + .npy, model frame and input frame), meshes (``relief``, ``step``, ``topology``: see
        mesh()), pictures; returns {name: path}."""
        from PIL import Image

        from sketchface.mesh import export_mesh, save_depth_png16

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        fine = (self.fine * self.mask).astype(np.float32)
        paths["depth_png"] = save_depth_png16(fine, out / f"{stem}_depth.png")
        np.save(out / f"{stem}_depth.npy", fine)
        paths["depth_npy"] = out / f"{stem}_depth.npy"
        paths["depth_input_png"] = save_depth_png16(self.depth_in_input_frame(), out / f"{stem}_depth_input_frame.png")
        paths.update(export_mesh(self.mesh(relief=relief, step=step, topology=topology), out, stem, formats))
        Image.fromarray(self.picture()).save(out / f"{stem}_overview.png")
        paths["overview"] = out / f"{stem}_overview.png"
        meta = {"kind": self.kind, "lambda_line": self.lambda_line, "crop_box": list(self.crop_box),
                "framing": self.framing_method, "input_size": list(self.input_image.shape[1::-1]),
                "coarse": self.coarse_source, "face_fit": self.fit.as_dict() if self.fit is not None else None}
        (out / f"{stem}.json").write_text(json.dumps(meta, indent=2))
        paths["json"] = out / f"{stem}.json"
        return paths


class SketchFace:
    """Sketch (or photo) -> 3-D face with the shipped or your own checkpoints."""

    def __init__(self, coarse, line_extractor, finenet, cyclegan=None, device: str = "cpu", backend: str = "auto",
                 locator=None, prior=None, coarse_source: str = "network", facecheck=None, lines_int8: bool = False,
                 mirror: bool = True, fusion=None):
        """``backend``: "torch", "onnx" (ONNX Runtime on the CPU, see sketchface.onnx_backend) or "auto" (onnx
        on the CPU when onnxruntime and onnx are installed, else torch). ``locator``: the face locator that
        refines the ink-box framing of drawings (None: the ink box alone). ``prior``: a
        ``sketchface.prior.FacePrior`` (FaceFit and the face model): it frames every input and fits the face
        model; ``coarse_source="face_model"`` then takes the fitted face's depth as the coarse depth instead of
        the CoarseNet's. ``facecheck``: ``sketchface.nets.facecheck.FaceCheck``; inputs it finds hold no face are
        refused (``NotAFaceError``) unless the caller gives the crop or asks not to check. ``lines_int8``: with the
        onnx backend and the face model, l′ (the lines of the fine depth, which only the view and the line recall
        read: never a depth) comes from an int8 copy of the line extractor, about twice as fast (the app asks for
        it; sketchface.onnx_backend, "int8 l′"). ``mirror``: the CoarseNet reads the framed input and its mirror
        image in one batch and the coarse depth is the mean of its answer and the mirrored answer for the mirror
        image (docs/TRAINING.md, "The CoarseNets read the mirror image too"); False: one reading, as the paper.
        ``fusion``: ``sketchface.nets.fusion.PriorFusion``; ``coarse_source="dp_face_model"`` then joins the
        CoarseNet's depth (DP-CoarseNet's) and the fitted face's with it."""
        import torch

        from sketchface.onnx_backend import resolve_backend

        self.torch = torch
        self.device = torch.device(device)
        self.coarse = coarse.to(self.device).eval()
        self.line_extractor = line_extractor.to(self.device).eval()
        self.finenet = finenet.to(self.device).eval()
        self.cyclegan = cyclegan.to(self.device).eval() if cyclegan is not None else None
        self.locator = locator.to(self.device).eval() if locator is not None else None
        self.facecheck = facecheck.to(self.device).eval() if facecheck is not None else None
        self.prior = prior
        if prior is not None:
            prior.net.to(self.device)
        self.fusion = fusion.to(self.device).eval() if fusion is not None else None
        if coarse_source not in ("network", FACE_MODEL, FUSED):
            raise PipelineError(f"coarse_source must be 'network', '{FACE_MODEL}' or '{FUSED}', got {coarse_source!r}")
        if coarse_source in ON_FACE_MODEL and (prior is None or not prior.has_model):
            raise PipelineError("the face-model coarse depth needs FaceFit and the face model (prior=FacePrior(...))")
        if coarse_source == FUSED and fusion is None:
            raise PipelineError(f"coarse_source='{FUSED}' needs the PriorFusion network (fusion=...)")
        self.coarse_source = coarse_source
        self.mirror = bool(mirror)
        self.size = int(self.coarse.config.image_size)
        for name, net in (("line extractor", line_extractor), ("FineNet", finenet)):
            if int(net.config.image_size) != self.size:
                raise PipelineError(f"the {name} works at {net.config.image_size} px but CoarseNet at "
                                    f"{self.size} px; use checkpoints trained together")
        self.backend = resolve_backend(backend, self.device)
        self.lines_int8 = bool(lines_int8)
        self._onnx = None
        if self.backend == "onnx":
            from sketchface.onnx_backend import OnnxFaceFit, onnx_runners
            calibration = None
            if self.lines_int8 and prior is not None and prior.has_model:
                def calibration():
                    return prior.sample_depths(16, self.size)
            self._onnx = onnx_runners(self.coarse, self.line_extractor, self.finenet, self.cyclegan,
                                      lines_calibration=calibration)
            if prior is not None and prior.runner is prior.net:
                prior.runner = OnnxFaceFit(prior.net)

    @property
    def _run(self):
        """The networks as called for inference: the torch modules or their ONNX Runtime stand-ins."""
        from sketchface.onnx_backend import Runners
        return self._onnx or Runners(self.coarse, self.line_extractor, self.finenet, self.cyclegan)

    # ------------------------------------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(cls, path_or_repo_id: str | Path | None = None, *, coarse: str | None = None,
                        device: str = "cpu", revision: str | None = None, backend: str = "auto",
                        face_model: str | Path | None = None, facefit: bool = True,
                        facecheck: bool = True, lines_int8: bool = False, outline: bool = True, mouth: bool = True,
                        mirror: bool = True) -> "SketchFace":
        """Load a checkpoint bundle: a local folder (default: ``checkpoints/``) or a Hub repository id.

        ``coarse`` picks the CoarseNet sub-folder (dp_coarse, sp_coarse, sp_coarse_minus, dnet), "face_model"
        (the depth of the face model FaceFit fits; needs the bundle's facefit and the ICT face model, see
        ``sketchface.facemodel``) or "dp_face_model" (DP-CoarseNet's and the face model's depth joined by the
        bundle's prior_fusion); ``face_model``: the face model file or folder (default: its search order).
        When the bundle has FaceFit, it frames every input; with the face model found too, the mesh is the fitted
        head. With ``facefit=False`` the pipeline frames by the ink box and the locator, as before. When the bundle
        has FaceCheck, calls with ``check_face=True`` refuse inputs that hold no face (``facecheck=False``: not
        loaded). When it has the Outline (``sketchface.nets.outline``), the fitted face's jaw follows a drawing's
        outline (``outline=False``: the face as FaceFit fits it). When it has the Mouth (``sketchface.nets.mouth``),
        the fitted face's jaw opens as far as the drawn or photographed mouth is open (``mouth=False``: as FaceFit
        answers it).
        ``backend``: "torch" | "onnx" | "auto"; ``lines_int8``, ``mirror``: see ``SketchFace``."""
        from sketchface.nets import load_network

        root = resolve_bundle(path_or_repo_id, revision)
        spec = dict(DEFAULT_BUNDLE)
        if (root / PIPELINE_FILE).is_file():
            try:
                spec.update(json.loads((root / PIPELINE_FILE).read_text()))
            except json.JSONDecodeError:
                raise PipelineError(f"{root / PIPELINE_FILE} is not valid JSON") from None
        if coarse:
            if coarse not in COARSE_CHOICES:
                raise PipelineError(f"coarse must be one of {', '.join(COARSE_CHOICES)}, got {coarse!r}")
            spec["coarse"] = coarse
        coarse_source = "network"
        if spec.get("coarse") in ON_FACE_MODEL:
            # the networks still load with the default CoarseNet (its size and the photo path's sketch; the DP
            # depth that PriorFusion joins with the face model's)
            coarse_source, spec["coarse"] = spec["coarse"], DEFAULT_BUNDLE["coarse"]
        if device == "auto":
            import torch
            device = "cuda" if torch.cuda.is_available() else "cpu"
        nets = {}
        for role in DEFAULT_BUNDLE:
            folder = root / str(spec.get(role) or "")
            if not spec.get(role) or not (folder / "config.json").is_file():
                if role in OPTIONAL_ROLES:
                    nets[role] = None
                    continue
                raise PipelineError(f"the checkpoint bundle {root} has no {role} network "
                                    f"(expected {folder}/config.json); train it or fetch the shipped checkpoints")
            try:
                nets[role] = load_network(folder, device=device)
            except CheckpointError as exc:
                raise PipelineError(str(exc)) from None
        # asked for by name, the face model must be there; named by the bundle's pipeline.json, a missing face
        # model (or FaceFit) falls back to the bundle's CoarseNet, so that the shipped bundle runs without it
        asked = coarse in ON_FACE_MODEL
        if coarse == FUSED and nets["fusion"] is None:
            raise PipelineError(f"coarse='{FUSED}' needs the bundle's {spec.get('fusion')} network (PriorFusion); "
                                "train it with `python -m sketchface train-fusion` or use the shipped checkpoints")
        prior = _load_prior(nets["facefit"] if facefit or asked else None, face_model, required=asked,
                            outline=nets["outline"] if outline else None, mouth=nets["mouth"] if mouth else None)
        if coarse_source in ON_FACE_MODEL and (prior is None or not prior.has_model):
            coarse_source = "network"
        if coarse_source == FUSED and nets["fusion"] is None:
            coarse_source = "network"
        return cls(nets["coarse"], nets["line_extractor"], nets["finenet"], nets["cyclegan"], locator=nets["locator"],
                   device=device, backend=backend, prior=prior, coarse_source=coarse_source,
                   facecheck=nets["facecheck"] if facecheck else None, lines_int8=lines_int8, mirror=mirror,
                   fusion=nets["fusion"])

    # ------------------------------------------------------------------------------------------- running
    def _tensor(self, a: np.ndarray):
        a = np.ascontiguousarray(a, np.float32)
        t = self.torch.from_numpy(a if a.flags.writeable else a.copy())     # cached renders are read-only
        t = t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None]
        return t.to(self.device)

    def _np(self, t) -> np.ndarray:
        return t[0, 0].detach().float().cpu().numpy()

    def prepare(self, image: Any, kind: str = "auto", crop_box: Any = None, with_fit: bool = False,
                check_face: bool = False):
        """Read, classify and frame the input -> (rgb, kind, framing, framed model input[, fit]). ``crop_box``: the
        square (x0, y0, x1, y1, input pixels) to use instead of finding the face. With a face prior, FaceFit
        moves the framing to where it finds the face (not a given ``crop_box``) and ``with_fit`` also returns
        its fit for the final frame (None without a prior). ``check_face``: refuse (``NotAFaceError``) a framed
        input that FaceCheck finds holds no face (with the bundle's FaceCheck and no given ``crop_box``)."""
        if kind not in KINDS + ("auto",):
            raise InputError(f"kind must be one of {', '.join(KINDS + ('auto',))}, got {kind!r}")
        rgb = load_image(image)
        check_size(rgb)
        if kind == "auto":
            kind = guess_kind(rgb)
        # a drawing photographed on tinted paper under uneven light: the paper made white first, like the white
        # padding of the frame (docs/APP.md, "Drawings photographed on paper")
        src, fill, flat = model_source(rgb, kind)
        if crop_box is not None:
            box = _check_crop_box(crop_box)
            framing = Framing(box, tuple(float(v) for v in box), "given")
        else:
            framing = frame_face(src, kind)
        if flat and self.locator is not None and crop_box is None:
            framing = refine_framing(src, framing, self.locator)
        fit = None
        if self.prior is not None:      # FaceFit moves the crop (a given crop_box stays) and fits the face model
            box, seen, fit = self.prior.frame(src, framing.crop_box, fill, rounds=0 if crop_box is not None else None)
            if crop_box is None:
                framing = Framing(box, framing.face_box, framing.method + "+facefit")
            if kind == "sketch":    # the jaw onto the drawn outline (the Outline is fitted on artist sketches)
                fit = self.prior.follow_outline(src, box, fill, fit)
        framed = (seen if fit is not None and self.prior.size == self.size
                  else crop_to_frame(src, framing.crop_box, self.size, fill))
        if check_face and crop_box is None and self.facecheck is not None:
            if self.facecheck.probability(framed) < self.facecheck.config.threshold:
                raise NotAFaceError(NOT_A_FACE)
        return (rgb, kind, framing, framed, fit) if with_fit else (rgb, kind, framing, framed)

    def __call__(self, image: Any, lambda_line: float = 0.85, kind: str = "auto", xdog: dict | None = None,
                 refine: bool = True, min_stroke: int | None = None, crop_box: Any = None,
                 check_face: bool = False) -> Reconstruction:
        """Reconstruct a face from a file path, PIL image or numpy array (gray, RGB or RGBA; uint8 or float).

        ``xdog``: XDoG parameters for the lines l (sigma, k, tau, epsilon, phi; see sketchface.xdog; for photos
        they update ``PHOTO_XDOG``); ``min_stroke``: strokes of l with fewer pixels (model frame) are dropped
        (default for photos ``PHOTO_MIN_STROKE`` at 128 px, 0 otherwise); ``refine=False`` stops at the coarse depth
        (fine = coarse, no displacement); ``crop_box``: frame the input by this square (x0, y0, x1, y1 in input
        pixels, may reach outside it) instead of finding the face; ``check_face``: refuse an input that holds no
        face (the bundle's FaceCheck; see ``prepare``; the app asks for it on uploads)."""
        from sketchface.xdog import remove_specks, xdog_torch

        lam = _check_lambda(lambda_line)
        rgb, kind, framing, framed, fit = self.prepare(image, kind, crop_box, with_fit=True, check_face=check_face)
        xdog_kw = _check_xdog({**PHOTO_XDOG, **(xdog or {})} if kind == "photo" else xdog)
        if min_stroke is None:
            min_stroke = round(PHOTO_MIN_STROKE * (self.size / 128) ** 2) if kind == "photo" else 0
        min_stroke = _check_min_stroke(min_stroke)
        torch = self.torch
        nets = self._run
        with torch.inference_mode():
            colors = None
            network_coarse = self.coarse_source != FACE_MODEL
            coarse = None
            if kind == "photo":
                photo = self._tensor(framed)                                  # (1, 3, S, S)
                sketch = (nets.cyclegan.photo_to_sketch(photo) if nets.cyclegan is not None
                          else photo.mean(1, keepdim=True))
                if network_coarse and self.coarse.config.kind == "dp_coarse":
                    coarse = self._coarse_depth(nets, photo, "photo")
                elif network_coarse:  # single-path networks read sketches: the CycleGAN's (or gray) first
                    coarse = self._coarse_depth(nets, sketch, "sketch")
                image_used = framed
                colors = framed
            else:
                gray = to_gray(framed)
                sketch = self._tensor(gray)
                if network_coarse:
                    coarse = self._coarse_depth(nets, sketch, "sketch")
                image_used = gray
            prior = mask = detail_mask = None
            if fit is not None and self.prior.has_model:
                prior, prior_mask = self.prior.render(fit, self.size)
                if not network_coarse:
                    coarse, mask = self._tensor(prior), prior_mask
                if self.coarse_source == FUSED:     # DP-CoarseNet's outline, the face model's inside
                    coarse = self.fusion(sketch, coarse, self._tensor(prior))
                if self.coarse_source in ON_FACE_MODEL:
                    detail_mask = self.prior.detail_mask(fit, self.size, DETAIL_FADE_PX * self.size / 128)
            lines = xdog_torch(sketch, **xdog_kw)
            if min_stroke > 1:
                lines = self._tensor(remove_specks(self._np(lines), min_stroke))
            lines_pred = nets.line_extractor(coarse) if not refine else lines
        mask = self._np(coarse) > MASK_THRESHOLD if mask is None else mask
        r = Reconstruction(kind=kind, input_image=rgb, image=image_used, crop_box=framing.crop_box,
                           lines=self._np(lines), coarse=self._np(coarse),
                           mask=mask, displacement=np.zeros_like(self._np(coarse)),
                           fine=self._np(coarse), lines_pred=self._np(lines_pred), lambda_line=lam,
                           framing_method=framing.method, colors=colors, sketch=self._np(sketch),
                           coarse_source=self.coarse_source if self.coarse_source in ON_FACE_MODEL else
                           str(self.coarse.config.kind), fit=fit, prior=prior, face_prior=self.prior,
                           detail_mask=detail_mask)
        return self.refine(r, lam) if refine else r

    def _coarse_depth(self, nets, x, kind: str):
        """The CoarseNet's depth of ``x`` (1, C, S, S): read once, or with its mirror image (``mirror``)."""
        return mirrored_depth(nets.coarse, x, kind) if self.mirror else nets.coarse.predict_depth(x, kind)

    def refine(self, result: Reconstruction, lambda_line: float | None = None,
               lines: np.ndarray | None = None) -> Reconstruction:
        """Re-run only FineNet (and l') for a new λ_line and/or edited lines l (model frame, black on white)."""
        lam = _check_lambda(result.lambda_line if lambda_line is None else lambda_line)
        l_np = result.lines if lines is None else _fit_lines(lines, self.size)
        torch = self.torch
        with torch.inference_mode():
            coarse = self._tensor(result.coarse)
            mask = self._tensor(_finenet_mask(result))
            l = self._tensor(l_np)
            out = self._run.finenet(coarse, l, torch.full((1,), lam, device=self.device), mask)
            disp = _limit_detail(result, out["displacement"])
            fine = (coarse + disp).clamp(0, 1)
            lp = self._run.line_extractor(fine)
        return replace(result, lines=l_np.astype(np.float32), displacement=self._np(disp),
                       fine=self._np(fine), lines_pred=self._np(lp), lambda_line=lam)

    def lambda_sweep(self, result: Reconstruction, lambdas=(0.0, 0.25, 0.5, 0.75, 0.85, 1.0)) -> list[Reconstruction]:
        """FineNet at several λ_line values, in one batch."""
        torch = self.torch
        lams = [_check_lambda(x) for x in lambdas]
        n = len(lams)
        with torch.inference_mode():
            coarse = self._tensor(result.coarse).expand(n, -1, -1, -1)
            mask = self._tensor(_finenet_mask(result)).expand(n, -1, -1, -1)
            l = self._tensor(result.lines).expand(n, -1, -1, -1)
            out = self._run.finenet(coarse, l, torch.tensor(lams, device=self.device), mask)
            disp = _limit_detail(result, out["displacement"])
            fine = (coarse + disp).clamp(0, 1)
            lp = self._run.line_extractor(fine)
        return [replace(result, displacement=disp[i, 0].float().cpu().numpy(),
                        fine=fine[i, 0].float().cpu().numpy(), lines_pred=lp[i, 0].float().cpu().numpy(),
                        lambda_line=lams[i]) for i in range(n)]


def _limit_detail(result: Reconstruction, displacement):
    """On the face model's depth, FineNet's displacement softly limited to ``DETAIL_LIMIT_CM`` (tanh): a drawn
    stroke becomes a crease of a few millimetres, as on a face, never a slot (docs/TRAINING.md, "FineNet on the
    face model"). The paper's CoarseNets keep FineNet's displacement as it is."""
    if result.coarse_source not in ON_FACE_MODEL or result.fit is None:
        return displacement
    from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM

    limit = DETAIL_LIMIT_CM * result.fit.camera().scale / (DEPTH_NEAR_CM - DEPTH_FAR_CM)     # depth units
    return limit * (displacement / limit).tanh()


def _finenet_mask(result: Reconstruction) -> np.ndarray:
    """Where FineNet may move the surface: the result's detail mask (the face model's narrow face), else its mask."""
    m = result.detail_mask if result.detail_mask is not None else result.mask
    return np.asarray(m, np.float32)


def mirrored_depth(net, x, kind: str = "sketch"):
    """A CoarseNet's depth (N, 1, S, S) of ``x`` (N, C, S, S) read together with its mirror image, in one batch of
    2N: the mean of its answer for ``x`` and its mirrored answer for the mirror image."""
    import torch

    n = x.shape[0]
    both = net.predict_depth(torch.cat([x, x.flip(-1)]), kind)
    return (both[:n] + both[n:].flip(-1)) / 2


def _load_prior(facefit, face_model, required: bool, outline=None, mouth=None):
    """A FacePrior from the bundle's FaceFit and the face model; without the face model FaceFit only frames the
    input (``FacePrior.has_model`` False), unless the face model is ``required``. None without FaceFit."""
    from sketchface.facemodel import FaceModelNotFound, load_face_model
    from sketchface.prior import FacePrior

    if facefit is None:
        if required:
            raise PipelineError(f"coarse='{FACE_MODEL}' needs the bundle's facefit network; train it with "
                                "`python -m sketchface train-facefit` or use the shipped checkpoints")
        return None
    try:
        fm = load_face_model(face_model)
    except FaceModelNotFound as exc:
        if required:
            raise PipelineError(str(exc)) from None
        fm = None
    return FacePrior(facefit, fm, outline=outline, mouth=mouth)


def _check_lambda(value: Any) -> float:
    try:
        lam = float(value)
    except (TypeError, ValueError):
        raise InputError(f"lambda_line must be a number in [0, 1], got {value!r}") from None
    if not np.isfinite(lam) or not 0.0 <= lam <= 1.0:
        raise InputError(f"lambda_line must be a number in [0, 1], got {value!r}")
    return lam


def _check_crop_box(value: Any) -> tuple[int, int, int, int]:
    try:
        box = tuple(int(v) for v in value)
        ok = len(box) == 4 and all(float(v) == b for v, b in zip(value, box))
    except (TypeError, ValueError):
        ok = False
    if not ok or box[2] - box[0] < 1 or box[2] - box[0] != box[3] - box[1]:
        raise InputError(f"crop_box must be a square (x0, y0, x1, y1) of whole pixels with x1 - x0 = y1 - y0 > 0, "
                         f"got {value!r}")
    return box


def _check_min_stroke(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"min_stroke must be a whole number of pixels >= 0, got {value!r}")
    return int(value)


def _check_xdog(params: dict | None) -> dict:
    """XDoG keyword arguments checked against sketchface.xdog.XDoGParams (unknown keys and bad values refused)."""
    from sketchface.xdog import XDoGParams

    if not params:
        return {}
    known = set(XDoGParams().as_dict())
    unknown = set(params) - known
    if unknown:
        raise InputError(f"unknown XDoG parameter(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(known))}")
    out = {}
    for name, value in params.items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            raise InputError(f"XDoG {name} must be a number, got {value!r}") from None
        if not np.isfinite(out[name]):
            raise InputError(f"XDoG {name} must be finite, got {value!r}")
    for name in ("sigma", "k"):
        if name in out and out[name] <= 0:
            raise InputError(f"XDoG {name} must be positive, got {out[name]}")
    return out


def _fit_lines(lines: Any, size: int) -> np.ndarray:
    """Edited lines in any size/format -> (size, size) gray in [0, 1] (black lines on white)."""
    import cv2

    from sketchface.framing import to_gray

    g = to_gray(load_image(lines))
    if g.shape != (size, size):
        g = cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA)
    return g.astype(np.float32)
