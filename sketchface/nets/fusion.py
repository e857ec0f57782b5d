"""PriorFusion: DP-CoarseNet's depth and the face model's depth (the prior) joined into one coarse depth (not in the
papers).

Inside the face the fitted face model is far closer to the truth than DP-CoarseNet; at the face's outline it is far
worse, because DP-CoarseNet reads the outline from the drawing and the face model keeps its own
(docs/TRAINING.md, "Where the face model loses on synthetic drawings"). ``PriorFusion`` is a few dilated 3×3
convolutions that look at the drawing, DP-CoarseNet's depth, the prior carried ``reach`` pixels beyond its outline and
the prior's mask, and answer per pixel a weight ``w`` and a small correction ``r``:

    depth = w · prior_carried + (1 − w) · dp_depth + r

It is the issue's "CoarseNet on the prior" in its smallest form: everything it knows of the face's shape comes from
the two networks before it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from sketchface.nets.config import ConfigError, NetConfig, _f
from sketchface.nets.hub import HubModel, register


@dataclass
class FusionConfig(NetConfig):
    """PriorFusion: dilated 3×3 convolutions from (drawing, DP depth, carried prior, prior mask) to a weight and a
    correction per pixel."""

    kind: ClassVar[str] = "prior_fusion"
    width: int = _f(16, "channels of the hidden convolutions")
    dilations: tuple = _f((1, 2, 4, 8, 1), "dilation of each hidden 3×3 convolution")
    reach: int = _f(6, "pixels beyond its outline that the prior's depth is carried (its nearest value)")
    max_correction: float = _f(0.05, "largest correction, of the 0..1 depth range")

    def validate(self) -> None:
        super().validate()
        self.dilations = tuple(int(d) for d in self.dilations)
        if self.width < 1 or not self.dilations or min(self.dilations) < 1:
            raise ConfigError("FusionConfig needs width >= 1 and dilations >= 1")
        if not 0 <= self.reach <= 32:
            raise ConfigError(f"FusionConfig.reach must lie in [0, 32] pixels (got {self.reach})")
        if not 0.0 <= self.max_correction <= 0.5:
            raise ConfigError(f"FusionConfig.max_correction must lie in [0, 0.5] (got {self.max_correction})")


def carry_out(prior: torch.Tensor, reach: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(prior carried ``reach`` pixels beyond its outline, its mask) for depth (N, 1, H, W), 0 off the face: each
    ring outside takes the largest depth of its 3×3 neighbours already filled."""
    mask = (prior > 0).to(prior.dtype)
    filled, have = prior, mask
    for _ in range(reach):
        grown = F.max_pool2d(filled, 3, 1, 1)
        new = (F.max_pool2d(have, 3, 1, 1) > 0).to(prior.dtype)
        filled = torch.where(have > 0, filled, grown * new)
        have = new
    return filled, mask


@register
class PriorFusion(HubModel):
    config_class = FusionConfig

    def __init__(self, config: FusionConfig):
        super().__init__(config)
        layers, c = [], 4
        for d in config.dilations:
            layers += [nn.Conv2d(c, config.width, 3, padding=d, dilation=d), nn.ReLU()]
            c = config.width
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(c, 2, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        with torch.no_grad():                      # it starts as DP-CoarseNet's depth
            self.out.bias.copy_(torch.tensor([-3.0, 0.0]))

    def forward(self, sketch: torch.Tensor, dp_depth: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """sketch (N, 1, H, W) grey (paper 1); dp_depth and prior (N, 1, H, W) on the 0..1 depth scale, the prior 0
        off the face -> the joined depth (N, 1, H, W) in [0, 1]."""
        carried, mask = carry_out(prior, self.config.reach)
        o = self.out(self.body(torch.cat([1.0 - sketch, dp_depth, carried, mask], 1)))
        w = torch.sigmoid(o[:, :1])
        r = self.config.max_correction * torch.tanh(o[:, 1:])
        return (w * carried + (1.0 - w) * dp_depth + r).clamp(0.0, 1.0)
