"""Training configuration: ``TrainConfig`` (``sketchface.config.Config``, the mechanism the network configs use):
the settings every stage shares, then one section per stage; YAML files with a comment on every key and
``key=value`` overrides (a section's keys flat, ``dress_share=0.7``, or dotted, ``coarse.dress_share=0.7``).

Unknown or mistyped keys are refused with the list of allowed keys. The resolved config is written into the
run folder as ``config.yaml``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sketchface.config import Config, section
from sketchface.config import setting as _f
from sketchface.errors import UserError

STAGES = ("cyclegan", "coarse", "lines", "fine", "locator", "facefit", "facecheck")
# the coarse stage's variants and the network kind each trains
COARSE_KINDS = {"sp-": "sp_coarse_minus", "sp": "sp_coarse", "dp": "dp_coarse", "dnet": "dnet"}


@dataclass
class CoarseTraining(Config):
    """coarse: the CoarseNets' losses and what their drawings show"""
    lambda_rec: float = _f(1.0, "weight of L_rec (paper: 1)")
    lambda_cvt: float = _f(1.0, "weight of L_cvt (paper: 1)")
    lambda_3d: float = _f(0.001, "weight of L_3d on 0..255 depth (paper: 0.001)")
    jitter_share: float = _f(0.0, "share of examples shown in a random square around the training frame (sketch, "
                                  "photo and depth cropped alike), so CoarseNet follows the drawn outline wherever "
                                  "the pipeline's framing puts it (not in the paper; 0 = the paper's)")
    jitter_scale: float = _f(1.15, "largest zoom of that square, in or out (1.15 = half-side 1/1.15-1.15)")
    jitter_shift: float = _f(0.1, "largest offset of that square's centre, in frame half-sides")
    dress_share: float = _f(0.0, "share of training drawings dressed with hair, glasses, a collar and shoulders "
                                 "(sketchface.synth.dress), the depth target unchanged, so that CoarseNet learns they "
                                 "are not geometry (not in the paper; 0 = the paper's)")
    real_depths: str = _f("", "prepare-real-depths folder: real train sketches (and their photos) with the depth of the "
                              "face model FaceFit fits to them; set, a share real_share of each batch is real "
                              "sketches (not in the paper; empty = the synthetic world only)")
    real_share: float = _f(0.25, "with real_depths: chance that an example of the batch is a real sketch")
    real_balanced: bool = _f(False, "with real_depths: draw each group (cufs, fs2k) as often as the others, "
                                    "whatever its number of pairs; false = every pair alike")
    real_inner: int = _f(0, "with real_depths: the depth loss of a real example counts only its target's head shrunk "
                            "by this many pixels (at 128 px): under hair the fitted outline is a guess; 0 = the whole "
                            "map")
    real_lines: float = _f(0.0, "with real_depths: chance that a real sketch is shown as its XDoG lines, a line drawing "
                                "of a real face (its photo and target unchanged); 0 = the sketch as drawn")

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.dress_share <= 1.0:
            raise UserError(f"dress_share must be in [0, 1], got {self.dress_share}")
        if not 0.0 <= self.real_share <= 1.0:
            raise UserError(f"real_share must be in [0, 1], got {self.real_share}")
        if not 0.0 <= self.real_lines <= 1.0:
            raise UserError(f"real_lines must be in [0, 1], got {self.real_lines}")
        if self.real_inner < 0:
            raise UserError(f"real_inner must be at least 0 pixels, got {self.real_inner}")
        if not 0.0 <= self.jitter_share <= 1.0 or self.jitter_scale < 1.0 or self.jitter_shift < 0.0:
            raise UserError(f"jitter_share must be in [0, 1], jitter_scale at least 1 and jitter_shift at least 0 "
                            f"(got {self.jitter_share}, {self.jitter_scale}, {self.jitter_shift})")


