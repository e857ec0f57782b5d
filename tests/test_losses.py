"""Losses (1)-(11), ablations and CycleGAN losses on hand-computed tensors."""
from __future__ import annotations

import math

import pytest
import torch

from sketchface import losses as L
from sketchface.nets import CycleGAN, preset


def full(value, *shape):
    return torch.full(shape, float(value))


def test_mse_and_masked_mse_by_hand():
    target = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    pred = torch.tensor([[1.0, 1.0], [0.0, 0.5]])
    assert L.mse(target, pred).item() == pytest.approx((1 + 0 + 0.25 + 0) / 4)
    mask = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert L.mse(target, pred, mask).item() == pytest.approx((1 + 0.25) / 2)
    assert L.depth_loss(target, pred).item() == pytest.approx(0.3125)


def test_sp_loss_weights_rec_and_3d():
    sketch, depth = full(1.0, 2, 1, 4, 4), full(0.5, 2, 1, 4, 4)
    out = {"image": full(0.8, 2, 1, 4, 4), "depth": full(0.1, 2, 1, 4, 4)}
    t = L.sp_coarse_loss(out, sketch, depth)
    assert t["rec_s"].item() == pytest.approx(0.04)
    assert t["3d_s"].item() == pytest.approx(0.16)
    assert t["total"].item() == pytest.approx(1.0 * 0.04 + 0.001 * 0.16)
    t = L.sp_coarse_loss(out, sketch, depth, lambda_rec=0.5, lambda_3d=2.0)
    assert t["total"].item() == pytest.approx(0.5 * 0.04 + 2.0 * 0.16)


def _dp_example():
    s, p, d = full(1.0, 1, 1, 2, 2), full(0.0, 1, 3, 2, 2), full(1.0, 1, 1, 2, 2)
    out = {"sketch_rec": full(0.9, 1, 1, 2, 2),    # rec_s = 0.01
           "photo_rec": full(0.2, 1, 3, 2, 2),     # rec_p = 0.04
           "photo_cvt": full(0.3, 1, 3, 2, 2),     # cvt_p = 0.09
           "sketch_cvt": full(0.6, 1, 1, 2, 2),    # cvt_s = 0.16
           "depth_s": full(0.5, 1, 1, 2, 2),       # 3d_s = 0.25
           "depth_p": full(0.4, 1, 1, 2, 2)}       # 3d_p = 0.36
    return out, s, p, d


@pytest.mark.parametrize("variant,expected", [
    ("full", 1 * (0.04 + 0.01) + 1 * (0.09 + 0.16) + 0.001 * (0.36 + 0.25)),
    ("La", 0.001 * (0.36 + 0.25)),
    ("Lb", 0.001 * (0.36 + 0.25) + (0.04 + 0.01)),
    ("Lc", 0.001 * (0.36 + 0.25) + (0.09 + 0.16)),
])
def test_dp_loss_terms_and_variants(variant, expected):
    out, s, p, d = _dp_example()
    t = L.dp_coarse_loss(out, s, p, d, variant=variant)
    for key, value in {"rec_s": 0.01, "rec_p": 0.04, "cvt_p": 0.09, "cvt_s": 0.16,
                       "3d_s": 0.25, "3d_p": 0.36}.items():
        assert t[key].item() == pytest.approx(value), key
    assert t["total"].item() == pytest.approx(expected)


def test_dp_loss_rejects_unknown_variant():
    out, s, p, d = _dp_example()
    with pytest.raises(ValueError, match="variant"):
        L.dp_coarse_loss(out, s, p, d, variant="Ld")


def test_dp_loss_custom_weights():
    out, s, p, d = _dp_example()
    t = L.dp_coarse_loss(out, s, p, d, lambda_rec=2.0, lambda_cvt=0.5, lambda_3d=1.0)
    assert t["total"].item() == pytest.approx(2 * 0.05 + 0.5 * 0.25 + 1.0 * 0.61)


# ---- line loss (9) -------------------------------------------------------------------------
def test_line_loss_exact_value_on_a_tiny_example():
    lines = torch.tensor([[[[0.0, 1.0], [1.0, 1.0]]]])         # one line pixel, top left
    pred = torch.tensor([[[[1.0, 1.0], [0.0, 1.0]]]])          # l' misses it (white there)
    assert L.line_loss(lines, pred).item() == pytest.approx(1.0 / 4)
    pred_grey = torch.tensor([[[[0.2, 1.0], [1.0, 1.0]]]])     # l' nearly black there
    assert L.line_loss(lines, pred_grey).item() == pytest.approx(0.2 / 4)
    soft = torch.tensor([[[[0.5, 1.0], [1.0, 1.0]]]])          # a half-strength line in l
    assert L.line_loss(soft, pred).item() == pytest.approx(0.5 / 4)


