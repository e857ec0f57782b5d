"""Networks of the sketch paper, the D-Net baseline and the CycleGAN, with configs and checkpoints.

``build(kind, config)`` makes any network from its kind and a config (object, dict or
None for the defaults); ``load_network(dir)`` rebuilds one from a saved checkpoint.

Names are imported on first use (PEP 562), so ``import sketchface.nets`` and the
configs do not load torch: ``python -m sketchface --help`` stays fast.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sketchface.nets.config import (CONFIG_CLASSES, CoarseConfig, ConfigError, CycleGANConfig,
                                    DNetConfig, DPCoarseConfig, FineNetConfig,
                                    LineExtractorConfig, NetConfig, SPCoarseConfig,
                                    SPCoarseMinusConfig, config_from_dict, load_yaml, preset,
                                    save_yaml)

# every network kind, in preset order; the registry in hub.py maps them to classes
KINDS = tuple(CONFIG_CLASSES)

_LAZY = {
    "sketchface.nets.blocks": ("AdaptiveInstanceNorm2d", "ContentEncoder", "Conv2dBlock",
                               "DepthDecoder", "ImageDecoder", "LayerNorm", "MLP", "ResBlock",
                               "ResBlocks", "StyleEncoder"),
    "sketchface.nets.coarse": ("DPCoarseNet", "SPCoarseNet", "SPCoarseNetMinus"),
    "sketchface.nets.cyclegan": ("CycleGAN", "PatchDiscriminator", "ResnetGenerator"),
    "sketchface.nets.dnet": ("DNet",),
    "sketchface.nets.finenet": ("FineNet", "LineExtractor"),
    "sketchface.nets.hub": ("REGISTRY", "CheckpointError", "HubModel", "load_network"),
    "sketchface.nets.locator": ("FaceLocator", "LocatorConfig"),
    "sketchface.nets.facefit": ("FaceFit", "FaceFitConfig"),
    "sketchface.nets.facecheck": ("FaceCheck", "FaceCheckConfig"),
    "sketchface.nets.outline": ("Outline", "OutlineConfig"),
    "sketchface.nets.mouth": ("Mouth", "MouthConfig"),
    "sketchface.nets.fusion": ("PriorFusion", "FusionConfig"),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these load on first use
    from sketchface.nets.blocks import (AdaptiveInstanceNorm2d, ContentEncoder, Conv2dBlock,
                                        DepthDecoder, ImageDecoder, LayerNorm, MLP, ResBlock,
                                        ResBlocks, StyleEncoder)
    from sketchface.nets.coarse import DPCoarseNet, SPCoarseNet, SPCoarseNetMinus
    from sketchface.nets.cyclegan import CycleGAN, PatchDiscriminator, ResnetGenerator
    from sketchface.nets.dnet import DNet
    from sketchface.nets.finenet import FineNet, LineExtractor
    from sketchface.nets.hub import REGISTRY, CheckpointError, HubModel, load_network


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sketchface.nets' has no attribute {name!r}")


def load_all() -> dict[str, type]:
    """Import every network module; returns the filled kind -> class registry."""
    for module in ("coarse", "dnet", "finenet", "cyclegan", "locator", "facefit", "facecheck", "outline", "mouth", "fusion"):
        importlib.import_module(f"sketchface.nets.{module}")
    from sketchface.nets.hub import REGISTRY

    return REGISTRY


def build(kind: str, config: NetConfig | dict[str, Any] | None = None,
          device: Any = None) -> Any:
    """Build network ``kind`` (e.g. 'dp_coarse') from a config, a dict of fields or defaults."""
    registry = load_all()
    if kind not in registry:
        raise ConfigError(f"unknown network kind {kind!r}; known kinds: {', '.join(registry)}")
    cls = registry[kind]
    if config is None:
        config = cls.config_class()
    elif isinstance(config, dict):
        config = cls.config_class.from_dict(config)
    elif not isinstance(config, cls.config_class):
        raise ConfigError(f"{kind} needs a {cls.config_class.__name__}, got {type(config).__name__}")
    model = cls(config)
    return model.to(device) if device is not None else model


__all__ = [  # a literal list, so that linters see the re-exports
    "AdaptiveInstanceNorm2d", "CONFIG_CLASSES", "CheckpointError", "CoarseConfig", "ConfigError",
    "ContentEncoder", "Conv2dBlock", "CycleGAN", "CycleGANConfig", "DNet", "DNetConfig", "DPCoarseConfig",
    "DPCoarseNet", "DepthDecoder", "FaceFit", "FaceFitConfig", "FaceLocator", "FineNet", "FineNetConfig",
    "HubModel", "ImageDecoder", "KINDS", "LayerNorm", "LineExtractor", "LineExtractorConfig", "LocatorConfig",
    "MLP", "NetConfig", "PatchDiscriminator", "REGISTRY", "ResBlock", "ResBlocks", "ResnetGenerator",
    "SPCoarseConfig", "SPCoarseMinusConfig", "SPCoarseNet", "SPCoarseNetMinus", "StyleEncoder", "build",
    "config_from_dict", "load_all", "load_network", "load_yaml", "preset", "save_yaml",
]
