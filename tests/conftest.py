"""Shared fixtures. Tests never need the real face model: they build a tiny face-like one."""
from __future__ import annotations

import os

import numpy as np
import pytest

from sketchface.local_server import free_port

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _template68() -> np.ndarray:
    """Rough 2-D positions (cm, x right, y up) of the 68 Multi-PIE landmarks on a face."""
    pts = []
    a = np.linspace(np.pi * 1.05, np.pi * 1.95, 17)           # jaw 0-16 (left to right, through the chin)
    pts += [(7.0 * np.cos(t) * -1 * -1, 2.0 + 9.5 * np.sin(t)) for t in a[::-1]][::-1]
    pts = [(-x, y) for x, y in pts]
    for cx in (-3.2, 3.2):                                    # brows 17-26
        pts += [(cx + dx, 4.2 + 0.5 * np.cos(dx / 1.6 * np.pi / 2)) for dx in np.linspace(-1.6, 1.6, 5)]
    pts += [(0.0, y) for y in np.linspace(2.8, -0.2, 4)]      # nose bridge 27-30
    pts += [(x, -1.2 + 0.2 * abs(x)) for x in np.linspace(-1.4, 1.4, 5)]  # nose bottom 31-35
    for cx in (-3.2, 3.2):                                    # eyes 36-47
        t = np.linspace(0, 2 * np.pi, 7)[:-1]
        pts += [(cx - 1.2 * np.cos(s), 2.5 + 0.45 * np.sin(s)) for s in t]
    t = np.linspace(0, 2 * np.pi, 13)[:-1]                    # outer lips 48-59
    pts += [(-2.3 * np.cos(s), -4.0 + 0.9 * np.sin(s)) for s in t]
    t = np.linspace(0, 2 * np.pi, 9)[:-1]                     # inner lips 60-67
    pts += [(-1.6 * np.cos(s), -4.0 + 0.3 * np.sin(s)) for s in t]
    out = np.array(pts, np.float32)
    assert out.shape == (68, 2)
    return out


def make_tiny_face_model(path, n_identity=100, n_expression=53, grid=41, seed=0):
    """A face-like ellipsoid cap with random smooth identity and expression modes, saved in the compact format."""
    from sketchface.facemodel import save_face_model
    rng = np.random.default_rng(seed)
    xs = np.linspace(-8.5, 8.5, grid)
    ys = np.linspace(-11, 12, grid)
    X, Y = np.meshgrid(xs, ys)
    r = 1 - (X / 9.0) ** 2 - (Y / 13.0) ** 2
    Z = 10 * np.sqrt(np.clip(r, 0.02, None))
    Z += 1.5 * np.exp(-((X / 1.2) ** 2 + ((Y + 0.3) / 2.5) ** 2))  # a nose
    V = np.stack([X, Y, Z], -1).reshape(-1, 3).astype(np.float32)
    idx = np.arange(grid * grid).reshape(grid, grid)
    q = np.stack([idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]], -1).reshape(-1, 4)
    tris = np.concatenate([q[:, [0, 2, 1]], q[:, [0, 3, 2]]], 0).astype(np.int32)  # counter-clockwise seen from +z
    lm2 = _template68()
    lm = np.array([np.argmin(((V[:, :2] - p) ** 2).sum(1)) for p in lm2], np.int32)

    def smooth_modes(n, amp):
        c = rng.normal(0, 1, (n, 6, 3)).astype(np.float32)
        basis = np.stack([np.ones_like(X), X / 9, Y / 13, (X / 9) ** 2, (Y / 13) ** 2, X * Y / 117], -1).reshape(-1, 6)
        return amp * np.einsum("vb,nbc->nvc", basis, c).astype(np.float32)

    path = save_face_model(path, neutral=V, triangles=tris, identity_deltas=smooth_modes(n_identity, 0.15),
                           expression_deltas=smooth_modes(n_expression, 0.1),
                           expression_names=[f"expr{i:02d}" for i in range(n_expression)],
                           landmarks68=lm, face_vertex_count=len(V))
    return path


