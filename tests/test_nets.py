"""Shapes, ranges, gradients and wiring of every network; configs and YAML presets."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sketchface.nets import (KINDS, ConfigError, CycleGAN, DNet, DNetConfig, DPCoarseNet,
                             FineNet, FineNetConfig, SPCoarseConfig, SPCoarseNet, build,
                             load_yaml, preset)
from sketchface.nets.config import config_from_dict
from sketchface.nets.summary import example_calls

ROOT = Path(__file__).resolve().parents[1]
LITE = preset("lite")
PAPER = preset("paper")


def _rand(n, c, s):
    return torch.rand(n, c, s, s)


# ---- shapes -----------------------------------------------------------------------------
EXPECTED_KEYS = {
    "sp_coarse_minus": {"code", "image", "depth"},
    "sp_coarse": {"content", "style", "image", "depth"},
    "dp_coarse": {"content_s", "style_s", "content_p", "style_p", "sketch_rec", "photo_rec",
                  "photo_cvt", "sketch_cvt", "depth_s", "depth_p"},
    "finenet": {"displacement", "fine"},
    "cyclegan": {"fake_sketch", "fake_photo", "rec_photo", "rec_sketch", "idt_sketch", "idt_photo"},
}


def _check_shapes(kind, out, n, s, code_c, code_s):
    img_channels = {"image": 1, "depth": 1, "sketch_rec": 1, "photo_rec": 3, "photo_cvt": 3,
                    "sketch_cvt": 1, "depth_s": 1, "depth_p": 1, "displacement": 1, "fine": 1,
                    "fake_sketch": 1, "fake_photo": 3, "rec_photo": 3, "rec_sketch": 1,
                    "idt_sketch": 1, "idt_photo": 3}
    if not isinstance(out, dict):
        assert out.shape == (n, 1, s, s)
        return
    assert set(out) == EXPECTED_KEYS[kind]
    for key, value in out.items():
        if key in ("code", "content", "content_s", "content_p"):
            assert value.shape == (n, code_c, code_s, code_s), key
        elif key.startswith("style"):
            assert value.shape == (n, 8, 1, 1), key
        else:
            assert value.shape == (n, img_channels[key], s, s), key


@pytest.mark.parametrize("kind", KINDS)
def test_lite_forward_shapes_and_range(kind):
    torch.manual_seed(0)
    cfg = LITE[kind]
    model = build(kind, cfg)
    train_fn, infer_fn = example_calls(kind, model, cfg, batch=2)
    out = train_fn()
    _check_shapes(kind, out, 2, 128, 128, 16)
    for key, value in (out.items() if isinstance(out, dict) else [("out", out)]):
        if key in ("code", "displacement", "fine") or key.startswith(("content", "style")):
            continue
        assert value.min() >= 0 and value.max() <= 1, key   # images and depth in [0, 1]
    result = infer_fn()
    assert result.shape[0] == 2 and result.min() >= 0 and result.max() <= 1


@pytest.mark.parametrize("kind", KINDS)
def test_paper_shapes_on_meta_device(kind):
    cfg = PAPER[kind]
    with torch.device("meta"):
        model = build(kind, cfg)
        train_fn, _ = example_calls(kind, model, cfg, batch=2, device="meta")
        out = train_fn()
    _check_shapes(kind, out, 2, 256, 512, 32)   # content code 512x32x32, style code 8


@pytest.mark.parametrize("kind", KINDS)
def test_lite_backward_reaches_every_parameter(kind):
    torch.manual_seed(0)
    cfg = LITE[kind]
    model = build(kind, cfg)
    if kind == "finenet":   # FiLM's last layer starts at zero: grads reach it, not past it
        torch.nn.init.normal_(model.film.model[-1].weight, std=0.01)
    train_fn, _ = example_calls(kind, model, cfg, batch=2)
    out = train_fn()
    if kind == "cyclegan":
        ph, sk = torch.rand(2, 3, 128, 128), torch.rand(2, 1, 128, 128)
        out = model(ph, sk)
        loss = sum(v.mean() for v in out.values())
        loss = loss + model.discriminate(ph, "photo").mean() + model.discriminate(sk, "sketch").mean()
    elif isinstance(out, dict):
        loss = sum(v.float().pow(2).mean() for v in out.values())
    else:
        loss = out.pow(2).mean()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


def test_lite_encoder_decoder_sizes():
    cfg = LITE["sp_coarse"]
    model = SPCoarseNet(cfg)
    content, style = model.encode(torch.rand(1, 1, 128, 128))
    assert content.shape == (1, 128, 16, 16) and style.shape == (1, 8, 1, 1)


# ---- wiring -----------------------------------------------------------------------------
def test_dp_cross_decoding_uses_the_right_codes():
    torch.manual_seed(0)
    model = DPCoarseNet(LITE["dp_coarse"]).eval()
    sketch, photo = _rand(2, 1, 128), _rand(2, 3, 128)
    out = model(sketch, photo)
    con_s, sty_s = model.encode(sketch, "sketch")
    con_p, sty_p = model.encode(photo, "photo")
    torch.testing.assert_close(out["photo_cvt"], model.decode_image(con_s, sty_p, "photo"))
    torch.testing.assert_close(out["sketch_cvt"], model.decode_image(con_p, sty_s, "sketch"))
    torch.testing.assert_close(out["depth_p"], model.decode_depth(con_p))
    assert not torch.allclose(out["photo_cvt"], out["photo_rec"])
    # the depth decoder is shared: same content code -> same depth whichever path made it
    torch.testing.assert_close(model.decode_depth(con_s), out["depth_s"])


def test_sp_depth_ignores_style_and_image_uses_it():
    torch.manual_seed(0)
    model = SPCoarseNet(LITE["sp_coarse"])
    torch.nn.init.normal_(model.dec_img.mlp.model[-1].weight, std=0.1)
    content, style = model.encode(_rand(1, 1, 128))
    img_a = model.decode_image(content, style)
    img_b = model.decode_image(content, style + 1.0)
    assert not torch.allclose(img_a, img_b)          # AdaIN: style changes the image


def test_predict_depth_checks_kind_and_restores_mode():
    model = SPCoarseNet(LITE["sp_coarse"]).train()
    depth = model.predict_depth(_rand(1, 1, 128)[0])
    assert depth.shape == (1, 128, 128) and model.training
    with pytest.raises(ValueError, match="sketch path only"):
        model.predict_depth(_rand(1, 3, 128), kind="photo")
    with pytest.raises(ValueError, match="expects 1 input channel"):
        model.predict_depth(_rand(1, 3, 128))
    dp = DPCoarseNet(LITE["dp_coarse"])
    assert dp.predict_depth(_rand(1, 3, 128), kind="photo").shape == (1, 1, 128, 128)


def test_finenet_fixed_lambda_ignores_lambda_and_bounds_displacement():
    torch.manual_seed(0)
    cfg = FineNetConfig(image_size=64, dim=8, n_res=1, max_displacement=0.05)
    model = FineNet(cfg).eval()
    coarse, lines = _rand(2, 1, 64), _rand(2, 1, 64)
    a = model(coarse, lines, torch.tensor([0.1, 0.9]))
    b = model(coarse, lines)
    torch.testing.assert_close(a["fine"], b["fine"])
    assert a["displacement"].abs().max() <= 0.05
    torch.testing.assert_close(a["fine"], coarse + a["displacement"])
    mask = torch.zeros(2, 1, 64, 64)
    mask[..., 16:48, 16:48] = 1
    masked = model(coarse, lines, mask=mask)
    assert masked["displacement"][..., :16, :].abs().max() == 0
    assert masked["displacement"][..., 16:48, 16:48].abs().max() > 0


def test_finenet_conditioned_lambda_changes_output_per_example():
    torch.manual_seed(0)
    cfg = FineNetConfig(image_size=64, dim=8, n_res=1, lambda_conditioned=True,
                        lambda_channel=False)
    model = FineNet(cfg).eval()
    coarse, lines = _rand(1, 1, 64).expand(2, -1, -1, -1), _rand(1, 1, 64).expand(2, -1, -1, -1)
    lam = torch.tensor([0.2, 0.9])
    out = model(coarse, lines, lam)["displacement"]
    torch.testing.assert_close(out[0], out[1])          # FiLM starts as the identity
    torch.nn.init.normal_(model.film.model[-1].weight, std=0.1)
    out = model(coarse, lines, lam)["displacement"]
    assert not torch.allclose(out[0], out[1], atol=1e-6)   # per-example lambda now matters
    same = model(coarse, lines, torch.tensor([0.9, 0.9]))["displacement"]
    torch.testing.assert_close(same[0], same[1])
    with pytest.raises(ValueError, match="lambda_line"):
        model(coarse, lines, torch.tensor([0.1, 0.2, 0.3]))


def test_finenet_lambda_channel_adds_an_input():
    cfg = FineNetConfig(image_size=64, dim=8, n_res=1, lambda_conditioned=True)
    model = FineNet(cfg)
    assert model.enc.down[0].conv.in_channels == 3
    assert FineNet(cfg.replace(lambda_conditioned=False)).enc.down[0].conv.in_channels == 2


def test_finenet_line_gate_moves_the_surface_only_near_drawn_lines(tmp_path):
    from sketchface.nets import load_network
    from sketchface.nets.finenet import line_gate

    lines = torch.ones(1, 1, 64, 64)
    lines[..., 30, 10:50] = 0                                   # one horizontal stroke
    gate = line_gate(lines, 2)
    assert gate[0, 0, 30, 20] == 1 and gate[0, 0, 40, 20] == 0 and gate[0, 0, 30, 5] < gate[0, 0, 30, 9]
    assert 0 < gate[0, 0, 32, 20] < 1                           # a smooth fall-off, not a hard band
    torch.manual_seed(0)
    cfg = FineNetConfig(image_size=64, dim=8, n_res=1, line_gate_radius=2)
    model = FineNet(cfg).eval()
    disp = model(_rand(1, 1, 64), lines)["displacement"]
    assert disp[..., 30, 15:45].abs().min() > 0                 # moves on the stroke ...
    assert disp[..., 40:, :].abs().max() == 0                   # ... and nowhere far from it
    ungated = FineNet(cfg.replace(line_gate_radius=0)).eval()
    ungated.load_state_dict(model.state_dict())
    assert ungated(_rand(1, 1, 64), lines)["displacement"][..., 40:, :].abs().max() > 0
    model.save_pretrained(tmp_path)
    assert load_network(tmp_path).config.line_gate_radius == 2
    with pytest.raises(ConfigError, match="line_gate_radius"):
        FineNetConfig(line_gate_radius=-1).validate()


def test_finenet_with_line_extractor_returns_lines():
    le = build("line_extractor", LITE["line_extractor"].replace(image_size=64, dim=8, n_res=1))
    fn = build("finenet", LITE["finenet"].replace(image_size=64, dim=8, n_res=1))
    out = fn(_rand(2, 1, 64), _rand(2, 1, 64), torch.tensor([0.5, 0.85]), line_extractor=le)
    assert out["lines_pred"].shape == (2, 1, 64, 64)
    assert 0 <= out["lines_pred"].min() and out["lines_pred"].max() <= 1


def test_line_extractor_logits_are_its_output_before_the_squashing():
    for act in ("tanh", "sigmoid"):
        le = build("line_extractor", LITE["line_extractor"].replace(image_size=32, dim=4, n_res=1,
                                                                    out_activation=act)).eval()
        d = _rand(2, 1, 32)
        torch.testing.assert_close(torch.sigmoid(le.logits(d)), le(d), atol=1e-6, rtol=0)


# ---- D-Net ------------------------------------------------------------------------------
def _df2net_dnet_param_count(in_c, nf):
    """Parameters of the DF2Net demo's coarse U-Net, counted from its published layer list."""
    conv = lambda i, o, k: i * o * k * k          # noqa: E731  (no biases anywhere)
    bn = lambda c: 2 * c                          # noqa: E731
    enc = [in_c, nf, 2 * nf, 4 * nf, 8 * nf, 8 * nf, 8 * nf, 8 * nf, 8 * nf]
    total = sum(conv(enc[i], enc[i + 1], 4) for i in range(8))
    total += sum(bn(c) for c in enc[2:8])                     # layers 2..7 have BN, 8 not
    dec = [(8 * nf, 8 * nf)] + [(16 * nf, 8 * nf)] * 3 + [(16 * nf, 4 * nf), (8 * nf, 2 * nf),
                                                          (4 * nf, nf), (2 * nf, nf)]
    total += sum(conv(i, o, 4) + bn(o) for i, o in dec)
    total += conv(nf, nf, 3) + bn(nf) + conv(nf, nf // 2, 3) + bn(nf // 2) + conv(nf // 2, 1, 3)
    return total


def test_dnet_matches_the_df2net_layer_list():
    with torch.device("meta"):
        model = DNet(DNetConfig(in_channels=3, dim=64, n_downsample=8))
    assert sum(p.numel() for p in model.parameters()) == _df2net_dnet_param_count(3, 64)
    assert sum(isinstance(m, torch.nn.Dropout2d) for m in model.modules()) == 3


def test_dnet_bottleneck_is_one_pixel_and_accepts_sketches():
    torch.manual_seed(0)
    model = DNet(LITE["dnet"]).eval()
    feats = []
    model.down[-1].register_forward_hook(lambda m, i, o: feats.append(o))
    depth = model(_rand(1, 1, 128))
    assert feats[0].shape[-2:] == (1, 1) and depth.shape == (1, 1, 128, 128)
    linear = DNet(LITE["dnet"].replace(out_activation="linear"))
    assert linear.predict_depth(_rand(1, 1, 128)).max() <= 1


# ---- CycleGAN ---------------------------------------------------------------------------
def test_patchgan_receptive_field_is_70():
    torch.manual_seed(0)
    model = CycleGAN(LITE["cyclegan"].replace(norm="none"))   # instance norm mixes all pixels
    x = torch.rand(1, 1, 128, 128, requires_grad=True)
    scores = model.D_s(x)
    assert scores.shape == (1, 1, 14, 14)
    scores[0, 0, 7, 7].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    cols = x.grad[0, 0].abs().sum(0).nonzero()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_cyclegan_generator_layout():
    model = CycleGAN(PAPER["cyclegan"].replace(image_size=64))
    convs = [m for m in model.G_ps.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    widths = [m.out_channels for m in convs]
    # c7s1-64, d128, d256, 9 residual blocks (2 convs each), u128, u64, c7s1-1
    assert widths == [64, 128, 256] + [256] * 18 + [128, 64, 1]


# ---- configs ----------------------------------------------------------------------------
def test_unknown_config_key_is_refused_with_the_allowed_keys():
    with pytest.raises(ConfigError, match=r"unknown key 'n_resblocks'.*allowed keys: .*n_res"):
        SPCoarseConfig.from_dict({"dim": 16, "n_resblocks": 2})
    with pytest.raises(ConfigError, match="unknown key"):
        build("sp_coarse", {"dimm": 3})


def test_bad_config_values_are_refused():
    with pytest.raises(ConfigError, match="norm"):
        SPCoarseConfig(norm="batch")
    with pytest.raises(ConfigError, match="divisible"):
        SPCoarseConfig(image_size=100)
    with pytest.raises(ConfigError, match="must be int"):
        SPCoarseConfig(dim="16")
    with pytest.raises(ConfigError, match="does not match"):
        SPCoarseConfig.from_dict({**LITE["sp_coarse"].to_dict(), "kind": "dnet"})
    with pytest.raises(ConfigError, match="unknown network kind"):
        config_from_dict({"kind": "vit", "dim": 3})
    with pytest.raises(ConfigError, match="unknown preset"):
        preset("huge")


@pytest.mark.parametrize("name", ["lite", "paper"])
def test_yaml_files_agree_with_presets(name):
    path = ROOT / "configs" / f"nets_{name}.yaml"
    loaded = load_yaml(path)
    assert loaded == preset(name)
    text = path.read_text()
    for line in text.splitlines():   # a comment on every key
        if line.startswith("  ") and ":" in line:
            assert "#" in line, line


def test_yaml_refuses_unknown_network_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sp_coarse:\n  dim: 16\n  colour: red\n")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        load_yaml(bad)
    bad.write_text("transformer:\n  dim: 16\n")
    with pytest.raises(ConfigError, match="unknown network 'transformer'"):
        load_yaml(bad)


def test_configs_and_cli_module_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, sketchface.nets, sketchface.nets.summary; "
            "sketchface.nets.preset('paper'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_modulated_block_without_parameters_says_so():
    from sketchface.nets import ResBlock

    with pytest.raises(ValueError, match="modulated"):
        ResBlock(4, norm="adain", modulated=True)(torch.zeros(1, 4, 8, 8))


def test_a_coarse_net_without_a_depth_path_is_refused():
    import pytest

    from sketchface.nets.coarse import _DepthPredictor

    with pytest.raises(TypeError, match="_depth"):
        type("NoDepth", (_DepthPredictor,), {})


@pytest.mark.parametrize("kind", ["dp_coarse", "sp_coarse", "sp_coarse_minus", "finenet"])
def test_bilinear_upsampling_option(kind, tmp_path):
    """``upsample: bilinear`` swaps only the decoders' upsampling: same parameters, other output, round trip."""
    from sketchface.nets import load_network

    small = dict(image_size=32, dim=8, n_res=1)
    torch.manual_seed(0)
    near = build(kind, LITE[kind].replace(**small)).eval()
    bil = build(kind, LITE[kind].replace(**small, upsample="bilinear")).eval()
    assert near.config.upsample == "nearest"                    # the paper's, and the default
    bil.load_state_dict(near.state_dict())                      # same parameter set
    modes = {m.mode for m in bil.modules() if isinstance(m, torch.nn.Upsample)}
    assert modes == {"bilinear"}
    torch.manual_seed(1)
    fwd_near = example_calls(kind, near, near.config)[1]
    torch.manual_seed(1)
    fwd_bil = example_calls(kind, bil, bil.config)[1]
    a, b = fwd_near(), fwd_bil()
    if isinstance(a, dict):
        a, b = a["fine"], b["fine"]
    assert a.shape == b.shape and not torch.allclose(a, b)
    bil.save_pretrained(tmp_path)
    assert load_network(tmp_path).config.upsample == "bilinear"
    with pytest.raises(ConfigError, match="upsample"):
        build(kind, LITE[kind].replace(**small, upsample="bicubic"))
