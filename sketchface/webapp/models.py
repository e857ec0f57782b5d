"""The networks behind the app: loaded once, shared between the model choices.

Every choice uses the same line extractor, FineNet, CycleGAN and (when the bundle has FaceFit and the face model is
found) the same face-model prior, which frames every input; only the coarse depth differs: a CoarseNet of the
bundle, or the fitted face model's own depth ("face_model"). A bundle with several CoarseNet folders costs one
extra CoarseNet per choice, not a second pipeline.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sketchface.pipeline import FACE_MODEL, FUSED, PipelineError, SketchFace, default_checkpoints, resolve_bundle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    label: str        # what the dropdown shows
    coarse: str       # CoarseNet folder of the bundle, "face_model" (FaceFit's fitted face) or "dp_face_model"
    refine: bool      # run FineNet after the coarse depth


CHOICES = (
    ModelChoice("Face model (FaceFit) + FineNet", FACE_MODEL, True),
    ModelChoice("Face model only (FaceFit)", FACE_MODEL, False),
    ModelChoice("DP-CoarseNet on the face model + FineNet", FUSED, True),
    ModelChoice("DP-CoarseNet + FineNet", "dp_coarse", True),
    ModelChoice("DP-CoarseNet only (coarse)", "dp_coarse", False),
    ModelChoice("SP-CoarseNet + FineNet", "sp_coarse", True),
    ModelChoice("SP-CoarseNet− + FineNet", "sp_coarse_minus", True),
    ModelChoice("D-Net baseline + FineNet", "dnet", True),
)


class ModelBank:
    """The loaded pipelines, one per CoarseNet found in the bundle, or the reason none could be loaded."""

    def __init__(self, pipelines: dict[str, SketchFace], root: Path | None = None, error: str | None = None):
        self.pipelines = pipelines
        self.root = root
        self.error = error
        self.choices = [c for c in CHOICES if c.coarse in pipelines]

    @classmethod
    def load(cls, path_or_repo_id: str | Path | None = None, device: str = "auto") -> "ModelBank":
        """Load the bundle (default: $SKETCHFACE_CHECKPOINTS, else checkpoints/). Never raises for a missing
        or broken bundle: the bank then holds ``error`` and the app shows it."""
        from sketchface.nets import CheckpointError, load_network

        where = path_or_repo_id if path_or_repo_id is not None else default_checkpoints()
        try:
            root = resolve_bundle(path_or_repo_id)
            main = SketchFace.from_pretrained(root, device=device, lines_int8=True)   # l′ int8: docs/APP.md
        except PipelineError as exc:
            return cls({}, None, f"No checkpoints could be loaded from {where}: {exc}. Set SKETCHFACE_CHECKPOINTS "
                                 "to a checkpoint bundle (see checkpoints/README.md) and restart the app.")
        # the default pipeline serves its own choice; the others share its networks and face-model prior
        main_kind = str(main.coarse.config.kind)
        pipelines: dict[str, SketchFace] = {main.coarse_source if main.coarse_source != "network" else main_kind: main}
        for choice in CHOICES:
            name = choice.coarse
            if name in pipelines:
                continue
            if name in (FACE_MODEL, FUSED):
                dp = main.coarse if str(main.coarse.config.kind) == "dp_coarse" else None
                if (main.prior is not None and main.prior.has_model
                        and (name == FACE_MODEL or (main.fusion is not None and dp is not None))):
                    pipelines[name] = SketchFace(main.coarse, main.line_extractor, main.finenet, main.cyclegan,
                                                 device=str(main.device), locator=main.locator, prior=main.prior,
                                                 coarse_source=name, lines_int8=main.lines_int8, fusion=main.fusion)
                continue
            folder = root / name
            if name == main_kind:          # the CoarseNet the default pipeline already holds
                net = main.coarse
            elif not (folder / "config.json").is_file():
                continue
            else:
                try:
                    net = load_network(folder, device=str(main.device))
                except CheckpointError as exc:
                    log.warning("skipping %s: %s", folder, exc)
                    continue
                if int(net.config.image_size) != main.size:
                    log.warning("skipping %s: it works at %s px, the other networks at %s px", folder,
                                net.config.image_size, main.size)
                    continue
            pipelines[name] = SketchFace(net, main.line_extractor, main.finenet, main.cyclegan,
                                         device=str(main.device), locator=main.locator, prior=main.prior,
                                         lines_int8=main.lines_int8)
        return cls(pipelines, root)

    @property
    def ok(self) -> bool:
        return bool(self.pipelines)

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.choices]

    def warm_up(self) -> float | None:
        """Run the default model once on a drawn test face (and one λ move), so that the first visitor does not wait
        for the ONNX graphs to be exported and l′'s int8 copy to be made (seconds on a fresh machine; both are
        cached on disk). Returns the seconds it took, or None when there is no model or it failed (logged, never
        raised: the app serves either way). app.py runs it in a background thread at start-up."""
        import time

        if not self.ok:
            return None
        from sketchface.bench import _stroke_face
        from sketchface.pipeline import NotAFaceError

        t = time.perf_counter()
        try:
            sf, choice = self.get(self.default_label)
            try:                                     # FaceCheck too (uploads are checked)
                r = sf(_stroke_face(256), kind="lines", refine=choice.refine, check_face=True)
            except NotAFaceError:                    # refused: the rest is prepared all the same
                r = sf(_stroke_face(256), kind="lines", refine=choice.refine)
            if choice.refine:
                r = sf.refine(r, 0.5)
            r.mesh(step=2)                           # the head mesh's neighbours and hole caps, made once
        except Exception as exc:                     # noqa: BLE001 - a warm-up must never stop the app
            log.warning("warm-up failed (%s: %s); the first request will prepare the models", type(exc).__name__,
                        exc)
            return None
        return time.perf_counter() - t

    @property
    def default_label(self) -> str | None:
        return self.labels[0] if self.labels else None

    @property
    def size(self) -> int:
        return next(iter(self.pipelines.values())).size if self.pipelines else 128

    @property
    def device(self) -> str:
        return str(next(iter(self.pipelines.values())).device) if self.pipelines else "cpu"

    @property
    def lambda_conditioned(self) -> bool:
        """Whether FineNet takes λ as an input (else the slider cannot change the result)."""
        if not self.pipelines:
            return False
        return bool(getattr(next(iter(self.pipelines.values())).finenet.config, "lambda_conditioned", False))

    def get(self, label: str | None) -> tuple[SketchFace, ModelChoice]:
        if not self.ok:
            raise PipelineError(self.error or "no checkpoints are loaded")
        for c in self.choices:
            if c.label == label:
                return self.pipelines[c.coarse], c
        raise PipelineError(f"unknown model {label!r}; choose one of: {', '.join(self.labels)}")
