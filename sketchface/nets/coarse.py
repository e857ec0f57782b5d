"""CoarseNets of the sketch paper (section 3.1): SP-CoarseNet-, SP-CoarseNet, DP-CoarseNet.

Inputs are in [0, 1] (sketch 1 channel, photo 3 channels); every image and depth output
is in [0, 1] (decoder tanh mapped back). Codes live in the networks' internal space.
Content code: (N, dim*2^n_downsample, H/2^n, W/2^n); style code: (N, style_dim, 1, 1).
"""
from __future__ import annotations

import torch

from sketchface.nets.blocks import (ContentEncoder, DepthDecoder, ImageDecoder, StyleEncoder,
                                    to_signed, to_unit)
from sketchface.nets.config import (CoarseConfig, DPCoarseConfig, SPCoarseConfig,
                                    SPCoarseMinusConfig)
from sketchface.nets.hub import HubModel, register


def _content_encoder(cfg: CoarseConfig, in_dim: int) -> ContentEncoder:
    return ContentEncoder(in_dim, cfg.dim, cfg.n_downsample, cfg.n_res, cfg.norm,
                          cfg.activation, cfg.pad_type)


def _style_encoder(cfg: CoarseConfig, in_dim: int) -> StyleEncoder:
    return StyleEncoder(in_dim, cfg.dim, cfg.style_dim, cfg.style_n_downsample,
                        cfg.activation, cfg.pad_type)


def _image_decoder(cfg: CoarseConfig, code_dim: int, out_dim: int) -> ImageDecoder:
    return ImageDecoder(code_dim, out_dim, cfg.n_downsample, cfg.n_res, cfg.style_dim,
                        cfg.mlp_dim, cfg.mlp_blocks, cfg.activation, cfg.pad_type, upsample=cfg.upsample)


def _depth_decoder(cfg: CoarseConfig, code_dim: int, out_dim: int) -> DepthDecoder:
    return DepthDecoder(code_dim, out_dim, cfg.n_downsample, cfg.n_res, cfg.decoder_res_norm,
                        cfg.activation, cfg.pad_type, upsample=cfg.upsample)


