"""Losses of the sketch paper, equations (1)-(11), the ablations, and the CycleGAN losses.

All inputs are in the package's [0, 1] convention (lines: black 0 on white 1).
"Mean squared" is the paper's (1/|pixels|) ||.||^2: the mean over every element (over
channels too for a 3-channel photo) and over the batch. Loss functions return dicts of
named scalar tensors with the weighted sum under ``"total"``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LAMBDA_REC = 1.0
LAMBDA_CVT = 1.0
LAMBDA_3D = 0.001
LAMBDA_LINE = 0.85
LAMBDA_DIS = 0.15

# DP-CoarseNet loss variants of Table 4: which groups of terms enter the total.
DP_VARIANTS = {"full": ("rec", "cvt", "3d"), "La": ("3d",), "Lb": ("3d", "rec"),
               "Lc": ("3d", "cvt")}


def mse(target: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error; with ``mask`` (broadcastable, 0/1) the mean over masked elements."""
    sq = (target - pred) ** 2
    if mask is None:
        return sq.mean()
    mask = mask.to(sq.dtype).expand_as(sq)
    return (sq * mask).sum() / mask.sum().clamp_min(1)


def rec_loss(image: torch.Tensor, image_rec: torch.Tensor) -> torch.Tensor:
    """(1), (4): L_rec = mean ||x - x'||^2."""
    return mse(image, image_rec)


def depth_loss(depth_gt: torch.Tensor, depth_pred: torch.Tensor,
               mask: torch.Tensor | None = None) -> torch.Tensor:
    """(2), (5): L_3d = mean ||d_gt - d||^2 (over the whole map unless a mask is given)."""
    return mse(depth_gt, depth_pred, mask)


def cvt_loss(image: torch.Tensor, image_converted: torch.Tensor) -> torch.Tensor:
    """(6), (7): L_cvt = mean ||x - x_from_other_form||^2."""
    return mse(image, image_converted)


