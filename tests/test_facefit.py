"""FaceFit, the face-model prior and the pipeline on it: geometry against the renderer, training, meshes."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sketchface.nets.facefit import CANONICAL_SCALE, FaceFit, FaceFitConfig, pose_vertices  # noqa: E402
from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM, Camera  # noqa: E402
from sketchface.train.facefit import face_basis, true_fit  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _basis_all(fm):
    from sketchface.render import FRAME_CENTER
    return {"neutral": torch.from_numpy(fm.neutral), "identity": torch.from_numpy(fm.identity_deltas),
            "expression": torch.from_numpy(fm.expression_deltas),
            "centre": torch.tensor([FRAME_CENTER[0], FRAME_CENTER[1], 0.0])}


def _random_face(fm, rng):
    ident = rng.normal(0, 1, fm.n_identity).astype(np.float32)
    expr = np.zeros(fm.n_expression, np.float32)
    expr[rng.choice(fm.n_expression, 3, replace=False)] = rng.uniform(0.1, 0.6, 3)
    cam = Camera(yaw=float(rng.uniform(-25, 25)), pitch=float(rng.uniform(-12, 12)), roll=float(rng.uniform(-10, 10)),
                 scale=float(rng.uniform(0.9, 1.1)), offset=(float(rng.uniform(-0.05, 0.05)),
                                                            float(rng.uniform(-0.05, 0.05))))
    return ident, expr, cam


def _cam_row(cam):
    return torch.tensor([[cam.yaw, cam.pitch, cam.roll, cam.scale, *cam.offset]], dtype=torch.float32)


def test_posed_vertices_match_the_renderer_in_any_crop(tiny_model):
    fm, rng, size = tiny_model, np.random.default_rng(1), 128
    ident, expr, cam = _random_face(fm, rng)
    xy, d = cam.project(fm.vertices(ident, expr), size)
    u = (xy + 0.5) / size * 2 - 1                                     # pixel centres -> [-1, 1]
    for crop in ([0.0, 0.0, 0.0], [np.log(0.8), 0.1, -0.12]):
        c = torch.tensor([crop], dtype=torch.float32)
        t = true_fit(torch.from_numpy(ident)[None], torch.from_numpy(expr)[None], _cam_row(cam), c)
        v = pose_vertices(_basis_all(fm), t)[0].numpy()
        s_c = np.exp(crop[0])
        np.testing.assert_allclose(v[:, :2], (u - np.array(crop[1:])) / s_c, atol=2e-4)
        # depth: the renderer's normalised depth is an affine function of the posed z (14 cm per crop unit)
        z_cm = v[:, 2] * s_c / CANONICAL_SCALE
        np.testing.assert_allclose((z_cm - DEPTH_FAR_CM) / (DEPTH_NEAR_CM - DEPTH_FAR_CM), d, atol=2e-4)


def test_reframe_puts_the_face_at_the_training_framing(tiny_model):
    from sketchface.prior import Fit, reframe

    fm, size = tiny_model, 128
    ident, expr, cam = _random_face(fm, np.random.default_rng(2))
    t = true_fit(torch.from_numpy(ident)[None], torch.from_numpy(expr)[None], _cam_row(cam), torch.zeros(1, 3))
    fit = Fit(ident, expr, t["angles"][0].numpy(), float(t["scale"][0]), t["shift"][0].numpy())
    box = reframe((0, 0, size, size), fit)
    # the face in that box, resampled to `size`, is where Camera(scale=1, offset=0) renders it
    lm_image, _ = cam.project(fm.vertices(ident, expr)[fm.landmarks68], size)
    canon = Camera(yaw=cam.yaw, pitch=cam.pitch, roll=cam.roll)
    lm_canon, _ = canon.project(fm.vertices(ident, expr)[fm.landmarks68], size)
    k = size / (box[2] - box[0])
    lm_in_box = (lm_image + 0.5 - np.array(box[:2])) * k - 0.5
    assert np.abs(lm_in_box - lm_canon).max() < 1.0 + k          # box corners are whole pixels
    # and a fit that already sits at the training framing keeps its box
    same = Fit(ident, expr, np.zeros(3), CANONICAL_SCALE, np.zeros(2))
    assert reframe((10, 20, 110, 120), same) == (10, 20, 110, 120)


def test_facefit_config_and_checkpoint_round_trip(tmp_path):
    from sketchface.nets import load_network
    from sketchface.nets.config import ConfigError

    net = FaceFit(FaceFitConfig(image_size=64, widths=(8, 8, 16, 16, 16), hidden=16, n_identity=5,
                                n_expression=4, face_vertices=10))
    net.save_pretrained(tmp_path / "ff", dtype=torch.float16)
    again = load_network(tmp_path / "ff")
    assert again.config == net.config and again.config.widths == (8, 8, 16, 16, 16)
    x = torch.rand(2, 3, 64, 64)
    out = again.fit(x)
    assert out["identity"].shape == (2, 5) and out["expression"].shape == (2, 4)
    assert ((out["expression"] >= 0) & (out["expression"] <= 1)).all()
    # an untrained head answers the mean face at the training framing
    assert torch.allclose(out["scale"], torch.full((2,), CANONICAL_SCALE), rtol=1e-3)
    with pytest.raises(ConfigError, match="divisible"):
        FaceFitConfig(image_size=48)
    with pytest.raises(ConfigError, match="unknown key"):
        FaceFitConfig.from_dict({"image_size": 64, "colour": 1})


def test_mirrored_reading_is_symmetric():
    torch.manual_seed(0)
    net = FaceFit(FaceFitConfig(image_size=64, widths=(8, 8, 8, 8, 8), hidden=16, n_identity=3, n_expression=2))
    torch.nn.init.normal_(net.head[-1].weight, std=0.1)
    x = torch.rand(1, 3, 64, 64)
    a, b = net.fit(x), net.fit(x.flip(-1))
    assert torch.allclose(a["angles"][:, 0], -b["angles"][:, 0], atol=1e-5)     # yaw
    assert torch.allclose(a["shift"][:, 0], -b["shift"][:, 0], atol=1e-5)       # tx
    assert torch.allclose(a["scale"], b["scale"], atol=1e-6)


@pytest.fixture(scope="module")
def tiny_fit_data(tiny_model_path, tmp_path_factory):
    from sketchface.data.make_data import make_data
    out = tmp_path_factory.mktemp("fitdata")
    make_data(out, 24, size=64, variants=1, workers=1, face_model=str(tiny_model_path), progress=False)
    return out


def test_train_facefit_writes_a_loadable_checkpoint(tiny_fit_data, tiny_model_path, tmp_path):
    from sketchface.nets import load_network
    from sketchface.train.facefit import train_facefit

    cfg = FaceFitConfig(image_size=64, widths=(8, 8, 16, 16, 16), hidden=32, n_identity=10, face_vertices=41 * 41)
    res = train_facefit(tiny_fit_data, tmp_path / "ff", steps=20, batch=8, config=cfg,
                        face_model=str(tiny_model_path), progress=False, log_every=10, sparse=0.5)
    assert (tmp_path / "ff" / "model.safetensors").is_file()
    metrics = json.loads((tmp_path / "ff" / "metrics.json").read_text())
    assert metrics["steps"] == 20 and metrics["sparse"] == 0.5
    assert load_network(tmp_path / "ff").config.n_identity == 10
    log = res["log"]      # (that it learns is measured on the real face model: docs/TRAINING.md, "FaceFit")
    assert [x["step"] for x in log] == [10, 20] and all(np.isfinite(x["loss"]) for x in log)
    assert res["test"]["n"] > 0 and 0 < res["test"]["landmark_px"] < 64


def test_facefit_fine_tunes_on_the_artist_style(tiny_fit_data, tiny_model_path, tiny_bundle, tmp_path):
    import shutil

    from sketchface.errors import UserError
    from sketchface.data.synthesize import synthesize_sketches
    from sketchface.nets import load_network
    from sketchface.train.facefit import train_facefit

    data = tmp_path / "data"
    shutil.copytree(tiny_fit_data, data)
    cfg = FaceFitConfig(image_size=64, widths=(8, 8, 16, 16, 16), hidden=32, n_identity=10, face_vertices=41 * 41)
    train_facefit(data, tmp_path / "a", steps=4, batch=4, config=cfg, face_model=str(tiny_model_path),
                  progress=False)
    with pytest.raises(UserError, match="synthesize-sketches"):      # the style is not made yet: what to run
        train_facefit(data, tmp_path / "b", steps=1, batch=4, init_from=tmp_path / "a", styles=["artist"],
                      face_model=str(tiny_model_path), progress=False)
    assert synthesize_sketches(data, tiny_bundle / "cyclegan", style="artist", progress=False) == 24
    res = train_facefit(data, tmp_path / "b", steps=4, batch=4, init_from=tmp_path / "a",
                        styles=["pencil", "artist", "photo"], face_model=str(tiny_model_path), progress=False)
    assert res["styles"] == ["sketch_pencil", "sketch_artist", "photo"] and res["init_from"].endswith("a")
    assert load_network(tmp_path / "b").config == load_network(tmp_path / "a").config     # its config is kept


def test_training_refuses_a_face_model_of_another_size(tiny_fit_data, tiny_model_path, tmp_path):
    from sketchface.errors import UserError
    from sketchface.train.facefit import train_facefit

    with pytest.raises(UserError, match="vertices"):
        train_facefit(tiny_fit_data, tmp_path / "ff", steps=1, config=FaceFitConfig(image_size=64, face_vertices=7),
                      face_model=str(tiny_model_path), progress=False)


def test_face_basis_puts_landmarks_first(tiny_model):
    basis, w = face_basis(tiny_model, n_subset=50)
    assert basis["neutral"].shape == (68 + 50, 3)
    np.testing.assert_allclose(basis["neutral"][:68].numpy(), tiny_model.neutral[tiny_model.landmarks68])
    assert w[:68].min() > w[68:].max() and abs(float(w.mean()) - 1) < 1e-6
    _, w4 = face_basis(tiny_model, n_subset=50, lip_weight=4.0)                # the lips count 4 landmarks each
    np.testing.assert_allclose(w4[48:68].numpy(), 4 * w4[0].item(), rtol=1e-5)
    assert abs(float(w4.mean()) - 1) < 1e-6 and float(w4[0]) < float(w[0])


def _tiny_facefit(path, n_vertices, size=64):
    torch.manual_seed(0)
    net = FaceFit(FaceFitConfig(image_size=size, widths=(4, 4, 4, 4, 4), head_channels=2, hidden=8,
                                n_identity=4, n_expression=3, face_vertices=n_vertices))
    net.save_pretrained(path, dtype=torch.float16)
    return path


def test_head_mesh_is_closed_and_takes_the_detail(tiny_model, tmp_path):
    from sketchface.nets import load_network
    from sketchface.prior import FacePrior, Fit

    prior = FacePrior(load_network(_tiny_facefit(tmp_path / "ff", len(tiny_model.neutral))), tiny_model)
    fit = Fit(np.zeros(100, np.float32), np.zeros(53, np.float32), np.zeros(3, np.float32), CANONICAL_SCALE,
              np.zeros(2, np.float32))
    depth, mask = prior.render(fit, 64)
    assert mask.mean() > 0.2 and depth[mask].min() > 0
    flat = prior.mesh(fit)
    assert flat.is_watertight and flat.is_winding_consistent
    from sketchface.prior import DETAIL_LIMIT_CM

    for units in (0.002, 0.02):                       # 0.6 mm and 6 mm of detail
        raised = prior.mesh(fit, detail=np.full((64, 64), units))
        dz = raised.vertices[:, 2] - flat.vertices[:, 2]
        cm = units * (DEPTH_NEAR_CM - DEPTH_FAR_CM)
        # front vertices move toward the viewer by the detail, softly limited to DETAIL_LIMIT_CM; none moves away
        want = DETAIL_LIMIT_CM * np.tanh(cm / DETAIL_LIMIT_CM)
        assert dz.max() == pytest.approx(want, rel=1e-3) and dz.min() > -1e-6
        assert (dz.max() == pytest.approx(cm, rel=0.02)) == (cm < 0.1)   # small detail passes nearly unchanged


def test_pipeline_on_the_face_model(tiny_model, tiny_bundle, tmp_path, monkeypatch):
    import shutil

    from sketchface.pipeline import PipelineError, SketchFace

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    _tiny_facefit(bundle / "facefit", len(tiny_model.neutral))
    spec = json.loads((bundle / "pipeline.json").read_text())
    (bundle / "pipeline.json").write_text(json.dumps({**spec, "facefit": "facefit"}))
    img = np.full((96, 80), 255, np.uint8)
    img[30:70, 20:60] = 0
    sf = SketchFace.from_pretrained(bundle, coarse="face_model", backend="torch")
    r = sf(img, kind="lines")
    assert r.coarse_source == "face_model" and r.framing_method.endswith("+facefit")
    depth, mask = sf.prior.render(r.fit, sf.size)
    np.testing.assert_array_equal(r.mask, mask)
    np.testing.assert_allclose(r.coarse, depth, atol=1e-6)
    assert r.has_head and len(r.mesh().vertices) > len(tiny_model.neutral)
    assert len(r.mesh(topology="heightfield").vertices) <= sf.size ** 2
    paths = r.save(tmp_path / "out")
    assert json.loads(paths["json"].read_text())["face_fit"]["scale"] > 0
    # FineNet carves only inside the face model's narrow face (here the whole tiny face), fading at its rim
    assert r.detail_mask is not None and np.all(r.displacement[r.detail_mask == 0] == 0)
    assert r.detail_mask.max() == 1 and r.detail_mask[~r.mask].max() == 0
    # on the face model FineNet's detail is softly limited to a few millimetres
    from sketchface.prior import DETAIL_LIMIT_CM
    limit = DETAIL_LIMIT_CM * r.fit.camera().scale / (DEPTH_NEAR_CM - DEPTH_FAR_CM)
    for lam in (0.0, 1.0):
        assert np.abs(sf.refine(r, lam).displacement).max() < limit
    # a fit that did not settle on a face says so; a settled one does not
    from dataclasses import replace
    settled = replace(r, fit=replace(r.fit, scale=CANONICAL_SCALE, shift=np.zeros(2, np.float32)))
    assert not any("settle" in n for n in settled.notes())
    lost = replace(r, fit=replace(r.fit, scale=CANONICAL_SCALE * 1.3, shift=np.zeros(2, np.float32)))
    assert any("could not settle" in n for n in lost.notes())
    # the λ slider still re-runs FineNet on the face model's depth
    assert not np.array_equal(sf.refine(r, 0.0).displacement, sf.refine(r, 1.0).displacement)
    # the network CoarseNets are framed by FaceFit too, or not at all when asked
    assert SketchFace.from_pretrained(bundle, backend="torch")(img, kind="lines").framing_method.endswith("+facefit")
    plain = SketchFace.from_pretrained(bundle, backend="torch", facefit=False)(img, kind="lines")
    assert "facefit" not in plain.framing_method and not plain.has_head
    # a bundle whose pipeline.json names the face model makes it the default
    (bundle / "pipeline.json").write_text(json.dumps({**spec, "facefit": "facefit", "coarse": "face_model"}))
    assert SketchFace.from_pretrained(bundle, backend="torch").coarse_source == "face_model"
    # without the face model: the default pipeline falls back to the CoarseNet and frames as before; asked for by
    # name, the face model's absence is one sentence that says what to do
    monkeypatch.setenv("SKETCHFACE_FACE_MODEL", str(tmp_path / "nowhere"))
    fallback = SketchFace.from_pretrained(bundle, backend="torch")
    assert not fallback.prior.has_model and fallback.coarse_source == "network"
    r = fallback(img, kind="lines")          # FaceFit still frames; the mesh is the heightfield
    assert r.coarse_source == "dp_coarse" and r.framing_method.endswith("+facefit") and not r.has_head
    with pytest.raises(PipelineError, match="fetch-face-model"):
        SketchFace.from_pretrained(bundle, coarse="face_model")


def test_int8_lines_change_only_the_lines_of_the_fine_face(tiny_model, tiny_bundle, tmp_path, monkeypatch):
    """lines_int8: the line extractor is calibrated on the face model's own depth maps; every depth, mask and mesh
    stays as with fp32 graphs, only l' (drawn alike) comes from the int8 graph."""
    pytest.importorskip("onnxruntime")
    import shutil

    from sketchface import onnx_backend
    from sketchface.pipeline import SketchFace

    monkeypatch.setattr(onnx_backend, "int8_suits_cpu", lambda: True)      # the int8 path, whatever this CPU
    monkeypatch.setenv("SKETCHFACE_ONNX_CACHE", str(tmp_path / "onnx"))
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    _tiny_facefit(bundle / "facefit", len(tiny_model.neutral))
    spec = json.loads((bundle / "pipeline.json").read_text())
    (bundle / "pipeline.json").write_text(json.dumps({**spec, "facefit": "facefit"}))
    plain = SketchFace.from_pretrained(bundle, coarse="face_model", backend="onnx")
    quick = SketchFace.from_pretrained(bundle, coarse="face_model", backend="onnx", lines_int8=True)
    depths = quick.prior.sample_depths(4, quick.size)
    assert len(depths) == 4 and all(d.shape == (quick.size, quick.size) for d in depths)
    assert all(0 < d.max() <= 1 and (d > 0).mean() > 0.1 for d in depths)          # a face, in the depth range
    assert not np.array_equal(depths[0], depths[1])                                  # in several poses
    img = np.full((96, 80), 255, np.uint8)
    img[30:70, 20:60] = 0
    a, b = plain(img, kind="lines"), quick(img, kind="lines")
    assert quick._onnx.line_extractor.graph.path.name.startswith("line_extractor_int8_")
    assert plain._onnx.line_extractor.graph.path.name == "line_extractor.onnx"
    for name in ("coarse", "fine", "displacement", "mask"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.mesh().vertices, b.mesh().vertices)
    assert np.abs(a.lines_pred - b.lines_pred).mean() < 0.05
    assert quick.refine(b, 0.2).lines_pred.shape == b.lines_pred.shape


