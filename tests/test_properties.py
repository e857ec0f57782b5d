"""Property-based tests (hypothesis) of XDoG, the metrics and mesh export."""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sketchface.mesh import depth_to_mesh
from sketchface.metrics import depth_error, line_scores, variance_metric
from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM
from sketchface.xdog import xdog, xdog_torch

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
unit = st.floats(0, 1, allow_nan=False, width=32)
images = st.integers(8, 40).flatmap(lambda n: arrays(np.float32, (n, n), elements=unit))


@FAST
@given(images, st.floats(0.5, 2.0), st.floats(1.2, 2.0), st.floats(0.9, 1.0))
def test_xdog_is_in_range_and_matches_the_torch_version(img, sigma, k, tau):
    a = xdog(img, sigma=sigma, k=k, tau=tau)
    assert a.shape == img.shape and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    b = xdog_torch(torch.from_numpy(img)[None, None], sigma=sigma, k=k, tau=tau)[0, 0].numpy()
    # same formula; the blurs differ only in kernel truncation, so disagreement is confined to few pixels
    assert (np.abs(a - b) > 0.5).mean() < 0.05


@FAST
@given(st.floats(0, 1), st.integers(8, 32))
def test_xdog_of_a_flat_image_has_no_lines(v, n):
    assert xdog(np.full((n, n), v, np.float32)).min() == 1.0


maps = st.tuples(st.integers(2, 6), st.integers(4, 12)).flatmap(
    lambda s: arrays(np.float64, (s[0], s[1], s[1]), elements=st.floats(0, 1, allow_nan=False)))


@FAST
@given(maps, maps, st.floats(0.5, 300))
def test_depth_error_is_zero_on_truth_symmetric_and_quadratic_in_scale(a, b, s):
    assert depth_error(a, a) == 0
    if a.shape == b.shape:
        assert depth_error(a, b) == pytest.approx(depth_error(b, a))
        assert depth_error(a, b, scale=s) == pytest.approx(s ** 2 * depth_error(a, b, scale=1.0), rel=1e-9, abs=1e-12)


@FAST
@given(maps, st.floats(-0.5, 0.5), st.floats(0.2, 3))
def test_var_ignores_a_common_offset_and_scales_quadratically(m, c, s):
    v = variance_metric(m)
    assert v >= 0
    assert variance_metric(m + c) == pytest.approx(v, rel=1e-6, abs=1e-9)
    # eigenvalues of the rescaled set scale by s^2 (tiny ones may drop under the relative cut-off)
    v2 = variance_metric(m * s)
    if v > 1e-6:
        assert v2 == pytest.approx(s ** 2 * v, rel=1e-4)


lines = st.integers(8, 24).flatmap(lambda n: arrays(np.float64, (n, n), elements=st.sampled_from([0.0, 1.0])))


@FAST
@given(lines, lines)
def test_line_scores_are_perfect_on_themselves_and_recall_grows_with_tolerance(a, b):
    s = line_scores(a, a, tolerance=0)
    assert s["precision"] == s["recall"] == 1.0
    if a.shape == b.shape:
        r = [line_scores(a, b, tolerance=t)["recall"] for t in (0, 1, 2)]
        assert r[0] <= r[1] <= r[2] and all(0 <= x <= 1 for x in r)


depths = st.integers(3, 24).flatmap(lambda n: arrays(np.float32, (n, n), elements=st.floats(0.0625, 1, width=32)))


@FAST
@given(depths)
def test_mesh_from_any_depth_is_valid_and_survives_export(d):
    import io

    import trimesh
    m = depth_to_mesh(d, max_edge_cm=1e9)
    n = d.shape[0]
    assert len(m.faces) == 2 * (n - 1) ** 2 and len(m.vertices) == n * n
    assert m.faces.min() >= 0 and m.faces.max() < len(m.vertices)
    assert DEPTH_FAR_CM - 1e-4 <= m.vertices[:, 2].min() and m.vertices[:, 2].max() <= DEPTH_NEAR_CM + 1e-4
    assert np.isfinite(m.vertex_normals).all()
    back = trimesh.load(io.BytesIO(m.export(file_type="glb")), file_type="glb", force="mesh")
    assert len(back.faces) == len(m.faces)
    np.testing.assert_allclose(back.vertices, m.vertices, atol=1e-4)
