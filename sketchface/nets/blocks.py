"""MUNIT-style building blocks shared by the CoarseNets, the line extractor and FineNet.

Tensors inside the networks live in [-1, 1]; the wrappers in coarse.py / finenet.py map
[0, 1] inputs in and tanh outputs back. Shapes use N batch, C channels, H x W pixels.

Modulated residual blocks take their per-channel scale/shift from outside: AdaIN
(parameters from an MLP of the style code, image decoder) and FiLM (parameters from
an MLP of lambda, loss-conditioned FineNet) share that path. The modulation is
``x * (1 + gamma) + beta`` so that zero parameters leave the block unmodulated
(MUNIT uses ``x * gamma + beta``; the offset keeps early training stable).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import UPSAMPLE_MODES


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "lrelu":
        return nn.LeakyReLU(0.2, inplace=True)
    if name == "tanh":
        return nn.Tanh()
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown activation {name!r}")


def _padding(pad_type: str, amount: int) -> nn.Module:
    if pad_type == "reflect":
        return nn.ReflectionPad2d(amount)
    if pad_type == "replicate":
        return nn.ReplicationPad2d(amount)
    if pad_type == "zero":
        return nn.ZeroPad2d(amount)
    raise ValueError(f"unknown pad_type {pad_type!r}")


def stride2_stack(c_in: int, widths, groups: int) -> list[nn.Module]:
    """Stride-2 3x3 convolutions of the small readers (FaceCheck, Mouth), each followed by GroupNorm(``groups``) and
    ReLU: a flat list, so that a Sequential over it keeps the checkpoints' parameter names."""
    layers = []
    for w in widths:
        layers += [nn.Conv2d(c_in, w, 3, 2, 1), nn.GroupNorm(groups, w), nn.ReLU()]
        c_in = w
    return layers


class LayerNorm(nn.Module):
    """MUNIT layer norm: per sample over (C, H, W), std + eps, per-channel affine."""

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.gamma = nn.Parameter(torch.empty(num_features).uniform_())
            self.beta = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)                                           # (N, C*H*W)
        mean = flat.mean(1).view(-1, 1, 1, 1)                         # (N, 1, 1, 1)
        std = flat.std(1).view(-1, 1, 1, 1)                           # (N, 1, 1, 1)
        x = (x - mean) / (std + self.eps)
        if self.affine:
            x = x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)
        return x


class AdaptiveInstanceNorm2d(nn.Module):
    """Instance norm whose scale/shift come from outside: ``IN(x) * (1 + gamma) + beta``."""

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.num_features = num_features
        self.eps = eps

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        x = F.instance_norm(x, eps=self.eps)                          # (N, C, H, W)
        return x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


def _norm(name: str, channels: int) -> nn.Module:
    if name == "in":
        return nn.InstanceNorm2d(channels)
    if name == "ln":
        return LayerNorm(channels)
    if name == "bn":
        return nn.BatchNorm2d(channels)
    if name == "adain":  # plain instance norm; the caller applies the external scale/shift
        return nn.InstanceNorm2d(channels)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {name!r}")