def test_line_loss_zero_when_every_line_is_kept():
    torch.manual_seed(0)
    lines = (torch.rand(2, 1, 16, 16) > 0.2).float()           # black where < 0.2
    pred = lines.clone()
    pred[:, :, 3, :] = 0.0                                     # extra lines in l' cost nothing
    assert L.line_loss(lines, pred).item() == 0.0
    missing = lines.clone()
    idx = (lines[0, 0] == 0).nonzero()[0]
    missing[0, 0, idx[0], idx[1]] = 1.0                        # drop one line pixel
    assert L.line_loss(lines, missing).item() == pytest.approx(1.0 / (2 * 16 * 16))


def test_line_loss_per_example():
    lines = torch.zeros(2, 1, 2, 2)
    pred = torch.stack([torch.zeros(1, 2, 2), torch.ones(1, 2, 2)])
    torch.testing.assert_close(L.line_loss(lines, pred, "none"), torch.tensor([0.0, 1.0]))


def test_displacement_loss_by_hand():
    disp = torch.tensor([[[[0.1, -0.2], [0.0, 0.3]]]])
    assert L.displacement_loss(disp).item() == pytest.approx((0.01 + 0.04 + 0.09) / 4)


def test_finenet_loss_default_weights():
    lines, pred = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)      # L_line = 1
    disp = full(0.5, 1, 1, 2, 2)                                          # L_dis = 0.25
    t = L.finenet_loss(lines, pred, disp)
    assert t["line"].item() == pytest.approx(1.0) and t["dis"].item() == pytest.approx(0.25)
    assert t["total"].item() == pytest.approx(0.85 * 1.0 + 0.15 * 0.25)
    t = L.finenet_loss(lines, pred, disp, lambda_line=0.5, lambda_dis=2.0)
    assert t["total"].item() == pytest.approx(0.5 + 0.5)


def test_finenet_loss_per_example_lambda():
    lines = torch.zeros(2, 1, 2, 2)
    pred = torch.stack([torch.ones(1, 2, 2), full(0.5, 1, 2, 2)])     # L_line = 1, 0.5
    disp = torch.stack([full(0.2, 1, 2, 2), full(0.4, 1, 2, 2)])      # L_dis = 0.04, 0.16
    lam = torch.tensor([0.9, 0.3])
    t = L.finenet_loss(lines, pred, disp, lambda_line=lam)
    expected = ((0.9 * 1 + 0.1 * 0.04) + (0.3 * 0.5 + 0.7 * 0.16)) / 2
    assert t["total"].item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="scalar or shape"):
        L.finenet_loss(lines, pred, disp, lambda_line=torch.tensor([0.1, 0.2, 0.3]))


def test_extra_line_loss_counts_only_new_lines_away_from_drawn_ones():
    lines = torch.ones(1, 1, 9, 9)
    lines[..., 4] = 0                                               # one drawn vertical line, column 4
    coarse_lp = torch.ones(1, 1, 9, 9)
    coarse_lp[..., 0, :] = 0                                        # the coarse depth already implies row 0
    pred = coarse_lp.clone()
    assert L.extra_line_loss(lines, pred, coarse_lp).item() == 0.0
    pred[..., 4] = 0                                                # on the drawn line: free
    pred[..., 5] = 0                                                # 1 pixel beside it: free (tolerance 1)
    assert L.extra_line_loss(lines, pred, coarse_lp).item() == 0.0
    pred[..., 8, :] = 0.25                                          # a new crease along row 8
    off = [0, 1, 2, 6, 7, 8]                                        # columns farther than 1 px from column 4
    assert L.extra_line_loss(lines, pred, coarse_lp).item() == pytest.approx(0.75 * len(off) / 81)
    # without tolerance the pixels beside the line count too: column 5 (rows 1..7 at 1, row 8 in the crease)
    assert L.extra_line_loss(lines, pred, coarse_lp, tolerance=0).item() == pytest.approx((7 + 0.75 * 8) / 81)
    lighter = coarse_lp.clone()
    lighter[..., 0, :] = 1                                          # removing a coarse line is not penalised
    assert L.extra_line_loss(lines, lighter, coarse_lp).item() == 0.0


def test_finenet_loss_extra_term_sits_in_the_line_part():
    lines = torch.ones(2, 1, 5, 5)
    lines[..., 2] = 0
    coarse_lp = torch.ones(2, 1, 5, 5)
    pred = torch.ones(2, 1, 5, 5)
    pred[..., 0, :] = 0                                             # a crease on both examples
    disp = torch.zeros(2, 1, 5, 5)
    base = L.finenet_loss(lines, pred, disp, torch.tensor([1.0, 0.0]))
    t = L.finenet_loss(lines, pred, disp, torch.tensor([1.0, 0.0]), lambda_extra=2.0, lines_coarse=coarse_lp)
    extra = L.extra_line_loss(lines, pred, coarse_lp, reduction="none")
    assert extra[0].item() == pytest.approx(2 / 25)
    assert t["extra"].item() == pytest.approx(extra.mean().item())
    # weighted by λ_line per example: only the first (λ_line = 1) pays for its crease
    assert t["total"].item() == pytest.approx(base["total"].item() + 2.0 * extra[0].item() / 2)
    with pytest.raises(ValueError, match="lines_coarse"):
        L.finenet_loss(lines, pred, disp, lambda_extra=1.0)


