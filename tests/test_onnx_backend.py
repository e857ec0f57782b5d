"""ONNX Runtime backend: every exported network and a whole reconstruction match PyTorch; failures fall back."""
from __future__ import annotations

import logging

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import torch  # noqa: E402

from sketchface import onnx_backend as ob  # noqa: E402
from sketchface.bench import _stroke_face  # noqa: E402

SIZE = 64
SMALL = {"dp_coarse": dict(image_size=SIZE, dim=8, n_res=2, mlp_dim=16),
         "line_extractor": dict(image_size=SIZE, dim=8, n_res=2),
         "finenet": dict(image_size=SIZE, dim=8, n_res=2),
         "cyclegan": dict(image_size=SIZE, ngf=8, ndf=8, n_blocks=2)}


def _randomise_film(finenet) -> None:
    """Give the λ MLP a non-zero last layer (it starts at zero), so that λ changes the output."""
    last = finenet.film.model[-1]
    with torch.no_grad():
        last.weight.normal_(0, 0.5)
        last.bias.normal_(0, 0.1)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A 64 px bundle of random lite-architecture networks with a λ-conditioned FineNet."""
    import json

    from sketchface.nets import build, preset

    root = tmp_path_factory.mktemp("onnx_bundle")
    torch.manual_seed(1)
    for kind, over in SMALL.items():
        net = build(kind, preset("lite")[kind].replace(**over))
        if kind == "finenet":
            assert net.config.lambda_conditioned
            _randomise_film(net)
        net.save_pretrained(root / kind, inference_only=True)
    (root / "pipeline.json").write_text(json.dumps({"coarse": "dp_coarse"}))
    return root


@pytest.fixture(scope="module")
def nets(bundle):
    from sketchface.nets import load_network

    return {k: load_network(bundle / k).eval() for k in SMALL}


@pytest.fixture(scope="module")
def runners(nets, tmp_path_factory):
    return ob.onnx_runners(nets["dp_coarse"], nets["line_extractor"], nets["finenet"], nets["cyclegan"],
                           cache=tmp_path_factory.mktemp("onnx_runners"))


def _inputs(n, channels, seed=0):
    return torch.rand(n, channels, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def _close(a, b, rel=1e-4):
    a, b = a.detach().float(), b.detach().float()
    assert a.shape == b.shape
    scale = max(float(b.max() - b.min()), 1e-3)
    assert float((a - b).abs().max()) < rel * max(scale, 1.0), float((a - b).abs().max())


@pytest.mark.parametrize("n", [1, 3])
def test_each_network_matches_pytorch(nets, runners, n):
    sketch, photo, depth = _inputs(n, 1, 1), _inputs(n, 3, 2), _inputs(n, 1, 3)
    with torch.inference_mode():
        pairs = [
            (nets["dp_coarse"].predict_depth(sketch, "sketch"), runners.coarse.predict_depth(sketch, "sketch")),
            (nets["dp_coarse"].predict_depth(photo, "photo"), runners.coarse.predict_depth(photo, "photo")),
            (nets["line_extractor"](depth), runners.line_extractor(depth)),
            (nets["cyclegan"].photo_to_sketch(photo), runners.cyclegan.photo_to_sketch(photo)),
        ]
    for want, got in pairs:
        assert float(want.max() - want.min()) > 1e-3          # random weights, yet not a constant output
        _close(got, want)
    for m in (*runners.coarse.paths.values(), runners.line_extractor.graph, runners.cyclegan.graph):
        assert not m.failed and m.path is not None and m.path.is_file()


def test_finenet_lambda_input_matches_pytorch(nets, runners):
    coarse, lines = _inputs(2, 1, 4), (_inputs(2, 1, 5) > 0.2).float()
    mask = (coarse > 0.05).float()
    outs = {}
    with torch.inference_mode():
        for lam in (0.1, 0.9):
            lam_t = torch.full((2,), lam)
            want = nets["finenet"](coarse, lines, lam_t, mask)
            got = runners.finenet(coarse, lines, lam_t, mask)
            for key in ("displacement", "fine"):
                _close(got[key], want[key])
            outs[lam] = got["fine"]
        mixed = runners.finenet(coarse, lines, torch.tensor([0.1, 0.9]), mask)["fine"]   # one λ per example
    assert float((outs[0.1] - outs[0.9]).abs().max()) > 1e-3     # λ reaches the exported graph
    _close(mixed[0], outs[0.1][0])
    _close(mixed[1], outs[0.9][1])
    assert not runners.finenet.graph.failed


def test_reconstruction_onnx_matches_torch(bundle, tmp_path, monkeypatch):
    from sketchface.pipeline import SketchFace

    monkeypatch.setenv("SKETCHFACE_ONNX_CACHE", str(tmp_path / "cache"))
    ref = SketchFace.from_pretrained(bundle, backend="torch")
    sf = SketchFace.from_pretrained(bundle, backend="onnx")
    assert (ref.backend, sf.backend) == ("torch", "onnx")
    img = _stroke_face(256)
    a, b = ref(img), sf(img)
    for name in ("coarse", "displacement", "fine", "lines_pred"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=1e-4)
    near = np.abs(a.coarse - 0.05) < 1e-4                     # the mask threshold may flip within float error
    assert (a.mask == b.mask)[~near].all()
    sa, sb = ref.lambda_sweep(a, (0.1, 0.9)), sf.lambda_sweep(b, (0.1, 0.9))
    for x, y in zip(sa, sb):
        np.testing.assert_allclose(y.fine, x.fine, atol=1e-4)
    assert np.abs(sb[0].fine - sb[1].fine).max() > 1e-3
    np.testing.assert_allclose(sf.refine(b, 0.3).fine, ref.refine(a, 0.3).fine, atol=1e-4)
    photo = (np.random.default_rng(0).random((160, 160, 3)) * 255).astype(np.uint8)
    pa, pb = ref(photo, kind="photo"), sf(photo, kind="photo")
    np.testing.assert_allclose(pb.fine, pa.fine, atol=1e-4)
    np.testing.assert_allclose(pb.sketch, pa.sketch, atol=1e-4)
    used = [*sf._onnx.coarse.paths.values(), sf._onnx.line_extractor.graph, sf._onnx.finenet.graph,
            sf._onnx.cyclegan.graph]
    assert all(m._session is not None and not m.failed for m in used)
    assert sorted(p.name for p in (tmp_path / "cache").rglob("*.onnx")) == [
        "depth_photo.onnx", "depth_sketch.onnx", "finenet.onnx", "line_extractor.onnx", "photo_to_sketch.onnx"]

    def no_export(*args, **kwargs):
        raise AssertionError("the cached graphs should have been reused")
    monkeypatch.setattr(ob, "export_onnx", no_export)
    again = SketchFace.from_pretrained(bundle, backend="onnx")
    np.testing.assert_allclose(again(img).fine, a.fine, atol=1e-4)
    assert not again._onnx.finenet.graph.failed


def test_broken_export_falls_back_to_torch(bundle, tmp_path, monkeypatch, caplog):
    from sketchface.pipeline import SketchFace

    monkeypatch.setenv("SKETCHFACE_ONNX_CACHE", str(tmp_path / "empty"))

    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")
    monkeypatch.setattr(ob, "export_onnx", broken)
    ref = SketchFace.from_pretrained(bundle, backend="torch")
    sf = SketchFace.from_pretrained(bundle, backend="onnx")
    img = _stroke_face(200)
    with caplog.at_level(logging.WARNING, logger="sketchface.onnx"):
        r = sf(img)
    warned = [rec for rec in caplog.records if rec.name == "sketchface.onnx"]
    assert warned and all("exporter exploded" in rec.getMessage() and "PyTorch" in rec.getMessage()
                          for rec in warned)
    assert len({rec.getMessage() for rec in warned}) == len(warned) <= 3   # once per network used
    np.testing.assert_array_equal(r.fine, ref(img).fine)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sketchface.onnx"):
        sf.refine(r, 0.2)
        sf(img)
    assert not [rec for rec in caplog.records if rec.name == "sketchface.onnx"]   # no repeats


def test_failing_session_falls_back_to_torch(nets, runners, caplog):
    run = ob.onnx_runners(nets["dp_coarse"], nets["line_extractor"], nets["finenet"],
                          cache=runners.line_extractor.graph.cache)          # the graphs exported above
    depth = _inputs(1, 1, 7)
    assert run.line_extractor.graph.ready()

    class Broken:
        def run(self, *args, **kwargs):
            raise RuntimeError("session died")
    run.line_extractor.graph._session = Broken()
    with caplog.at_level(logging.WARNING, logger="sketchface.onnx"), torch.inference_mode():
        out = run.line_extractor(depth)
        want = nets["line_extractor"](depth)
    assert "session died" in caplog.text and run.line_extractor.graph.failed
    torch.testing.assert_close(out, want)


def test_backend_choice(caplog):
    assert ob.resolve_backend("torch", "cpu") == "torch"
    assert ob.resolve_backend("onnx", "cpu") == "onnx"
    assert ob.resolve_backend("auto", "cpu") == ("onnx" if ob.AUTO_USES_ONNX else "torch")
    assert ob.resolve_backend("auto", "cuda") == "torch"
    with caplog.at_level(logging.WARNING, logger="sketchface.onnx"):
        assert ob.resolve_backend("onnx", "cuda") == "torch"
    assert "CPU only" in caplog.text
    with pytest.raises(ValueError, match="backend must be one of"):
        ob.resolve_backend("tensorrt", "cpu")


def test_missing_onnxruntime_means_torch(monkeypatch, caplog):
    monkeypatch.setattr(ob, "available", lambda: False)
    assert ob.resolve_backend("auto", "cpu") == "torch"
    with caplog.at_level(logging.WARNING, logger="sketchface.onnx"):
        assert ob.resolve_backend("onnx", "cpu") == "torch"
    assert "pip install onnxruntime" in caplog.text


@pytest.mark.parametrize("kind, over", [("sp_coarse", dict(mlp_dim=8)), ("sp_coarse_minus", {}),
                                        ("dnet", dict(n_downsample=5))])
def test_other_coarse_networks_and_a_plain_finenet(kind, over, tmp_path):
    """Single-path CoarseNets, D-Net (batch norm) and a FineNet without λ input export and match too."""
    from sketchface.nets import build, preset

    torch.manual_seed(2)
    lite = preset("lite")
    co = build(kind, lite[kind].replace(image_size=32, dim=4, **({"n_res": 1} if kind != "dnet" else {}),
                                        **over)).eval()
    le = build("line_extractor", lite["line_extractor"].replace(image_size=32, dim=4, n_res=1)).eval()
    fn = build("finenet", lite["finenet"].replace(image_size=32, dim=4, n_res=1, lambda_conditioned=False)).eval()
    run = ob.onnx_runners(co, le, fn, cache=tmp_path)
    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        _close(run.coarse.predict_depth(x), co.predict_depth(x))
        _close(run.coarse.predict_depth(x[0]), co.predict_depth(x[0]))          # (C, H, W) input
        _close(run.finenet(x, x, 0.3)["fine"], fn(x, x, 0.3)["fine"])
        with pytest.raises(ValueError, match="channel"):
            run.coarse.predict_depth(torch.rand(1, 3, 32, 32))                   # the module's own message
    assert not run.coarse.paths["sketch"].failed and not run.finenet.graph.failed


def test_int8_line_extractor_is_calibrated_cached_and_falls_back(nets, tmp_path, caplog, monkeypatch):
    """lines_calibration: l' from a static int8 copy of the line extractor, close to the fp32 graph on depth maps
    like the calibration ones, made once per calibration set; a calibration that fails, or a CPU without VNNI,
    leaves the fp32 graph."""
    monkeypatch.setattr(ob, "int8_suits_cpu", lambda: True)        # what runs where: the test below
    net = nets["line_extractor"]
    yy, xx = np.mgrid[:SIZE, :SIZE] / (SIZE - 1) * 2 - 1

    def heads(n, seed):
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            r2 = ((xx - rng.uniform(-.1, .1)) / rng.uniform(.5, .7)) ** 2 + ((yy - rng.uniform(-.1, .1)) / .8) ** 2
            out.append(np.where(r2 < 1, 0.6 + 0.3 * np.sqrt(np.clip(1 - r2, 0, 1)), 0).astype(np.float32))
        return out

    calls = []

    def calibration():
        calls.append(1)
        return heads(8, 0)

    fp32 = ob.onnx_runners(nets["dp_coarse"], net, nets["finenet"], cache=tmp_path).line_extractor
    q = ob.onnx_runners(nets["dp_coarse"], net, nets["finenet"], cache=tmp_path,
                        lines_calibration=calibration).line_extractor
    depth = torch.from_numpy(np.stack(heads(4, 1)))[:, None]
    with torch.inference_mode():
        want, got = fp32(depth), q(depth)
    assert q.graph.path.name.startswith("line_extractor_int8_") and q.graph.path.is_file() and not q.graph.failed
    assert fp32.graph.path.name == "line_extractor.onnx"
    assert float((got - want).abs().max()) > 0                       # it is another graph ...
    assert float((got - want).abs().mean()) < 0.02 * float(want.max() - want.min())      # ... that draws alike
    again = ob.onnx_runners(nets["dp_coarse"], net, nets["finenet"], cache=tmp_path,
                            lines_calibration=calibration).line_extractor
    mtime = q.graph.path.stat().st_mtime_ns
    assert again.graph.ready() and again.graph.path == q.graph.path and again.graph.path.stat().st_mtime_ns == mtime
    assert len(calls) == 2                                            # read again, quantised once

    def broken():
        raise RuntimeError("no face model")
    fallback = ob.onnx_runners(nets["dp_coarse"], net, nets["finenet"], cache=tmp_path,
                               lines_calibration=broken).line_extractor
    with caplog.at_level(logging.WARNING, logger="sketchface.onnx"), torch.inference_mode():
        out = fallback(depth)
    assert "no int8 copy" in caplog.text and "fp32" in caplog.text and not fallback.graph.failed
    assert fallback.graph.path.name == "line_extractor.onnx"
    torch.testing.assert_close(out, want)


def test_no_int8_without_vnni(nets, tmp_path, monkeypatch):
    assert isinstance(ob.int8_suits_cpu(), bool)                      # this machine's answer, whatever it is
    monkeypatch.setattr(ob, "int8_suits_cpu", lambda: False)
    calls = []
    run = ob.onnx_runners(nets["dp_coarse"], nets["line_extractor"], nets["finenet"], cache=tmp_path,
                          lines_calibration=lambda: calls.append(1) or [np.zeros((SIZE, SIZE), np.float32)])
    assert run.line_extractor.graph.ready() and run.line_extractor.graph.path.name == "line_extractor.onnx"
    assert not calls                                                   # not even calibrated
