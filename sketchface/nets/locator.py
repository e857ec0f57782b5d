"""A small learned face locator for drawings (not in the papers): where the training framing lies in a view.

The pipeline frames a drawing by its ink box (``sketchface.framing``), which strokes of hair, neck or shoulders
stretch one way or another. ``FaceLocator`` looks at a ``view`` x ``view`` grey crop of the drawing (black on
white, paper made white) and predicts ``(log s, cx, cy)``: the crop shows the square of the training framing
centred at (cx, cy) with half-side s, in the training frame's normalised coordinates ([-1, 1], x right, y down).
``sketchface.framing.refine_framing`` turns that into a better crop. Trained on the training drawings seen
through random crops (``sketchface.train.locator``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from sketchface.nets.config import ConfigError, NetConfig, _f
from sketchface.nets.hub import HubModel, register


@dataclass
class LocatorConfig(NetConfig):
    """Face locator: stride-2 convolutions, global mean, a linear head of 3 numbers."""

    kind: ClassVar[str] = "locator"
    view: int = _f(64, "side of the grey view it reads, pixels")
    width: int = _f(16, "channels of the first layer (then 2x, 4x, 4x, 4x)")
    n_layers: int = _f(5, "stride-2 convolution layers")

    def validate(self) -> None:
        super().validate()
        if self.view < 8 or self.width < 4 or self.n_layers < 1:
            raise ConfigError("LocatorConfig needs view >= 8, width >= 4 and n_layers >= 1")


@register
class FaceLocator(HubModel):
    config_class = LocatorConfig

    def __init__(self, config: LocatorConfig):
        super().__init__(config)
        layers, c = [], 1
        for i in range(config.n_layers):
            out = config.width * min(2 ** i, 4)
            layers += [nn.Conv2d(c, out, 3, 2, 1), nn.GroupNorm(4, out), nn.ReLU()]
            c = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, 3)

    def forward(self, view: torch.Tensor) -> torch.Tensor:
        """view (N, 1, V, V) in [0, 1], black lines on white -> (N, 3): log s, cx, cy."""
        return self.head(self.features(1.0 - view).mean((2, 3)))


def crop_views(drawings: torch.Tensor, params: torch.Tensor, view: int) -> torch.Tensor:
    """What the locator sees: ``drawings`` (N, 1, H, W, black on white, in the training framing) cropped to the
    squares ``params`` (N, 3: log s, cx, cy) and resampled to ``view`` px; outside the drawing is white paper."""
    import torch.nn.functional as F

    s = params[:, 0].exp()
    theta = torch.zeros(len(params), 2, 3, dtype=drawings.dtype, device=drawings.device)
    theta[:, 0, 0] = theta[:, 1, 1] = s
    theta[:, 0, 2], theta[:, 1, 2] = params[:, 1], params[:, 2]
    grid = F.affine_grid(theta, [len(params), 1, view, view], align_corners=False)
    ink = F.grid_sample(1.0 - drawings, grid, padding_mode="zeros", align_corners=False)
    return 1.0 - ink
