import numpy as np
import pytest

from sketchface.render import Camera, rasterize, render_face


def test_rasterize_single_triangle_area_and_depth():
    xy = np.array([[2, 2], [30, 2], [2, 30]], np.float32)
    z = np.array([0.5, 0.5, 0.5], np.float32)
    r = rasterize(xy, z, np.array([[0, 1, 2]]), (40, 40))
    covered = np.isfinite(r.zbuf)
    # pixel centres inside the right triangle with legs 28: about 29*30/2 pixels
    assert 400 < covered.sum() < 460
    assert np.allclose(r.zbuf[covered], 0.5)
    assert (r.tri[covered] == 0).all() and (r.tri[~covered] == -1).all()
    assert np.allclose(r.bary[covered].sum(1), 1, atol=1e-5)


def test_rasterize_keeps_nearest_surface():
    xy = np.array([[0, 0], [20, 0], [0, 20], [0, 0], [20, 0], [0, 20]], np.float32)
    z = np.array([0.2, 0.2, 0.2, 0.7, 0.7, 0.7], np.float32)
    tris = np.array([[0, 1, 2], [3, 4, 5]])
    r = rasterize(xy, z, tris, (24, 24))
    covered = np.isfinite(r.zbuf)
    assert np.allclose(r.zbuf[covered], 0.7) and (r.tri[covered] == 1).all()


def test_render_invariants(tiny_model):
    fm = tiny_model
    v = fm.vertices(np.random.default_rng(0).normal(size=100))
    r = render_face(v, fm.face_triangles, fm.landmarks68, 64, Camera(yaw=10))
    assert r.depth.dtype == np.float32 and r.depth.shape == (64, 64)
    assert np.isfinite(r.depth).all()
    assert r.mask.mean() > 0.2
    assert (r.depth[r.mask] > 0).all() and (r.depth[~r.mask] == 0).all()
    assert r.normals.shape == (64, 64, 3)
    assert np.allclose(np.linalg.norm(r.normals[r.mask], axis=1), 1, atol=1e-4)
    lm = np.round(r.landmarks).astype(int)
    assert ((lm >= 0) & (lm < 64)).all()
    assert r.mask[lm[:, 1], lm[:, 0]].mean() > 0.9  # landmarks lie on the face
    # the nose is nearer the viewer than the jaw
    assert r.depth[lm[30, 1], lm[30, 0]] > r.depth[lm[4, 1], lm[4, 0]]


def test_yaw_moves_the_nose(tiny_model):
    fm = tiny_model
    v = fm.vertices()
    a = render_face(v, fm.face_triangles, fm.landmarks68, 64, Camera(yaw=0))
    b = render_face(v, fm.face_triangles, fm.landmarks68, 64, Camera(yaw=15))
    assert b.landmarks[30, 0] > a.landmarks[30, 0] + 1  # positive yaw turns the face to the image right


@pytest.mark.parametrize("size", [64, 128])
def test_any_size(tiny_model, size):
    fm = tiny_model
    r = render_face(fm.vertices(), fm.face_triangles, fm.landmarks68, size)
    assert r.depth.shape == (size, size)