@dataclass
class FineTraining(Config):
    """fine: FineNet's loss, with CoarseNet and the line extractor fixed"""
    coarse_ckpt: str = _f("", "CoarseNet checkpoint folder (config.json + model.safetensors)")
    lines_ckpt: str = _f("", "line-extractor checkpoint folder")
    dis_scale: float = _f(10.0, "the displacement is scaled by this inside L_dis; with 255 (8-bit depth units) L_dis "
                                "outweighs the per-pixel L_line at every λ and FineNet learns no displacement, with "
                                "2 it creases the whole face (docs/TRAINING.md)")
    lambda_extra: float = _f(0.0, "weight of the extra-line term (lines FineNet adds where l has none; not in the "
                                  "paper, 0 = the paper's loss), inside the λ_line part of the loss")
    line_loss: str = _f("l1", "l1 = the paper's L_line (9) on l'; logit = the same in logit form, -log(1 - l') on "
                              "l's lines, which does not saturate where l' misses a line (not in the paper; "
                              "docs/TRAINING.md)")
    line_tolerance: int = _f(0, "with line_loss logit: each drawn line pixel is scored by the darkest l' within "
                                "this many pixels (line recall's tolerance is 1); 0 = the pixel itself")
    lambda_line: float = _f(0.85, "fixed-λ FineNet: weight of L_line (paper: 0.85); λ_dis = 1 - λ_line")
    lambda_conditioned: bool = _f(True, "sample λ_line ~ U(0,1) per example and feed it to FineNet")
    dress_lines: float = _f(0.0, "share of training drawings dressed with hair, glasses and collars "
                                 "(sketchface.synth.dress) in FineNet's input only: L_line asks for the face's own "
                                 "lines that stay visible, so that FineNet learns not to carve what is worn "
                                 "(not in the paper; docs/TRAINING.md)")
    worn_weight: float = _f(0.05, "with dress_lines: weight of the mean |displacement| (x dis_scale) on the worn "
                                  "strokes (lines of the dressed drawing that the undressed one does not have), at "
                                  "every λ; 0 = only L_line's silence, which teaches FineNet nothing; 1 stops all "
                                  "carving (docs/TRAINING.md)")

    def validate(self) -> None:
        super().validate()
        if self.worn_weight < 0:
            raise UserError(f"worn_weight must be at least 0, got {self.worn_weight}")
        if not 0.0 <= self.dress_lines <= 1.0:
            raise UserError(f"dress_lines must be in [0, 1], got {self.dress_lines}")
        if self.line_loss not in ("l1", "logit"):
            raise UserError(f"line_loss must be l1 or logit, got {self.line_loss!r}")
        if self.line_tolerance < 0 or (self.line_tolerance and self.line_loss != "logit"):
            raise UserError("line_tolerance must be 0, or at least 1 with line_loss logit")


@dataclass
class LinesTraining(Config):
    """lines: the line extractor's loss"""
    line_weight: float = _f(1.0, "extra L1 weight on line pixels (w = 1 + line_weight * (1 - l)); large values "
                                 "thicken l'")


@dataclass
class CycleGANTraining(Config):
    """cyclegan: the photo -> sketch CycleGAN"""
    cycle_weight: float = _f(10.0, "weight of the cycle loss")
    identity_weight: float = _f(0.5, "weight of the identity loss (relative to cycle)")
    real_pairs: str = _f("", "prepare-real-pairs folder; set, the sketch domain is real artist sketches (as in the "
                             "paper) and real photos join the rendered ones; empty = rendered pencil sketches")
    real_photo_share: float = _f(0.5, "with real_pairs: share of the photo domain that is real photos")


@dataclass
class LocatorTraining(Config):
    """locator: the face locator (not in the papers)"""
    near: float = _f(0.3, "share of training squares drawn close to the training frame, where the locator's last "
                          "round looks")
    pen: float = _f(0.5, "share of training drawings with thickened or lighter strokes")


@dataclass
class FaceFitTraining(Config):
    """facefit: FaceFit, the face-model fit (not in the papers)"""
    styles: list = _f([], "input styles: pencil, lines, photo (empty: those three), artist (the CycleGAN's artist "
                          "sketches, synthesize-sketches --style artist)")
    dress: float = _f(0.7, "share of training drawings dressed with hair, glasses and collars (synth.dress)")
    pen: float = _f(0.5, "share of training drawings with thickened or lighter strokes")
    real_fits: str = _f("", "prepare-real-fits folder: real train sketches with the face their photos show")
    real_share: float = _f(0.25, "with real_fits: share of each batch that is real sketches")
    real_lines: float = _f(0.0, "with real_fits: chance that a real sketch is shown as its XDoG lines, a line drawing "
                                "of a real face")
    sparse: float = _f(0.0, "share of the line drawings that keep only the eyes and some of the brows, nose, "
                            "mouth and cheeks (synth.dress.features_only), framed as their small ink box frames "
                            "them")
    real_sparse: float = _f(0.0, "with real_fits: chance that a real sketch is shown as the XDoG lines of its features "
                                 "alone (synth.dress.features_only around its target's 68 points), framed as those "
                                 "sparse drawings are; a sparse line drawing of a real face")
    lip_weight: float = _f(1.0, "the 20 lip points (48-67) count this many times a landmark in the vertex loss: "
                                "an open mouth moves few points and is otherwise learnt last")
    face_model: str = _f("", "face model file or folder (empty: $SKETCHFACE_FACE_MODEL or the user cache)")

    def validate(self) -> None:
        super().validate()
        if self.lip_weight <= 0:
            raise UserError(f"lip_weight must be > 0 (got {self.lip_weight})")
        if not (0.0 <= self.dress <= 1.0 and 0.0 <= self.pen <= 1.0 and 0.0 <= self.real_share < 1.0
                and 0.0 <= self.sparse <= 1.0 and 0.0 <= self.real_lines <= 1.0 and 0.0 <= self.real_sparse <= 1.0):
            raise UserError(f"dress, pen, sparse, real_lines and real_sparse must be in [0, 1] and real_share in [0, 1) "
                            f"(got {self.dress}, {self.pen}, {self.sparse}, {self.real_lines}, {self.real_sparse}, "
                            f"{self.real_share})")


