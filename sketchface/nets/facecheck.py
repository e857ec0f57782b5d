"""FaceCheck: does a framed input show a face at all? (not in the papers)

The pipeline turns whatever it is given into a face: noise, a page of text or a scribble comes back as an
average-looking face. ``FaceCheck`` reads the framed model input the way the networks see it (grey, ``view`` px,
after FaceFit's framing) and answers one logit: a face (drawn or photographed) or not. The app refuses an upload
whose probability is under ``threshold`` (``SketchFace(..., check_face=True)``; the pad's drawing is not checked).
Trained on framed faces of the synthetic world and of the real train pairs against framed noise, scribbles, text
and shapes (``sketchface.train.facecheck``).
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


@dataclass
class FaceCheckConfig(NetConfig):
    """Face check: stride-2 convolutions, global mean, one logit."""

    kind: ClassVar[str] = "facecheck"
    view: int = _f(64, "side of the grey view it reads, pixels (the framed model input, resized)")
    widths: tuple = _f((8, 16, 32, 32), "channels of each stride-2 convolution")
    threshold: float = _f(0.5, "inputs whose face probability is under this are refused")

    def validate(self) -> None:
        super().validate()
        self.widths = tuple(int(w) for w in self.widths)
        if self.view < 16 or not self.widths or min(self.widths) < 4:
            raise ConfigError("FaceCheckConfig needs view >= 16 and widths >= 4")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"FaceCheckConfig.threshold must lie in (0, 1), not {self.threshold}")


@register
class FaceCheck(HubModel):
    config_class = FaceCheckConfig

    def __init__(self, config: FaceCheckConfig):
        super().__init__(config)
        self.features = nn.Sequential(*stride2_stack(1, config.widths, 4))
        self.head = nn.Linear(2 * config.widths[-1], 1)

    def forward(self, view: torch.Tensor) -> torch.Tensor:
        """view (N, 1, V, V) grey in [0, 1] -> (N,) logits (face > 0)."""
        f = self.features(view - 0.5)
        return self.head(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1))[:, 0]

    def probability(self, framed: np.ndarray) -> float:
        """The face probability of one framed model input (S, S) or (S, S, 3) in [0, 1]."""
        x = to_view(framed, self.config.view)
        with torch.inference_mode():
            return float(torch.sigmoid(self(torch.from_numpy(x)[None, None].to(self.device))).item())


def to_view(framed: np.ndarray, view: int) -> np.ndarray:
    """A framed model input (S, S[, 3]) in [0, 1] as the check reads it: grey, ``view`` px, float32."""
    import cv2

    x = np.asarray(framed, np.float32)
    if x.ndim == 3:
        x = x[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    if x.shape[0] != view:
        x = cv2.resize(x, (view, view), interpolation=cv2.INTER_AREA)
    return np.clip(x, 0.0, 1.0).astype(np.float32)