class Conv2dBlock(nn.Module):
    """pad -> conv -> norm -> activation."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int, stride: int = 1,
                 padding: int = 0, norm: str = "none", activation: str = "relu",
                 pad_type: str = "reflect"):
        super().__init__()
        self.pad = _padding(pad_type, padding)
        self.conv = nn.Conv2d(in_dim, out_dim, kernel, stride, bias=True)
        self.norm = _norm(norm, out_dim)
        self.activation = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.norm(self.conv(self.pad(x))))


class ResBlock(nn.Module):
    """x + [conv3 -> norm (-> modulation) -> act -> conv3 -> norm (-> modulation)].

    With ``modulated=True`` forward needs ``mod`` of shape (N, 4*dim): gamma1, beta1,
    gamma2, beta2 applied after the two normalisations (AdaIN when norm='adain').
    """

    def __init__(self, dim: int, norm: str = "in", activation: str = "relu",
                 pad_type: str = "reflect", modulated: bool = False):
        super().__init__()
        self.dim = dim
        self.modulated = modulated
        self.conv1 = Conv2dBlock(dim, dim, 3, 1, 1, norm, "none", pad_type)
        self.act = _activation(activation)
        self.conv2 = Conv2dBlock(dim, dim, 3, 1, 1, norm, "none", pad_type)

    @property
    def num_mod_params(self) -> int:
        return 4 * self.dim if self.modulated else 0

    def forward(self, x: torch.Tensor, mod: torch.Tensor | None = None) -> torch.Tensor:
        if self.modulated and mod is None:
            raise ValueError(f"this residual block is modulated (AdaIN/FiLM): pass mod of "
                             f"shape (N, {4 * self.dim})")
        y = self.conv1(x)                                             # (N, C, H, W)
        if self.modulated:
            g1, b1, g2, b2 = mod.chunk(4, dim=1)                      # 4 x (N, C)
            y = y * (1 + g1[:, :, None, None]) + b1[:, :, None, None]
        y = self.conv2(self.act(y))                                   # (N, C, H, W)
        if self.modulated:
            y = y * (1 + g2[:, :, None, None]) + b2[:, :, None, None]
        return x + y


class ResBlocks(nn.Module):
    """``n`` residual blocks; ``mod`` (N, n*4*dim) is split between them when modulated."""

    def __init__(self, n: int, dim: int, norm: str = "in", activation: str = "relu",
                 pad_type: str = "reflect", modulated: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList(
            ResBlock(dim, norm, activation, pad_type, modulated) for _ in range(n))

    @property
    def num_mod_params(self) -> int:
        return sum(b.num_mod_params for b in self.blocks)

    def forward(self, x: torch.Tensor, mod: torch.Tensor | None = None) -> torch.Tensor:
        offset = 0
        for block in self.blocks:
            k = block.num_mod_params
            x = block(x, mod[:, offset:offset + k] if k else None)
            offset += k
        return x


class MLP(nn.Module):
    """``n_blocks`` linear layers: in -> hidden -> ... -> out, activation between them."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, n_blocks: int = 3,
                 activation: str = "relu", zero_last: bool = False):
        super().__init__()
        dims = [in_dim] + [hidden] * (n_blocks - 1) + [out_dim]
        layers: list[nn.Module] = []
        for i in range(n_blocks):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < n_blocks - 1:
                layers.append(_activation(activation))
        self.model = nn.Sequential(*layers)
        if zero_last:  # the modulation starts as the identity
            nn.init.zeros_(layers[-1].weight)
            nn.init.zeros_(layers[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.flatten(1))                               # (N, out_dim)


class ContentEncoder(nn.Module):
    """7x7 conv, ``n_downsample`` 4x4 stride-2 convs doubling channels, residual blocks."""

    def __init__(self, in_dim: int, dim: int, n_downsample: int, n_res: int,
                 norm: str = "in", activation: str = "relu", pad_type: str = "reflect",
                 modulated: bool = False):
        super().__init__()
        layers = [Conv2dBlock(in_dim, dim, 7, 1, 3, norm, activation, pad_type)]
        for _ in range(n_downsample):
            layers.append(Conv2dBlock(dim, 2 * dim, 4, 2, 1, norm, activation, pad_type))
            dim *= 2
        self.down = nn.Sequential(*layers)
        self.res = ResBlocks(n_res, dim, norm, activation, pad_type, modulated)
        self.out_dim = dim

    def forward(self, x: torch.Tensor, mod: torch.Tensor | None = None) -> torch.Tensor:
        x = self.down(x)                          # (N, dim*2^n, H/2^n, W/2^n)
        return self.res(x, mod)                   # (N, dim*2^n, H/2^n, W/2^n)


class StyleEncoder(nn.Module):
    """No normalisation; downsamplings, global average pooling, 1x1 conv to the style code."""

    def __init__(self, in_dim: int, dim: int, style_dim: int, n_downsample: int = 4,
                 activation: str = "relu", pad_type: str = "reflect"):
        super().__init__()
        layers = [Conv2dBlock(in_dim, dim, 7, 1, 3, "none", activation, pad_type)]
        for i in range(n_downsample):
            out = dim * 2 if i < 2 else dim  # MUNIT: channels double twice, then stay
            layers.append(Conv2dBlock(dim, out, 4, 2, 1, "none", activation, pad_type))
            dim = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)                      # (N, style_dim, 1, 1)


