"""The Outline: the fitted jaw moved onto a drawing's outline, and the face bent after it (sketchface.nets.outline,
sketchface.prior.bend, sketchface.train.outline)."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from sketchface.nets.outline import Outline, OutlineConfig, eye_distance, jaw_normals, profiles


def _points(size=256, px_per_cm=9.0):
    """The 68 template points in the pixels of a ``size`` picture (face centred, y down)."""
    from conftest import _template68

    t = _template68().astype(np.float64)
    return np.stack([size / 2 + t[:, 0] * px_per_cm, size / 2 + 10 - t[:, 1] * px_per_cm], 1)


def _drawing(points, offset, size=256, seed=0):
    """White paper with the jaw drawn ``offset`` (17,) eye distances outward of ``points``' jaw, and a little
    noise."""
    import cv2

    rng = np.random.default_rng(seed)
    jaw = points[:17] + (offset * eye_distance(points))[:, None] * jaw_normals(points)
    img = np.full((size, size), 255, np.uint8)
    cv2.polylines(img, [np.round(jaw).astype(np.int32)], False, 40, 2, cv2.LINE_AA)
    return np.clip(img / 255.0 + rng.normal(0, 0.03, img.shape), 0, 1).astype(np.float32)


def test_the_ridge_map_learns_where_a_drawn_outline_runs():
    from sketchface.train.outline import cross_validate, fit_ridge, predict

    cfg = OutlineConfig()
    pts = _points()
    normals = jaw_normals(pts)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1)
    assert ((pts[:17] - pts[27:36].mean(0)) * normals).sum(1).min() > 0       # outward, away from the nose
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-0.15, 0.15, (90, 1)) + rng.normal(0, 0.01, (90, 17))
    x = np.stack([profiles(_drawing(pts, o, seed=i), pts, cfg) for i, o in enumerate(offsets)])
    assert x.shape == (90, 17, cfg.n_features) and np.isfinite(x).all()
    w, b = fit_ridge(x[:60], offsets[:60].astype(np.float32), ridge=1.0)
    guess = predict(x[60:], w, b)
    truth = offsets[60:]
    assert np.corrcoef(guess.ravel(), truth.ravel())[0, 1] > 0.9
    assert np.abs(guess - truth).mean() < 0.4 * np.abs(truth).mean()
    # the cross-validation reports the jaw's distance before and after, per group
    data = {"features": x, "targets": offsets.astype(np.float32), "group": np.array(["a", "b"] * 45)}
    cv = cross_validate(data, ridge=1.0, folds=3)
    assert set(cv) == {"a", "b", "all"} and cv["all"]["n"] == 90
    assert cv["all"]["outline"] < 0.5 * cv["all"]["as_fitted"]


def test_an_outline_checkpoint_round_trips_and_a_zero_map_keeps_the_jaw(tmp_path):
    from sketchface.nets import load_network
    from sketchface.nets.config import ConfigError

    cfg = OutlineConfig()
    pts = _points()
    gray = _drawing(pts, np.full(17, 0.1))
    zero = Outline(cfg)
    np.testing.assert_allclose(zero.moved_jaw(gray, pts), pts[:17], atol=1e-4)
    rng = np.random.default_rng(1)
    net = Outline(cfg).set_linear(rng.normal(0, 0.05, cfg.n_features), rng.normal(0, 0.05, 17))
    net.save_pretrained(tmp_path / "outline", dtype=torch.float16)
    back = load_network(tmp_path / "outline")
    assert isinstance(back, Outline) and back.config.samples == cfg.samples
    np.testing.assert_allclose(back.offsets(gray, pts), net.offsets(gray, pts), atol=5e-3)
    big = Outline(cfg).set_linear(np.zeros(cfg.n_features), np.full(17, 5.0))
    assert np.allclose(big.offsets(gray, pts), cfg.max_offset)                # clipped
    with pytest.raises(ConfigError, match="17 offsets"):
        Outline(cfg).set_linear(np.zeros(cfg.n_features), np.zeros(16))
    with pytest.raises(ConfigError):
        OutlineConfig(profile_range=0.0)


def test_bend_moves_the_jaw_and_nothing_else(tiny_model, tmp_path):
    from test_facefit import _tiny_facefit

    from sketchface.nets import load_network
    from sketchface.nets.facefit import CANONICAL_SCALE
    from sketchface.prior import FacePrior, Fit, _fit_key
    from sketchface.render import rotation_matrix

    prior = FacePrior(load_network(_tiny_facefit(tmp_path / "ff", len(tiny_model.neutral))), tiny_model)
    fit = Fit(np.zeros(tiny_model.n_identity, np.float32), np.zeros(tiny_model.n_expression, np.float32),
              np.array([12.0, -6.0, 4.0], np.float32), CANONICAL_SCALE * 1.05, np.array([0.03, -0.02], np.float32))
    move = np.random.default_rng(2).normal(0, 0.01, (17, 2)).astype(np.float32)
    bent = replace(fit, outline=move)
    assert _fit_key(bent) != _fit_key(fit)
    box = (10, 20, 210, 220)
    before, after = prior.landmarks(fit, box), prior.landmarks(bent, box)
    np.testing.assert_allclose(after[:17], before[:17] + move * 200, atol=0.1)     # the jaw moves as asked
    np.testing.assert_allclose(after[17:], before[17:], atol=0.1)                  # the other 51 points stay
    # across the view only: each vertex keeps its depth along the camera's axis
    rot = rotation_matrix(12.0, -6.0, 4.0)
    v0, v1 = prior.vertices(fit).copy(), prior.vertices(bent).copy()
    np.testing.assert_allclose(v1 @ rot.T[:, 2], v0 @ rot.T[:, 2], atol=1e-4)
    assert np.abs(v1 - v0).max() > 0.01
    assert "outline" in bent.as_dict() and "outline" not in fit.as_dict()
    # the depth and the head mesh are the bent face's
    assert not np.array_equal(prior.render(bent, 64)[0], prior.render(fit, 64)[0])
    np.testing.assert_allclose(prior.vertices(fit), v0)


def test_the_pipeline_follows_the_outline_of_sketches_only(tiny_model, tiny_bundle, tmp_path):
    from test_facefit import _tiny_real_pairs

    from sketchface.pipeline import SketchFace

    real, bundle = _tiny_real_pairs(tmp_path, tiny_model, tiny_bundle)
    cfg = OutlineConfig(image_size=64)
    Outline(cfg).set_linear(np.zeros(cfg.n_features), np.full(17, 0.1)).save_pretrained(
        bundle / "outline", dtype=torch.float16)
    sketch = str(real / "cufs" / "sketches" / "a_01.png")
    sf = SketchFace.from_pretrained(bundle, coarse="face_model", backend="torch")
    assert sf.prior.outline is not None
    r = sf(sketch, kind="sketch")
    assert r.fit.outline is not None and np.abs(r.fit.outline).max() > 0
    assert r.has_head and len(r.mesh().vertices) > 0
    assert sf(sketch, kind="lines").fit.outline is None            # trained on artist sketches: only those
    off = SketchFace.from_pretrained(bundle, coarse="face_model", backend="torch", outline=False)
    assert off.prior.outline is None and off(sketch, kind="sketch").fit.outline is None


def test_train_outline_on_real_pairs_with_facemesh_points(tiny_model, tiny_model_path, tiny_bundle, tmp_path):
    from test_facefit import _tiny_real_pairs

    from sketchface.nets import load_network
    from sketchface.train.outline import FACEMESH_JAW, reference_points, train_outline

    # the photo's points where they agree with the sketch's, else the sketch's own
    p = np.zeros((468, 3))
    p[:, 0] = np.linspace(0, 100, 468)
    assert reference_points({"photo": p.tolist(), "sketch": (p + 1).tolist()}) is not None
    assert reference_points({"photo": p.tolist(), "sketch": (p + 1).tolist()})[0, 0] == 0
    assert reference_points({"photo": p.tolist(), "sketch": (p + 20).tolist()})[0, 0] == 20
    assert reference_points({"photo": None, "sketch": None}) is None

    real, bundle = _tiny_real_pairs(tmp_path, tiny_model, tiny_bundle)
    points = {}
    for g in ("cufs", "fs2k"):
        pts = np.full((468, 3), 80.0)
        t = np.linspace(np.pi * 0.05, np.pi * 0.95, 17)
        pts[list(FACEMESH_JAW), 0] = 80 - 45 * np.cos(t)
        pts[list(FACEMESH_JAW), 1] = 70 + 60 * np.sin(t)
        points[f"{g}/sketches/a_01.png"] = {"photo": pts.tolist(), "sketch": pts.tolist(), "size": [160, 160]}
    (tmp_path / "points.json").write_text(json.dumps(points))
    report = train_outline(real, tmp_path / "points.json", tmp_path / "outline", ridge=10.0, folds=2,
                           checkpoints=bundle, face_model=str(tiny_model_path), progress=False)
    assert report["sketches"] == {"cufs": 1, "fs2k": 1}
    assert {"as_fitted", "fixed_offset", "outline"} <= set(report["cross_validation"]["all"])
    net = load_network(tmp_path / "outline")
    assert isinstance(net, Outline) and (tmp_path / "outline" / "training.json").is_file()


def test_turned_changes_the_pitch_and_keeps_the_face_in_place(tiny_model, tmp_path):
    from test_facefit import _tiny_facefit

    from sketchface.nets import load_network
    from sketchface.nets.facefit import CANONICAL_SCALE
    from sketchface.prior import FacePrior, Fit, turned

    prior = FacePrior(load_network(_tiny_facefit(tmp_path / "ff", len(tiny_model.neutral))), tiny_model)
    fit = Fit(np.zeros(tiny_model.n_identity, np.float32), np.zeros(tiny_model.n_expression, np.float32),
              np.array([10.0, 3.0, -2.0], np.float32), CANONICAL_SCALE * 0.95, np.array([0.04, -0.03], np.float32))
    points = prior.vertices(fit)[tiny_model.landmarks68]
    box = (10, 20, 210, 220)
    naive = replace(fit, angles=fit.angles + np.array([0.0, -5.0, 0.0], np.float32))
    turned_fit = turned(fit, points, d_pitch=-5.0, size=prior.size)
    np.testing.assert_allclose(turned_fit.angles, [10.0, -2.0, -2.0], atol=1e-5)
    before = prior.landmarks(fit, box)
    kept = np.abs(prior.landmarks(turned_fit, box) - before).mean()
    slid = np.abs(prior.landmarks(naive, box) - before).mean()
    assert kept < 0.5 and slid > 3 * kept            # the naive turn slides the face; the turned one stays
    d0, m0 = prior.render(fit, 64)
    d1, m1 = prior.render(turned_fit, 64)
    both = (m0 > 0.5) & (m1 > 0.5)
    rows = np.nonzero(both.any(1))[0]
    top, bottom = rows[: len(rows) // 3], rows[-len(rows) // 3:]
    change = d1 - d0
    # pitched by −5° (positive pitch brings the forehead forward): the forehead goes back, the chin comes forward
    top_change = np.nanmean(np.where(both[top], change[top], np.nan))
    bottom_change = np.nanmean(np.where(both[bottom], change[bottom], np.nan))
    assert bottom_change - top_change > 1e-3
    assert turned(fit, points, size=prior.size).scale == pytest.approx(fit.scale, rel=1e-5)
