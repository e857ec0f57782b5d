"""Sparse-model pipeline: database, TPS, depth of feature points, ASM, texture (tiny synthetic face model)."""
from __future__ import annotations

import numpy as np
import pytest

from sketchface.sparse.database import DatabaseConfig, FaceDatabase, build_database, frontal_projection, random_view


@pytest.fixture(scope="module")
def tiny_db(tiny_model_path):
    from sketchface.facemodel import load_face_model

    fm = load_face_model(tiny_model_path)
    return fm, build_database(fm, DatabaseConfig(n_identities=40, n_train=20, n_test=20, image_size=64))


def test_database_alignment_and_roundtrip(tiny_db, tmp_path):
    fm, db = tiny_db
    ref = fm.neutral[fm.landmarks68]
    raw = np.stack([fm.vertices(w)[fm.landmarks68] for w in db.weights])
    # alignment by feature points undoes the random scan pose: aligned points sit as close to the reference
    # as the unposed faces do (the scan jitter alone would move them by ~0.5 cm)
    aligned_err = np.linalg.norm(db.feature_points() - ref, axis=2).mean()
    unposed_err = np.linalg.norm(raw - ref, axis=2).mean()
    assert aligned_err <= unposed_err + 0.02
    assert db.vertices.shape == (40, len(fm.neutral), 3)
    path = db.save(tmp_path / "db.npz")
    with np.load(path, allow_pickle=False) as d:
        assert "vertices" in d
    back = FaceDatabase.load(path)
    assert back.config == db.config and np.allclose(back.vertices, db.vertices)
    assert list(back.train_ids) == list(range(20)) and list(back.test_ids) == list(range(20, 40))


def test_database_config_rejects_bad_split():
    from sketchface.errors import UserError

    with pytest.raises(UserError):
        DatabaseConfig(n_identities=10, n_train=8, n_test=8)


def test_tps_interpolates_control_points_exactly():
    from sketchface.sparse.tps import time_control_points, tps_deform

    rng = np.random.default_rng(0)
    src = rng.normal(0, 5, (68, 3))
    dst = src + rng.normal(0, 0.5, (68, 3))
    pts = np.concatenate([src, rng.normal(0, 5, (200, 3))])
    out = tps_deform(src, dst, pts)
    assert np.abs(out[:68] - dst).max() < 1e-3
    # an affine map is reproduced everywhere (TPS has an affine part)
    a = np.array([[1.1, 0.1, 0], [0, 0.9, 0.05], [0.02, 0, 1.0]])
    out2 = tps_deform(src, src @ a.T + 1.0, pts)
    assert np.abs(out2 - (pts @ a.T + 1.0)).max() < 1e-3
    rows = time_control_points(pts, out, counts=(68, 150), sparse_idx=np.arange(68), repeats=1)
    assert [r["control_points"] for r in rows] == [68, 150] and rows[0]["kind"].startswith("sparse")


def test_feature_point_depth_beats_mean():
    """Depth of 2-D feature points from the statistics of 3-D ones: faces whose x, y and z vary together
    (a few latent factors, as real faces do) seen frontally at an unknown scale and offset."""
    from sketchface.sparse.statistical import SparseStatistics, estimate_feature_points

    rng = np.random.default_rng(0)
    base = np.concatenate([rng.normal(0, 4, (68, 2)), rng.normal(8, 2, (68, 1))], 1)
    basis = rng.normal(0, 0.4, (5, 68, 3))
    faces = base + np.einsum("nk,kpc->npc", rng.normal(0, 1, (140, 5)), basis)
    train, test = faces[:100], faces[100:]
    stats = SparseStatistics.fit(train)
    mean = train.mean(0)
    e_fit, e_mean = [], []
    for gt in test:
        u = 3.0 * gt[:, :2] + [120.0, -130.0]                    # image y up
        lm = u * [1, -1]                                          # image pixels, y down
        fit = estimate_feature_points(lm, mean, stats, noise_cm=0.05)
        e_fit.append(np.abs(fit.points3d[:, 2] - gt[:, 2]).mean())
        e_mean.append(np.abs(mean[:, 2] - gt[:, 2]).mean())
        # the observed 2-D points are kept: the 3-D points project exactly onto them
        proj = fit.scale * fit.points3d @ fit.rotation[:2].T + fit.translation
        assert np.abs(proj - u).max() < 1e-3
    assert np.mean(e_fit) < 0.5 * np.mean(e_mean)


def test_asm_beats_mean_shape(tiny_db):
    from sketchface.sparse.asm import ActiveShapeModel, ASMConfig, nme
    from sketchface.sparse.detect import Detection

    fm, db = tiny_db
    rng = np.random.default_rng(1)

    def box(lm):
        j = rng.uniform(-0.04, 0.04, 4) * (lm[:, 0].max() - lm[:, 0].min())
        return Detection((lm[:, 0].min() + j[0], lm[:, 1].min() + j[1], lm[:, 0].max() + j[2],
                          lm[:, 1].max() + j[3]), "box")

    imgs, lms = [], []
    for i in db.train_ids:
        for _ in range(2):
            im, lm = random_view(fm, db, int(i), 96, rng)
            imgs.append(im)
            lms.append(lm)
    asm = ActiveShapeModel.train(imgs, np.stack(lms), [box(lm) for lm in lms], ASMConfig(work_size=96, levels=2))
    pred, base, gt = [], [], []
    for i in db.test_ids[:8]:
        im, lm = random_view(fm, db, int(i), 96, rng)
        d = box(lm)
        pred.append(asm.search(im, d))
        base.append(asm.initial_shape(d))
        gt.append(lm)
    assert nme(np.array(pred), np.array(gt)).mean() < nme(np.array(base), np.array(gt)).mean()