class _Upsampler(nn.Sequential):
    """``n`` x (2x upsampling, 5x5 conv halving channels, layer norm).

    ``mode="nearest"`` is MUNIT's (and the paper's); ``"bilinear"`` avoids the faint block grid that nearest
    upsampling can leave at the coarsest scale (2^n pixels), at the same parameter count.
    """

    def __init__(self, dim: int, n: int, activation: str, pad_type: str, mode: str = "nearest"):
        if mode not in UPSAMPLE_MODES:
            raise ValueError(f"upsampling mode {mode!r} is not one of {UPSAMPLE_MODES}")
        corners = {} if mode == "nearest" else {"align_corners": False}
        layers: list[nn.Module] = []
        for _ in range(n):
            layers += [nn.Upsample(scale_factor=2, mode=mode, **corners),
                       Conv2dBlock(dim, dim // 2, 5, 1, 2, "ln", activation, pad_type)]
            dim //= 2
        super().__init__(*layers)
        self.out_dim = dim


class DepthDecoder(nn.Module):
    """D_3D: plain residual blocks, upsampling + 5x5 conv + layer norm, 7x7 conv, tanh.

    Also the decoder of the line extractor and FineNet (with FiLM when modulated) and the
    image decoder of SP-CoarseNet-. Returns the tanh output in [-1, 1].
    """

    def __init__(self, dim: int, out_dim: int, n_upsample: int, n_res: int,
                 res_norm: str = "in", activation: str = "relu", pad_type: str = "reflect",
                 modulated: bool = False, out_activation: str = "tanh", upsample: str = "nearest"):
        super().__init__()
        self.res = ResBlocks(n_res, dim, res_norm, activation, pad_type, modulated)
        self.up = _Upsampler(dim, n_upsample, activation, pad_type, upsample)
        self.out = Conv2dBlock(self.up.out_dim, out_dim, 7, 1, 3, "none", "none", pad_type)
        self.out_activation = out_activation

    def pre_activation(self, x: torch.Tensor, mod: torch.Tensor | None = None) -> torch.Tensor:
        """The output before the final tanh/sigmoid (N, out_dim, H, W)."""
        x = self.res(x, mod)                      # (N, C, h, w)
        x = self.up(x)                            # (N, C/2^n, h*2^n, w*2^n)
        return self.out(x)                        # (N, out_dim, H, W)

    def forward(self, x: torch.Tensor, mod: torch.Tensor | None = None) -> torch.Tensor:
        x = self.pre_activation(x, mod)
        return torch.sigmoid(x) * 2 - 1 if self.out_activation == "sigmoid" else torch.tanh(x)


class ImageDecoder(nn.Module):
    """D_img: AdaIN residual blocks (parameters from an MLP of the style code), upsampling, tanh."""

    def __init__(self, dim: int, out_dim: int, n_upsample: int, n_res: int, style_dim: int,
                 mlp_dim: int, mlp_blocks: int = 3, activation: str = "relu",
                 pad_type: str = "reflect", upsample: str = "nearest"):
        super().__init__()
        self.res = ResBlocks(n_res, dim, "adain", activation, pad_type, modulated=True)
        self.mlp = MLP(style_dim, self.res.num_mod_params, mlp_dim, mlp_blocks, activation)
        self.up = _Upsampler(dim, n_upsample, activation, pad_type, upsample)
        self.out = Conv2dBlock(self.up.out_dim, out_dim, 7, 1, 3, "none", "none", pad_type)

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        adain = self.mlp(style)                   # (N, n_res*4*C)
        x = self.res(content, adain)              # (N, C, h, w)
        x = self.up(x)                            # (N, C/2^n, H, W)
        return torch.tanh(self.out(x))            # (N, out_dim, H, W)


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1]."""
    return x * 2 - 1


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1]."""
    return (x + 1) / 2