def sp_coarse_loss(out: dict[str, torch.Tensor], sketch: torch.Tensor, depth: torch.Tensor,
                   lambda_rec: float = LAMBDA_REC, lambda_3d: float = LAMBDA_3D,
                   mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """(3) for SP-CoarseNet and SP-CoarseNet- (``out`` has "image" and "depth")."""
    terms = {"rec_s": rec_loss(sketch, out["image"]),
             "3d_s": depth_loss(depth, out["depth"], mask)}
    terms["total"] = lambda_rec * terms["rec_s"] + lambda_3d * terms["3d_s"]
    return terms


def dp_coarse_loss(out: dict[str, torch.Tensor], sketch: torch.Tensor, photo: torch.Tensor,
                   depth: torch.Tensor, lambda_rec: float = LAMBDA_REC,
                   lambda_cvt: float = LAMBDA_CVT, lambda_3d: float = LAMBDA_3D,
                   variant: str = "full", mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """(8) for DPCoarseNet's output dict; ``variant`` La / Lb / Lc keeps Table 4's subsets.

    Every term is returned (for logging); only the variant's groups enter "total".
    """
    if variant not in DP_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(DP_VARIANTS)}, got {variant!r}")
    t = {"rec_s": rec_loss(sketch, out["sketch_rec"]),
         "rec_p": rec_loss(photo, out["photo_rec"]),
         "cvt_p": cvt_loss(photo, out["photo_cvt"]),
         "cvt_s": cvt_loss(sketch, out["sketch_cvt"]),
         "3d_s": depth_loss(depth, out["depth_s"], mask),
         "3d_p": depth_loss(depth, out["depth_p"], mask)}
    groups = DP_VARIANTS[variant]
    total = depth.new_zeros(())
    if "rec" in groups:
        total = total + lambda_rec * (t["rec_p"] + t["rec_s"])
    if "cvt" in groups:
        total = total + lambda_cvt * (t["cvt_p"] + t["cvt_s"])
    if "3d" in groups:
        total = total + lambda_3d * (t["3d_p"] + t["3d_s"])
    t["total"] = total
    return t


def _per_example(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(1)                                     # (N,)


def line_loss(lines: torch.Tensor, lines_pred: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """(9): L_line = ||(1 - l) * l'||_1, divided by the number of pixels.

    l (input lines) and l' (lines of the fine depth) are black (0) lines on white (1).
    (1 - l) is 1 on l's lines, so the loss sums how white l' is where l has a line: zero
    when l' keeps every line of l. The paper writes the plain L1 norm; dividing by the
    pixel count puts it on the scale of L_dis (10), which the paper does normalise, so
    that lambda_line and lambda_dis weigh comparable quantities.
    ``reduction='none'`` gives one value per example, shape (N,).
    """
    per = _per_example(((1 - lines) * lines_pred).abs())
    return per if reduction == "none" else per.mean()


def line_loss_logit(lines: torch.Tensor, logits: torch.Tensor, reduction: str = "mean",
                    tolerance: int = 0) -> torch.Tensor:
    """L_line in logit form (not in the paper; ``line_loss: logit``): mean of (1 - l) * -log(1 - l'), with
    l' = sigmoid(z) given as its logits z (``LineExtractor.logits``).

    Like (9) it is 0 where l has no line and falls as l' darkens on l's lines, but where the extractor is sure
    there is no line (l' near 1, its output saturated) (9)'s gradient through l' vanishes, while this one's,
    d/dz softplus(z) = l', is largest there: the missed lines FineNet most needs to carve get the signal.
    ``tolerance`` t > 0 scores, for each pixel of l, the darkest l' within t pixels (as line recall counts
    a line as found), so FineNet may carve a stroke beside the drawn one instead of exactly under it.
    """
    if tolerance > 0:
        k = 2 * tolerance + 1
        logits = -F.max_pool2d(-logits, k, stride=1, padding=tolerance)
    per = _per_example((1 - lines) * F.softplus(logits))
    return per if reduction == "none" else per.mean()


def displacement_loss(displacement: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """(10): L_dis = mean ||d_dis||^2; ``reduction='none'`` gives shape (N,)."""
    per = _per_example(displacement ** 2)
    return per if reduction == "none" else per.mean()


def extra_line_loss(lines: torch.Tensor, lines_pred: torch.Tensor, lines_coarse: torch.Tensor,
                    tolerance: int = 1, reduction: str = "mean") -> torch.Tensor:
    """Lines that FineNet adds where the user drew none (not in the paper; ``lambda_extra``).

    L_line only asks l' to be dark where l has a line, so creases elsewhere cost FineNet
    nothing but L_dis. This term is mean( off(l) * relu(l'_coarse - l') ): how much darker
    l' is than the lines of the coarse depth, l'_coarse (the line extractor on the coarse
    result), away from l's lines. ``off(l)`` is 1 farther than ``tolerance`` pixels from
    every line of l, so lines a little thicker than the drawn ones are free. Lines that the
    coarse depth already implies are free as well: FineNet is not asked to remove them.
    """
    near = F.max_pool2d(1 - lines, 2 * tolerance + 1, stride=1, padding=tolerance) if tolerance else 1 - lines
    per = _per_example((1 - near) * (lines_coarse - lines_pred).clamp(min=0))
    return per if reduction == "none" else per.mean()


def _weights(lam: float | torch.Tensor, n: int, ref: torch.Tensor) -> torch.Tensor:
    lam = torch.as_tensor(lam, dtype=ref.dtype, device=ref.device).reshape(-1)
    if lam.numel() not in (1, n):
        raise ValueError(f"a loss weight must be a scalar or shape ({n},), got {tuple(lam.shape)}")
    return lam.expand(n)


def finenet_loss(lines: torch.Tensor, lines_pred: torch.Tensor, displacement: torch.Tensor,
                 lambda_line: float | torch.Tensor = LAMBDA_LINE,
                 lambda_dis: float | torch.Tensor | None = None, lambda_extra: float = 0.0,
                 lines_coarse: torch.Tensor | None = None,
                 line_logits: torch.Tensor | None = None, line_tolerance: int = 0) -> dict[str, torch.Tensor]:
    """(11): lambda_line * L_line + lambda_dis * L_dis, weights scalar or per example (N,).

    ``lambda_dis=None`` means 1 - lambda_line (0.15 for the default 0.85), the paper's
    lambda_line + lambda_dis = 1 sweep; the conditioned FineNet passes its sampled (N,) lambdas.
    ``lambda_extra > 0`` (needs ``lines_coarse``, l' of the coarse depth) adds
    lambda_line * lambda_extra * ``extra_line_loss``: the line term then also asks FineNet not to
    draw lines the user did not draw. 0 is the paper's loss. With ``line_logits`` (the logits of
    ``lines_pred``) L_line is ``line_loss_logit`` (with ``line_tolerance``) instead of (9).
    """
    n = lines.shape[0]
    l_line = (line_loss(lines, lines_pred, "none") if line_logits is None
              else line_loss_logit(lines, line_logits, "none", line_tolerance))      # (N,)
    l_dis = displacement_loss(displacement, "none")                 # (N,)
    w_line = _weights(lambda_line, n, l_line)
    w_dis = 1 - w_line if lambda_dis is None else _weights(lambda_dis, n, l_dis)
    t = {"line": l_line.mean(), "dis": l_dis.mean()}
    line_term = l_line
    if lambda_extra:
        if lines_coarse is None:
            raise ValueError("lambda_extra needs lines_coarse (the line extractor on the coarse depth)")
        l_extra = extra_line_loss(lines, lines_pred, lines_coarse, reduction="none")
        t["extra"] = l_extra.mean()
        line_term = l_line + lambda_extra * l_extra
    t["total"] = (w_line * line_term + w_dis * l_dis).mean()
    return t


def finenet_ablation_loss(depth_gt: torch.Tensor, fine: torch.Tensor, displacement: torch.Tensor,
                          lambda_3d: float = LAMBDA_LINE, lambda_dis: float = LAMBDA_DIS,
                          mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Table 6 ablation: lambda_3d * L_3d(d_gt, fine) + lambda_dis * L_dis.

    The paper gives no weights for it; L_3d takes lambda_line's 0.85 by default.
    """
    t = {"3d": depth_loss(depth_gt, fine, mask), "dis": displacement_loss(displacement)}
    t["total"] = lambda_3d * t["3d"] + lambda_dis * t["dis"]
    return t


# ---- CycleGAN -------------------------------------------------------------------------
def lsgan_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares discriminator loss: 0.5 * (mean (D(real) - 1)^2 + mean D(fake)^2)."""
    return 0.5 * (((real_scores - 1) ** 2).mean() + (fake_scores ** 2).mean())


def lsgan_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares generator loss: mean (D(G(x)) - 1)^2."""
    return ((fake_scores - 1) ** 2).mean()


def cycle_loss(x: torch.Tensor, x_rec: torch.Tensor) -> torch.Tensor:
    """L1 cycle-consistency: mean |x - F(G(x))|."""
    return F.l1_loss(x_rec, x)


def identity_loss(x: torch.Tensor, x_idt: torch.Tensor) -> torch.Tensor:
    """L1 identity: mean |y - G(y)|."""
    return F.l1_loss(x_idt, x)


def cyclegan_generator_loss(model, out: dict[str, torch.Tensor], photo: torch.Tensor,
                            sketch: torch.Tensor, lambda_cycle: float = 10.0,
                            lambda_idt: float = 0.5) -> dict[str, torch.Tensor]:
    """Generator objective of CycleGAN (``model`` a CycleGAN, ``out`` its forward dict).

    total = GAN(G_ps) + GAN(G_sp) + lambda_cycle * (cycle_p + cycle_s)
            + lambda_cycle * lambda_idt * (idt_s + idt_p)   (identity terms when present)
    """
    t = {"gan_ps": lsgan_g_loss(model.discriminate(out["fake_sketch"], "sketch")),
         "gan_sp": lsgan_g_loss(model.discriminate(out["fake_photo"], "photo")),
         "cycle_p": cycle_loss(photo, out["rec_photo"]),
         "cycle_s": cycle_loss(sketch, out["rec_sketch"])}
    total = t["gan_ps"] + t["gan_sp"] + lambda_cycle * (t["cycle_p"] + t["cycle_s"])
    if "idt_sketch" in out:
        t["idt_s"] = identity_loss(sketch, out["idt_sketch"])
        t["idt_p"] = identity_loss(photo, out["idt_photo"])
        total = total + lambda_cycle * lambda_idt * (t["idt_s"] + t["idt_p"])
    t["total"] = total
    return t


def cyclegan_discriminator_loss(model, out: dict[str, torch.Tensor], photo: torch.Tensor,
                                sketch: torch.Tensor) -> dict[str, torch.Tensor]:
    """LSGAN loss of both discriminators on real inputs and detached fakes."""
    t = {"d_s": lsgan_d_loss(model.discriminate(sketch, "sketch"),
                             model.discriminate(out["fake_sketch"].detach(), "sketch")),
         "d_p": lsgan_d_loss(model.discriminate(photo, "photo"),
                             model.discriminate(out["fake_photo"].detach(), "photo"))}
    t["total"] = t["d_s"] + t["d_p"]
    return t