@pytest.fixture(scope="session", autouse=True)
def _onnx_cache(tmp_path_factory):
    """ONNX exports of test networks (SketchFace's backend="auto" on the CPU) go to a temporary folder."""
    before = os.environ.get("SKETCHFACE_ONNX_CACHE")
    os.environ["SKETCHFACE_ONNX_CACHE"] = str(tmp_path_factory.mktemp("onnx_cache"))
    yield
    if before is None:
        os.environ.pop("SKETCHFACE_ONNX_CACHE", None)
    else:
        os.environ["SKETCHFACE_ONNX_CACHE"] = before


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    return make_tiny_face_model(tmp_path_factory.mktemp("facemodel") / "ict_face_light.npz")


@pytest.fixture
def tiny_model(tiny_model_path, monkeypatch):
    monkeypatch.setenv("SKETCHFACE_FACE_MODEL", str(tiny_model_path))
    from sketchface.facemodel import load_face_model
    return load_face_model()


TINY_NETS = {
    "dp_coarse": dict(image_size=32, dim=4, n_res=1, mlp_dim=8),
    "sp_coarse": dict(image_size=32, dim=4, n_res=1, mlp_dim=8),
    "line_extractor": dict(image_size=32, dim=4, n_res=1),
    "finenet": dict(image_size=32, dim=4, n_res=1),
    "cyclegan": dict(image_size=32, ngf=4, ndf=4, n_blocks=1),
}


@pytest.fixture(scope="session")
def tiny_sparse_ckpt(tiny_model_path, tmp_path_factory):
    """(face model, 3-D face database, sparse checkpoints folder) trained for a few steps on the tiny face model."""
    import torch

    from sketchface.facemodel import load_face_model
    from sketchface.sparse.database import DatabaseConfig, build_database
    from sketchface.sparse.train import train_all

    fm = load_face_model(tiny_model_path)
    db = build_database(fm, DatabaseConfig(n_identities=16, n_train=8, n_test=8, image_size=64))
    out = tmp_path_factory.mktemp("sparse_ckpt")
    torch.manual_seed(0)
    train_all(fm, db, out, size=32, steps=3, batch=4, views=3, asm_views=3, cache=None, render_size=96,
              progress=False)
    return fm, db, out


def make_tiny_bundle(path, seed=0):
    """A checkpoint bundle of tiny random networks (32 px), written like export-checkpoints does."""
    import json

    import torch

    from sketchface.nets import build, preset
    torch.manual_seed(seed)
    for kind, over in TINY_NETS.items():
        net = build(kind, preset("lite")[kind].replace(**over))
        net.save_pretrained(path / kind, dtype=torch.float16, inference_only=True)
    (path / "pipeline.json").write_text(json.dumps(
        {"coarse": "dp_coarse", "line_extractor": "line_extractor", "finenet": "finenet", "cyclegan": "cyclegan"}))
    return path


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    return make_tiny_bundle(tmp_path_factory.mktemp("bundle"))


# ------------------------------------------------------------------------------------------ the app, served

@pytest.fixture(scope="module")
def serve_app():
    """A function that serves a gr.Blocks (queued and launched as app.py does) on a free local port and returns
    its URL; everything it served is closed after the test module."""
    pytest.importorskip("gradio")
    from sketchface.webapp import LAUNCH_KWARGS, QUEUE_KWARGS

    demos = []

    def serve(demo) -> str:
        port = free_port()
        demo.queue(**QUEUE_KWARGS).launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                                          quiet=True, **LAUNCH_KWARGS)
        demos.append(demo)
        return f"http://127.0.0.1:{port}/"

    yield serve
    for demo in demos:
        demo.close()


@pytest.fixture(scope="module")
def app_server(tiny_bundle, serve_app):
    """The app on the tiny bundle, served on a free local port for one test module; its URL."""
    from sketchface.webapp import build_demo

    return serve_app(build_demo(checkpoints=tiny_bundle, device="cpu"))


@pytest.fixture
def app_client(app_server, tmp_path):
    """A gradio_client session on ``app_server``; downloads go to the test's temporary folder."""
    gradio_client = pytest.importorskip("gradio_client")
    return gradio_client.Client(app_server, verbose=False, download_files=str(tmp_path / "downloads"))
