"""The app served on 127.0.0.1 and driven through gradio_client, as a Space's API users would."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
from gradio_client import handle_file  # noqa: E402

from sketchface.webapp.strokes import draw_strokes, face_strokes  # noqa: E402

DP = "DP-CoarseNet + FineNet"
XDOG = (0.8, 1.6, 0.98, 0.0, 200.0)


@pytest.fixture
def client(app_client):
    return app_client


@pytest.fixture(scope="module")
def face_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("inputs") / "face.png"
    Image.fromarray(draw_strokes(face_strokes(), 256, 2)).save(path)
    return str(path)


def reconstruct(client, source="upload", pad=None, upload=None, photo=None, lam=0.85):
    return client.predict(source, pad, upload, photo, DP, lam, "auto", *XDOG, 1.0, "fine", api_name="/reconstruct")


def test_reconstruct_change_lambda_and_download_everything(client, face_png):
    import trimesh

    out = reconstruct(client, upload=handle_file(face_png))
    plot, lines, lines_pred, heat, model_input, info = out
    assert "λ_line 0.85" in info and "server" in info
    assert Image.open(lines).size == (256, 256) and Image.open(heat).size[0] == 256
    assert '"surface"' in str(plot)

    low = client.predict(0.1, 1.0, "fine", api_name="/set_lambda")         # the session keeps the result
    assert "λ_line 0.10 / λ_dis 0.90" in low[5]
    assert low[0] != plot

    glb, files = client.predict(1.0, "full (a vertex per pixel)", api_name="/export")
    by_ext = {f.rsplit(".", 1)[1]: f for f in files}
    assert set(by_ext) == {"glb", "obj", "ply", "png", "npy"} and "lambda0p10" in by_ext["glb"]
    for ext in ("glb", "obj", "ply"):
        mesh = trimesh.load(by_ext[ext], force="mesh")
        assert len(mesh.faces) > 0, ext
    depth_png = Image.open(by_ext["png"])
    assert depth_png.mode.startswith("I") and depth_png.size == (32, 32)
    depth = np.load(by_ext["npy"])
    assert depth.shape == (32, 32) and depth.max() > 0
    assert trimesh.load(glb, force="mesh").visual.vertex_colors is not None

    picture, table = client.predict(1.0, api_name="/sweep")
    assert Image.open(picture).size[0] > 5 * 256 and len(table["data"]) == 5


def test_sketch_pad_input(client, tmp_path):
    ink = draw_strokes(face_strokes(), 512, 4)
    comp = np.dstack([ink, ink, ink, np.full_like(ink, 255)])
    path = tmp_path / "pad.png"
    Image.fromarray(comp, "RGBA").save(path)
    pad = {"background": handle_file(str(path)), "layers": [], "composite": handle_file(str(path))}
    out = reconstruct(client, source="draw", pad=pad)
    assert "Read as **a line drawing**" in out[5]


def test_bad_input_is_reported_and_the_server_keeps_serving(client, tmp_path, face_png):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(Exception, match="not an image that can be read"):
        reconstruct(client, upload=handle_file(str(text)))
    with pytest.raises(Exception, match="(?i)blank"):
        reconstruct(client, source="draw")
    with pytest.raises(Exception, match="(?i)no face yet"):
        client.predict(0.5, 1.0, "fine", api_name="/set_lambda")           # a new session has no result
    out = reconstruct(client, upload=handle_file(face_png))                  # still serving
    assert "λ_line 0.85" in out[5]