def test_asm_save_load_no_pickle(tiny_db, tmp_path):
    from sketchface.sparse.asm import ActiveShapeModel, ASMConfig

    fm, db = tiny_db
    rng = np.random.default_rng(2)
    views = [random_view(fm, db, int(i), 64, rng) for i in db.train_ids[:6]]
    asm = ActiveShapeModel.train([v[0] for v in views], np.stack([v[1] for v in views]), None,
                                 ASMConfig(work_size=64, levels=2))
    back = ActiveShapeModel.load(asm.save(tmp_path / "asm.npz"))
    assert back.config == asm.config and np.allclose(back.prof_icov, asm.prof_icov)
    assert np.allclose(back.fit_shape(views[0][1]), asm.fit_shape(views[0][1]))


def test_detector_finds_render_and_refuses_blank(tiny_db):
    from sketchface.sparse.detect import NO_FACE, NoFaceError, detect, detect_or_raise

    fm, db = tiny_db
    found = 0
    for i in range(10):
        img, r = frontal_projection(db.vertices[i], db.triangles, db.landmarks68, 128, np.random.default_rng(i),
                                    light="front")
        d = detect(img)
        if d is not None:
            found += 1
            lo, hi = r.landmarks.min(0), r.landmarks.max(0)
            assert (lo < d.center).all() and (d.center < hi).all()
    assert found >= 5
    for kind in ("photo", "sketch"):
        with pytest.raises(NoFaceError, match="No face"):
            detect_or_raise(np.full((120, 100, 3), 0.9, np.float32), kind)
    assert NO_FACE.count(".") == 1           # one sentence


def test_poisson_fill_leaves_no_holes_and_keeps_known(tiny_db):
    from sketchface.sparse.texture import donor_colors, poisson_fill

    fm, db = tiny_db
    v, tris = db.vertices[0], db.triangles
    known = v[:, 2] > np.percentile(v[:, 2], 40)            # the front of the face is "seen"
    cols = np.zeros((len(v), 3), np.float32)
    cols[known] = [0.7, 0.5, 0.4]
    donor = donor_colors(v, tris)
    out = poisson_fill(cols, known, donor, tris)
    assert np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()
    assert np.allclose(out[known], cols[known])
    # no hole: the filled vertices take the seen skin tone, not black
    assert out[~known].mean(0)[0] > 0.3
    # guidance is a gradient field: a donor that differs by a constant gives back the known colours exactly
    flat = poisson_fill(cols, known, np.full_like(cols, 0.2), tris)
    assert np.abs(flat[~known] - [0.7, 0.5, 0.4]).max() < 1e-4


def test_texture_mesh_and_glb_roundtrip(tiny_db, tmp_path):
    import trimesh

    from sketchface.sparse.texture import texture_mesh, to_trimesh, write_glb

    fm, db = tiny_db
    v = db.vertices[1]
    img, r = frontal_projection(v, db.triangles, db.landmarks68, 96, np.random.default_rng(0))
    # the camera of a frontal render: u = s * v + t (image y up)
    s = 96 / 28.0
    t = np.array([96 / 2 - 0.5 - s * 0.0, -(96 / 2 - 0.5) - s * 0.5])
    cols, seen = texture_mesh(v, db.triangles, img, np.eye(3), s, t)
    assert seen.mean() > 0.3 and (~seen).any()
    assert np.isfinite(cols).all()
    mesh = to_trimesh(v, db.triangles, cols)
    path = write_glb(mesh, tmp_path / "face.glb")
    back = trimesh.load(path, force="mesh")
    assert len(back.vertices) == len(v)
    vc = back.visual.vertex_colors
    assert vc.shape == (len(v), 4) and vc[:, :3].std() > 0
    n = back.vertex_normals
    nose = np.argmax(back.vertices[:, 2])
    assert n[nose, 2] > 0.5                                  # faces +Z
    assert np.ptp(back.vertices[:, 1]) > np.ptp(back.vertices[:, 0])   # upright: taller than wide
def test_inner_openings_are_closed_and_shaded():
    from sketchface.prior import boundary_loops
    from sketchface.sparse.texture import HOLE_SHADE, close_inner_holes

    n = 6                                                   # a 6x6 vertex grid with its middle cell left open
    v = np.array([[x, y, 0.0] for y in range(n) for x in range(n)], np.float32)
    tris = []
    for y in range(n - 1):
        for x in range(n - 1):
            if (x, y) == (2, 2):
                continue
            a, b, c, d = y * n + x, y * n + x + 1, (y + 1) * n + x, (y + 1) * n + x + 1
            tris += [[a, b, c], [b, d, c]]
    tris = np.array(tris)
    colors = np.full((len(v), 3), 0.8, np.float32)
    assert len(boundary_loops(tris)) == 2
    v2, t2, c2, seen = close_inner_holes(v, tris, colors, np.ones(len(v), bool))
    assert [len(loop) for loop in boundary_loops(t2)] == [4 * (n - 1)]      # only the outer border stays open
    assert len(v2) == len(v) + 4 + 1 and not seen[len(v):].any() and seen[:len(v)].all()   # a ring of 4, a centre
    np.testing.assert_allclose(c2[-1], 0.8 * HOLE_SHADE, rtol=1e-5)
