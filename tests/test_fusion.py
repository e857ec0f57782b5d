"""PriorFusion: DP-CoarseNet's depth and the face model's joined (sketchface/nets/fusion.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sketchface.nets import ConfigError, load_network
from sketchface.nets.fusion import FusionConfig, PriorFusion, carry_out


def disc(size=48, r=12, value=0.6):
    yy, xx = np.mgrid[:size, :size]
    return torch.from_numpy(np.where((yy - size / 2) ** 2 + (xx - size / 2) ** 2 < r * r, value, 0.0)
                            .astype(np.float32))[None, None]


def test_carry_out_fills_a_ring_of_reach_pixels_and_leaves_the_face_alone():
    prior = disc()
    prior[0, 0, 24, 24] = 0.9                     # a peak inside stays where it is
    carried, mask = carry_out(prior, 3)
    inside = prior > 0
    assert torch.equal(carried[inside], prior[inside])
    assert torch.equal(mask, inside.float())
    grown = torch.nn.functional.max_pool2d(inside.float(), 7, 1, 3) > 0       # 3 pixels around the face
    assert torch.allclose(carried[grown & ~inside], torch.tensor(0.6))
    assert (carried[~grown] == 0).all()
    assert torch.equal(carry_out(prior, 0)[0], prior)


def test_config_refuses_what_cannot_be_built():
    for bad in ({"width": 0}, {"dilations": ()}, {"reach": 40}, {"max_correction": 0.9}):
        with pytest.raises(ConfigError):
            FusionConfig.from_dict(bad)


def test_starts_near_the_coarse_net_and_round_trips(tmp_path):
    torch.manual_seed(0)
    net = PriorFusion(FusionConfig(width=4, dilations=(1, 2))).eval()
    sketch = torch.ones(1, 1, 48, 48)
    dp = disc(value=0.5)
    prior = disc(r=10, value=0.9)
    with torch.no_grad():
        out = net(sketch, dp, prior)
    # untrained: about 95 % DP-CoarseNet's depth and 5 % the carried prior
    assert torch.allclose(out, 0.953 * dp + 0.047 * carry_out(prior, 6)[0], atol=2e-3)
    net.save_pretrained(tmp_path / "fusion")
    again = load_network(tmp_path / "fusion").float().eval()
    assert isinstance(again, PriorFusion) and again.config.dilations == (1, 2)
    with torch.no_grad():
        assert torch.allclose(again(sketch, dp, prior), out, atol=2e-3)        # saved in fp16


def _toy_fusion_folder(folder, rng, n_train=64, n_test=16, size=32):
    """A prepare-fusion folder of a toy world: DP-CoarseNet finds the outline (a flat disc of the right size), the
    face model the shape inside (a dome whose outline is too small)."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        truth, dp, prior = [], [], []
        for _ in range(n):
            cy, cx, r = rng.uniform(13, 19), rng.uniform(13, 19), rng.uniform(7, 10)
            d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / r ** 2
            dome = np.where(d2 < 1, 0.4 + 0.4 * np.sqrt(np.clip(1 - d2, 0, 1)), 0.0)
            truth.append(dome)
            dp.append(np.where(d2 < 1, 0.6, 0.0))
            prior.append(np.where(d2 < 0.7, dome, 0.0))
        truth = np.stack(truth).astype(np.float16)
        np.save(folder / f"{split}_depth.npy", truth)
        np.save(folder / f"{split}_mask.npy", truth > 0)
        np.save(folder / f"{split}_lines.npy", np.ones_like(truth))
        np.save(folder / f"{split}_lines_prior.npy", np.stack(prior).astype(np.float16))
        np.save(folder / f"{split}_lines_dp.npy", np.stack(dp).astype(np.float16))
    return folder


