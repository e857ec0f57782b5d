"""Dataclass configs for every network, two presets, and YAML load/save.

Each config class carries the ``kind`` string that names its network in a checkpoint's
config.json and in the YAML files. Every field has a ``help`` text; ``dump_yaml`` writes
it as the comment on that key, so the YAML files document themselves.

Presets:
- ``paper``: 256x256 inputs, base width 64, 3 downsamplings -> content code 512x32x32,
  style code 8, style MLP 128 filters (section 4.1.3 of the sketch paper).
- ``lite``: 128x128 inputs, base width 16 -> content code 128x16x16, 4 residual blocks;
  an encoder+decoder pair runs in about 35 ms at batch 1 on a 2-core CPU.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sketchface.config import Config
from sketchface.config import setting as _f
from sketchface.errors import ConfigError  # noqa: F401  (re-exported)

NORMS = ("in", "ln", "bn", "adain", "none")
UPSAMPLE_MODES = ("nearest", "bilinear")
ACTIVATIONS = ("relu", "lrelu", "tanh", "none")
PAD_TYPES = ("reflect", "replicate", "zero")
OUT_ACTIVATIONS = ("tanh", "sigmoid", "linear")




@dataclass
class NetConfig(Config):
    """Base class of the network configs (``sketchface.config.Config``: typed fields with help, validation,
    unknown-key refusal, commented YAML) with the ``kind`` that names the network."""

    kind: ClassVar[str] = ""

    # ---- validation -------------------------------------------------------------
    def validate(self) -> None:
        super().validate()
        for name, allowed in (("norm", NORMS), ("activation", ACTIVATIONS),
                              ("pad_type", PAD_TYPES), ("out_activation", OUT_ACTIVATIONS)):
            if hasattr(self, name) and getattr(self, name) not in allowed:
                raise ConfigError(f"{type(self).__name__}.{name} = {getattr(self, name)!r} "
                                  f"is not one of {', '.join(allowed)}")
        for name in ("in_channels", "out_channels", "dim", "image_size"):
            if hasattr(self, name) and getattr(self, name) < 1:
                raise ConfigError(f"{type(self).__name__}.{name} must be >= 1")
        n_down = getattr(self, "n_downsample", 0)
        size = getattr(self, "image_size", None)
        if size is not None and size % (2 ** n_down):
            raise ConfigError(f"{type(self).__name__}: image_size {size} is not divisible "
                              f"by 2**n_downsample = {2 ** n_down}")

    # ---- dict round trip --------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NetConfig":
        """Build from a dict; a ``kind`` entry must match, any other unknown key is refused."""
        data = dict(data)
        kind = data.pop("kind", cls.kind)
        if kind != cls.kind:
            raise ConfigError(f"config kind {kind!r} does not match {cls.__name__} "
                              f"(kind {cls.kind!r})")
        return super().from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **super().to_dict()}


@dataclass
class CoarseConfig(NetConfig):
    """Fields shared by the three CoarseNets (MUNIT-style encoders and decoders)."""

    in_channels: int = _f(1, "input image channels (1 = grey sketch, 3 = RGB photo)")
    out_channels: int = _f(1, "depth map channels")
    image_size: int = _f(256, "input/output side in pixels (networks are fully convolutional)")
    dim: int = _f(64, "base channels; doubled at each content downsampling")
    n_downsample: int = _f(3, "stride-2 downsamplings in the content encoder (= upsamplings in decoders)")
    n_res: int = _f(4, "residual blocks in the content encoder and in each decoder")
    style_dim: int = _f(8, "length of the style code")
    style_n_downsample: int = _f(4, "stride-2 downsamplings in the style encoder (MUNIT uses 4)")
    mlp_dim: int = _f(128, "hidden width of the MLP that maps the style code to AdaIN parameters")
    mlp_blocks: int = _f(3, "linear layers in that MLP")
    norm: str = _f("in", "normalisation in the content encoder: in, ln, bn, none")
    decoder_res_norm: str = _f("in", "normalisation in the residual blocks of non-AdaIN decoders")
    activation: str = _f("relu", "activation: relu, lrelu, tanh, none")
    pad_type: str = _f("reflect", "padding: reflect, replicate, zero")
    upsample: str = _f("nearest", "2x upsampling in the decoders: nearest (MUNIT, the paper) or bilinear "
                       "(no faint block grid at the coarsest scale; not in the paper)")

    def validate(self) -> None:
        super().validate()
        if self.decoder_res_norm not in NORMS:
            raise ConfigError(f"decoder_res_norm {self.decoder_res_norm!r} is not one of {NORMS}")
        if self.upsample not in UPSAMPLE_MODES:
            raise ConfigError(f"upsample {self.upsample!r} is not one of {UPSAMPLE_MODES}")


@dataclass
class SPCoarseMinusConfig(CoarseConfig):
    """SP-CoarseNet-: one encoder, one code, image and depth decoders."""

    kind: ClassVar[str] = "sp_coarse_minus"


@dataclass
class SPCoarseConfig(CoarseConfig):
    """SP-CoarseNet: content and style encoders, AdaIN image decoder, depth decoder."""

    kind: ClassVar[str] = "sp_coarse"


@dataclass
class DPCoarseConfig(CoarseConfig):
    """DP-CoarseNet: a sketch path (in_channels) and a photo path (photo_channels)."""

    kind: ClassVar[str] = "dp_coarse"
    photo_channels: int = _f(3, "photo channels of the photo path")


@dataclass
class DNetConfig(NetConfig):
    """D-Net (coarse network of DF2Net): pix2pix-style U-Net, image -> depth."""

    kind: ClassVar[str] = "dnet"
    in_channels: int = _f(1, "input channels (the DF2Net demo uses 3 for photos)")
    out_channels: int = _f(1, "depth map channels")
    image_size: int = _f(256, "input/output side in pixels")
    dim: int = _f(64, "base channels nf (DNet(3,1,64) in the DF2Net demo)")
    n_downsample: int = _f(8, "stride-2 encoder layers; 8 takes 256 down to 1x1")
    dropout: float = _f(0.5, "dropout in the three innermost decoder layers (pix2pix)")
    out_activation: str = _f("tanh", "output activation: tanh (package convention) or linear (DF2Net demo)")

    def validate(self) -> None:
        super().validate()
        if self.n_downsample < 2:
            raise ConfigError("DNetConfig.n_downsample must be >= 2")
        if self.out_activation == "sigmoid":
            raise ConfigError("DNetConfig.out_activation must be tanh or linear")


@dataclass
class LineExtractorConfig(NetConfig):
    """Line extraction module (E_con + D_3D): depth -> line drawing."""

    kind: ClassVar[str] = "line_extractor"
    in_channels: int = _f(1, "input channels (depth map)")
    out_channels: int = _f(1, "output channels (line drawing, black lines on white)")
    image_size: int = _f(256, "input/output side in pixels")
    dim: int = _f(64, "base channels")
    n_downsample: int = _f(3, "downsamplings in the encoder (= upsamplings in the decoder)")
    n_res: int = _f(4, "residual blocks in the encoder and in the decoder")
    norm: str = _f("in", "encoder normalisation: in, ln, bn, none")
    decoder_res_norm: str = _f("in", "normalisation in the decoder residual blocks")
    activation: str = _f("relu", "activation: relu, lrelu, tanh, none")
    pad_type: str = _f("reflect", "padding: reflect, replicate, zero")
    out_activation: str = _f("tanh", "output: tanh mapped to [0,1], or sigmoid")

    def validate(self) -> None:
        super().validate()
        if self.out_activation == "linear":
            raise ConfigError("LineExtractorConfig.out_activation must be tanh or sigmoid")


@dataclass
class FineNetConfig(NetConfig):
    """FineNet refinement module: coarse depth + lines -> signed displacement."""

    kind: ClassVar[str] = "finenet"
    in_channels: int = _f(2, "input channels: coarse depth + line drawing")
    out_channels: int = _f(1, "displacement map channels")
    image_size: int = _f(256, "input/output side in pixels")
    dim: int = _f(64, "base channels")
    n_downsample: int = _f(3, "downsamplings in the encoder (= upsamplings in the decoder)")
    n_res: int = _f(4, "residual blocks in the encoder and in the decoder")
    norm: str = _f("in", "encoder normalisation: in, ln, bn, none")
    decoder_res_norm: str = _f("in", "normalisation in the decoder residual blocks")
    activation: str = _f("relu", "activation: relu, lrelu, tanh, none")
    pad_type: str = _f("reflect", "padding: reflect, replicate, zero")
    max_displacement: float = _f(0.1, "displacement = tanh(.) * max_displacement, in depth units")
    lambda_conditioned: bool = _f(False, "take lambda_line as input (loss-conditional training, YOTO)")
    lambda_hidden: int = _f(64, "hidden width of the lambda -> FiLM MLP (conditioned mode)")
    lambda_channel: bool = _f(True, "also feed lambda as a constant extra input channel (conditioned mode)")
    default_lambda_line: float = _f(0.85, "lambda_line used when a conditioned model gets none")
    line_gate_radius: int = _f(0, "not in the paper: > 0 lets the surface move only within about this many "
                                  "pixels of a drawn line (0 = anywhere, the paper's FineNet)")
    upsample: str = _f("nearest", "2x upsampling in the decoder: nearest (MUNIT, the paper) or bilinear "
                       "(smoother displacement, no blocks at the coarsest scale; not in the paper)")

    def validate(self) -> None:
        super().validate()
        if self.max_displacement <= 0:
            raise ConfigError("FineNetConfig.max_displacement must be > 0")
        if self.upsample not in UPSAMPLE_MODES:
            raise ConfigError(f"upsample {self.upsample!r} is not one of {UPSAMPLE_MODES}")
        if self.line_gate_radius < 0:
            raise ConfigError("FineNetConfig.line_gate_radius must be >= 0")


@dataclass
class CycleGANConfig(NetConfig):
    """CycleGAN photo <-> sketch: two ResNet generators, two 70x70 PatchGANs."""

    kind: ClassVar[str] = "cyclegan"
    photo_channels: int = _f(3, "photo channels")
    sketch_channels: int = _f(1, "sketch channels")
    image_size: int = _f(256, "training crop side in pixels")
    ngf: int = _f(64, "generator base channels (c7s1-ngf, d2ngf, d4ngf, ...)")
    n_blocks: int = _f(9, "generator residual blocks (9 for 256, 6 for 128 in CycleGAN)")
    ndf: int = _f(64, "discriminator base channels")
    n_layers_d: int = _f(3, "stride-2 discriminator layers (3 gives the 70x70 PatchGAN)")
    norm: str = _f("in", "normalisation: in, bn, none")
    pad_type: str = _f("reflect", "generator padding: reflect, replicate, zero")

    def validate(self) -> None:
        super().validate()
        if self.norm in ("ln", "adain"):
            raise ConfigError("CycleGANConfig.norm must be in, bn or none")
        if self.image_size % 4:
            raise ConfigError("CycleGANConfig.image_size must be divisible by 4")


CONFIG_CLASSES: dict[str, type[NetConfig]] = {
    c.kind: c for c in (SPCoarseMinusConfig, SPCoarseConfig, DPCoarseConfig, DNetConfig,
                        LineExtractorConfig, FineNetConfig, CycleGANConfig)
}
PRESETS = ("lite", "paper")


def config_from_dict(data: dict[str, Any]) -> NetConfig:
    """Build the config named by ``data['kind']``."""
    kind = data.get("kind")
    if kind not in CONFIG_CLASSES:
        raise ConfigError(f"unknown network kind {kind!r}; known kinds: {', '.join(CONFIG_CLASSES)}")
    return CONFIG_CLASSES[kind].from_dict(data)


def preset(name: str) -> dict[str, NetConfig]:
    """Configs of every network for preset ``lite`` or ``paper``, keyed by kind."""
    if name == "paper":
        common = dict(image_size=256, dim=64, n_downsample=3, n_res=4)
        coarse = dict(common, style_dim=8, mlp_dim=128)
        return {
            "sp_coarse_minus": SPCoarseMinusConfig(**coarse),
            "sp_coarse": SPCoarseConfig(**coarse),
            "dp_coarse": DPCoarseConfig(**coarse),
            "dnet": DNetConfig(image_size=256, dim=64, n_downsample=8),
            "line_extractor": LineExtractorConfig(**common),
            "finenet": FineNetConfig(**common),
            "cyclegan": CycleGANConfig(image_size=256, ngf=64, n_blocks=9, ndf=64),
        }
    if name == "lite":
        common = dict(image_size=128, dim=16, n_downsample=3, n_res=4)
        coarse = dict(common, style_dim=8, mlp_dim=128)
        return {
            "sp_coarse_minus": SPCoarseMinusConfig(**coarse),
            "sp_coarse": SPCoarseConfig(**coarse),
            "dp_coarse": DPCoarseConfig(**coarse),
            "dnet": DNetConfig(image_size=128, dim=16, n_downsample=7),
            "line_extractor": LineExtractorConfig(**common),
            "finenet": FineNetConfig(**common, lambda_conditioned=True, lambda_hidden=32),
            "cyclegan": CycleGANConfig(image_size=128, ngf=16, n_blocks=6, ndf=16),
        }
    raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")


# ---- YAML ---------------------------------------------------------------------------
def load_yaml(path: str | Path) -> dict[str, NetConfig]:
    """Read a YAML file whose top-level keys are network kinds into configs."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of network kinds to configs")
    out: dict[str, NetConfig] = {}
    for kind, values in data.items():
        if kind not in CONFIG_CLASSES:
            raise ConfigError(f"{path}: unknown network {kind!r}; "
                              f"known networks: {', '.join(CONFIG_CLASSES)}")
        try:
            out[kind] = CONFIG_CLASSES[kind].from_dict(values or {})
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return out


def dump_yaml(configs: dict[str, NetConfig], header: str = "") -> str:
    """YAML text of ``configs`` with each field's help as a comment on its key."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for kind, cfg in configs.items():
        lines.append("")
        lines.append(f"{kind}:  # {(type(cfg).__doc__ or '').strip().splitlines()[0]}")
        lines.append(cfg.to_yaml(indent=2).rstrip("\n"))
    return "\n".join(lines) + "\n"


def save_yaml(configs: dict[str, NetConfig], path: str | Path, header: str = "") -> None:
    """Write ``configs`` as commented YAML (e.g. the resolved config copied into a run folder)."""
    Path(path).write_text(dump_yaml(configs, header), encoding="utf-8")
