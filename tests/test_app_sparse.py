"""The app's "Photo → textured 3-D head (sparse face model)" path: the handler called directly (tiny sparse checkpoints trained
here on the tiny face model, a face rendered by the package), through the served app with gradio_client, and a
smoke test of the shipped checkpoints/sparse on demo/examples/photo_1.png when the face model is available."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")

from sketchface.webapp import figures  # noqa: E402
from sketchface.webapp.sparse_tab import CHECKOUT_FOLDER, SparseLogic, finds_face, sparse_folder  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "demo" / "examples"


@pytest.fixture(scope="module")
def tiny_sparse(tiny_sparse_ckpt, tmp_path_factory):
    """(face model, sparse checkpoints folder, a rendered face photo the detector finds) on the tiny face model."""
    from sketchface.sparse.database import frontal_projection
    from sketchface.sparse.detect import detect

    fm, db, folder = tiny_sparse_ckpt
    for i in db.test_ids:                        # a test face (not in the gallery) the Haar cascade finds
        img, render = frontal_projection(db.vertices[i], db.triangles, db.landmarks68, 128, np.random.default_rng(i),
                                    light="front")
        if detect(img) is not None:
            break
    else:
        pytest.fail("the detector found none of the rendered test faces")
    from sketchface.synth.sketch import line_drawing

    photo = tmp_path_factory.mktemp("sparse_photo") / "face.png"
    Image.fromarray(img).save(photo)
    drawing = line_drawing(render.landmarks, render.mask, None, np.random.default_rng(0))
    return fm, folder, str(photo), drawing


@pytest.fixture
def logic(tiny_sparse, tmp_path):
    fm, folder = tiny_sparse[:2]
    return SparseLogic(folder, face_model=fm, export_root=tmp_path / "exports")


def test_photo_gives_mesh_points_similar_faces_and_downloads(logic, tiny_sparse, tmp_path):
    import trimesh

    photo = tiny_sparse[2]
    assert not logic.loaded                                                  # nothing loaded before the first use
    fig, points, similar, glb, files, info = logic.reconstruct(photo, "photo")
    assert logic.loaded
    model = logic.model()
    assert logic.model() is model                                            # loaded once, then shared

    mesh = fig.data[0]
    assert mesh.type == "mesh3d" and len(mesh.x) == len(mesh.vertexcolor) > 100 and len(mesh.i) > 100
    assert fig.layout.scene.aspectmode == "data" and fig.layout.scene.camera.eye.z > 1
    source = np.asarray(Image.open(photo).convert("RGB"))
    assert points.dtype == np.uint8 and points.shape == source.shape and (points != source).any()
    assert 1 <= len(similar) <= model.config.k
    assert similar[0][0].dtype == np.uint8 and similar[0][1].startswith("face ")
    assert {Path(f).suffix for f in files} == {".glb", ".obj", ".json"} and glb == files[0]
    assert all(Path(f).is_relative_to(tmp_path / "exports") for f in files)
    glb_mesh = trimesh.load(glb, force="mesh")
    assert len(glb_mesh.vertices) == len(mesh.x) and glb_mesh.visual.vertex_colors is not None
    assert len(trimesh.load(files[1], force="mesh").faces) == len(mesh.i)
    assert "Sparse face model" in info and "input: photo" in info and "Haar" in info and "loaded in" in info
    again = logic.reconstruct(photo, "photo")[-1]
    assert "loaded in" not in again                                          # the second run loads nothing


def test_a_line_drawing_works_too(logic, tiny_sparse):
    fig, points, *_, info = logic.reconstruct(tiny_sparse[3], "auto")
    assert fig.data[0].type == "mesh3d" and "input: photo" not in info and "input: " in info


@pytest.mark.parametrize("picture", ["blank", "noise"])
def test_no_face_is_one_clear_sentence(logic, tmp_path, picture):
    rng = np.random.default_rng(0)
    img = np.full((120, 100, 3), 230, np.uint8) if picture == "blank" else \
        rng.integers(0, 255, (120, 100, 3)).astype(np.uint8)
    path = tmp_path / "x.png"
    Image.fromarray(img).save(path)
    with pytest.raises(gr.Error, match="No face was found") as e:
        logic.reconstruct(str(path), "photo")
    msg = e.value.message
    assert "\n" not in msg and msg.count(". ") == 0 and len(msg) < 200


def test_missing_checkpoints_missing_photo_and_bad_kind(tmp_path):
    logic = SparseLogic(tmp_path / "no_such_folder", export_root=tmp_path / "exports")
    with pytest.raises(gr.Error, match="no photo was uploaded|No photo was uploaded"):
        logic.reconstruct(None)
    with pytest.raises(gr.Error, match="input kind must be one of"):
        logic.reconstruct(str(EXAMPLES / "photo_1.png"), "painting")
    with pytest.raises(gr.Error, match="No sparse-model checkpoints in .*no_such_folder") as e:
        logic.reconstruct(str(EXAMPLES / "photo_1.png"))
    assert "\n" not in e.value.message and not logic.loaded
    with pytest.raises(gr.Error, match="No sparse-model checkpoints"):       # tried again, still a clear error
        logic.reconstruct(str(EXAMPLES / "photo_1.png"))


def test_checkpoint_folder_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("SKETCHFACE_SPARSE_CHECKPOINTS", raising=False)
    monkeypatch.delenv("SKETCHFACE_CHECKPOINTS", raising=False)
    assert sparse_folder() == CHECKOUT_FOLDER
    monkeypatch.setenv("SKETCHFACE_CHECKPOINTS", str(tmp_path))              # a bundle without sparse/
    assert sparse_folder() == CHECKOUT_FOLDER
    (tmp_path / "sparse").mkdir()
    (tmp_path / "sparse" / "sparse.json").write_text("{}")                  # a bundle with sparse/
    assert sparse_folder() == tmp_path / "sparse"
    monkeypatch.setenv("SKETCHFACE_SPARSE_CHECKPOINTS", str(tmp_path / "elsewhere"))
    assert sparse_folder() == tmp_path / "elsewhere"


def test_mesh_figure_helper():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 1]], np.float32)
    fig = figures.mesh_figure(v, np.array([[0, 1, 2]]), np.array([[1, 0, 0]] * 3, np.float32))
    assert fig.data[0].vertexcolor[0] == "rgb(255,0,0)"
    assert figures.mesh_figure(v, np.array([[0, 1, 2]])).data[0].color == figures.SKIN
    with pytest.raises(ValueError):
        figures.mesh_figure(v, np.zeros((0, 3), int))


# ---------------------------------------------------------------------------------------------- the app

@pytest.fixture(scope="module")
def sparse_server(tiny_bundle, tiny_sparse, serve_app):
    from sketchface.webapp import ModelBank, build_demo

    fm, folder = tiny_sparse[:2]
    return serve_app(build_demo(ModelBank.load(tiny_bundle, device="cpu"), sparse=SparseLogic(folder, face_model=fm)))


def test_the_app_serves_the_sparse_path(sparse_server, tiny_sparse, tmp_path):
    import trimesh
    from gradio_client import Client, handle_file

    client = Client(sparse_server, verbose=False, download_files=str(tmp_path / "downloads"))
    fig, points, similar, glb, files, info = client.predict(handle_file(tiny_sparse[2]), "photo",
                                                            api_name="/reconstruct_sparse")
    assert '"mesh3d"' in str(fig) and "input: photo" in info
    assert Image.open(points).size == (128, 128) and len(similar) >= 1
    assert len(trimesh.load(glb, force="mesh").vertices) > 100 and len(files) == 3
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((100, 100, 3), 230, np.uint8)).save(blank)
    with pytest.raises(Exception, match="No face was found") as e:
        client.predict(handle_file(str(blank)), "photo", api_name="/reconstruct_sparse")
    assert "Traceback" not in str(e.value)
    out = client.predict(handle_file(tiny_sparse[2]), "photo", api_name="/reconstruct_sparse")   # still serving
    assert "input: photo" in out[-1]


def test_sparse_tab_is_in_the_app(tiny_bundle, tiny_sparse):
    from sketchface.webapp import ModelBank, build_demo

    demo = build_demo(ModelBank.load(tiny_bundle, device="cpu"), sparse=SparseLogic(tiny_sparse[1]))
    names = {d.api_name for d in demo.fns.values() if d.api_name}
    assert "reconstruct_sparse" in names and "reconstruct" in names
    labels = [getattr(b, "label", None) for b in demo.blocks.values()]
    assert "Photo → textured 3-D head (sparse face model)" in labels
    offered = [{Path(str(x)).name for x in str(b.samples).replace("'", " ").split()}
               for b in demo.blocks.values() if isinstance(b, gr.Dataset)]
    # the sparse tab offers the photo examples its detector finds (photo_1), not the others
    assert any("photo_1.png" in names and "photo_2.png" not in names for names in offered), offered


# ---------------------------------------------------------------------------------------------- shipped model

def _face_model_available() -> bool:
    from sketchface.facemodel import FaceModelNotFound, find_face_model

    try:
        find_face_model()
        return True
    except FaceModelNotFound:
        return False


@pytest.mark.skipif(not (CHECKOUT_FOLDER / "sparse.json").is_file(), reason="no checkpoints/sparse")
def test_shipped_sparse_checkpoints_on_the_photo_example(tmp_path):
    if not _face_model_available():
        pytest.skip("the face model is not available (python -m sketchface fetch-face-model)")
    photo = EXAMPLES / "photo_1.png"
    assert finds_face(photo)                                             # the example the tab offers
    logic = SparseLogic(CHECKOUT_FOLDER, export_root=tmp_path)
    fig, points, similar, glb, files, info = logic.reconstruct(str(photo), "photo")
    mesh = fig.data[0]
    assert len(mesh.x) > 1000 and "Haar" in info and len(similar) == logic.model().config.k
    colors = np.array([[int(c) for c in s[4:-1].split(",")] for s in mesh.vertexcolor])
    assert colors.std() > 5                                              # the photo is mapped, not one grey