@pytest.mark.skipif(not (SHARED / "realsketch" / "dev" / "landmarks.json").is_file()
                    or not (SHARED / "ict_face_light" / "ict_face_light.npz").is_file(),
                    reason="the real sketches and the face model live in ../shared (not on a fresh machine)")
def test_evaluate_real_on_a_few_dev_sketches(tmp_path, monkeypatch):
    from sketchface.evaluate_real import MODELS, evaluate_real, write_results

    monkeypatch.setenv("SKETCHFACE_FACE_MODEL", str(SHARED / "ict_face_light"))
    ckpt = Path(__file__).resolve().parents[1] / "checkpoints"
    if not (ckpt / "facefit" / "config.json").is_file():
        pytest.skip("no shipped FaceFit checkpoint")
    rows = [m for m in MODELS if m[1] == "face_model"][:1] + [MODELS[0]]
    rows += [m for m in MODELS if m[1] == "dp_face_model"][:1] if (ckpt / "prior_fusion").is_dir() else []
    rep = evaluate_real(ckpt, SHARED / "realsketch", rows, limit=1, progress=False, picture=tmp_path / "p.jpg")
    assert set(rep["template"]) == {"cufs", "fs2k", "lines"}
    for name, *_ in rows:
        for g, s in rep["models"][name].items():
            assert -1 <= s["r"] <= 1 and 0 < s["coverage"] <= 1, (name, g, s)
    # the template is the metric's own ceiling check: placed by the true eyes and mouth it correlates well
    assert rep["template"]["cufs"]["r"] > 0.8
    assert (tmp_path / "p.jpg").stat().st_size > 10_000
    # the synthetic side: DP-CoarseNet and the face model on a few test drawings of the real face model's world
    from sketchface.data.make_data import make_data
    from sketchface.evaluate_real import synthetic_err
    make_data(tmp_path / "syn", 16, size=128, workers=1, progress=False)
    rep["synthetic"] = syn = synthetic_err(ckpt, tmp_path / "syn")
    for style in ("lines", "pencil"):
        # a fitted face model is far closer to the true depth than no face at all (Err of a zero map ~ 10^4)
        assert 0 < syn[style]["face model only Err"] < 3000 and 0 < syn[style]["DP-CoarseNet Err"] < 3000
        joined = ("DP-CoarseNet on the face model",) if (ckpt / "prior_fusion").is_dir() else ()
        for name in joined:     # the two joined: nearer the truth than the face model alone, whose outline misses
            assert 0 < syn[style][f"{name} Err"] < syn[style]["face model only Err"]
        for name in ("face model only", "DP-CoarseNet", *joined):   # the split adds up to Err (each part rounded)
            parts = syn[style][f"{name} Err inside both faces"] + syn[style][f"{name} Err outline"]
            assert abs(parts - syn[style][f"{name} Err"]) <= 0.11 and syn[style][f"{name} Err outline"] >= 0
    write_results(rep, tmp_path / "R.md")
    text = (tmp_path / "R.md").read_text()
    assert "<!-- real-sketches:start -->" in text and "| lines |" in text