class _DepthPredictor(HubModel):
    """``predict_depth``: [0,1] input -> [0,1] depth, in eval mode without gradients.

    Each subclass defines ``_depth(x, kind)`` (signed input -> signed depth); a subclass without it is refused
    when the class is created."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "_depth", None)):
            raise TypeError(f"{cls.__name__} must define _depth(x, kind)")

    def _input_channels(self, kind: str) -> int:
        if kind != "sketch":
            raise ValueError(f"{type(self).__name__} has a sketch path only; got kind={kind!r}")
        return self.config.in_channels

    def predict_depth(self, x: torch.Tensor, kind: str = "sketch") -> torch.Tensor:
        """Depth (N, 1, H, W) in [0, 1] from a (N, C, H, W) or (C, H, W) input in [0, 1]."""
        return self._predict(x, self._input_channels(kind), lambda t: self._depth(t, kind),
                             f"{type(self).__name__} ({kind})")


@register
class SPCoarseNetMinus(_DepthPredictor):
    """SP-CoarseNet-: one encoder E, one code -> D_img (no AdaIN) and D_3D.

    forward(sketch) -> {"code", "image", "depth"}.
    """

    config_class = SPCoarseMinusConfig
    inference_parts = ("enc", "dec_3d")

    def __init__(self, config: SPCoarseMinusConfig):
        super().__init__(config)
        self.enc = _content_encoder(config, config.in_channels)
        code = self.enc.out_dim
        self.dec_img = _depth_decoder(config, code, config.in_channels)  # no style: plain decoder
        self.dec_3d = _depth_decoder(config, code, config.out_channels)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(to_signed(x))             # (N, 8*dim, H/8, W/8)

    def decode(self, code: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"image": to_unit(self.dec_img(code)),   # (N, C_in, H, W)
                "depth": to_unit(self.dec_3d(code))}    # (N, 1, H, W)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        code = self.encode(x)
        return {"code": code, **self.decode(code)}

    def _depth(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        return to_unit(self.dec_3d(self.encode(x)))


@register
class SPCoarseNet(_DepthPredictor):
    """SP-CoarseNet: E_sty, E_con, D_img(con, sty), D_3D(con).

    forward(sketch) -> {"content", "style", "image", "depth"}.
    """

    config_class = SPCoarseConfig
    inference_parts = ("enc_con", "dec_3d")

    def __init__(self, config: SPCoarseConfig):
        super().__init__(config)
        self.enc_con = _content_encoder(config, config.in_channels)
        self.enc_sty = _style_encoder(config, config.in_channels)
        code = self.enc_con.out_dim
        self.dec_img = _image_decoder(config, code, config.in_channels)
        self.dec_3d = _depth_decoder(config, code, config.out_channels)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_signed(x)
        return self.enc_con(x), self.enc_sty(x)   # (N, 8*dim, H/8, W/8), (N, style_dim, 1, 1)

    def decode_image(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return to_unit(self.dec_img(content, style))    # (N, C_in, H, W)

    def decode_depth(self, content: torch.Tensor) -> torch.Tensor:
        return to_unit(self.dec_3d(content))            # (N, 1, H, W)

    def decode(self, content: torch.Tensor, style: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"image": self.decode_image(content, style), "depth": self.decode_depth(content)}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        content, style = self.encode(x)
        return {"content": content, "style": style, **self.decode(content, style)}

    def _depth(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        return self.decode_depth(self.enc_con(to_signed(x)))


@register
class DPCoarseNet(_DepthPredictor):
    """DP-CoarseNet: sketch and photo paths (own E_sty, E_con, D_img each), shared D_3D.

    forward(sketch, photo) returns every tensor loss (8) needs:
      content_s, style_s, content_p, style_p      codes of each path
      sketch_rec  = D_img_s(con_s, sty_s)         for L_rec_s (1)
      photo_rec   = D_img_p(con_p, sty_p)         for L_rec_p (4)
      photo_cvt   = D_img_p(con_s, sty_p)         for L_cvt_p (6): ||p - photo_cvt||^2
      sketch_cvt  = D_img_s(con_p, sty_s)         for L_cvt_s (7): ||s - sketch_cvt||^2
      depth_s     = D_3D(con_s), depth_p = D_3D(con_p)   for L_3d_s (2), L_3d_p (5)
    """

    config_class = DPCoarseConfig
    inference_parts = ("enc_con_s", "enc_con_p", "dec_3d")
    KINDS = ("sketch", "photo")

    def __init__(self, config: DPCoarseConfig):
        super().__init__(config)
        c_s, c_p = config.in_channels, config.photo_channels
        self.enc_con_s = _content_encoder(config, c_s)
        self.enc_sty_s = _style_encoder(config, c_s)
        self.enc_con_p = _content_encoder(config, c_p)
        self.enc_sty_p = _style_encoder(config, c_p)
        code = self.enc_con_s.out_dim
        self.dec_img_s = _image_decoder(config, code, c_s)
        self.dec_img_p = _image_decoder(config, code, c_p)
        self.dec_3d = _depth_decoder(config, code, config.out_channels)

    def _input_channels(self, kind: str) -> int:
        if kind not in self.KINDS:
            raise ValueError(f"kind must be 'sketch' or 'photo', got {kind!r}")
        return self.config.in_channels if kind == "sketch" else self.config.photo_channels

    def encode(self, x: torch.Tensor, kind: str = "sketch") -> tuple[torch.Tensor, torch.Tensor]:
        """(content, style) of a sketch or a photo."""
        self._input_channels(kind)
        x = to_signed(x)
        if kind == "sketch":
            return self.enc_con_s(x), self.enc_sty_s(x)
        return self.enc_con_p(x), self.enc_sty_p(x)

    def decode_image(self, content: torch.Tensor, style: torch.Tensor,
                     kind: str = "sketch") -> torch.Tensor:
        """An image of form ``kind`` from any content code and a style code of that form."""
        self._input_channels(kind)
        dec = self.dec_img_s if kind == "sketch" else self.dec_img_p
        return to_unit(dec(content, style))       # (N, C_kind, H, W)

    def decode_depth(self, content: torch.Tensor) -> torch.Tensor:
        return to_unit(self.dec_3d(content))      # (N, 1, H, W)

    def decode(self, content: torch.Tensor, style: torch.Tensor,
               kind: str = "sketch") -> dict[str, torch.Tensor]:
        return {"image": self.decode_image(content, style, kind),
                "depth": self.decode_depth(content)}

    def forward(self, sketch: torch.Tensor, photo: torch.Tensor) -> dict[str, torch.Tensor]:
        con_s, sty_s = self.encode(sketch, "sketch")
        con_p, sty_p = self.encode(photo, "photo")
        return {
            "content_s": con_s, "style_s": sty_s, "content_p": con_p, "style_p": sty_p,
            "sketch_rec": self.decode_image(con_s, sty_s, "sketch"),
            "photo_rec": self.decode_image(con_p, sty_p, "photo"),
            "photo_cvt": self.decode_image(con_s, sty_p, "photo"),
            "sketch_cvt": self.decode_image(con_p, sty_s, "sketch"),
            "depth_s": self.decode_depth(con_s),
            "depth_p": self.decode_depth(con_p),
        }

    def _depth(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        enc = self.enc_con_s if kind == "sketch" else self.enc_con_p
        return self.decode_depth(enc(to_signed(x)))
