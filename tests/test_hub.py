"""Checkpoints: config.json + model.safetensors round trips, fp16 shipping, clear refusals."""
from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from sketchface.nets import (KINDS, CheckpointError, DNet, SPCoarseNet, build,  # noqa: E402
                             load_network, preset)
from sketchface.nets.summary import example_calls  # noqa: E402

LITE = preset("lite")


def _small(kind):
    """Lite configs made smaller still, so the round trips stay fast."""
    cfg = LITE[kind]
    if kind == "dnet":
        return cfg.replace(image_size=64, n_downsample=6, dim=8)
    if kind == "cyclegan":
        return cfg.replace(image_size=64, ngf=8, ndf=8, n_blocks=2)
    return cfg.replace(image_size=64, dim=8, n_res=2)


def _outputs(kind, model, cfg):
    torch.manual_seed(123)
    _, infer = example_calls(kind, model, cfg, batch=2)
    with torch.no_grad():
        return infer()


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_gives_identical_outputs(kind, tmp_path):
    torch.manual_seed(0)
    cfg = _small(kind)
    model = build(kind, cfg).eval()
    if kind == "finenet":    # make the lambda conditioning non-trivial before saving
        torch.nn.init.normal_(model.film.model[-1].weight, std=0.05)
    model.save_pretrained(tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["kind"] == kind
    loaded = load_network(tmp_path / "ckpt").eval()
    assert type(loaded) is type(model) and loaded.config == model.config
    torch.testing.assert_close(_outputs(kind, loaded, cfg), _outputs(kind, model, cfg),
                               rtol=0, atol=0)
    same_class = type(model).from_pretrained(tmp_path / "ckpt")
    assert type(same_class) is type(model)


def test_fp16_shipping_loads_into_fp32_with_close_outputs(tmp_path):
    torch.manual_seed(0)
    cfg = _small("sp_coarse")
    model = SPCoarseNet(cfg).eval()
    model.save_pretrained(tmp_path / "fp32")
    model.save_pretrained(tmp_path / "fp16", dtype=torch.float16)
    size32 = (tmp_path / "fp32" / "model.safetensors").stat().st_size
    size16 = (tmp_path / "fp16" / "model.safetensors").stat().st_size
    assert size16 < 0.6 * size32
    loaded = SPCoarseNet.from_pretrained(tmp_path / "fp16").eval()
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    a, b = _outputs("sp_coarse", model, cfg), _outputs("sp_coarse", loaded, cfg)
    assert not torch.equal(a, b)                       # weights really were rounded
    torch.testing.assert_close(b, a, atol=1e-2, rtol=0)


def test_fp16_keeps_integer_buffers(tmp_path):
    model = DNet(_small("dnet"))
    model.save_pretrained(tmp_path / "d", dtype=torch.float16)
    loaded = DNet.from_pretrained(tmp_path / "d")
    bn = [m for m in loaded.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    assert bn.num_batches_tracked.dtype == torch.int64


def test_weights_of_another_size_are_refused(tmp_path):
    small = SPCoarseNet(_small("sp_coarse"))
    small.save_pretrained(tmp_path / "small")
    big = SPCoarseNet(_small("sp_coarse").replace(dim=16))
    big.save_pretrained(tmp_path / "big")
    # config.json of the big network beside the small network's weights
    (tmp_path / "small" / "config.json").write_text((tmp_path / "big" / "config.json").read_text())
    with pytest.raises(CheckpointError, match=r"does not match .*config\.json: .*other shapes"):
        load_network(tmp_path / "small")


def test_missing_tensors_are_refused(tmp_path):
    model = SPCoarseNet(_small("sp_coarse"))
    model.save_pretrained(tmp_path / "a")
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    cfg["n_res"] = 3                                    # one more residual block than saved
    (tmp_path / "a" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="tensors are missing"):
        load_network(tmp_path / "a")


def test_truncated_safetensors_is_refused(tmp_path):
    SPCoarseNet(_small("sp_coarse")).save_pretrained(tmp_path / "t")
    weights = tmp_path / "t" / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt.*save it again"):
        load_network(tmp_path / "t")
    weights.write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        SPCoarseNet.from_pretrained(tmp_path / "t")


def test_missing_files_and_wrong_kind_are_refused(tmp_path):
    SPCoarseNet(_small("sp_coarse")).save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_network(tmp_path / "m")
    (tmp_path / "m" / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_network(tmp_path / "m")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_network(tmp_path / "nowhere")
    DNet(_small("dnet")).save_pretrained(tmp_path / "d")
    with pytest.raises(CheckpointError, match="holds a 'dnet' network, not 'sp_coarse'"):
        SPCoarseNet.from_pretrained(tmp_path / "d")


def test_unknown_config_key_in_checkpoint_is_refused(tmp_path):
    SPCoarseNet(_small("sp_coarse")).save_pretrained(tmp_path / "u")
    cfg = json.loads((tmp_path / "u" / "config.json").read_text())
    cfg["n_heads"] = 4
    (tmp_path / "u" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unknown key 'n_heads'"):
        load_network(tmp_path / "u")
    cfg.pop("n_heads")
    cfg["kind"] = "diffusion"
    (tmp_path / "u" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="does not know"):
        load_network(tmp_path / "u")


def test_hub_repo_id_offline_gives_one_sentence():
    import huggingface_hub.constants as c

    if not c.HF_HUB_OFFLINE:
        pytest.skip("huggingface_hub was imported before HF_HUB_OFFLINE was set")
    with pytest.raises(CheckpointError, match="could not fetch someone/sketchface-lite"):
        load_network("someone/sketchface-lite")
