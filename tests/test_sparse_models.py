"""Sparse-model pipeline: the recognition CNN, the baselines, training and the end-to-end SparseFace."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sketchface.sparse.recognition import (BASELINES, UNIFORM, Baseline, CNNConfig, TrainConfig, build_cnn, load_cnn,
                                           lbp_histograms, save_cnn, train_cnn)


def test_cnn_is_the_papers_architecture():
    from torch import nn

    net = build_cnn(CNNConfig(image_size=224, n_classes=10))
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3 and all(c.kernel_size == (3, 3) and c.stride == (1, 1) for c in convs)
    assert [c.out_channels for c in convs] == sorted(c.out_channels for c in convs)       # growing
    pools = [m for m in net.modules() if isinstance(m, (nn.MaxPool2d, nn.AdaptiveAvgPool2d))]
    assert len(pools) == 3 and isinstance(pools[-1], nn.AdaptiveAvgPool2d)                # max, max, average
    assert len([m for m in net.modules() if isinstance(m, nn.Linear)]) == 2
    assert {m.p for m in net.modules() if isinstance(m, nn.Dropout)} == {0.3}
    feats = list(net.features)
    assert not isinstance(feats[feats.index(convs[-1]) + 1], nn.ReLU)                    # no ReLU after conv 3
    assert net(torch.rand(2, 3, 224, 224)).shape == (2, 10)


def test_cnn_learns_and_roundtrips(tmp_path):
    rng = np.random.default_rng(0)
    x = np.zeros((64, 32, 32, 3), np.uint8)
    y = np.arange(64) % 2
    x[y == 1, :, :16] = 200                                   # class 1: bright left half
    x[y == 0, :, 16:] = 200                                   # class 0: bright right half
    x = np.clip(x + rng.integers(0, 40, x.shape), 0, 255).astype(np.uint8)
    torch.manual_seed(0)
    net = build_cnn(CNNConfig(image_size=32, n_classes=2, channels=(4, 8, 8), fc_dim=16))
    log = train_cnn(net, x, y, TrainConfig(steps=25, batch=8))
    assert log["history"][-1]["loss"] < log["history"][0]["loss"]
    assert net.mean_image.abs().sum() > 0                     # Caffe-style mean image stored
    back = load_cnn(save_cnn(net, tmp_path / "cnn"))
    with torch.no_grad():
        a = net(torch.from_numpy(x[:4]).permute(0, 3, 1, 2).float() / 255)
        b = back(torch.from_numpy(x[:4]).permute(0, 3, 1, 2).float() / 255)
    assert torch.allclose(a, b, atol=0.05)                    # fp16 weights
    from safetensors.torch import load_file
    assert all(t.dtype == torch.float16 for t in load_file(str(tmp_path / "cnn" / "model.safetensors")).values())


def test_lbp_and_baselines_recognise_easy_identities():
    assert (UNIFORM < 58).sum() == 58                         # 58 uniform patterns + 1 bin
    g = np.random.default_rng(0).random((2, 64, 64)).astype(np.float32)
    h = lbp_histograms(g)
    assert h.shape == (2, 64 * 59) and np.allclose((h.reshape(2, 64, 59) ** 2).sum(-1), 1, atol=1e-5)
    rng = np.random.default_rng(1)
    protos = rng.integers(0, 255, (5, 16, 16, 3))
    imgs, labels = [], []
    for k, p in enumerate(protos):
        for _ in range(6):
            big = np.kron(p, np.ones((4, 4, 1)))               # 64 x 64 blocky identity
            imgs.append(np.clip(big + rng.normal(0, 12, big.shape), 0, 255).astype(np.uint8))
            labels.append(k)
    imgs, labels = np.stack(imgs), np.array(labels)
    tr, te = np.arange(len(imgs)) % 3 != 0, np.arange(len(imgs)) % 3 == 0
    for name in BASELINES:
        rate = (Baseline(name, n_components=10).fit(imgs[tr], labels[tr]).predict(imgs[te]) == labels[te]).mean()
        assert rate > 0.6, name


@pytest.fixture(scope="module")
def tiny_sparse(tiny_sparse_ckpt):
    return tiny_sparse_ckpt


def test_train_writes_checkpoints(tiny_sparse):
    import json

    fm, db, out = tiny_sparse
    names = {p.name for p in out.iterdir()}
    assert {"asm_photo.npz", "asm_sketch.npz", "cnn", "gallery.safetensors", "sparse.json"} <= names
    meta = json.loads((out / "sparse.json").read_text())
    assert meta["database"]["n_train"] == 8
    for p in ("asm_photo.npz", "asm_sketch.npz"):
        np.load(out / p, allow_pickle=False).close()


def test_sparse_face_end_to_end(tiny_sparse, tmp_path):
    import trimesh

    from sketchface.sparse.database import frontal_projection
    from sketchface.sparse.detect import NoFaceError, detect
    from sketchface.sparse.pipeline import SparseFace

    fm, db, out = tiny_sparse
    sf = SparseFace.from_checkpoints(out, face_model=fm)
    assert sf.db.config == db.config
    for i in db.test_ids:                                    # a test face the Haar cascade finds
        img, r = frontal_projection(db.vertices[i], db.triangles, db.landmarks68, 128, np.random.default_rng(i),
                                    light="front")
        if detect(img) is not None:
            break
    res = sf(img, kind="photo")
    assert res.kind == "photo" and res.detection_method == "haar"
    assert res.landmarks.shape == (68, 2) and len(res.retrieved_ids) == min(sf.config.k, 8)
    assert set(res.retrieved_ids.tolist()) <= set(db.train_ids.tolist())
    assert len(res.thumbnails) == len(res.retrieved_ids) and res.thumbnails[0].dtype == np.uint8
    assert res.vertices.shape == db.vertices.shape[1:] and np.isfinite(res.vertices).all()
    assert res.seen.any() and np.isfinite(res.colors).all()
    # TPS carries the statistical face's feature points onto the estimated ones
    assert np.abs(res.vertices[db.landmarks68] - res.feature_points_3d).max() < 1e-2
    pic = res.draw()
    assert pic.shape == img.shape and pic.dtype == np.uint8 and (pic != img).any()
    m = trimesh.load(res.save_glb(tmp_path / "f.glb"), force="mesh")
    assert len(m.vertices) == len(res.vertices)
    # a line drawing is a valid input too; a blank page is not
    from sketchface.synth.sketch import line_drawing
    drawing = line_drawing(r.landmarks, r.mask, None, np.random.default_rng(0))
    rs = sf(drawing, kind="auto")
    assert rs.kind in ("lines", "sketch") and rs.landmarks.shape == (68, 2)
    with pytest.raises(NoFaceError, match="No face was found"):
        sf(np.ones((96, 96, 3), np.float32))


def test_cli_registers_sparse_commands():
    from sketchface.cli import build_parser

    text = build_parser().format_help()
    for cmd in ("build-sparse-db", "train-sparse", "reconstruct-sparse", "evaluate-sparse"):
        assert cmd in text


def test_depth_predictor_hook(tiny_sparse):
    from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM
    from sketchface.sparse.evaluate import evaluate_depth_predictor, test_input

    fm, db, out = tiny_sparse
    ids = db.test_ids[:3]
    truth = {}
    for i in ids:                                             # an oracle: the true depth map of each input
        img, r = test_input(db, int(i), size=64)
        truth[img.tobytes()] = r.depth
    oracle = evaluate_depth_predictor(lambda im: truth[(im * 255 + 0.5).astype(np.uint8).tobytes()], db, ids, size=64)
    flat = evaluate_depth_predictor(lambda im: np.full((64, 64), (8 - DEPTH_FAR_CM) / (DEPTH_NEAR_CM - DEPTH_FAR_CM)),
                                    db, ids, size=64)
    assert oracle["faces"] == 3 and oracle["depth7_rel_mm"] < flat["depth7_rel_mm"]


def test_evaluation_says_so_when_no_test_face_is_detected(tiny_sparse, monkeypatch):
    from sketchface.sparse.detect import NoFaceError
    from sketchface.sparse.evaluate import eval_reconstruction
    from sketchface.sparse.pipeline import SparseFace

    fm, db, out = tiny_sparse
    sf = SparseFace.from_checkpoints(out, face_model=fm)

    def no_face(*a, **k):
        raise NoFaceError("No face was found in the image.")

    monkeypatch.setattr(sf, "locate", no_face)
    with pytest.raises(NoFaceError, match="no face was detected in any of the 2 test renders"):
        eval_reconstruction(db, sf, 2, progress=False)


def test_feature_points_setting(tiny_sparse, tmp_path):
    """Without FaceFit beside the sparse checkpoints the pipeline places the points by ASM (asking for the learned
    ones is one sentence); with a FaceFit of the face model in the bundle they are FaceFit's by default."""
    import shutil

    from sketchface.errors import UserError
    from sketchface.nets.facefit import FaceFit, FaceFitConfig
    from sketchface.sparse.pipeline import SparseConfig, SparseFace

    fm, db, out = tiny_sparse
    assert SparseFace.from_checkpoints(out, face_model=fm).points == "asm"
    with pytest.raises(UserError, match="facefit network and the face model"):
        SparseFace.from_checkpoints(out, face_model=fm, config=SparseConfig(points="facefit")).points
    shutil.copytree(out, tmp_path / "bundle" / "sparse")
    torch.manual_seed(0)
    FaceFit(FaceFitConfig(image_size=64, widths=(4, 4, 4, 4, 4), head_channels=2, hidden=8, n_identity=4,
                          n_expression=3, face_vertices=len(fm.neutral))).save_pretrained(tmp_path / "bundle" / "facefit")
    sf = SparseFace.from_checkpoints(tmp_path / "bundle" / "sparse", face_model=fm)
    assert sf.points == "facefit"
    from sketchface.sparse.database import frontal_projection
    from sketchface.sparse.detect import detect
    for i in db.test_ids:
        img, _ = frontal_projection(db.vertices[i], db.triangles, db.landmarks68, 128, np.random.default_rng(i),
                                    light="front")
        if detect(img) is not None:
            break
    rgb = img.astype(np.float32) / 255
    learned, asm = sf.locate(rgb, "photo")[1], sf.locate(rgb, "photo", "asm")[1]
    assert learned.shape == asm.shape == (68, 2) and np.isfinite(learned).all() and not np.allclose(learned, asm)
    np.testing.assert_allclose(learned, sf.prior.feature_points(rgb, "photo"))
    assert sf(img, kind="photo").landmarks.shape == (68, 2)


def test_standardized_cnn_ignores_light_level_and_contrast():
    torch.manual_seed(0)
    net = build_cnn(CNNConfig(image_size=32, n_classes=5, batch_norm=True, standardize=True)).eval()
    x = torch.rand(4, 1, 32, 32).expand(-1, 3, -1, -1) * 0.5 + 0.2
    with torch.no_grad():
        torch.testing.assert_close(net.embed(x * 1.6 - 0.1), net.embed(x), atol=1e-2, rtol=1e-2)
        plain = build_cnn(CNNConfig(image_size=32, n_classes=5)).eval()
        assert not torch.allclose(plain.embed(x * 1.6 - 0.1), plain.embed(x), atol=1e-2, rtol=1e-2)
