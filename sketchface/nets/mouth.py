"""Mouth: how far the drawn mouth is open, read from a crop around the mouth of the face FaceFit fitted (not in the
papers).

FaceFit answers the head's pose and placement well, but nearly the same lip gap whatever the drawing, even after
fine-tuning on faces that open their mouths (docs/TRAINING.md, "Open mouths"), so a drawn smile with the teeth
showing came back as a closed mouth. ``Mouth`` is a second stage in the manner of 3DDFA's cascades: a small CNN that looks at the mouth
alone, a ``side``-pixel grey crop ``span`` eye distances wide around the fitted lips and turned with the eye line,
and answers the face model's jawOpen weight. ``sketchface.prior.FacePrior`` then opens the fitted face's jaw by it.

    weight = mouth.jaw_open(gray_frame, points68)            # in [0, 1]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from sketchface.nets.blocks import stride2_stack
from sketchface.nets.config import ConfigError, NetConfig, _f
from sketchface.nets.hub import HubModel, register
from sketchface.nets.outline import LEFT_EYE, RIGHT_EYE

LIPS = slice(48, 68)
LOGIT_SHIFT = 2.0           # the answer is sigmoid(raw - LOGIT_SHIFT): a closed mouth is the start


@dataclass
class MouthConfig(NetConfig):
    """Mouth: a small CNN from a crop around the fitted lips to the face model's jawOpen weight."""

    kind: ClassVar[str] = "mouth"
    side: int = _f(32, "crop side, pixels")
    span: float = _f(1.3, "crop side in eye distances")
    widths: tuple = _f((8, 16, 16), "channels of the stride-2 convolutions")
    hidden: int = _f(16, "hidden units before the answer")

    def validate(self) -> None:
        super().validate()
        self.widths = tuple(int(w) for w in self.widths)
        if self.side < 8 or self.side % (2 ** len(self.widths)) or not self.widths or self.hidden < 1:
            raise ConfigError("MouthConfig needs side >= 8 divisible by 2 ** len(widths), widths and hidden >= 1")
        if not 0.3 <= self.span <= 4.0:
            raise ConfigError(f"MouthConfig.span must lie in [0.3, 4] eye distances (got {self.span})")


def mouth_frame(points: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(centre of the lips (2,), eye distance, angle of the eye line in radians) of 68 points (x right, y down)."""
    p = np.asarray(points, np.float64)[:, :2]
    d = p[RIGHT_EYE].mean(0) - p[LEFT_EYE].mean(0)
    return p[LIPS].mean(0), float(np.hypot(*d)), float(np.arctan2(d[1], d[0]))


def mouth_crop(gray: np.ndarray, points: np.ndarray, config: MouthConfig, jitter=None) -> np.ndarray:
    """(side, side) grey crop of ``gray`` (paper 1, ink 0) around the lips of ``points`` (its pixels), ``span`` eye
    distances wide and turned with the eye line; smoothed first when it shrinks the image. ``jitter`` (dx, dy in
    eye distances, log scale, degrees) moves it (training)."""
    import cv2

    centre, eye, angle = mouth_frame(points)
    dx, dy, log_s, deg = jitter if jitter is not None else (0.0, 0.0, 0.0, 0.0)
    angle += np.deg2rad(deg)
    k = config.span * max(eye, 1.0) * np.exp(log_s) / config.side        # input pixels per crop pixel
    g = np.asarray(gray, np.float32)
    if k > 1.6:
        g = cv2.GaussianBlur(g, (0, 0), 0.5 * (k - 1.0))
    c, s = np.cos(angle), np.sin(angle)
    m = np.array([[k * c, -k * s, 0.0], [k * s, k * c, 0.0]])
    m[:, 2] = centre + max(eye, 1.0) * np.array([dx, dy]) - m[:, :2] @ np.full(2, (config.side - 1) / 2)
    return cv2.warpAffine(g, m, (config.side, config.side), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)


@register
class Mouth(HubModel):
    config_class = MouthConfig

    def __init__(self, config: MouthConfig):
        super().__init__(config)
        c, cells = config.widths[-1], config.side // 2 ** len(config.widths)
        self.net = nn.Sequential(*stride2_stack(1, config.widths, 1), nn.Flatten(),
                                 nn.Linear(c * cells * cells, config.hidden), nn.ReLU(),
                                 nn.Linear(config.hidden, 1))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """crops (N, 1, side, side), darkness (1 − grey) -> (N,) jawOpen weights in [0, 1]."""
        return torch.sigmoid(self.net(crops)[:, 0] - LOGIT_SHIFT)

    def jaw_open(self, gray: np.ndarray, points: np.ndarray) -> float:
        """The jawOpen weight of the mouth drawn in ``gray`` (paper 1) around the lips of ``points`` (68, 2)."""
        x = torch.from_numpy(1.0 - mouth_crop(gray, points, self.config))[None, None]
        with torch.inference_mode():
            return float(self(x.to(self.device, next(self.parameters()).dtype))[0])
