"""Pipeline and mesh options the app uses: XDoG parameters, coarse-only runs, the sketch XDoG read, mesh relief
and resolution."""
from __future__ import annotations

import numpy as np
import pytest

from sketchface import SketchFace
from sketchface.errors import InputError
from sketchface.mesh import depth_to_mesh
from test_framing_mesh import drawing


@pytest.fixture(scope="module")
def sf(tiny_bundle):
    return SketchFace.from_pretrained(tiny_bundle)


def test_xdog_parameters_reach_the_lines(sf):
    a = drawing()
    default = sf(a)
    same = sf(a, xdog={"sigma": 0.8, "k": 1.6, "tau": 0.98, "epsilon": 0.0, "phi": 200.0})
    np.testing.assert_array_equal(default.lines, same.lines)
    soft = sf(a, xdog={"sigma": 2.0, "phi": 10.0})
    assert not np.allclose(soft.lines, default.lines)
    assert default.sketch is not None and default.sketch.shape == (32, 32)


def test_photo_lines_lose_their_specks_and_drawn_dots_stay(sf):
    import cv2
    photo = (np.random.default_rng(1).random((48, 48, 3)) * 255).astype(np.uint8)   # all texture
    raw = sf(photo, kind="photo", min_stroke=0)
    clean = sf(photo, kind="photo", min_stroke=6)

    def strokes(lines):
        n, _, stats, _ = cv2.connectedComponentsWithStats((lines < 0.5).astype(np.uint8), connectivity=8)
        return stats[1:, cv2.CC_STAT_AREA]
    assert (strokes(raw.lines) < 6).any() and not (strokes(clean.lines) < 6).any()
    kept = clean.lines < 0.5
    assert kept.sum() > 0 and (raw.lines[kept] < 0.5).all()        # only strokes were removed, none added
    assert sf(photo, kind="photo", xdog={"tau": 0.98}, min_stroke=0).lines.tolist() != raw.lines.tolist()
    a = drawing()
    a[8:10, 20:22] = 0                                                # a drawn mole: 2 x 2 pixels
    assert (sf(a).lines < 0.5).sum() == (sf(a, min_stroke=0).lines < 0.5).sum()   # sketches keep every dot
    with pytest.raises(InputError, match="min_stroke"):
        sf(a, min_stroke=-1)


def test_a_drawing_on_paper_reaches_the_models_on_white(sf):
    from test_framing_mesh import on_paper
    a = drawing()
    r = sf(on_paper(a), kind="auto")
    clean = sf(a, kind="auto")
    assert "photo" not in (r.kind, clean.kind)
    assert np.percentile(r.image, 60) > 0.95                           # the model input's paper is white
    assert abs(int((r.lines < 0.5).sum()) - int((clean.lines < 0.5).sum())) < 0.25 * (clean.lines < 0.5).sum()
    np.testing.assert_array_equal(r.input_image, np.asarray(on_paper(a), np.float32))   # the input as given


@pytest.mark.parametrize("bad,match", [({"sigmaa": 1.0}, "unknown XDoG"), ({"sigma": -1}, "positive"),
                                       ({"phi": "x"}, "number"), ({"k": float("nan")}, "finite")])
def test_bad_xdog_parameters_are_refused(sf, bad, match):
    with pytest.raises(InputError, match=match):
        sf(drawing(), xdog=bad)


def test_coarse_only_run(sf):
    r = sf(drawing(), refine=False)
    np.testing.assert_array_equal(r.fine, r.coarse)
    assert not r.displacement.any() and r.lines_pred.shape == (32, 32)
    assert not np.array_equal(r.lines_pred, r.lines)          # l' of the coarse face, not l


def test_photo_keeps_the_cyclegan_sketch(sf):
    rng = np.random.default_rng(1)
    photo = (rng.uniform(0.2, 0.9, (64, 64, 3)) * [1.0, 0.8, 0.7]).astype(np.float32)
    r = sf(photo, kind="photo")
    assert r.sketch.shape == (32, 32) and 0 <= r.sketch.min() and r.sketch.max() <= 1


def test_mesh_relief_and_step(sf, tmp_path):
    r = sf(drawing())
    full = r.mesh()
    deep = r.mesh(relief=2.0)
    assert len(deep.vertices) == len(full.vertices)
    np.testing.assert_allclose(np.ptp(deep.vertices[:, 2]), 2 * np.ptp(full.vertices[:, 2]), rtol=1e-4)
    half = r.mesh(step=2)
    assert len(half.vertices) < len(full.vertices) / 2
    np.testing.assert_allclose(np.ptp(half.vertices[:, 0]), np.ptp(full.vertices[:, 0]), rtol=0.15)  # same size
    paths = r.save(tmp_path, relief=1.5, step=2)
    assert paths["glb"].is_file()
    with pytest.raises(ValueError, match="step"):
        r.mesh(step=0)


def test_depth_to_mesh_relief_checks():
    d = np.zeros((8, 8), np.float32)
    d[2:6, 2:6] = np.linspace(0.4, 0.6, 16).reshape(4, 4)
    with pytest.raises(ValueError, match="relief"):
        depth_to_mesh(d, relief=0)
    flat = depth_to_mesh(d, relief=0.5)
    ref = depth_to_mesh(d)
    assert np.isclose(flat.vertices[:, 2].min(), ref.vertices[:, 2].min())   # scaled about the deepest point
    assert np.isclose(np.ptp(flat.vertices[:, 2]), 0.5 * np.ptp(ref.vertices[:, 2]))
