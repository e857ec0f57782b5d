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
    coords: bool = _f(False, "also read two channels of pixel coordinates (x, y in [-1, 1])")
    head: str = _f("mean", "'mean': average the last feature map; 'flat': the linear head reads every cell of it")
    rounds: int = _f(2, "how many times the pipeline shows the locator its crop and moves the crop")
    mirror: bool = _f(False, "also read the view mirrored left-right and average the two answers")
    widen: float = _f(0.0, "the final crop's side is made this share wider: a crop too tight costs more depth "
                           "error than one as much too wide (docs/APP.md, the face locator)")

    def validate(self) -> None:
        super().validate()
        if self.view < 8 or self.width < 4 or self.n_layers < 1 or self.rounds < 1:
            raise ConfigError("LocatorConfig needs view >= 8, width >= 4, n_layers >= 1 and rounds >= 1")
        if not -0.5 < self.widen < 1.0:
            raise ConfigError(f"LocatorConfig.widen must lie in (-0.5, 1), not {self.widen}")
        if self.head not in ("mean", "flat"):
            raise ConfigError(f"LocatorConfig.head must be 'mean' or 'flat', not {self.head!r}")

    @property
    def cells(self) -> int:
        """Side of the last feature map."""
        side = self.view
        for _ in range(self.n_layers):
            side = (side + 1) // 2
        return side


@register
class FaceLocator(HubModel):
    config_class = LocatorConfig

    def __init__(self, config: LocatorConfig):
        super().__init__(config)
        layers, c = [], 3 if config.coords else 1
        for i in range(config.n_layers):
            out = config.width * min(2 ** i, 4)
            layers += [nn.Conv2d(c, out, 3, 2, 1), nn.GroupNorm(4, out), nn.ReLU()]
            c = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c * (config.cells ** 2 if config.head == "flat" else 1), 3)

    def forward(self, view: torch.Tensor) -> torch.Tensor:
        """view (N, 1, V, V) in [0, 1], black lines on white -> (N, 3): log s, cx, cy."""
        x = 1.0 - view
        if self.config.coords:
            n, _, h, w = x.shape
            ys = torch.linspace(-1, 1, h, dtype=x.dtype, device=x.device)[:, None].expand(h, w)
            xs = torch.linspace(-1, 1, w, dtype=x.dtype, device=x.device)[None, :].expand(h, w)
            x = torch.cat([x, xs.expand(n, 1, h, w), ys.expand(n, 1, h, w)], 1)
        f = self.features(x)
        return self.head(f.flatten(1) if self.config.head == "flat" else f.mean((2, 3)))

    def locate(self, view: torch.Tensor) -> torch.Tensor:
        """``forward`` at inference: with ``config.mirror`` the answer for the mirrored view, mirrored back (cx
        negated), is averaged in."""
        out = self(view)
        if self.config.mirror:
            m = self(view.flip(-1))
            out = (out + m * torch.tensor([1.0, -1.0, 1.0], dtype=m.dtype, device=m.device)) / 2
        return out


def crop_squares(images: torch.Tensor, params: torch.Tensor, size: int, fill: str = "white") -> torch.Tensor:
    """``images`` (N, C, H, W, in the training framing) cropped to the squares ``params`` (N, 3: log s, cx, cy;
    half-side s and centre in units of the frame's half-side) and resampled to ``size`` px. Outside the image:
    ``fill`` "white" (paper, 1), "zeros" (depth background) or "border" (the edge pixels repeated, for photos)."""
    import torch.nn.functional as F

    s = params[:, 0].exp()
    theta = torch.zeros(len(params), 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = theta[:, 1, 1] = s
    theta[:, 0, 2], theta[:, 1, 2] = params[:, 1], params[:, 2]
    grid = F.affine_grid(theta, [len(params), images.shape[1], size, size], align_corners=False)
    if fill == "white":
        return 1.0 - F.grid_sample(1.0 - images, grid, padding_mode="zeros", align_corners=False)
    if fill not in ("zeros", "border"):
        raise ValueError(f"fill must be white, zeros or border, got {fill!r}")
    return F.grid_sample(images, grid, padding_mode=fill, align_corners=False)


def crop_views(drawings: torch.Tensor, params: torch.Tensor, view: int) -> torch.Tensor:
    """What the locator sees: ``drawings`` (N, 1, H, W, black on white, in the training framing) cropped to the
    squares ``params`` (N, 3: log s, cx, cy) and resampled to ``view`` px; outside the drawing is white paper."""
    return crop_squares(drawings, params, view, "white")