def test_train_fusion_learns_the_prior_inside_and_the_coarse_outline(tmp_path):
    """Trained for a few steps on the toy world, the joined depth beats both of its inputs on the test split, and
    the run is a loadable network with its report."""
    from sketchface.errors import UserError
    from sketchface.train.fusion import train_fusion

    folder = _toy_fusion_folder(tmp_path / "fusion", np.random.default_rng(0))
    report = train_fusion(folder, tmp_path / "run", steps=150, batch=16, lr=1e-2, width=8, crop=0, progress=False)
    err = report["test"]["lines"]
    assert err["DP-CoarseNet on the face model"]["Err"] < 0.5 * err["DP-CoarseNet"]["Err"]
    assert err["DP-CoarseNet on the face model"]["Err"] < 0.5 * err["face model"]["Err"]
    assert isinstance(load_network(tmp_path / "run"), PriorFusion)
    assert (tmp_path / "run" / "training.json").is_file() and report["styles"] == ["lines"]
    with pytest.raises(UserError, match="prepare-fusion"):
        train_fusion(tmp_path / "nothing", tmp_path / "run2", steps=1)


def _fusion_bundle(tiny_model, tiny_bundle, tmp_path, bias=None):
    """The tiny bundle with a tiny FaceFit and a PriorFusion; ``bias`` forces its weight logit (±: all prior or
    all DP-CoarseNet), its correction 0."""
    import json
    import shutil

    from test_facefit import _tiny_facefit

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    _tiny_facefit(bundle / "facefit", len(tiny_model.neutral), size=32)
    spec = json.loads((bundle / "pipeline.json").read_text())
    (bundle / "pipeline.json").write_text(json.dumps({**spec, "facefit": "facefit"}))
    torch.manual_seed(0)
    net = PriorFusion(FusionConfig(width=4, dilations=(1, 2), reach=2))
    if bias is not None:
        with torch.no_grad():
            net.out.bias.copy_(torch.tensor([bias, 0.0]))
    net.save_pretrained(bundle / "prior_fusion")
    return bundle


def test_pipeline_joins_dp_coarse_and_the_face_model(tiny_model, tiny_bundle, tmp_path):
    from sketchface.pipeline import FUSED, PipelineError, SketchFace
    from sketchface.webapp.models import ModelBank

    img = np.full((96, 80), 255, np.uint8)
    img[30:70, 20:60] = 0
    img[45:50, 30:50] = 255
    dp = SketchFace.from_pretrained(_fusion_bundle(tiny_model, tiny_bundle, tmp_path / "a"), coarse="dp_coarse",
                                    backend="torch")(img, kind="lines", refine=False)
    results = {}
    for name, bias in (("prior", 30.0), ("dp", -30.0), ("trained", None)):
        bundle = _fusion_bundle(tiny_model, tiny_bundle, tmp_path / name, bias)
        sf = SketchFace.from_pretrained(bundle, coarse=FUSED, backend="torch")
        results[name] = r = sf(img, kind="lines")
        assert r.coarse_source == FUSED and r.has_head and r.framing_method.endswith("+facefit")
        assert r.detail_mask is not None                    # FineNet carves the face model's narrow face
    prior, mask = results["prior"].prior, results["prior"].prior > 0
    np.testing.assert_allclose(results["prior"].coarse[mask], prior[mask], atol=1e-5)   # weight 1: the face model
    np.testing.assert_allclose(results["dp"].coarse, dp.coarse, atol=1e-5)              # weight 0: DP-CoarseNet
    assert not np.allclose(results["trained"].coarse, dp.coarse)
    assert len(results["trained"].mesh().vertices) > len(tiny_model.neutral)           # the fitted head
    # the app offers it beside the others
    bank = ModelBank.load(tmp_path / "trained" / "bundle", device="cpu")
    assert "DP-CoarseNet on the face model + FineNet" in bank.labels
    # asked for by name without the network: one sentence that names it
    import shutil
    shutil.rmtree(tmp_path / "trained" / "bundle" / "prior_fusion")
    with pytest.raises(PipelineError, match="prior_fusion"):
        SketchFace.from_pretrained(tmp_path / "trained" / "bundle", coarse=FUSED)
    assert "DP-CoarseNet on the face model + FineNet" not in ModelBank.load(tmp_path / "trained" / "bundle").labels
