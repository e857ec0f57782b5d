"""FineNet (section 3.2): the line extraction module and the refinement module.

Both use the E_con + D_3D architecture. ``LineExtractor`` maps a depth map to the line
drawing it implies (black lines on white, [0, 1]). ``FineNet`` maps coarse depth + line
drawing l to a signed displacement (tanh * max_displacement); fine = coarse + displacement.

Loss-conditional mode (``lambda_conditioned=True``, "You Only Train Once"): FineNet takes
lambda_line per example, shape (N,), (lambda_dis = 1 - lambda_line). A small MLP of
lambda gives FiLM scale/shift for every residual block (encoder and decoder); its last
layer starts at zero so the untrained conditioning is the identity. With
``lambda_channel=True`` lambda is also appended as a constant input channel.

Not in the paper, off by default: ``line_gate_radius > 0`` multiplies the displacement by a smooth gate around
the drawn lines (``line_gate``), so FineNet can deepen what was drawn but cannot crease the face elsewhere.
"""
from __future__ import annotations

import torch
from torch import nn

from sketchface.nets.blocks import MLP, ContentEncoder, DepthDecoder, to_signed, to_unit
from sketchface.nets.config import FineNetConfig, LineExtractorConfig
from sketchface.nets.hub import HubModel, register


@register
class LineExtractor(HubModel):
    """Depth (N, 1, H, W) in [0,1] -> line drawing (N, 1, H, W) in [0,1], lines = 0."""

    config_class = LineExtractorConfig

    def __init__(self, config: LineExtractorConfig):
        super().__init__(config)
        c = config
        self.enc = ContentEncoder(c.in_channels, c.dim, c.n_downsample, c.n_res, c.norm,
                                  c.activation, c.pad_type)
        self.dec = DepthDecoder(self.enc.out_dim, c.out_channels, c.n_downsample, c.n_res,
                                c.decoder_res_norm, c.activation, c.pad_type,
                                out_activation=c.out_activation)

    def encode(self, depth: torch.Tensor) -> torch.Tensor:
        return self.enc(to_signed(depth))         # (N, 8*dim, H/8, W/8)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return to_unit(self.dec(code))            # (N, 1, H, W)

    def forward(self, depth: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(depth))

    def logits(self, depth: torch.Tensor) -> torch.Tensor:
        """z with l' = sigmoid(z): l' in logit form (N, 1, H, W), for losses that must not saturate where l' is
        almost exactly 0 or 1 (``sketchface.losses.line_loss_logit``). (tanh(y) + 1) / 2 = sigmoid(2y)."""
        y = self.dec.pre_activation(self.encode(depth))
        return 2 * y if self.config.out_activation == "tanh" else y


def line_gate(lines: torch.Tensor, radius: int) -> torch.Tensor:
    """1 on the drawn lines (ink = 1 - lines), falling to 0 at about 2 * radius pixels from them (N, 1, H, W).

    The ink is dilated by ``radius`` (max pool) and then box-blurred by the same radius, so the gate is smooth and
    a displacement along a line has room for its flanks."""
    k = 2 * radius + 1
    ink = torch.nn.functional.max_pool2d(1 - lines, k, stride=1, padding=radius)
    return torch.nn.functional.avg_pool2d(ink, k, stride=1, padding=radius, count_include_pad=False).clamp(0, 1)


@register
class FineNet(HubModel):
    """Refinement module. forward(coarse, lines, lambda_line=None, mask=None, line_extractor=None).

    Returns {"displacement", "fine"} and, with a line extractor, "lines_pred" = l' of the
    fine depth (gradients flow through the extractor into FineNet; freeze its weights).
    """

    config_class = FineNetConfig

    def __init__(self, config: FineNetConfig):
        super().__init__(config)
        c = config
        extra = 1 if c.lambda_conditioned and c.lambda_channel else 0
        modulated = c.lambda_conditioned
        self.enc = ContentEncoder(c.in_channels + extra, c.dim, c.n_downsample, c.n_res, c.norm,
                                  c.activation, c.pad_type, modulated=modulated)
        self.dec = DepthDecoder(self.enc.out_dim, c.out_channels, c.n_downsample, c.n_res,
                                c.decoder_res_norm, c.activation, c.pad_type, modulated=modulated,
                                upsample=c.upsample)
        self.film = None
        if modulated:
            n_mod = self.enc.res.num_mod_params + self.dec.res.num_mod_params
            self.film = MLP(1, n_mod, c.lambda_hidden, 3, "relu", zero_last=True)

    def _lambda(self, lambda_line: torch.Tensor | float | None, n: int,
                ref: torch.Tensor) -> torch.Tensor:
        if lambda_line is None:
            lambda_line = self.config.default_lambda_line
        lam = torch.as_tensor(lambda_line, dtype=ref.dtype, device=ref.device).reshape(-1)
        if lam.numel() == 1:
            lam = lam.expand(n)
        if lam.shape != (n,):
            raise ValueError(f"lambda_line must be a scalar or shape ({n},), got {tuple(lam.shape)}")
        return lam                                                  # (N,)

    def displacement(self, coarse: torch.Tensor, lines: torch.Tensor,
                     lambda_line: torch.Tensor | float | None = None) -> torch.Tensor:
        """Signed displacement (N, 1, H, W) in [-max_displacement, max_displacement]."""
        x = torch.cat([to_signed(coarse), to_signed(lines)], 1)     # (N, 2, H, W)
        enc_mod = dec_mod = None
        if self.config.lambda_conditioned:
            lam = self._lambda(lambda_line, x.shape[0], x)          # (N,)
            if self.config.lambda_channel:
                plane = (lam * 2 - 1)[:, None, None, None].expand(-1, 1, *x.shape[2:])
                x = torch.cat([x, plane], 1)                        # (N, 3, H, W)
            mod = self.film(lam[:, None] * 2 - 1)                   # (N, n_mod)
            k = self.enc.res.num_mod_params
            enc_mod, dec_mod = mod[:, :k], mod[:, k:]
        code = self.enc(x, enc_mod)                                 # (N, 8*dim, H/8, W/8)
        disp = self.dec(code, dec_mod) * self.config.max_displacement   # (N, 1, H, W)
        if self.config.line_gate_radius > 0:
            disp = disp * line_gate(lines, self.config.line_gate_radius)
        return disp

    def forward(self, coarse: torch.Tensor, lines: torch.Tensor,
                lambda_line: torch.Tensor | float | None = None,
                mask: torch.Tensor | None = None,
                line_extractor: nn.Module | None = None) -> dict[str, torch.Tensor]:
        disp = self.displacement(coarse, lines, lambda_line)
        if mask is not None:                                        # keep the background fixed
            disp = disp * mask.to(disp.dtype)
        out = {"displacement": disp, "fine": coarse + disp}
        if line_extractor is not None:
            out["lines_pred"] = line_extractor(out["fine"])
        return out

    @torch.no_grad()
    def refine(self, coarse: torch.Tensor, lines: torch.Tensor,
               lambda_line: torch.Tensor | float | None = None,
               mask: torch.Tensor | None = None) -> torch.Tensor:
        """Fine depth clamped to [0, 1] (inference; call ``.eval()`` first)."""
        return self(coarse, lines, lambda_line, mask)["fine"].clamp(0, 1)
