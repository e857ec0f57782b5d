"""Metrics: Err (12), Var (13) by the snapshot method, line P/R/F1, aligned and landmark errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sketchface import metrics as M


def test_depth_error_matches_a_direct_loop():
    rng = np.random.default_rng(0)
    gt, pred = rng.random((5, 8, 6)), rng.random((5, 8, 6))
    direct = np.mean([np.sum((255 * gt[i] - 255 * pred[i]) ** 2) / 48 for i in range(5)])
    assert M.depth_error(gt, pred) == pytest.approx(direct)
    assert M.depth_error(gt, pred, scale=1.0) == pytest.approx(direct / 255 ** 2)
    per = M.depth_error(gt, pred, per_sample=True)
    assert per.shape == (5,) and per.mean() == pytest.approx(direct)
    # torch (K, 1, H, W) input gives the same number
    assert M.depth_error(torch.tensor(gt)[:, None], torch.tensor(pred)[:, None]) == pytest.approx(direct)


def test_depth_error_parts_split_err_by_where_the_faces_are():
    # a 2x2 image: true face on the left column, predicted face on the top row; one pixel is face in both
    gt = np.array([[[0.5, 0.0], [0.5, 0.0]]])
    pred = np.array([[[0.4, 0.2], [0.0, 0.0]]])
    mask = gt > 0
    parts = M.depth_error_parts(gt, pred, mask)
    assert parts["inside"] == pytest.approx((25.5 ** 2) / 4)                      # top left only
    assert parts["outline"] == pytest.approx(((51.0 ** 2) + (127.5 ** 2)) / 4)    # top right, bottom left
    assert parts["inside"] + parts["outline"] == pytest.approx(M.depth_error(gt, pred))
    # a prediction under half a depth level (0.001 of the scale = 0.26 levels) is no face: nothing is inside both
    assert M.depth_error_parts(gt, pred * 0 + 0.001, mask)["inside"] == 0.0


def test_depth_error_hand_value_and_mask():
    gt = np.zeros((1, 2, 2))
    pred = np.array([[[0.1, 0.0], [0.0, 0.0]]])
    assert M.depth_error(gt, pred) == pytest.approx((25.5 ** 2) / 4)
    mask = np.array([[[1, 1], [0, 0]]])
    assert M.depth_error(gt, pred, mask=mask) == pytest.approx((25.5 ** 2) / 2)
    with pytest.raises(ValueError, match="differ in shape"):
        M.depth_error(gt, np.zeros((1, 3, 2)))


def test_snapshot_eigenvalues_equal_pixel_covariance_eigenvalues():
    rng = np.random.default_rng(1)
    k, h, w = 6, 5, 4
    maps = rng.random((k, h, w))
    x = 255 * maps.reshape(k, -1)                      # rows = maps
    cov = np.cov(x, rowvar=False)                      # (P, P), each map one observation
    direct = np.sort(np.linalg.eigvalsh(cov))[::-1][: k - 1]
    snap = M.snapshot_eigenvalues(maps)
    assert snap.shape == (k,)
    np.testing.assert_allclose(snap[: k - 1], direct, rtol=1e-9)
    assert abs(snap[-1]) < 1e-8 * snap[0]              # centring removes one dimension
    value, n = M.variance_metric(maps, return_count=True)
    assert n == k - 1
    assert value == pytest.approx(np.prod(direct) ** (1 / (k - 1)), rel=1e-9)


def test_variance_drops_dependent_maps_and_scales_quadratically():
    rng = np.random.default_rng(2)
    maps = rng.random((5, 6, 6))
    maps[4] = maps[3]                                   # a duplicate adds no dimension
    _, n = M.variance_metric(maps, return_count=True)
    assert n == 3
    v1 = M.variance_metric(maps, scale=1.0)
    v2 = M.variance_metric(2 * maps, scale=1.0)
    assert v2 == pytest.approx(4 * v1)                  # eigenvalues are variances
    assert M.variance_metric(np.ones((4, 3, 3))) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        M.variance_metric(np.ones((1, 3, 3)))


def test_variance_is_larger_for_more_diverse_sets():
    rng = np.random.default_rng(3)
    base = rng.random((8, 10, 10))
    similar = 0.5 + 0.1 * (base - 0.5)
    assert M.variance_metric(base) > M.variance_metric(similar)


def _line_image(points, shape=(8, 8)):
    img = np.ones(shape)
    for y, x in points:
        img[y, x] = 0.0
    return img


def test_line_precision_recall_by_hand():
    ref = _line_image([(y, 2) for y in range(1, 6)])                    # vertical line, 5 px
    pred = _line_image([(y, 3) for y in range(1, 6)] + [(7, 7)])        # shifted 1 px + stray
    s = M.line_scores(ref, pred, tolerance=1)
    assert s["precision"] == pytest.approx(5 / 6)
    assert s["recall"] == pytest.approx(1.0)
    assert s["f1"] == pytest.approx(2 * (5 / 6) / (5 / 6 + 1))
    s0 = M.line_scores(ref, pred, tolerance=0)
    assert s0["precision"] == 0.0 and s0["recall"] == 0.0 and s0["f1"] == 0.0
    same = M.line_scores(ref, ref, tolerance=0)
    assert same == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_line_distances_say_how_far_each_line_pixel_is_from_the_predicted_lines():
    ref = np.ones((1, 9, 9))
    ref[0, :, 1] = 0                                                # drawn lines in columns 1 and 6
    ref[0, :, 6] = 0
    pred = np.ones((1, 9, 9))
    pred[0, :, 2] = 0                                               # l' has one line, in column 2
    d = M.line_distances(ref, pred)
    assert d.shape == (1, 9, 9) and (d[0, :, 1] == 1).all() and (d[0, :, 6] == 4).all()
    # consistent with line_scores: recalled exactly where the distance is <= 1
    ink = ref < 0.5
    assert M.line_scores(ref, pred)["recall"] == pytest.approx((d[ink] <= 1).mean())
    assert (M.line_distances(ref, np.ones((1, 9, 9)), cap=7) == 7).all()       # no predicted line at all
    with pytest.raises(ValueError, match="differ in shape"):
        M.line_distances(ref, np.ones((1, 8, 8)))


def test_line_scores_in_a_region():
    ref = _line_image([(y, 2) for y in range(8)])                       # a line down the whole image
    pred = _line_image([(y, 2) for y in range(4)] + [(0, 6)])           # its top half + one stray pixel
    region = np.zeros((8, 8))
    region[:4] = 1                                                      # the face: the top half
    assert M.line_scores(ref, pred)["recall"] == pytest.approx(5 / 8)                # row 4 is within 1 px
    s = M.line_scores(ref, pred, region=region)
    assert s["recall"] == 1.0 and s["precision"] == pytest.approx(4 / 5)
    with pytest.raises(ValueError, match="region"):
        M.line_scores(ref, pred, region=np.ones((4, 4)))


def test_line_scores_threshold_and_empty_cases():
    ref = _line_image([(2, 2)])
    grey = ref.copy()
    grey[2, 2] = 0.6                                     # not a line at threshold 0.5
    assert M.line_scores(ref, grey)["recall"] == 0.0
    assert M.line_scores(ref, grey, threshold=0.7)["recall"] == 1.0
    blank = np.ones((8, 8))
    assert M.line_scores(blank, blank) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_scale_shift_invariant_error():
    rng = np.random.default_rng(4)
    gt = rng.random((3, 8, 8))
    pred = 0.5 * gt + 0.2
    assert M.depth_error(gt, pred) > 1.0
    assert M.scale_shift_invariant_error(gt, pred) == pytest.approx(0.0, abs=1e-12)
    noisy = pred + 0.01 * rng.standard_normal(gt.shape)
    assert M.scale_shift_invariant_error(gt, noisy) > 0
    # within a mask, what lies outside does not matter
    mask = np.zeros_like(gt)
    mask[:, 2:6, 2:6] = 1
    broken = pred.copy()
    broken[:, 0, :] = 5.0
    assert M.scale_shift_invariant_error(gt, broken, mask=mask) == pytest.approx(0.0, abs=1e-12)
    assert M.scale_shift_invariant_error(gt, broken) > 0


def test_landmark_depth_error():
    gt = np.tile(np.linspace(0, 1, 11), (11, 1))        # depth = x / 10
    pred = gt + 0.1
    lm = np.array([[0.0, 0.0], [5.0, 3.0], [10.0, 10.0]])
    np.testing.assert_allclose(M.landmark_depth_error(gt, pred, lm), [25.5] * 3)
    half = np.array([[2.5, 4.0]])                         # bilinear between x=2 and x=3
    zero = np.zeros_like(gt)
    np.testing.assert_allclose(M.landmark_depth_error(gt, zero, half, scale=1.0), [0.25])
    batch = M.landmark_depth_error(np.stack([gt, gt]), np.stack([pred, gt]), lm, indices=[0, 2])
    np.testing.assert_allclose(batch, [[25.5, 25.5], [0.0, 0.0]])


def test_top_k_variance_ignores_pixel_noise():
    """Same faces, more pixel noise: eq. 13 over every eigenvalue follows the noise floor, the top-k version
    (the main modes) hardly moves."""
    rng = np.random.default_rng(0)
    modes = rng.normal(size=(3, 16 * 16))
    faces = (rng.normal(size=(60, 3)) @ modes).reshape(60, 16, 16) * 0.05
    quiet = faces + rng.normal(0, 0.001, faces.shape)
    noisy = faces + rng.normal(0, 0.01, faces.shape)
    assert M.variance_metric(noisy, scale=1.0) > 50 * M.variance_metric(quiet, scale=1.0)
    top_quiet = M.variance_metric(quiet, scale=1.0, top_k=3)
    assert abs(M.variance_metric(noisy, scale=1.0, top_k=3) / top_quiet - 1) < 0.1
    assert M.variance_metric(quiet, scale=1.0, top_k=1) >= top_quiet


def test_displacement_locality_separates_drawn_lines_from_creases():
    lines = np.ones((1, 20, 20), np.float32)
    lines[:, :, 5] = 0                                              # drawn line: column 5
    disp = np.zeros((1, 20, 20), np.float32)
    disp[:, :, 5] = 2 / 255                                         # the drawn wrinkle deepens by 2 levels
    r = M.displacement_locality(lines, disp)
    assert r["on"] == pytest.approx(2 / 3) and r["off"] == 0.0      # on = columns 4..6
    disp[:, :, 15] = -1 / 255                                       # an undrawn crease at column 15
    r = M.displacement_locality(lines, disp)
    assert r["off"] == pytest.approx(1 / 13)                        # off = columns 0, 1 and 9..19
    mask = np.zeros((1, 20, 20), bool)
    mask[:, :, :9] = True                                           # a face that ends before the crease
    assert M.displacement_locality(lines, disp, mask)["off"] == 0.0


def test_grid_artifact_finds_a_pixel_aligned_period():
    from sketchface.metrics import grid_artifact

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64] / 64
    faces = np.stack([0.5 + 0.3 * np.exp(-((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / (0.05 + 0.02 * rng.random()))
                      + 0.01 * rng.standard_normal((64, 64)) for _ in range(12)])
    clean = grid_artifact(faces, 8)
    assert 0.8 < clean < 1.2                                    # no period: neighbouring bins alike
    grid = np.tile(rng.random((8, 8)), (8, 8))                  # what nearest upsampling leaves, 8 px
    assert grid_artifact(faces + 0.004 * grid, 8) > 1.3 * clean
    with pytest.raises(ValueError, match="period"):
        grid_artifact(faces[:, :60, :60], 8)


def test_erode_mask_drops_the_rim_only():
    m = np.zeros((1, 20, 20))
    m[0, 4:16, 4:16] = 1
    inner = M.erode_mask(m, 2)
    assert inner.dtype == bool and inner.sum() == 8 * 8 and inner[0, 6:14, 6:14].all()
    assert M.erode_mask(m, 0).sum() == 144
    full = M.erode_mask(np.ones((1, 10, 10)), 3)
    assert full.all()                                            # the image border is not outside


def test_roughness_tells_blocky_from_smooth_grooves():
    yy, xx = np.mgrid[:64, :64].astype(float)
    smooth = -np.exp(-((yy - 32 - 8 * np.sin(xx / 10)) ** 2) / 8)          # a groove along a curved line
    blocky = np.kron(smooth[4::8, 4::8], np.ones((8, 8)))                 # the same groove in 8 px blocks
    assert M.roughness(blocky) > 2 * M.roughness(smooth)
    assert M.roughness(3 * smooth) == pytest.approx(M.roughness(smooth))  # scale-free
    assert M.roughness(np.zeros((64, 64))) == 0.0
    mask = np.zeros((64, 64))
    mask[8:56, 8:56] = 1
    assert M.roughness(smooth, mask) > 0
    with pytest.raises(ValueError, match="mask"):
        M.roughness(smooth, np.ones((8, 8)))