def test_line_loss_logit_is_minus_log_of_white_on_lines_and_does_not_saturate():
    lines = torch.ones(1, 1, 2, 2)
    lines[..., 0, 0] = 0                                            # one line pixel
    z = torch.tensor([[[[12.0, -3.0], [0.0, 5.0]]]], requires_grad=True)   # l' = sigmoid(z)
    loss = L.line_loss_logit(lines, z)
    lp = torch.sigmoid(z.detach())
    assert loss.item() == pytest.approx(math.log1p(math.exp(12.0)) / 4, rel=1e-6)   # -log(1 - sigmoid(12)) / 4
    loss.backward()
    assert z.grad[0, 0, 0, 0].item() == pytest.approx(lp[0, 0, 0, 0].item() / 4)   # ~1/4: full signal
    assert torch.count_nonzero(z.grad).item() == 1                  # pixels without a line cost nothing
    # (9) on the same saturated pixel: its gradient through l' = sigmoid(z) is l'(1 - l')/4, ~6e-6
    z2 = z.detach().clone().requires_grad_(True)
    L.line_loss(lines, torch.sigmoid(z2)).backward()
    assert z2.grad[0, 0, 0, 0].item() < 1e-4 * z.grad[0, 0, 0, 0].item()
    # per example, and inside finenet_loss when the logits are given
    zz = torch.cat([z.detach(), torch.full_like(z.detach(), -20.0)])
    ll = torch.cat([lines, lines])
    per = L.line_loss_logit(ll, zz, "none")
    assert per[1].item() < 1e-8 and per[0].item() == pytest.approx(loss.item(), rel=1e-5)
    t = L.finenet_loss(ll, torch.sigmoid(zz), torch.zeros_like(zz), 1.0, 0.0, line_logits=zz)
    assert t["line"].item() == pytest.approx(per.mean().item(), rel=1e-5)
    # with tolerance 1 the line pixel is scored by its darkest neighbour (z = -3): lower loss, gradient there
    z3 = z.detach().clone().requires_grad_(True)
    tol = L.line_loss_logit(lines, z3, tolerance=1)
    assert tol.item() == pytest.approx(math.log1p(math.exp(-3.0)) / 4, rel=1e-5)
    tol.backward()
    assert z3.grad[0, 0, 0, 1].item() > 0 and torch.count_nonzero(z3.grad).item() == 1


def test_finenet_ablation_loss():
    gt, fine, disp = full(0.5, 1, 1, 2, 2), full(0.3, 1, 1, 2, 2), full(0.1, 1, 1, 2, 2)
    t = L.finenet_ablation_loss(gt, fine, disp)
    assert t["3d"].item() == pytest.approx(0.04) and t["dis"].item() == pytest.approx(0.01)
    assert t["total"].item() == pytest.approx(0.85 * 0.04 + 0.15 * 0.01)


# ---- GAN, cycle, identity -----------------------------------------------------------------
def test_lsgan_losses_by_hand():
    real, fake = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 0.5])
    assert L.lsgan_d_loss(real, fake).item() == pytest.approx(0.5 * (0.125 + 0.125))
    assert L.lsgan_d_loss(torch.ones(3), torch.zeros(3)).item() == 0.0
    assert L.lsgan_g_loss(torch.tensor([1.0, 0.0])).item() == pytest.approx(0.5)


def test_cycle_and_identity_are_l1():
    x, y = torch.tensor([0.0, 1.0]), torch.tensor([0.5, 0.0])
    assert L.cycle_loss(x, y).item() == pytest.approx(0.75)
    assert L.identity_loss(x, y).item() == pytest.approx(0.75)


def test_cyclegan_losses_run_and_train_the_generators():
    torch.manual_seed(0)
    model = CycleGAN(preset("lite")["cyclegan"].replace(image_size=32, ngf=4, ndf=4, n_blocks=1))
    photo, sketch = torch.rand(2, 3, 32, 32), torch.rand(2, 1, 32, 32)
    out = model(photo, sketch)
    g = L.cyclegan_generator_loss(model, out, photo, sketch)
    assert set(g) == {"gan_ps", "gan_sp", "cycle_p", "cycle_s", "idt_s", "idt_p", "total"}
    expected = (g["gan_ps"] + g["gan_sp"] + 10 * (g["cycle_p"] + g["cycle_s"])
                + 5 * (g["idt_s"] + g["idt_p"]))
    assert g["total"].item() == pytest.approx(expected.item())
    g["total"].backward()
    assert model.G_ps.model[1].weight.grad.abs().sum() > 0
    model.zero_grad()
    d = L.cyclegan_discriminator_loss(model, out, photo, sketch)
    d["total"].backward()
    assert model.G_ps.model[1].weight.grad is None or model.G_ps.model[1].weight.grad.abs().sum() == 0
    assert model.D_s.model[0].weight.grad.abs().sum() > 0
