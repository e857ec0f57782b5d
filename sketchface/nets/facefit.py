"""FaceFit: face-model coefficients, head pose and placement from one framed drawing or photo (not in the papers).

A small CNN reads the framed model input (``image_size`` px, RGB; drawings are grey repeated, black on white)
and answers the ICT face model's first ``n_identity`` identity weights, its ``n_expression`` expression weights,
the head rotation (yaw, pitch, roll in degrees, ``sketchface.render.rotation_matrix``) and a 2-D similarity
(scale ``s`` and shift ``tx, ty``) that places the posed face in the crop it was shown:

    u = s * (R @ (v - FRAME_CENTER))_x + tx,   w = -s * (R @ (v - FRAME_CENTER))_y + ty,   depth ~ s * (R v)_z

with (u, w) in the crop's normalised coordinates ([-1, 1], x right, y down) and ``v`` in centimetres. The
training framing (``sketchface.render``, camera scale 1) is ``s = 1 / 14`` (half of FRAME_CM) and ``t = 0``, so
the answer also says where the training framing lies in the crop: ``sketchface.prior`` re-frames the input by
it and renders the fitted face's depth there, the *prior* of the prior-based pipeline.

Trained on the synthetic world by a loss on posed vertices (``sketchface.train.facefit``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from sketchface.nets.config import ConfigError, NetConfig, _f
from sketchface.nets.hub import HubModel, register

CANONICAL_SCALE = 1.0 / 14.0   # crop units per cm of the training framing at camera scale 1 (2 / FRAME_CM)
MAX_ANGLE = 60.0               # degrees: the rotation head's range (tanh)


@dataclass
class FaceFitConfig(NetConfig):
    """FaceFit: stride-2 convolution stages with coordinate channels, a flat head of face-model coefficients."""

    kind: ClassVar[str] = "facefit"
    image_size: int = _f(128, "side of the framed input, pixels (the CoarseNets' framing)")
    widths: tuple = _f((16, 24, 48, 64, 96), "channels of each stride-2 stage (each halves the side)")
    head_channels: int = _f(16, "1x1 channels before the flat head")
    hidden: int = _f(128, "units of the head's hidden layer")
    n_identity: int = _f(40, "identity weights predicted (the face model's first modes; the rest are 0)")
    n_expression: int = _f(53, "expression weights predicted (ICT: 53)")
    face_vertices: int = _f(11248, "vertex count of the face model it was trained with (checked when fitting)")

    def validate(self) -> None:
        super().validate()
        self.widths = tuple(int(w) for w in self.widths)
        if self.image_size < 32 or self.image_size % 2 ** len(self.widths):
            raise ConfigError(f"FaceFitConfig.image_size must be >= 32 and divisible by 2^{len(self.widths)}")
        if not self.widths or min(self.widths) < 4 or self.head_channels < 1 or self.hidden < 8:
            raise ConfigError("FaceFitConfig needs widths >= 4, head_channels >= 1 and hidden >= 8")
        if self.n_identity < 0 or self.n_expression < 0:
            raise ConfigError("FaceFitConfig.n_identity and n_expression must be >= 0")

    @property
    def cells(self) -> int:
        return self.image_size // 2 ** len(self.widths)

    @property
    def n_outputs(self) -> int:
        return self.n_identity + self.n_expression + 6


def _stage(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(4 if c_out % 4 == 0 else 1, c_out), nn.ReLU()]


@register
class FaceFit(HubModel):
    config_class = FaceFitConfig

    def __init__(self, config: FaceFitConfig):
        super().__init__(config)
        layers, c = [], 5
        for i, w in enumerate(config.widths):
            layers += _stage(c, w, 2)
            if 0 < i < len(config.widths) - 1:
                layers += _stage(w, w, 1)
            c = w
        layers += [nn.Conv2d(c, config.head_channels, 1), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(config.head_channels * config.cells ** 2, config.hidden), nn.ReLU(),
                                  nn.Linear(config.hidden, config.n_outputs))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """image (N, 3, S, S) in [0, 1] -> raw outputs (N, n_identity + n_expression + 6); see ``decode``."""
        return self.head[-1](self.hidden(image))

    def hidden(self, image: torch.Tensor) -> torch.Tensor:
        """image (N, 3, S, S) in [0, 1] -> the hidden features (N, hidden) that the last linear map reads."""
        n, _, h, w = image.shape
        ys = torch.linspace(-1, 1, h, dtype=image.dtype, device=image.device)[:, None].expand(h, w)
        xs = torch.linspace(-1, 1, w, dtype=image.dtype, device=image.device)[None, :].expand(h, w)
        x = torch.cat([1.0 - image, xs.expand(n, 1, h, w), ys.expand(n, 1, h, w)], 1)
        return self.head[:-1](self.features(x).flatten(1))

    def decode(self, raw: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw outputs -> identity (N, n_identity), expression (N, n_expression) in [0, 1], angles (N, 3: yaw,
        pitch, roll in degrees), scale (N,: crop units per cm) and shift (N, 2: crop units)."""
        c = self.config
        i, e = c.n_identity, c.n_identity + c.n_expression
        return {"identity": raw[:, :i], "expression": torch.sigmoid(raw[:, i:e] - 3.0),
                "angles": MAX_ANGLE * torch.tanh(raw[:, e:e + 3] / 2),
                "scale": CANONICAL_SCALE * torch.exp(raw[:, e + 3]), "shift": raw[:, e + 4:e + 6]}

    def fit(self, image: torch.Tensor, mirror: bool = True) -> dict[str, torch.Tensor]:
        """``decode(forward(image))`` at inference; with ``mirror`` the mirrored image is read in the same batch and
        its pose and placement, mirrored back (yaw, roll and tx change sign), are averaged in; the coefficients
        come from the image as given."""
        if not mirror:
            return self.decode(self(image))
        n = len(image)
        raw = self(torch.cat([image, image.flip(-1)]))
        return self.combine_mirrored(raw[:n], raw[n:])

    def combine_mirrored(self, raw: torch.Tensor, raw_mirrored: torch.Tensor) -> dict[str, torch.Tensor]:
        """The answer for an image from the raw outputs for it and for its mirror image (see ``fit``)."""
        out, m = self.decode(raw), self.decode(raw_mirrored)
        flip = torch.tensor([-1.0, 1.0, -1.0], dtype=raw.dtype, device=raw.device)
        return {"identity": out["identity"], "expression": out["expression"],
                "angles": (out["angles"] + m["angles"] * flip) / 2, "scale": (out["scale"] + m["scale"]) / 2,
                "shift": (out["shift"] + m["shift"] * flip[[0, 1]]) / 2}