def test_evaluate_real_needs_a_folder(tmp_path, monkeypatch):
    from sketchface.errors import UserError
    from sketchface.evaluate_real import find_real

    monkeypatch.delenv("SKETCHFACE_REALSKETCH", raising=False)
    with pytest.raises(UserError, match="--real"):
        find_real(None)
    with pytest.raises(UserError, match="landmarks.json"):
        find_real(tmp_path)
    assert os.path.isdir(tmp_path)


def test_onnx_runtime_reads_like_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    from sketchface.onnx_backend import OnnxFaceFit

    torch.manual_seed(0)
    net = FaceFit(FaceFitConfig(image_size=64, widths=(8, 8, 8, 8, 8), hidden=16, n_identity=3, n_expression=2))
    torch.nn.init.normal_(net.head[-1].weight, std=0.1)
    net.eval()
    x = torch.rand(1, 3, 64, 64)
    stand_in = OnnxFaceFit(net, cache=tmp_path)
    with torch.inference_mode():
        a, b = net.fit(x), stand_in.fit(x)
    assert stand_in.graph.ready() and not stand_in.graph.failed
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-4, rtol=1e-4)


def test_the_real_sketch_section_survives_evaluate(tmp_path):
    from sketchface.evaluate_real import write_results
    from sketchface.results import keep_blocks, write_block

    rep = {"n": 3, "template": {"cufs": {"n": 3, "r": 0.9}}, "seconds": {"m": 1.0},
           "models": {"m": {"cufs": {"n": 3, "r": 0.95, "beats_template": 2 / 3, "coverage": 1.0}}}}
    path = tmp_path / "RESULTS.md"
    path.write_text("# synthetic tables\n")
    write_results(rep, path)
    write_results(rep, path)                      # replaced in place, not appended twice
    text = path.read_text()
    assert text.count("## Real sketches") == 1 and "| m | 0.950 | 67% |" in text
    write_block(path, "data-ablation", "| a | b |")          # another command's block
    kept = keep_blocks(path.read_text(), "# new synthetic tables\n")
    assert kept.startswith("# new synthetic tables") and "| m | 0.950 | 67% |" in kept and "| a | b |" in kept
    assert kept.index("## Real sketches") < kept.index("| a | b |")   # in their order


