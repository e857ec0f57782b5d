"""Outline: where the drawn face's outline runs, beside the jaw of the face FaceFit fitted (not in the papers).

FaceFit's face lies in the face model's identity space; a real face's outline often does not. On the real dev
sketches, moving the fitted face's 17 jaw points onto the true outline (and the face with them, by a thin-plate
spline) would lift the mean r of CUFS from 0.926 to 0.959 (docs/TRAINING.md, "The drawn outline"). The outline is
there in the drawing: ``Outline`` reads the drawing's darkness along the normal of each fitted jaw point (two
smoothings, the profile and its slope, ``samples`` points over ± ``profile_range`` eye distances) and answers how
far the outline lies outward (+) or inward (−) of it, in eye distances: one linear map shared by the 17 points,
plus an offset per point. It is fitted in closed form (ridge regression, ``sketchface.train.outline``) on the real
train sketches, against the outline that FaceMesh finds in their photos. ``sketchface.prior`` then bends the
fitted face after the moved jaw (the second paper's thin-plate-spline deformation, with the 68 points as handles).

    offsets = outline.offsets(gray_frame, points68)         # (17,) eye distances, + = outward
    moved = outline.moved_jaw(gray_frame, points68)         # (17, 2) the jaw points on the drawn outline
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from sketchface.nets.config import ConfigError, NetConfig, _f
from sketchface.nets.hub import HubModel, register

JAW = slice(0, 17)          # the 68 points' jaw, ear to ear
NOSE = slice(27, 36)
LEFT_EYE, RIGHT_EYE = slice(36, 42), slice(42, 48)
N_JAW = 17


@dataclass
class OutlineConfig(NetConfig):
    """Outline: a linear map from the darkness profiles across the fitted jaw to the outline's offset."""

    kind: ClassVar[str] = "outline"
    image_size: int = _f(256, "side of the framed drawing it reads, pixels (the final framing, resized)")
    profile_range: float = _f(0.3, "the profiles reach this far either side of a jaw point, eye distances")
    samples: int = _f(25, "samples along each profile")
    smoothings: tuple = _f((0.015, 0.04), "Gaussian smoothings of the darkness, eye distances (at least 0.5 px)")
    max_offset: float = _f(0.25, "answers are clipped to this, eye distances")

    def validate(self) -> None:
        super().validate()
        self.smoothings = tuple(float(s) for s in self.smoothings)
        if self.image_size < 32 or self.samples < 3 or not self.smoothings:
            raise ConfigError("OutlineConfig needs image_size >= 32, samples >= 3 and at least one smoothing")
        if not 0.0 < self.profile_range <= 1.0 or not 0.0 < self.max_offset <= 1.0:
            raise ConfigError("OutlineConfig.profile_range and max_offset must lie in (0, 1]")

    @property
    def n_features(self) -> int:
        return 2 * len(self.smoothings) * self.samples


def eye_distance(points: np.ndarray) -> float:
    """The distance between the eyes' centres of 68 points (pixels)."""
    return float(np.linalg.norm(points[LEFT_EYE].mean(0) - points[RIGHT_EYE].mean(0)))


def jaw_normals(points: np.ndarray) -> np.ndarray:
    """(17, 2) unit normals of the jaw polyline of 68 points (x right, y down), pointing away from the nose."""
    jaw = np.asarray(points[JAW], np.float64)
    tangent = np.roll(jaw, -1, 0) - np.roll(jaw, 1, 0)
    tangent[0], tangent[-1] = jaw[1] - jaw[0], jaw[-1] - jaw[-2]
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    outward = np.sign(((jaw - points[NOSE].mean(0)) * normal).sum(1, keepdims=True))
    return normal * np.where(outward == 0, 1.0, outward)


def profiles(gray: np.ndarray, points: np.ndarray, config: OutlineConfig) -> np.ndarray:
    """(17, n_features): for each jaw point, the darkness (1 − grey) sampled along its normal at each smoothing,
    less its mean, and its slope. ``gray`` (S, S) in [0, 1]; ``points`` (68, 2) in its pixels."""
    from scipy.ndimage import gaussian_filter, map_coordinates

    eye = max(eye_distance(points), 1.0)
    jaw = np.asarray(points[JAW], np.float64)
    steps = np.linspace(-config.profile_range, config.profile_range, config.samples) * eye
    where = jaw[:, None, :] + steps[None, :, None] * jaw_normals(points)[:, None, :]
    out = []
    for s in config.smoothings:
        dark = gaussian_filter(1.0 - np.asarray(gray, np.float64), max(s * eye, 0.5))
        p = map_coordinates(dark, [where[..., 1].ravel(), where[..., 0].ravel()], order=1, mode="nearest")
        p = p.reshape(N_JAW, -1)
        p = p - p.mean(1, keepdims=True)
        out += [p, np.gradient(p, axis=1)]
    return np.concatenate(out, 1).astype(np.float32)


@register
class Outline(HubModel):
    config_class = OutlineConfig

    def __init__(self, config: OutlineConfig):
        super().__init__(config)
        self.weight = nn.Parameter(torch.zeros(config.n_features))
        self.bias = nn.Parameter(torch.zeros(N_JAW))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features (N, 17, n_features) -> (N, 17) offsets, eye distances (not clipped)."""
        return features @ self.weight + self.bias

    def offsets(self, gray: np.ndarray, points: np.ndarray) -> np.ndarray:
        """(17,) how far the drawn outline lies outward of each jaw point, eye distances: smoothed along the jaw
        ([1, 2, 1] / 4) and clipped to ``max_offset``."""
        f = torch.from_numpy(profiles(gray, points, self.config))
        with torch.inference_mode():
            raw = self(f.to(self.device, self.weight.dtype)[None])[0].float().cpu().numpy().astype(np.float64)
        smooth = np.convolve(np.pad(raw, 1, mode="edge"), [0.25, 0.5, 0.25], "valid")
        return np.clip(smooth, -self.config.max_offset, self.config.max_offset)

    def moved_jaw(self, gray: np.ndarray, points: np.ndarray) -> np.ndarray:
        """(17, 2) the jaw points of ``points`` moved onto the drawn outline (pixels of ``gray``)."""
        off = self.offsets(gray, points) * eye_distance(points)
        return (np.asarray(points[JAW], np.float64) + off[:, None] * jaw_normals(points)).astype(np.float32)

    def set_linear(self, weight: np.ndarray, bias: np.ndarray) -> "Outline":
        """Set the map (what ``sketchface.train.outline`` fits)."""
        weight, bias = np.asarray(weight, np.float32).ravel(), np.asarray(bias, np.float32).ravel()
        if weight.shape != (self.config.n_features,) or bias.shape != (N_JAW,):
            raise ConfigError(f"Outline needs {self.config.n_features} weights and {N_JAW} offsets, got "
                              f"{weight.shape[0]} and {bias.shape[0]}")
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(weight))
            self.bias.copy_(torch.from_numpy(bias))
        return self
