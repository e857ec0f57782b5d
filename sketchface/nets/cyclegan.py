"""CycleGAN photo <-> sketch (Zhu et al. 2017), used to synthesise a sketch for each photo.

Generator (ResNet): c7s1-ngf, d(2ngf), d(4ngf), n_blocks residual blocks, u(2ngf), u(ngf),
c7s1-out + tanh. Discriminator: 70x70 PatchGAN C64-C128-C256-C512 (no norm on the first),
then a 1-channel 4x4 conv. ``ngf``/``ndf`` set the widths, so a lite version is small.
Inputs and outputs are in [0, 1]; the networks work in [-1, 1] inside.
"""
from __future__ import annotations

import torch
from torch import nn

from sketchface.nets.blocks import _norm, _padding, to_signed, to_unit
from sketchface.nets.config import CycleGANConfig
from sketchface.nets.hub import HubModel, register


class _GenResBlock(nn.Module):
    def __init__(self, dim: int, norm: str, pad_type: str):
        super().__init__()
        self.body = nn.Sequential(
            _padding(pad_type, 1), nn.Conv2d(dim, dim, 3), _norm(norm, dim), nn.ReLU(True),
            _padding(pad_type, 1), nn.Conv2d(dim, dim, 3), _norm(norm, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """[-1,1] image (N, in, H, W) -> [-1,1] image (N, out, H, W); H, W divisible by 4."""

    def __init__(self, in_channels: int, out_channels: int, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "in", pad_type: str = "reflect"):
        super().__init__()
        layers: list[nn.Module] = [_padding(pad_type, 3), nn.Conv2d(in_channels, ngf, 7),
                                   _norm(norm, ngf), nn.ReLU(True)]
        dim = ngf
        for _ in range(2):                                          # d128, d256
            layers += [nn.Conv2d(dim, dim * 2, 3, 2, 1), _norm(norm, dim * 2), nn.ReLU(True)]
            dim *= 2
        layers += [_GenResBlock(dim, norm, pad_type) for _ in range(n_blocks)]
        for _ in range(2):                                          # u128, u64
            layers += [nn.ConvTranspose2d(dim, dim // 2, 3, 2, 1, output_padding=1),
                       _norm(norm, dim // 2), nn.ReLU(True)]
            dim //= 2
        layers += [_padding(pad_type, 3), nn.Conv2d(dim, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)                                        # (N, out, H, W)


class PatchDiscriminator(nn.Module):
    """PatchGAN: (N, C, H, W) in [-1,1] -> real/fake scores (N, 1, H/8 - 2, W/8 - 2) for n_layers=3."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "in"):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for i in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1), _norm(norm, ndf * mult),
                       nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def match_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Grey <-> RGB for identity losses: repeat 1 -> C, or average C -> 1."""
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 1:
        return x.expand(-1, channels, -1, -1)
    if channels == 1:
        return x.mean(1, keepdim=True)
    raise ValueError(f"cannot map {x.shape[1]} channels to {channels}")


@register
class CycleGAN(HubModel):
    """G_ps: photo -> sketch, G_sp: sketch -> photo, D_s (sketches), D_p (photos).

    forward(photo, sketch, identity=True) -> dict, all in [0, 1]:
      fake_sketch = G_ps(p), rec_photo = G_sp(G_ps(p)), fake_photo = G_sp(s),
      rec_sketch = G_ps(G_sp(s)), and with ``identity``: idt_sketch = G_ps(s as RGB),
      idt_photo = G_sp(p as grey).
    Discriminators: ``discriminate(x, kind)`` with kind 'sketch' or 'photo'.
    """

    config_class = CycleGANConfig
    # the pipeline only turns photos into sketches: G_sp, like the discriminators, is for training
    inference_parts = ("G_ps",)

    def __init__(self, config: CycleGANConfig):
        super().__init__(config)
        c = config
        self.G_ps = ResnetGenerator(c.photo_channels, c.sketch_channels, c.ngf, c.n_blocks,
                                    c.norm, c.pad_type)
        self.G_sp = ResnetGenerator(c.sketch_channels, c.photo_channels, c.ngf, c.n_blocks,
                                    c.norm, c.pad_type)
        self.D_s = PatchDiscriminator(c.sketch_channels, c.ndf, c.n_layers_d, c.norm)
        self.D_p = PatchDiscriminator(c.photo_channels, c.ndf, c.n_layers_d, c.norm)

    def photo_to_sketch(self, photo: torch.Tensor) -> torch.Tensor:
        return to_unit(self.G_ps(to_signed(photo)))

    def sketch_to_photo(self, sketch: torch.Tensor) -> torch.Tensor:
        return to_unit(self.G_sp(to_signed(sketch)))

    def discriminate(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        """PatchGAN scores of a [0,1] sketch or photo."""
        if kind not in ("sketch", "photo"):
            raise ValueError(f"kind must be 'sketch' or 'photo', got {kind!r}")
        return (self.D_s if kind == "sketch" else self.D_p)(to_signed(x))

    def forward(self, photo: torch.Tensor, sketch: torch.Tensor,
                identity: bool = True) -> dict[str, torch.Tensor]:
        c = self.config
        out = {"fake_sketch": self.photo_to_sketch(photo), "fake_photo": self.sketch_to_photo(sketch)}
        out["rec_photo"] = self.sketch_to_photo(out["fake_sketch"])
        out["rec_sketch"] = self.photo_to_sketch(out["fake_photo"])
        if identity:
            out["idt_sketch"] = self.photo_to_sketch(match_channels(sketch, c.photo_channels))
            out["idt_photo"] = self.sketch_to_photo(match_channels(photo, c.sketch_channels))
        return out

    @torch.no_grad()
    def translate(self, photo: torch.Tensor) -> torch.Tensor:
        """Photo (N, 3, H, W) in [0,1] -> synthetic sketch (N, 1, H, W) in [0,1]."""
        return self.photo_to_sketch(photo.to(self.device)).clamp(0, 1)