def test_evaluate_real_writes_its_json_beside_the_results(tmp_path, monkeypatch):
    """--results also refreshes RESULTS_REAL.json beside the markdown, so the two cannot drift apart."""
    import sketchface.evaluate_real as er

    rep = {"n": 3, "template": {"cufs": {"n": 3, "r": 0.9}}, "seconds": {"m": 1.0},
           "models": {"m": {"cufs": {"n": 3, "r": 0.95, "beats_template": 2 / 3, "coverage": 1.0}}}}
    monkeypatch.setattr(er, "evaluate_real", lambda *a, **k: json.loads(json.dumps(rep)))
    ns = argparse.Namespace(models=None, checkpoints="x", real="y", limit=0, face_model=None, no_progress=True,
                            picture=None, before=None, synthetic=None, json=None, results=str(tmp_path / "R.md"))
    assert er._run(ns) == 0
    assert json.loads((tmp_path / er.REPORT_JSON).read_text()) == rep
    assert "| m | 0.950 | 67% |" in (tmp_path / "R.md").read_text()
    ns.results, ns.json = None, str(tmp_path / "only.json")       # --json alone: there and nowhere else
    (tmp_path / er.REPORT_JSON).unlink()
    assert er._run(ns) == 0 and (tmp_path / "only.json").is_file() and not (tmp_path / er.REPORT_JSON).exists()


