"""Networks of the sketch paper, the D-Net baseline and the CycleGAN, with configs and checkpoints.

``build(kind, config)`` makes any network from its kind and a config (object, dict or
None for the defaults); ``load_network(dir)`` rebuilds one from a saved checkpoint.
"""
from __future__ import annotations

from typing import Any

from sketchface.nets.blocks import (AdaptiveInstanceNorm2d, ContentEncoder, Conv2dBlock,
                                    DepthDecoder, ImageDecoder, LayerNorm, MLP, ResBlock,
                                    ResBlocks, StyleEncoder)
from sketchface.nets.coarse import DPCoarseNet, SPCoarseNet, SPCoarseNetMinus
from sketchface.nets.config import (CONFIG_CLASSES, CoarseConfig, ConfigError, CycleGANConfig,
                                    DNetConfig, DPCoarseConfig, FineNetConfig,
                                    LineExtractorConfig, NetConfig, SPCoarseConfig,
                                    SPCoarseMinusConfig, config_from_dict, load_yaml, preset,
                                    save_yaml)
from sketchface.nets.cyclegan import CycleGAN, PatchDiscriminator, ResnetGenerator
from sketchface.nets.dnet import DNet
from sketchface.nets.finenet import FineNet, LineExtractor
from sketchface.nets.hub import REGISTRY, CheckpointError, HubModel, load_network

KINDS = tuple(REGISTRY)


def build(kind: str, config: NetConfig | dict[str, Any] | None = None,
          device: str | None = None) -> HubModel:
    """Build network ``kind`` (e.g. 'dp_coarse') from a config, a dict of fields or defaults."""
    if kind not in REGISTRY:
        raise ConfigError(f"unknown network kind {kind!r}; known kinds: {', '.join(REGISTRY)}")
    cls = REGISTRY[kind]
    if config is None:
        config = cls.config_class()
    elif isinstance(config, dict):
        config = cls.config_class.from_dict(config)
    elif not isinstance(config, cls.config_class):
        raise ConfigError(f"{kind} needs a {cls.config_class.__name__}, got {type(config).__name__}")
    model = cls(config)
    return model.to(device) if device is not None else model


__all__ = [
    "AdaptiveInstanceNorm2d", "CONFIG_CLASSES", "CheckpointError", "CoarseConfig", "ConfigError",
    "ContentEncoder", "Conv2dBlock", "CycleGAN", "CycleGANConfig", "DNet", "DNetConfig",
    "DPCoarseConfig", "DPCoarseNet", "DepthDecoder", "FineNet", "FineNetConfig", "HubModel",
    "ImageDecoder", "KINDS", "LayerNorm", "LineExtractor", "LineExtractorConfig", "MLP",
    "NetConfig", "PatchDiscriminator", "REGISTRY", "ResBlock", "ResBlocks", "ResnetGenerator",
    "SPCoarseConfig", "SPCoarseMinusConfig", "SPCoarseNet", "SPCoarseNetMinus", "StyleEncoder",
    "build", "config_from_dict", "load_network", "load_yaml", "preset", "save_yaml",
]