@dataclass
class FaceCheckTraining(Config):
    """facecheck: the check that refuses inputs holding no face (not in the papers)"""
    checkpoints: str = _f("", "bundle whose framing the check reads (empty: the shipped one)")
    real_faces: str = _f("", "prepare-real-pairs folder: real train sketches, photos and the photos' lines as faces")
    n_synthetic: int = _f(2000, "faces drawn from the make-data folder (data)")
    n_not: int = _f(2400, "not-faces made here (noise, scribbles, text, stripes, gradients)")
    threshold: float = _f(0.5, "the checkpoint's threshold: inputs under this face probability are refused")
    progress: bool = _f(True, "progress bars while framing the images")


@dataclass
class TrainConfig(Config):
    """One training run: the settings every stage shares, then one section per stage (``coarse``, ``fine``,
    ``lines``, ``cyclegan``, ``locator``, ``facefit``, ``facecheck``) whose keys may also be given flat (``dress_share=0.7``) where
    one section alone has them."""
    stage: str = _f("coarse", "cyclegan | coarse | lines | fine | locator | facefit | facecheck")
    preset: str = _f("lite", "network size preset: lite (128², CPU) or paper (256²)")
    variant: str = _f("dp", "coarse: sp- | sp | dp | dnet; other stages: ignored")
    loss: str = _f("", "coarse dp: full | La | Lb | Lc (Table 4); fine: line+dis | dis+3d (Table 6); empty = the first")
    data: str = _f("", "make-data folder; empty = render samples on the fly (needs the face model)")
    on_the_fly_n: int = _f(2000, "samples in the on-the-fly training set when data is empty")
    out: str = _f("runs/{stage}-{variant}", "run folder ({stage}, {variant}, {loss}, {preset} are filled in)")
    steps: int = _f(20000, "optimizer steps")
    batch_size: int = _f(0, "global batch; 0 = the paper's (SP 8, DP 2, FineNet 4, others 4)")
    lr: float = _f(1e-4, "Adam learning rate (paper: 1e-4)")
    lr_schedule: str = _f("constant", "constant (the paper's) | cosine: after warmup_steps, lr decays along a half "
                                      "cosine to 0 at the last step")
    warmup_steps: int = _f(0, "steps over which lr rises linearly from 0 (0 = none)")
    beta1: float = _f(0.5, "Adam beta1 (paper: 0.5)")
    beta2: float = _f(0.999, "Adam beta2 (paper: 0.999)")
    depth_scale: float = _f(255.0, "coarse and fine: depth maps are scaled to 0..depth_scale inside the depth "
                                   "losses, as 8-bit depth images")
    sketch_styles: list = _f(["pencil", "lines", "cyclegan"], "coarse and fine: sketch styles mixed in training "
                                                              "(cyclegan, artist if present)")
    init_from: str = _f("", "start from the weights of this checkpoint folder (config.json + model.safetensors) "
                            "instead of random ones, e.g. to fine-tune a shipped network; its network config "
                            "replaces preset and net. --resume still continues from the run's own checkpoint")
    accumulate: int = _f(1, "slices of each batch whose gradients add up before the optimizer step (a batch too "
                            "big for the GPU's memory in one go; the step stays the same)")
    grad_clip: float = _f(0.0, "largest gradient norm per optimizer, clipped after unscaling (0 = no clipping, the "
                               "paper's); the norm before clipping is logged as grad_norm_NAME")
    val_every: int = _f(0, "steps between validation losses (the stage's losses on val_batches fixed batches of the "
                           "held-out split, models in eval mode, columns val_* in metrics.csv; watched, never "
                           "selected on); 0 = none")
    val_batches: int = _f(4, "batches of the held-out split in each validation")
    workers: int = _f(0, "DataLoader worker processes that build the batches (0 = in the training process)")
    export_at: list = _f([], "steps at which the networks are also exported to RUN/step_N (ablations at equal steps)")
    ckpt_every: int = _f(500, "steps between training checkpoints (atomic; --resume continues from the last)")
    sample_every: int = _f(500, "steps between sample grids (PNG in the run folder)")
    log_every: int = _f(20, "steps between log lines in metrics.csv")
    seed: int = _f(0, "seed of weights, data order and λ sampling")
    amp: bool = _f(True, "mixed precision on CUDA (ignored on the CPU)")
    device: str = _f("auto", "auto | cpu | cuda | cuda:N")
    threads: int = _f(0, "CPU threads for torch (0 = leave torch's default)")
    net: dict = _f({}, "overrides of the network config fields, e.g. {dim: 32}")
    coarse: CoarseTraining = section(CoarseTraining, "the coarse stage (CoarseNets, D-Net)")
    fine: FineTraining = section(FineTraining, "the fine stage (FineNet)")
    lines: LinesTraining = section(LinesTraining, "the lines stage (line extractor)")
    cyclegan: CycleGANTraining = section(CycleGANTraining, "the cyclegan stage")
    locator: LocatorTraining = section(LocatorTraining, "the locator stage (face locator)")
    facefit: FaceFitTraining = section(FaceFitTraining, "the facefit stage (FaceFit)")
    facecheck: FaceCheckTraining = section(FaceCheckTraining, "the facecheck stage (FaceCheck)")

    @property
    def effective_batch(self) -> int:
        if self.batch_size:
            return self.batch_size
        if self.stage == "coarse":
            return 2 if self.variant == "dp" else 8
        return 4

    def lr_at(self, step: int) -> float:
        """Learning rate of optimizer step ``step`` (0-based); a function of the step alone, so resume is exact."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.lr_schedule == "cosine":
            span = max(self.steps - self.warmup_steps, 1)
            t = min(max(step - self.warmup_steps, 0) / span, 1.0)
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * t))
        return self.lr

    def run_dir(self) -> Path:
        return Path(self.out.format(stage=self.stage, variant=self.variant, loss=self.stage_loss,
                                    preset=self.preset))

    @property
    def stage_loss(self) -> str:
        """``loss``, or the stage's first choice when empty (fine: line+dis; coarse: full)."""
        return self.loss or ("line+dis" if self.stage == "fine" else "full")

    def validate(self) -> None:
        super().validate()
        if self.stage not in STAGES:
            raise UserError(f"stage must be one of {', '.join(STAGES)}, got {self.stage!r}")
        if self.stage == "coarse" and self.variant not in COARSE_KINDS:
            raise UserError(f"coarse variant must be sp-, sp, dp or dnet, got {self.variant!r}")
        if self.preset not in ("lite", "paper"):
            raise UserError(f"preset must be lite or paper, got {self.preset!r}")
        if self.stage == "fine" and self.stage_loss not in ("line+dis", "dis+3d"):
            raise UserError("fine loss must be line+dis or dis+3d")
        if self.stage == "coarse" and self.variant == "dp" and self.stage_loss not in ("full", "La", "Lb", "Lc"):
            raise UserError("dp loss must be full, La, Lb or Lc")
        if self.lr_schedule not in ("constant", "cosine"):
            raise UserError(f"lr_schedule must be constant or cosine, got {self.lr_schedule!r}")
        if self.warmup_steps < 0 or self.warmup_steps >= self.steps:
            raise UserError(f"warmup_steps must be at least 0 and below steps ({self.steps}), got {self.warmup_steps}")
        if self.accumulate < 1 or self.grad_clip < 0 or self.val_every < 0 or self.val_batches < 1 or self.workers < 0:
            raise UserError(f"accumulate and val_batches must be at least 1, grad_clip, val_every and workers at "
                            f"least 0 (got {self.accumulate}, {self.val_batches}, {self.grad_clip}, "
                            f"{self.val_every}, {self.workers})")
        if self.steps < 1 or self.ckpt_every < 1:
            raise UserError("steps and ckpt_every must be at least 1")


def make_config(values: dict[str, Any]) -> TrainConfig:
    """A validated TrainConfig from a mapping (flat, nested or dotted section keys; strings read as YAML)."""
    return TrainConfig.from_dict(values)


def load_config(path: str | Path | None, overrides: list[str] = (), **base: Any) -> TrainConfig:
    """YAML file (optional) + ``key=value`` strings (+ keyword defaults underneath both)."""
    values: dict[str, Any] = dict(base)
    if path:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"config file {p} not found")
        loaded = yaml.safe_load(p.read_text()) or {}
        if not isinstance(loaded, dict):
            raise UserError(f"{p} must hold a mapping of key: value")
        values.update(loaded)
    for item in overrides:
        if "=" not in item:
            raise UserError(f"override {item!r} must look like key=value")
        k, v = item.split("=", 1)
        values[k.strip()] = v
    return make_config(values)


def dump_config(cfg: TrainConfig) -> str:
    """The config as YAML with the help text of each key as a comment (the run folder's config.yaml)."""
    return (f"# a {cfg.stage} training run: python -m sketchface train {cfg.stage} --config THIS_FILE\n"
            + cfg.to_yaml())