def test_dress_paints_hair_glasses_and_collar_only_as_ink():
    from conftest import _template68

    from sketchface.synth.dress import collar, dress, glasses, hair

    size = 128
    lm = _template68() * [1, -1] * 4 + [size / 2, size / 2 + 4]      # cm, y up -> pixels, y down
    img = np.ones((size, size), np.float32)
    rng = np.random.default_rng(0)
    brow = int(lm[17:27, 1].min())
    h = hair(img, lm, rng)
    assert (h <= img).all() and (1 - h[:brow]).mean() > 0.05 > (1 - h[brow + 8:]).mean()
    g = glasses(img, lm, np.random.default_rng(1))
    eye_rows = slice(int(lm[36:48, 1].min()) - 12, int(lm[36:48, 1].max()) + 12)
    assert (g <= img).all() and (g[eye_rows] < 0.5).any() and (g[: eye_rows.start] == 1).all()
    c = collar(img, lm, np.random.default_rng(2))
    assert (c[int(lm[8, 1]):] < 0.5).any() and (c[: int(lm[8, 1])] == 1).all()
    a, b = dress(img, lm, np.random.default_rng(3)), dress(img, lm, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.shape == img.shape and a.dtype == np.float32


def test_features_only_keeps_the_eyes_and_drops_the_outline():
    import torch
    from conftest import _template68

    from sketchface.synth.dress import features_only, features_only_batch

    size = 128
    lm = _template68() * [1, -1] * 4 + [size / 2, size / 2 + 4]
    img = np.full((size, size), 0.2, np.float32)                          # ink everywhere
    eyes = [(int(round(p[1])), int(round(p[0]))) for p in lm[36:48]]
    chin = (int(round(lm[8, 1])), int(round(lm[8, 0])))
    kept = [features_only(img, lm, np.random.default_rng(s)) for s in range(40)]
    assert all(all(k[y, x] == 0.2 for y, x in eyes) for k in kept)       # the eyes always stay
    assert all(k[chin] == 1.0 and k[0, 0] == 1.0 for k in kept)           # no chin, no corner: paper
    mouth = [(int(round(lm[57, 1])), int(round(lm[57, 0])))]
    shares = np.array([k[mouth[0]] == 0.2 for k in kept])
    assert 0.5 < shares.mean() < 1.0                                       # the mouth by chance (0.8)
    batch = torch.from_numpy(np.stack([img, img]))
    out = features_only_batch(batch, np.stack([lm, lm]), np.random.default_rng(0), np.array([True, False]))
    assert (out[1] == batch[1]).all() and (out[0] == 1).float().mean() > 0.5 and (batch == 0.2).all()


def test_detail_mask_is_the_narrow_face_with_a_soft_rim(tiny_model, tmp_path):
    import dataclasses

    from sketchface.nets import load_network
    from sketchface.prior import FacePrior, Fit

    narrow = dataclasses.replace(tiny_model, narrow_face_vertex_count=len(tiny_model.neutral) // 2)
    prior = FacePrior(load_network(_tiny_facefit(tmp_path / "ff", len(tiny_model.neutral))), narrow)
    fit = Fit(np.zeros(100, np.float32), np.zeros(53, np.float32), np.zeros(3, np.float32), CANONICAL_SCALE,
              np.zeros(2, np.float32))
    face, inner = prior.render(fit, 64)[1], prior.render(fit, 64, inner=True)[1]
    assert inner.sum() < 0.7 * face.sum() and not (inner & ~face).any()
    m = prior.detail_mask(fit, 64, fade=3)
    assert m[~inner].max() == 0 and m.max() == 1 and ((m > 0) & (m < 1)).any()


def test_one_raster_serves_the_face_and_the_narrow_face(tiny_model, tmp_path):
    """The narrow face's mask is read from the face's one raster per fit: the same pixels as rasterising the
    narrow face alone (where nothing stands in front of it), and a new fit is rasterised anew."""
    import dataclasses

    from sketchface.nets import load_network
    from sketchface.prior import FacePrior, Fit
    from sketchface.render import fill_holes, rasterize

    narrow = dataclasses.replace(tiny_model, narrow_face_vertex_count=len(tiny_model.neutral) // 2)
    prior = FacePrior(load_network(_tiny_facefit(tmp_path / "ff", len(tiny_model.neutral))), narrow)
    front = Fit(np.zeros(100, np.float32), np.zeros(53, np.float32), np.zeros(3, np.float32), CANONICAL_SCALE,
                np.zeros(2, np.float32))
    turned = dataclasses.replace(front, angles=np.array([25.0, 5.0, 0.0], np.float32))
    masks = {}
    for name, fit in (("front", front), ("turned", turned), ("front again", front)):
        inner = prior.render(fit, 64, inner=True)[1]
        xy, d = fit.camera().project(prior.vertices(fit), 64)
        alone = np.isfinite(rasterize(xy, d, narrow.inner_face_triangles, (64, 64)).zbuf)
        alone = fill_holes(alone.astype(np.float32), alone)[1]
        assert not (inner & ~alone).any() and (inner == alone).mean() > 0.98, name
        masks[name] = inner
    assert (masks["front"] != masks["turned"]).any() and (masks["front"] == masks["front again"]).all()


def test_landmarks_land_where_the_crop_shows_them(tiny_model, tmp_path):
    """FacePrior.landmarks maps the fitted face's 68 points from the framed crop back to the input: a dot painted
    in the input at a point's answer is where the framed crop (crop_to_frame) shows that point."""
    from sketchface.framing import crop_to_frame
    from sketchface.nets import load_network
    from sketchface.prior import FacePrior, Fit

    prior = FacePrior(load_network(_tiny_facefit(tmp_path / "ff", len(tiny_model.neutral))), tiny_model)
    fit = Fit(np.zeros(100, np.float32), np.zeros(53, np.float32), np.array([10.0, -5.0, 3.0], np.float32),
              CANONICAL_SCALE * 1.1, np.array([0.05, -0.04], np.float32))
    framed_xy, _ = fit.camera().project(prior.vertices(fit)[tiny_model.landmarks68], prior.size)
    box = (37, -12, 37 + 3 * prior.size, -12 + 3 * prior.size)        # 3 input pixels per framed pixel
    pts = prior.landmarks(fit, box)
    assert pts.shape == (68, 2)
    for k in (0, 30, 48):
        img = np.zeros((260, 300, 3), np.float32)
        yy, xx = np.mgrid[0:260, 0:300]
        img[..., 0] = np.exp(-((xx - pts[k, 0]) ** 2 + (yy - pts[k, 1]) ** 2) / (2 * 4.0 ** 2))
        framed = crop_to_frame(img, box, prior.size, fill=(0.0, 0.0, 0.0))[..., 0]
        w = framed / framed.sum()
        fy, fx = np.mgrid[0:prior.size, 0:prior.size]
        np.testing.assert_allclose([(w * fx).sum(), (w * fy).sum()], framed_xy[k], atol=0.15)


@pytest.mark.skipif(not (Path(__file__).resolve().parents[1] / "checkpoints" / "facefit" / "config.json").is_file(),
                    reason="no shipped FaceFit")
def test_shipped_facefit_places_the_68_points_of_new_faces():
    """The learned feature points of the sparse pipeline: the shipped FaceFit's 68 points on renders of the sparse
    database's test identities (a face world FaceFit never saw), far closer than the ASM (NME ~0.06)."""
    from sketchface.facemodel import FaceModelNotFound, load_face_model
    from sketchface.nets import load_network
    from sketchface.prior import FacePrior
    from sketchface.sparse.asm import nme
    from sketchface.sparse.database import DatabaseConfig, build_database
    from sketchface.sparse.train import render_views

    try:
        fm = load_face_model()
    except FaceModelNotFound:
        pytest.skip("the face model is not available (python -m sketchface fetch-face-model)")
    prior = FacePrior(load_network(Path(__file__).resolve().parents[1] / "checkpoints" / "facefit"), fm)
    db = build_database(fm, DatabaseConfig())
    for kind in ("photo", "sketch"):
        v = render_views(fm, db, db.test_ids[:12], 1, 77, kind=kind, cache=None)
        pred = [prior.feature_points(im.astype(np.float32) / 255, kind) for im in v["images"]]
        assert nme(np.array(pred), v["landmarks"]).mean() < 0.035, kind


def test_head_mesh_has_no_spikes_where_the_detail_jumps(tmp_path):
    """Strokes carved at the full limit next to raised ones (the detail flips sign every few pixels) and the eye
    and mouth caps leave no triangle of the ICT head that reads as a spike (sketchface.mesh.spiky_triangles),
    while the detail still moves the front."""
    from sketchface.facemodel import FaceModelNotFound, load_face_model
    from sketchface.mesh import spiky_triangles
    from sketchface.nets import load_network
    from sketchface.prior import FacePrior, Fit

    try:
        fm = load_face_model()
    except FaceModelNotFound:
        pytest.skip("the face model is not available (python -m sketchface fetch-face-model)")
    prior = FacePrior(load_network(_tiny_facefit(tmp_path / "ff", len(fm.neutral))), fm)
    fit = Fit(np.zeros(fm.n_identity, np.float32), np.zeros(fm.n_expression, np.float32),
              np.array([20.0, 5.0, 0.0], np.float32), CANONICAL_SCALE, np.zeros(2, np.float32))
    for period in (1, 2, 3, 5):
        stripes = np.where((np.arange(128) // period) % 2 == 0, 0.05, -0.05)[None, :].repeat(128, 0)
        flat, carved = prior.mesh(fit), prior.mesh(fit, detail=stripes.astype(np.float32))
        assert np.abs(carved.vertices[:, 2] - flat.vertices[:, 2]).max() > 0.1     # the detail is there (cm)
        assert not spiky_triangles(carved).any() and not spiky_triangles(flat).any(), period


def _tiny_real_pairs(tmp_path, tiny_model, tiny_bundle):
    """A real-pairs folder (one drawn sketch and one painted photo per group, cufs and fs2k) and a copy of the tiny
    bundle with a tiny FaceFit in it."""
    import shutil

    from PIL import Image

    from sketchface.webapp.strokes import draw_strokes, face_strokes

    real = tmp_path / "real"
    for g in ("cufs", "fs2k"):
        (real / g / "sketches").mkdir(parents=True)
        (real / g / "photos").mkdir(parents=True)
        Image.fromarray(draw_strokes(face_strokes(), 160, 2)).save(real / g / "sketches" / "a_01.png")
        photo = np.full((160, 160, 3), (70, 110, 160), np.uint8)
        yy, xx = np.mgrid[0:160, 0:160]
        photo[((yy - 80) / 50.0) ** 2 + ((xx - 80) / 38.0) ** 2 < 1] = (220, 170, 140)
        Image.fromarray(photo).save(real / g / "photos" / "a_01.png")
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    _tiny_facefit(bundle / "facefit", len(tiny_model.neutral))
    spec = json.loads((bundle / "pipeline.json").read_text())
    (bundle / "pipeline.json").write_text(json.dumps({**spec, "facefit": "facefit"}))
    return real, bundle


def test_real_fits_take_the_photos_face_and_the_sketchs_placement(tiny_model, tiny_model_path, tiny_bundle,
                                                                 tiny_fit_data, tmp_path):
    """prepare-real-fits: the target keeps the photo's pose and shape and the sketch's placement; train-facefit
    mixes the real sketches into its batches, seen through crops relative to their crop box."""
    from sketchface.data.realfits import load_real_fits, prepare_real_fits, teacher_target
    from sketchface.prior import Fit
    from sketchface.train.facefit import real_batch, train_facefit

    a = Fit(np.ones(3, np.float32), np.ones(2, np.float32), np.array([1, 2, 3], np.float32), 0.07,
            np.array([0.1, -0.1], np.float32))
    b = Fit(np.zeros(3, np.float32), np.zeros(2, np.float32), np.array([4, 5, 6], np.float32), 0.09,
            np.array([0.3, 0.3], np.float32))
    t = teacher_target(a, b)
    assert t.scale == a.scale and np.array_equal(t.shift, a.shift) and np.array_equal(t.angles, b.angles)
    assert np.array_equal(t.identity, b.identity)

    real, bundle = _tiny_real_pairs(tmp_path, tiny_model, tiny_bundle)
    meta = prepare_real_fits(real, tmp_path / "fits", bundle, face_model=str(tiny_model_path), progress=False)
    assert meta["pairs"] == 2 and meta["per_group"] == {"cufs": 1, "fs2k": 1} and "licence" in meta
    fits = load_real_fits(tmp_path / "fits")
    assert fits["sketch"].shape == (2, 128, 128) and fits["sketch"].dtype == np.uint8
    assert fits["identity"].shape == (2, tiny_model.n_identity) and fits["camera"].shape == (2, 6)
    # the stored camera is the fit again in the crop box itself
    back = true_fit(*(torch.from_numpy(fits[k]) for k in ("identity", "expression", "camera")), torch.zeros(2, 3))
    assert torch.allclose(back["scale"], torch.from_numpy(fits["camera"][:, 3]) * CANONICAL_SCALE)
    # a crop of the crop box itself shows the central half of the stored (twice as wide) picture
    x = real_batch(fits, torch.tensor([0]), torch.zeros(1, 3), torch.Generator().manual_seed(0), pen=0.0, size=64)
    centre = torch.from_numpy(fits["sketch"][0, 32:96, 32:96]).float() / 255
    assert (x[0, 0] - centre).abs().mean() < 0.02
    # real_sparse: the target's 68 points in the stored picture lie in its crop box (the central half); a sketch
    # shown as the lines of its features alone keeps ink only around them
    from sketchface.data.realfits import stored_landmarks

    lm = stored_landmarks(fits, tiny_model)
    assert lm.shape == (2, 68, 2) and ((lm > 32 - 1) & (lm < 96)).all()
    squares = (np.indices((128, 128)) // 4).sum(0) % 2 * 200 + 30          # ink everywhere: a checkerboard
    textured = {**fits, "sketch": np.stack([squares] * 2).astype(np.uint8), "landmarks": lm}
    g = torch.Generator().manual_seed(0)
    full = real_batch(textured, torch.tensor([0]), torch.zeros(1, 3), g, pen=0.0, size=64)
    few = real_batch(textured, torch.tensor([0]), torch.zeros(1, 3), g, pen=0.0, size=64, sparse=np.array([True]),
                     rng=np.random.default_rng(0))
    crop_lm = ((lm[0] + 0.5) / 128 - 0.5) * 2 * 64 + 32 - 0.5               # the points in the 64 px crop
    eye = np.linalg.norm(crop_lm[36:42].mean(0) - crop_lm[42:48].mean(0))
    yy, xx = np.mgrid[:64, :64]
    far = np.min(np.hypot(xx[..., None] - crop_lm[:, 0], yy[..., None] - crop_lm[:, 1]), -1) > 0.6 * eye + 2
    assert bool((few[0, 0][torch.from_numpy(far)] > 0.99).all()) and bool((few[0, 0] < 0.5).any())
    assert bool((full[0, 0][torch.from_numpy(far)] < 0.5).any())          # the full sketch has ink there
    cfg = FaceFitConfig(image_size=64, widths=(8, 8, 16, 16, 16), hidden=32, n_identity=10, face_vertices=41 * 41)
    res = train_facefit(tiny_fit_data, tmp_path / "ff", steps=3, batch=8, config=cfg, face_model=str(tiny_model_path),
                        progress=False, log_every=1, real_fits=tmp_path / "fits", real_sparse=0.5)
    assert res["real_share"] == 0.25 and res["real_sparse"] == 0.5 and all(np.isfinite(r["loss"]) for r in res["log"])


def test_real_fits_pose_from_facemesh_turn_the_sketchs_own_pitch(tiny_model, tiny_model_path, tiny_bundle,
                                                                  tmp_path):
    """prepare-real-fits --pose-from: the target is the sketch's own fit, its pitch turned (placement kept) to
    where the reference points' depth puts it; here the points are the same face turned by +6°."""
    from PIL import Image

    from sketchface.data.realfits import best_pitch, load_real_fits, prepare_real_fits
    from sketchface.errors import UserError
    from sketchface.framing import load_image
    from sketchface.pipeline import SketchFace
    from sketchface.prior import turned

    real, bundle = _tiny_real_pairs(tmp_path, tiny_model, tiny_bundle)
    prior = SketchFace.from_pretrained(bundle, coarse="face_model", face_model=str(tiny_model_path)).prior
    points, fits = {}, {}
    for g in ("cufs", "fs2k"):
        path = real / g / "sketches" / "a_01.png"
        box, fit = prior.find(load_image(str(path)), "sketch")
        target = turned(fit, prior.vertices(fit)[tiny_model.landmarks68], d_pitch=6.0, size=prior.size)
        depth, mask = prior.render(target, prior.size)
        yy, xx = np.nonzero(mask > 0.5)
        pick = np.random.default_rng(0).choice(len(yy), 468, replace=len(yy) < 468)
        per_px = (box[2] - box[0]) / prior.size
        pts = np.stack([(xx[pick] + 0.5) * per_px + box[0] - 0.5, (yy[pick] + 0.5) * per_px + box[1] - 0.5,
                        -depth[yy[pick], xx[pick]]], 1)
        w, h = Image.open(path).size
        turn, rs = best_pitch(prior, fit, box, pts, (h, w))
        assert abs(turn - 6.0) < 1.5 and np.argmax(rs) in range(16, 21)
        points[f"{g}/sketches/a_01.png"] = {"photo": pts.tolist(), "sketch": pts.tolist(), "size": [w, h]}
        fits[g] = fit
    (tmp_path / "points.json").write_text(json.dumps(points))
    meta = prepare_real_fits(real, tmp_path / "fits", bundle, face_model=str(tiny_model_path), progress=False,
                             pose_from=tmp_path / "points.json")
    assert meta["pairs"] == 2 and set(meta["pitch_turn"]) == {"cufs", "fs2k"} and "pitch" in meta["target"]
    stored = load_real_fits(tmp_path / "fits")
    for i, g in enumerate(stored["group"]):
        assert abs(stored["camera"][i, 1] - (fits[str(g)].angles[1] + 6.0)) < 1.5     # the pitch turned
        np.testing.assert_allclose(stored["identity"][i], fits[str(g)].identity)      # the sketch's own shape
    # a pair without points is skipped and says why
    (tmp_path / "some.json").write_text(json.dumps({"cufs/sketches/a_01.png": points["cufs/sketches/a_01.png"]}))
    meta = prepare_real_fits(real, tmp_path / "fits2", bundle, face_model=str(tiny_model_path), progress=False,
                             pose_from=tmp_path / "some.json")
    assert meta["pairs"] == 1 and any("no FaceMesh points" in s for s in meta["skipped"])
    with pytest.raises(UserError, match="facemesh_points.py"):
        prepare_real_fits(real, tmp_path / "fits3", bundle, face_model=str(tiny_model_path), progress=False,
                          pose_from=tmp_path / "missing.json")
    with pytest.raises(UserError, match="--pose-from"):               # the lips are read from FaceMesh's points
        prepare_real_fits(real, tmp_path / "fits4", bundle, face_model=str(tiny_model_path), progress=False,
                          open_mouths=True)
    with pytest.raises(UserError, match="jawOpen"):                   # the tiny model has no such expression
        prepare_real_fits(real, tmp_path / "fits5", bundle, face_model=str(tiny_model_path), progress=False,
                          pose_from=tmp_path / "some.json", open_mouths=True)


def test_real_sketches_can_be_shown_as_their_xdog_lines():
    """train-facefit --real-lines: a real sketch shown as its XDoG lines is a line drawing of it (mostly white,
    dark only along its strokes), and nothing changes at a share of 0."""
    from sketchface.train.facefit import real_batch

    img = np.full((2, 128, 128), 235, np.uint8)
    img[:, 40:88, 40:88] = 120                  # a shaded square: lines along its edges, none inside
    real = {"sketch": img}
    idx, crops = torch.tensor([0, 1]), torch.zeros(2, 3)
    plain = real_batch(real, idx, crops, torch.Generator().manual_seed(0), pen=0.0, size=64)
    again = real_batch(real, idx, crops, torch.Generator().manual_seed(0), pen=0.0, size=64, lines=0.0)
    assert torch.equal(plain, again)
    lines = real_batch(real, idx, crops, torch.Generator().manual_seed(0), pen=0.0, size=64, lines=1.0)
    inside = lines[:, 0, 26:38, 26:38]          # the square's middle (the crop shows the central half)
    assert (inside > 0.9).all() and (plain[:, 0, 26:38, 26:38] < 0.6).all()
    assert (lines[:, 0] < 0.5).any()             # its edges are drawn


def test_real_depths_frame_as_the_pipeline_and_join_coarse_batches(tiny_model, tiny_model_path, tiny_bundle,
                                                                    tmp_path, monkeypatch):
    """prepare-real-depths: each real train sketch framed as the pipeline frames it, with the depth of the face
    model fitted to its photo (aligned groups) or to itself; the coarse stage swaps such examples into its batches,
    mirrored with their depth, as often as real_share asks."""
    from sketchface.data.make_data import make_data
    from sketchface.data.realdepths import load_real_depths, prepare_real_depths, real_examples
    from sketchface.errors import UserError
    from sketchface.pipeline import SketchFace
    from sketchface.train.config import load_config
    from sketchface.train.loop import Trainer
    from sketchface.train.stages import get_stage

    real, bundle = _tiny_real_pairs(tmp_path, tiny_model, tiny_bundle)
    meta = prepare_real_depths(real, tmp_path / "depths", bundle, face_model=str(tiny_model_path), progress=False)
    assert meta["pairs"] == 2 and meta["teacher"] == {"photo": 1, "sketch": 1} and "licence" in meta
    z = load_real_depths(tmp_path / "depths")
    assert list(z["teacher"]) == ["photo", "sketch"] and list(z["group"]) == ["cufs", "fs2k"]
    sf = SketchFace.from_pretrained(bundle, coarse="face_model", face_model=str(tiny_model_path))
    size = sf.size
    assert z["sketch"].shape == (2, size, size) and z["photo"].shape == (2, size, size, 3)
    # the fs2k sketch's target is the pipeline's own face-model depth for that sketch, in the pipeline's framing
    r = sf(str(real / "fs2k" / "sketches" / "a_01.png"), kind="sketch", refine=False)
    assert np.abs(z["depth"][1].astype(np.float32) - r.coarse).max() < 2e-3
    assert np.abs(z["sketch"][1] / 255.0 - r.image).max() < 3e-3
    assert 0.05 < (z["depth"] > 0).mean() < 0.95
    # mirrored examples keep their depth under their drawing
    g = torch.Generator().manual_seed(3)
    s, p, d = real_examples(z, [1] * 16, g, size)
    drawn = torch.from_numpy(z["sketch"][1]).float() / 255
    flipped = [i for i in range(16) if not torch.equal(s[i, 0], drawn)]
    assert 0 < len(flipped) < 16
    same = torch.from_numpy(z["depth"][1].astype(np.float32))
    for i in range(16):
        want = same.flip(-1) if i in flipped else same
        assert torch.equal(d[i, 0], want) and p.shape[1] == 3

    data = tmp_path / "syn"
    make_data(data, n=8, size=32, variants=1, seed=1, workers=1, face_model=str(tiny_model_path), progress=False)
    tiny = ["net={image_size: 32, dim: 4, n_res: 1}", "log_every=1", "sample_every=2", "threads=1", "steps=2",
            "variant=dp"]

    def trainer(share):
        cfg = load_config(None, [f"data={data}", f"out={tmp_path / f'run{share}'}", *tiny,
                                 f"coarse.real_depths={tmp_path / 'depths'}", f"coarse.real_share={share}"],
                          stage="coarse")
        return Trainer(get_stage("coarse"), cfg, progress=False), cfg

    for share, expect in ((0.0, 0), (1.0, 4)):
        t, cfg = trainer(share)
        batch = t.local_batch(0)
        s = torch.ones(4, 1, 32, 32)
        d = torch.zeros(4, 1, 32, 32)
        s2, d2, p2, where = t.stage._with_real(s, d, torch.zeros(4, 3, 32, 32), cfg,
                                               torch.Generator().manual_seed(0))
        swapped = [i for i in range(4) if not torch.equal(d2[i], d[i])]
        assert len(swapped) == expect and s2.shape == s.shape and p2.shape == (4, 3, 32, 32) and where is None
    assert "3d_s" in t.fit() and batch is not None
    # real_balanced: a group of 1 pair is drawn as often as one of 9
    fake = {"sketch": np.zeros((10, 8, 8), np.uint8), "photo": np.zeros((10, 8, 8, 3), np.uint8),
            "depth": np.full((10, 8, 8), 0.75, np.float16), "group": np.array(["cufs"] + ["fs2k"] * 9)}
    fake["depth"][0] = 0.25
    for balanced, low, high in ((False, 0.03, 0.2), (True, 0.4, 0.6)):
        cfg = load_config(None, [f"coarse.real_depths={tmp_path / 'depths'}", "coarse.real_share=1",
                                 f"coarse.real_balanced={str(balanced).lower()}"], stage="coarse")
        t.stage._real = None                                     # loaded (and weighed) anew from the stand-in
        monkeypatch.setattr("sketchface.data.realdepths.load_real_depths", lambda folder: fake)
        _, d2, _, _ = t.stage._with_real(torch.ones(400, 1, 8, 8), torch.zeros(400, 1, 8, 8), None, cfg,
                                         torch.Generator().manual_seed(1))
        share = float((d2[:, 0, 0, 0] == 0.25).float().mean())
        assert low < share < high, (balanced, share)
    # real_inner: a real example's depth loss counts only its head shrunk by that many pixels (at 128 px);
    # the synthetic examples count everywhere
    head = np.zeros((10, 8, 8), np.float16)
    head[:, 1:7, 1:7] = 0.5                                      # a 6 x 6 head, 1 pixel from the border
    monkeypatch.setattr("sketchface.data.realdepths.load_real_depths", lambda folder: {**fake, "depth": head})
    cfg = load_config(None, [f"coarse.real_depths={tmp_path / 'depths'}", "coarse.real_share=0.5",
                             "coarse.real_inner=16"], stage="coarse")       # 16 px at 128 = 1 px at 8
    t.stage._real = None
    _, d2, _, where = t.stage._with_real(torch.ones(64, 1, 8, 8), torch.zeros(64, 1, 8, 8), None, cfg,
                                         torch.Generator().manual_seed(2))
    real = d2.flatten(1).amax(1) > 0
    assert 0 < int(real.sum()) < 64 and bool((where[~real] == 1).all())
    inner = torch.zeros(8, 8)
    inner[2:6, 2:6] = 1                                          # the 6 x 6 head less its 1-pixel rim
    assert all(torch.equal(where[i, 0], inner) for i in torch.nonzero(real).flatten())
    # real_lines: a real sketch (here a shaded square) shown as its XDoG lines: white inside, drawn along its edges
    square = np.full((10, 32, 32), 235, np.uint8)
    square[:, 8:24, 8:24] = 120
    monkeypatch.setattr("sketchface.data.realdepths.load_real_depths",
                        lambda folder: {**fake, "sketch": square, "photo": np.zeros((10, 32, 32, 3), np.uint8),
                                        "depth": np.full((10, 32, 32), 0.5, np.float16)})
    for lines in (0.0, 1.0):
        cfg = load_config(None, [f"coarse.real_depths={tmp_path / 'depths'}", "coarse.real_share=1",
                                 f"coarse.real_lines={lines}"], stage="coarse")
        t.stage._real = None
        s2, _, _, _ = t.stage._with_real(torch.ones(4, 1, 32, 32), torch.zeros(4, 1, 32, 32), None, cfg,
                                         torch.Generator().manual_seed(4))
        middle = s2[:, 0, 12:20, 12:20]
        assert bool((middle > 0.9).all()) if lines else bool((middle < 0.6).all())
        assert bool((s2 < 0.5).any())
    with pytest.raises(UserError, match="real_lines"):
        load_config(None, ["coarse.real_lines=2"], stage="coarse")
    with pytest.raises(UserError, match="real_share"):
        load_config(None, ["coarse.real_share=1.5"], stage="coarse")
    with pytest.raises(UserError, match="real_inner"):
        load_config(None, ["coarse.real_inner=-1"], stage="coarse")


def test_facefit_trains_as_a_stage_and_resumes_exactly(tiny_fit_data, tiny_model_path, tmp_path, monkeypatch):
    """FaceFit runs in the shared Trainer: a run interrupted after its step-2 checkpoint and resumed ends with the
    same weights as an uninterrupted one, and the run folder has the metrics and the sample grid."""
    import csv

    from safetensors.torch import load_file

    from sketchface.train import facefit as ff

    cfg = FaceFitConfig(image_size=64, widths=(8, 8, 16, 16, 16), hidden=32, n_identity=10, face_vertices=41 * 41)
    kw = dict(steps=4, batch=8, config=cfg, face_model=str(tiny_model_path), progress=False, log_every=1,
              save_every=2)
    ff.train_facefit(tiny_fit_data, tmp_path / "a", **kw)
    real_loss, calls = ff.fit_loss, []

    def interrupted(*a):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_loss(*a)
    monkeypatch.setattr(ff, "fit_loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ff.train_facefit(tiny_fit_data, tmp_path / "b", **kw)
    monkeypatch.setattr(ff, "fit_loss", real_loss)
    ff.train_facefit(tiny_fit_data, tmp_path / "b", resume=True, **kw)
    wa, wb = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    run = tmp_path / "a-run"
    assert (run / "samples" / "step_000004.png").is_file() and (run / "config.yaml").read_text().count("facefit:")
    assert [r["step"] for r in csv.DictReader(open(run / "metrics.csv"))] == ["1", "2", "3", "4"]


def test_real_fits_split_holds_out_pairs_of_every_group(tmp_path):
    import sys
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts" / "experiments"))
    import real_fits_split

    groups = np.array(["cufs"] * 5 + ["fs2k"] * 4)
    names = np.array([f"{i}.png" for i in range(9)])
    src = tmp_path / "fits"
    src.mkdir()
    np.savez(src / "fits.npz", group=groups, name=names, camera=np.arange(9 * 6, dtype=np.float32).reshape(9, 6))
    (src / "meta.json").write_text("{}")
    points = {f"{g}/sketches/{n}": {"photo": [[float(i), 0.0, 0.0]]} for i, (g, n) in enumerate(zip(groups, names))}
    del points["fs2k/sketches/8.png"]                   # FaceMesh found no face there
    (tmp_path / "points.json").write_text(json.dumps(points))
    out = tmp_path / "half"
    assert real_fits_split.main(["--fits", str(src), "--points", str(tmp_path / "points.json"), "--out", str(out),
                                 "--every", "2"]) == 0
    kept = np.load(out / "fits.npz")
    assert list(kept["name"]) == ["0.png", "2.png", "4.png", "5.png", "7.png"]      # every second of each group
    np.testing.assert_array_equal(kept["camera"], np.load(src / "fits.npz")["camera"][[0, 2, 4, 5, 7]])
    seen = json.loads((out / "points_seen.json").read_text())
    held = json.loads((out / "points_held.json").read_text())
    assert sorted(held) == ["cufs/sketches/1.png", "cufs/sketches/3.png", "fs2k/sketches/6.png"]
    assert len(seen) == 5 and not set(seen) & set(held)
    assert "held_out" in json.loads((out / "meta.json").read_text())
