"""D-Net: the coarse network of DF2Net (Zeng et al., ICCV 2019), the CoarseNet baseline.

What is known. The DF2Net demo builds ``DNet(3, 1, 64)`` and feeds it 256x256 RGB in
[-1, 1]. That class is a pix2pix-style U-Net: an encoder of eight 4x4 stride-2 convs
(256 -> 1; channels nf, 2nf, 4nf, 8nf, 8nf, ...; the first conv bare, the others
LeakyReLU(0.2) -> conv -> BatchNorm, the innermost without BatchNorm), a decoder of
ReLU -> 4x4 stride-2 transposed conv -> BatchNorm layers concatenating the mirrored
encoder features (dropout 0.5 in the three innermost), then a head of three 3x3
transposed convs (nf -> nf -> nf/2 -> 1, BatchNorm + ReLU between) with a linear
output read as depth via (out + 1) / 2. No conv has a bias. In the demo the same
class also runs F-Net and Fr-Net on that output; D-Net is the part before them.

What is guessed or changed here.
- Width: the demo hard-codes 64 in the head; here the head is dim -> dim -> dim/2 -> out.
- Depth of the U-Net: ``n_downsample`` (8 at 256, 7 at 128 in the lite preset), so
  the bottleneck stays 1x1; encoder channels cap at 8*dim as in the demo.
- Output activation: tanh by default (the package convention: every decoder ends in
  tanh mapped to [0, 1]); ``out_activation='linear'`` gives the demo's linear output.
- Input: 1-channel sketches by default (``in_channels`` configurable; 3 in the demo).
- Training (losses, data) is not specified by the demo; the package trains D-Net with
  the same depth loss L_3d as the CoarseNets, as the sketch paper's comparison implies.
"""
from __future__ import annotations

import torch
from torch import nn

from sketchface.nets.blocks import to_signed, to_unit
from sketchface.nets.config import DNetConfig
from sketchface.nets.hub import HubModel, register


def _down(in_c: int, out_c: int, first: bool, bn: bool) -> nn.Sequential:
    layers: list[nn.Module] = [] if first else [nn.LeakyReLU(0.2)]
    layers.append(nn.Conv2d(in_c, out_c, 4, 2, 1, bias=False))
    if bn:
        layers.append(nn.BatchNorm2d(out_c))
    return nn.Sequential(*layers)


def _up(in_c: int, out_c: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(in_c, out_c, 4, 2, 1, bias=False),
                               nn.BatchNorm2d(out_c)]
    if dropout > 0:
        layers.append(nn.Dropout2d(dropout))
    return nn.Sequential(*layers)


@register
class DNet(HubModel):
    """U-Net image -> depth. forward(x in [0,1]) -> depth (N, out, H, W), [0,1] with tanh."""

    config_class = DNetConfig

    def __init__(self, config: DNetConfig):
        super().__init__(config)
        n, nf = config.n_downsample, config.dim
        enc_ch = [nf * min(2 ** i, 8) for i in range(n)]           # channels of out1..outn
        self.down = nn.ModuleList(
            _down(config.in_channels if i == 0 else enc_ch[i - 1], enc_ch[i],
                  first=i == 0, bn=0 < i < n - 1)
            for i in range(n))
        ups = []
        for i in reversed(range(n)):                                # innermost first
            in_c = enc_ch[i] if i == n - 1 else 2 * enc_ch[i]      # dout_{i+1} ++ out_i
            out_c = enc_ch[i - 1] if i > 0 else nf
            ups.append(_up(in_c, out_c, config.dropout if i >= n - 3 else 0.0))
        self.up = nn.ModuleList(ups)
        half = max(nf // 2, 1)
        self.head = nn.Sequential(
            nn.ReLU(), nn.ConvTranspose2d(nf, nf, 3, 1, 1, bias=False), nn.BatchNorm2d(nf),
            nn.ReLU(), nn.ConvTranspose2d(nf, half, 3, 1, 1, bias=False), nn.BatchNorm2d(half),
            nn.ReLU(), nn.ConvTranspose2d(half, config.out_channels, 3, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        h = to_signed(x)                                            # (N, C_in, H, W)
        for layer in self.down:
            h = layer(h)                                            # (N, c_i, H/2^i, W/2^i)
            skips.append(h)
        h = self.up[0](skips[-1])                                   # (N, c_{n-1}, 2, 2) at full depth
        for layer, skip in zip(self.up[1:], reversed(skips[:-1])):
            h = layer(torch.cat([h, skip], 1))                      # doubles H, W
        out = self.head(h)                                          # (N, out, H, W)
        if self.config.out_activation == "tanh":
            out = torch.tanh(out)
        return to_unit(out)

    def predict_depth(self, x: torch.Tensor, kind: str = "sketch") -> torch.Tensor:
        """Depth in [0, 1] (eval mode, no gradients); ``kind`` is accepted for a uniform API."""
        return self._predict(x, self.config.in_channels, self, "DNet")