def rotation_matrices(angles: torch.Tensor) -> torch.Tensor:
    """(N, 3) yaw, pitch, roll in degrees -> (N, 3, 3) rotations R = Rz @ Rx @ Ry (as ``render.rotation_matrix``)."""
    y, p, r = torch.deg2rad(angles).unbind(1)
    one, zero = torch.ones_like(y), torch.zeros_like(y)
    ry = torch.stack([torch.cos(y), zero, torch.sin(y), zero, one, zero, -torch.sin(y), zero, torch.cos(y)], 1)
    rx = torch.stack([one, zero, zero, zero, torch.cos(p), -torch.sin(p), zero, torch.sin(p), torch.cos(p)], 1)
    rz = torch.stack([torch.cos(r), -torch.sin(r), zero, torch.sin(r), torch.cos(r), zero, zero, zero, one], 1)
    return rz.view(-1, 3, 3) @ rx.view(-1, 3, 3) @ ry.view(-1, 3, 3)


def pose_vertices(basis: dict[str, torch.Tensor], fit: dict[str, torch.Tensor]) -> torch.Tensor:
    """Posed vertices (N, V, 3) in the crop's normalised units (x right, y down, z toward the viewer, scaled like
    x) for the face ``basis`` (neutral (V, 3), identity (K, V, 3), expression (E, V, 3), centre (3,)) and a fit
    (``FaceFit.decode`` or the same keys from the true parameters)."""
    ident, expr = fit["identity"], fit["expression"]
    v = basis["neutral"] + torch.einsum("nk,kvc->nvc", ident, basis["identity"][: ident.shape[1]])
    v = v + torch.einsum("ne,evc->nvc", expr, basis["expression"][: expr.shape[1]])
    vr = (v - basis["centre"]) @ rotation_matrices(fit["angles"]).transpose(1, 2)
    s = fit["scale"][:, None]
    return torch.stack([s * vr[..., 0] + fit["shift"][:, None, 0], -s * vr[..., 1] + fit["shift"][:, None, 1],
                        s * vr[..., 2]], -1)

