"""The functions behind the app, called directly on drawn sketches (tiny random networks, no browser)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")

from sketchface.webapp import figures  # noqa: E402
from sketchface.webapp.handlers import AppLogic, edited_lines_at_model_size, editor_lines, pad_image  # noqa: E402
from sketchface.webapp.models import ModelBank  # noqa: E402
from sketchface.webapp.strokes import draw_strokes, face_strokes  # noqa: E402

DP = "DP-CoarseNet + FineNet"


@pytest.fixture(scope="module")
def bank(tiny_bundle):
    return ModelBank.load(tiny_bundle, device="cpu")


@pytest.fixture
def logic(bank, tmp_path):
    return AppLogic(bank, export_root=tmp_path / "exports")


def pad_value(img: np.ndarray) -> dict:
    """What gr.Sketchpad(type='numpy', image_mode='RGBA') hands over: black strokes on a transparent layer."""
    h, w = img.shape
    layer = np.zeros((h, w, 4), np.uint8)
    layer[..., 3] = 255 - img
    white = np.full((h, w, 4), 255, np.uint8)
    comp = white.copy()
    comp[..., :3] = img[..., None]
    return {"background": white, "layers": [layer], "composite": comp}


def run(logic, source="draw", pad=None, upload=None, photo=None, model=DP, lam=0.85, **kw):
    return logic.reconstruct(source, pad, upload, photo, model, lam, **kw)


@pytest.fixture(scope="module")
def face_pad():
    return pad_value(draw_strokes(face_strokes(), 512, 4))


def test_model_bank_shares_networks_between_choices(bank):
    assert bank.ok and bank.size == 32 and bank.device == "cpu"
    assert bank.labels[:3] == [DP, "DP-CoarseNet only (coarse)", "SP-CoarseNet + FineNet"]
    dp, sp = bank.pipelines["dp_coarse"], bank.pipelines["sp_coarse"]
    assert dp.finenet is sp.finenet and dp.line_extractor is sp.line_extractor and dp.coarse is not sp.coarse


def test_drawn_face_gives_surface_and_every_picture(logic, face_pad):
    fig, lines, lines_pred, heat, model_input, info, state = run(logic, pad=face_pad)
    trace = fig.data[0]
    assert trace.type == "mesh3d" and fig.layout.scene.aspectmode == "data"
    z = np.asarray(trace.z, float)
    assert len(z) > 100 and np.isfinite(z).all() and len(trace.i) > 100     # a mesh, nothing to hover as NaN
    eye = fig.layout.scene.camera.eye                                       # three-quarter view of the face
    assert eye.z > 0.8 and abs(eye.x) > 0.5 and fig.layout.scene.camera.up.y == 1
    assert fig.layout.uirevision                                            # the visitor's camera is kept
    for pic in (lines, lines_pred, model_input):
        assert pic.dtype == np.uint8 and pic.shape == (256, 256, 3)
    assert heat.shape[1] == 256 and heat.shape[0] > 256                     # colour bar under the map
    assert "λ_line 0.85 / λ_dis 0.15" in info and "model" in info and "ms" in info and "few strokes" not in info
    r = state["result"]
    assert r.kind == "lines" and r.lambda_line == 0.85 and state["model"] == DP


def test_lambda_reruns_finenet_only(logic, face_pad):
    state = run(logic, pad=face_pad)[-1]
    out = logic.set_lambda(state, 0.1)
    new = out[-1]["result"]
    old = state["result"]
    np.testing.assert_array_equal(new.coarse, old.coarse)
    assert new.lambda_line == 0.1 and not np.allclose(new.displacement, old.displacement, rtol=0, atol=1e-7)
    assert "λ_line 0.10 / λ_dis 0.90" in out[5]
    assert state["result"] is old                                          # the old state is not changed


def test_views_and_model_choices(logic, face_pad):
    state = run(logic, pad=face_pad)[-1]
    assert len(logic.redraw(state, 2.0, "side by side").data) == 2
    assert logic.redraw(state, 1.0, "coarse").data[0].name == "coarse"
    coarse_only = run(logic, pad=face_pad, model="DP-CoarseNet only (coarse)")[-1]["result"]
    assert np.all(coarse_only.displacement == 0) and np.array_equal(coarse_only.fine, coarse_only.coarse)
    sp = run(logic, pad=face_pad, model="SP-CoarseNet + FineNet")[-1]
    assert sp["model"] == "SP-CoarseNet + FineNet"
    with pytest.raises(gr.Error, match="(?i)unknown model"):
        run(logic, pad=face_pad, model="no such model")


def test_xdog_parameters_change_the_lines(logic, face_pad):
    a = run(logic, pad=face_pad)[-1]["result"].lines
    b = run(logic, pad=face_pad, sigma=2.0, phi=20.0)[-1]["result"].lines
    assert not np.allclose(a, b)


def test_lambda_sweep_reports_recall_and_displacement(logic, face_pad):
    state = run(logic, pad=face_pad)[-1]
    picture, rows = logic.sweep(state)
    assert picture.dtype == np.uint8 and picture.shape[1] == 5 * 256 + 4 * 8    # five faces side by side
    assert [r[0] for r in rows] == [0.0, 0.25, 0.5, 0.75, 1.0]
    for row in rows:
        assert 0 <= row[2] <= 1 and row[3] >= 0 and row[1] == round(1 - row[0], 2)
    coarse_only = run(logic, pad=face_pad, model="DP-CoarseNet only (coarse)")[-1]
    with pytest.raises(gr.Error, match="needs FineNet"):
        logic.sweep(coarse_only)


def test_edited_lines_change_the_face(logic, face_pad):
    state = run(logic, pad=face_pad)[-1]
    editor = logic.lines_for_editor(state)
    bg = editor["background"].copy()
    assert bg.shape == (512, 512, 3)
    bg[200:216, 100:400] = 0                                               # draw a wrinkle across the forehead
    out = logic.refine_lines(state, {"background": editor["background"], "layers": [], "composite": bg}, 0.85)
    edited = out[-2]["result"]
    assert out[-2]["edited"] and "edited lines" in out[5]
    assert not np.allclose(edited.displacement, state["result"].displacement, rtol=0, atol=1e-7)
    assert edited.lines[13, 10] < 0.5 and len(out[-1].data) == 2           # the new line; before/after figure
    back = logic.reset_lines(out[-2], 0.85)
    np.testing.assert_allclose(back[-2]["result"].fine, state["result"].fine, atol=1e-5)
    with pytest.raises(gr.Error, match="editor is empty"):
        logic.refine_lines(state, None, 0.85)


def test_export_writes_files_that_load_back(logic, face_pad):
    import trimesh

    state = run(logic, pad=face_pad)[-1]
    glb, files = logic.export(state, 1.0, "full (a vertex per pixel)")
    names = {p.rsplit(".", 1)[1] for p in files}
    assert names == {"glb", "obj", "ply", "png", "npy"} and glb == files[0]
    full = trimesh.load(glb, force="mesh")
    assert len(full.faces) > 0 and full.visual.vertex_colors.shape[1] == 4
    for path in files:
        if path.endswith((".obj", ".ply")):
            assert len(trimesh.load(path, force="mesh").faces) > 0
    png = Image.open(next(p for p in files if p.endswith(".png")))
    assert png.mode.startswith("I") and png.size == (32, 32)
    depth = np.load(next(p for p in files if p.endswith(".npy")))
    np.testing.assert_allclose(np.asarray(png, np.float64) / 65535, depth, atol=1e-4)
    assert logic.export(state, 1.0, "full (a vertex per pixel)") == (glb, files)   # unchanged: not rewritten
    deep = trimesh.load(logic.export(state, 2.0, "full (a vertex per pixel)")[0], force="mesh")
    assert len(deep.vertices) == len(full.vertices)
    np.testing.assert_allclose(np.ptp(deep.vertices[:, 2]), 2 * np.ptp(full.vertices[:, 2]), rtol=1e-4)
    coarse_mesh = trimesh.load(logic.export(state, 1.0, "quarter")[0], force="mesh")
    assert len(coarse_mesh.vertices) < len(full.vertices) / 4
    assert logic.export(None) == (None, None)


# ---------------------------------------------------------------------------------------------- bad input

def test_blank_canvas_says_what_to_do(logic):
    white = np.full((512, 512, 4), 255, np.uint8)
    with pytest.raises(gr.Error, match="blank"):
        run(logic, pad={"background": white, "layers": [], "composite": white})
    with pytest.raises(gr.Error, match="blank"):
        run(logic, pad=None)
    clear = np.zeros((512, 512, 4), np.uint8)                              # a cleared, transparent canvas
    assert pad_image({"background": None, "layers": [clear], "composite": clear}) is None


def test_a_few_strokes_are_drawn_with_a_note_in_the_summary(logic):
    few = np.full((512, 512), 255, np.uint8)
    few[200:202, 150:350] = 0                                # two thin strokes and no face
    few[300:302, 200:300] = 0
    info = run(logic, pad=pad_value(few))[5]
    assert "Only a few strokes reached the model" in info


def test_missing_upload_and_no_result_yet(logic):
    with pytest.raises(gr.Error, match="(?i)no image was uploaded"):
        run(logic, source="upload")
    with pytest.raises(gr.Error, match="no face yet"):
        logic.set_lambda(None, 0.5)
    with pytest.raises(gr.Error, match="no face yet"):
        logic.sweep({})


def _save(tmp_path, name, img, **kw):
    path = tmp_path / name
    img.save(path, **kw)
    return str(path)


@pytest.fixture
def face_u8():
    return draw_strokes(face_strokes(), 256, 2)


@pytest.mark.parametrize("form", ["gray", "rgba", "rgb16", "gif", "tiny"])
def test_uploads_in_many_forms_work(logic, tmp_path, face_u8, form):
    if form == "gray":
        path = _save(tmp_path, "a.png", Image.fromarray(face_u8))
    elif form == "rgba":                                                   # black ink on transparent paper
        a = np.dstack([np.zeros_like(face_u8)] * 3 + [255 - face_u8])
        path = _save(tmp_path, "a.png", Image.fromarray(a, "RGBA"))
    elif form == "rgb16":
        path = _save(tmp_path, "a.png", Image.fromarray(face_u8.astype(np.uint16) * 257))
    elif form == "gif":
        frames = [Image.fromarray(face_u8), Image.fromarray(255 - face_u8)]
        path = str(tmp_path / "a.gif")
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    else:
        path = _save(tmp_path, "a.png", Image.fromarray(face_u8).resize((40, 40)))
    warning = {"rgba": "transparent", "gif": "animated", "tiny": "only 40x40"}.get(form)
    if warning:
        with pytest.warns(UserWarning, match=warning):                    # shown as gr.Warning in the app
            out = run(logic, source="upload", upload=path, upload_kind="lines")
    else:
        out = run(logic, source="upload", upload=path, upload_kind="lines")
    assert out[-1]["result"].fine.shape == (32, 32)


@pytest.mark.parametrize("content,match", [
    (b"this is not an image", "not an image that can be read"),
    (b"", "empty"),
])
def test_bad_files_give_a_clear_error(logic, tmp_path, content, match):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(gr.Error, match=match):
        run(logic, source="upload", upload=str(path))


def test_too_small_and_too_large_images(logic, tmp_path, monkeypatch, face_u8):
    with pytest.raises(gr.Error, match="at least 8x8"):
        run(logic, source="upload", upload=_save(tmp_path, "t.png", Image.fromarray(face_u8).resize((5, 5))))
    noise = (np.random.default_rng(0).uniform(0, 1, (8, 8, 3)) * 255).astype(np.uint8)
    with pytest.raises(gr.Error, match="only 8 x 8 pixels: a face needs at least 32") as err:
        run(logic, source="upload", upload=_save(tmp_path, "n.png", Image.fromarray(noise)))
    assert "Error" not in str(err.value)                      # a sentence, never an exception's name
    import sketchface.framing as framing

    monkeypatch.setattr(framing, "MAX_PIXELS", 10_000)
    with pytest.raises(gr.Error, match="million|more than"):
        run(logic, source="upload", upload=_save(tmp_path, "big.png", Image.fromarray(face_u8)))


def test_photo_path_shows_the_cyclegan_sketch(logic, tmp_path):
    rng = np.random.default_rng(0)
    photo = (rng.uniform(0.3, 0.9, (96, 80, 3)) * [255, 200, 170]).astype(np.uint8)
    out = run(logic, source="photo", photo=_save(tmp_path, "p.png", Image.fromarray(photo)))
    r = out[-1]["result"]
    assert r.kind == "photo" and r.sketch is not None
    assert out[4].shape == (256, 256 * 2 + 6, 3)                           # photo | CycleGAN sketch


def test_missing_checkpoints_show_a_message(tmp_path):
    bank = ModelBank.load(tmp_path / "nothing_here", device="cpu")
    assert not bank.ok and "SKETCHFACE_CHECKPOINTS" in bank.error
    logic = AppLogic(bank)
    with pytest.raises(gr.Error, match="No checkpoints"):
        run(logic, pad=pad_value(draw_strokes(face_strokes(), 64, 1)), model=None)
    from sketchface.webapp import build_demo

    demo = build_demo(bank)
    texts = [getattr(b, "value", "") for b in demo.blocks.values()]
    assert any(isinstance(t, str) and "models are not loaded" in t for t in texts)


def test_thin_pen_strokes_in_the_editor_count_as_whole_lines():
    original = np.ones((32, 32), np.float32)
    original[8, 4:28] = 0                                                  # a line of l, 1 model pixel wide
    original[20, 4:28] = 0.4                                               # an anti-aliased grey line of l
    canvas = np.kron(original, np.ones((4, 4), np.float32))               # the editor: 4 canvas px per pixel
    np.testing.assert_array_equal(edited_lines_at_model_size(canvas, original), original)   # nothing changed
    edit = canvas.copy()
    edit[57:59, 16:112] = 0                        # a 2 px pen stroke: half of model row 14 (rows 56..59)
    edit[32:34, 16:112] = 1                        # the white pen over half of the line on model row 8
    plain = edit.reshape(32, 4, 32, 4).mean((1, 3))                       # what area resizing alone gives
    assert plain[14, 10] == 0.5 and plain[8, 10] == 0.5
    fitted = edited_lines_at_model_size(edit, original)
    assert fitted[14, 4:28].max() == 0 and fitted[8, 4:28].min() == 1     # added and removed in full
    assert fitted[20, 10] == np.float32(0.4) and fitted[14, 2] == 1       # untouched pixels keep their value


def test_editor_lines_and_figures_helpers():
    lines = editor_lines(np.full((64, 64, 3), 255, np.uint8))
    assert lines.shape == (64, 64) and lines.min() == 1.0
    depth = np.zeros((40, 40), np.float32)
    depth[10:30, 10:30] = 0.6
    mask = depth > 0
    hf = figures.heightfield(depth, mask, relief=2.0)
    v = np.asarray(hf.vertices)
    assert v[:, 0].min() < 0 < v[:, 0].max() and v[:, 1].min() < 0 < v[:, 1].max()       # centred, cm
    assert len(v) == 18 * 18                                   # the rim ring of the 20x20 square is not trusted
    big = np.full((300, 300), 0.5, np.float32)
    assert len(figures.heightfield(big, big > 0).vertices) <= figures.PLOT_MAX_SIDE ** 2
    heat = figures.heatmap_image(np.where(mask, 0.01, 0).astype(np.float32), mask)
    assert heat[128, 128, 0] > heat[128, 128, 2]                          # outwards is red


@pytest.mark.parametrize("panels", [1, 2])
def test_the_3d_view_built_without_validation_is_a_valid_figure(panels):
    """meshes_figure skips plotly's per-property validation for speed: rebuilding the figure with validation (which
    raises on any unknown or ill-typed property) must give the same JSON, indices sent as 16-bit typed arrays."""
    import json

    import plotly.graph_objects as go

    rng = np.random.default_rng(0)
    v = rng.random((300, 3)).astype(np.float32)
    f = rng.integers(0, 300, (500, 3))
    colours = [None, rng.random((300, 3))]
    fig = figures.meshes_figure([(f"panel {i}", (v, f, colours[i])) for i in range(panels)])
    checked = go.Figure(fig.to_dict())
    assert json.loads(fig.to_json()) == json.loads(checked.to_json())
    trace = json.loads(fig.to_json())["data"][0]
    assert trace["type"] == "mesh3d" and trace["i"]["dtype"] == "u2"
    assert bool(fig.layout.annotations) == (panels > 1)


def test_app_module_builds_without_launching(tiny_bundle, monkeypatch):
    import importlib
    import sys

    monkeypatch.setenv("SKETCHFACE_CHECKPOINTS", str(tiny_bundle))
    sys.modules.pop("app", None)
    app = importlib.import_module("app")
    assert isinstance(app.demo, gr.Blocks)
    names = {d.api_name for d in app.demo.fns.values() if d.api_name}
    assert {"reconstruct", "set_lambda", "export", "sweep", "refine_lines"} <= names
    source = open(app.__file__).read()
    assert 'if __name__ == "__main__":' in source and "server_port" not in source


def test_refusals_clear_every_output_and_kind_is_said_in_words(logic, tmp_path, face_u8):
    cleared = logic.cleared()
    assert len(cleared) == 9 and cleared[-1] is None and cleared[-2] is None      # view, state, 3-D model, files
    assert cleared[0].layout.annotations[0].text.startswith("Nothing to show")
    out = run(logic, source="upload", upload=_save(tmp_path, "f.png", Image.fromarray(face_u8)))
    assert out[5].startswith("Read as **a ") and "It is a" in out[5]              # guessed: how to correct it
    out = run(logic, source="upload", upload=_save(tmp_path, "f.png", Image.fromarray(face_u8)), upload_kind="sketch")
    assert out[5].startswith("Read as **a shaded sketch**") and "It is a" not in out[5]   # chosen: no hint


def test_a_bug_is_reported_without_its_exception_name(logic, face_pad, monkeypatch):
    def broken(*a, **k):
        raise KeyError("internal detail")

    monkeypatch.setattr(logic.bank, "get", broken)
    with pytest.raises(gr.Error) as err:
        run(logic, pad=face_pad)
    assert "KeyError" not in str(err.value) and "internal detail" not in str(err.value)
    assert "went wrong" in str(err.value)


def test_each_kind_of_error_is_said_in_its_own_words():
    """One hierarchy (sketchface.errors): an input the app cannot use is refused as it is, a model that is not there
    says so first, a bug says only that something went wrong; no exception name reaches the visitor."""
    from sketchface import errors
    from sketchface.framing import InputError as FramingInputError
    from sketchface.nets import CheckpointError as NetsCheckpointError
    from sketchface.pipeline import NotAFaceError, PipelineError
    from sketchface.webapp.handlers import NO_MODEL, user_errors

    assert FramingInputError is errors.InputError and NetsCheckpointError is errors.CheckpointError
    assert issubclass(PipelineError, errors.CheckpointError) and issubclass(NotAFaceError, errors.InputError)
    for cls in (errors.InputError, errors.CheckpointError, errors.ConfigError, errors.DataError):
        assert issubclass(cls, errors.UserError) and issubclass(cls, ValueError)

    def raising(exc):
        @user_errors
        def handler():
            raise exc
        with pytest.raises(gr.Error) as info:
            handler()
        return info.value.message

    assert raising(errors.InputError("the drawing is blank")) == "The drawing is blank"
    said = raising(PipelineError("the checkpoint bundle x has no finenet network"))
    assert said.startswith(NO_MODEL + ":") and "finenet" in said
    bug = raising(KeyError("secret_internal_name"))
    assert "went wrong on our side" in bug and "KeyError" not in bug and "secret" not in bug


def test_warm_up_prepares_the_default_model_and_never_raises(bank, monkeypatch, caplog):
    import logging

    seconds = bank.warm_up()
    assert seconds is not None and seconds > 0
    assert ModelBank({}, None, "no checkpoints").warm_up() is None                   # nothing to warm

    def broken(*a, **k):
        raise RuntimeError("graph export failed")
    monkeypatch.setattr(bank, "get", broken)
    with caplog.at_level(logging.WARNING):
        assert bank.warm_up() is None
    assert "warm-up failed" in caplog.text and "graph export failed" in caplog.text
