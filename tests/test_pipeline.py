"""SketchFace pipeline on a bundle of tiny random networks: shapes, framing, λ re-runs, errors."""
import shutil

import numpy as np
import pytest
from PIL import Image

from sketchface import SketchFace
from sketchface.cli import main
from sketchface.errors import InputError
from sketchface.pipeline import PipelineError
from test_framing_mesh import drawing


@pytest.fixture(scope="module")
def sf(tiny_bundle):
    return SketchFace.from_pretrained(tiny_bundle)


def test_result_holds_every_stage(sf):
    a = drawing(200, 150, (30, 30, 120, 170))
    r = sf(a, lambda_line=0.85)
    for name in ("image", "lines", "coarse", "displacement", "fine", "lines_pred"):
        assert getattr(r, name).shape == (32, 32), name
    assert r.mask.dtype == bool and r.kind == "lines"               # kind="auto" by default: clean strokes
    assert sf(a, kind="sketch").kind == "sketch"
    np.testing.assert_allclose(r.fine, np.clip(r.coarse + r.displacement, 0, 1), atol=1e-4)
    assert r.depth_in_input_frame().shape == (200, 150)
    plain, labelled = r.picture(labels=False), r.picture()
    assert plain.shape == (32, 160, 3) and labelled.shape[1:] == (160, 3) and labelled.shape[0] > 32
    assert np.array_equal(labelled[-32:], plain) and labelled[:-32].min() < 128      # a row of names above
    x0, y0, x1, y1 = r.crop_box
    assert x1 - x0 == y1 - y0 and x0 < 30 and x1 > 120          # square, around the drawing


def test_a_given_crop_box_frames_the_input(sf, tiny_bundle, tmp_path, capsys):
    a = drawing(200, 150, (30, 30, 120, 170))
    found = sf(a)
    given = sf(a, crop_box=(10, 40, 110, 140))
    assert given.crop_box == (10, 40, 110, 140) and given.framing_method == "given"
    assert given.depth_in_input_frame().shape == (200, 150)
    # the depth goes back through the given box: nothing outside it (background fill 0), something inside
    d = given.depth_in_input_frame()
    assert d[:, :8].max() == 0 and d[:38].max() == 0 and d[45:135, 15:105].max() > 0
    assert not np.allclose(found.coarse, given.coarse)
    for bad in [(0, 0, 10, 12), (5, 5, 5, 5), (0.5, 0, 10, 10), "abcd", (1, 2, 3)]:
        with pytest.raises(InputError, match="crop_box"):
            sf(a, crop_box=bad)
    src = tmp_path / "a.png"
    Image.fromarray(a).save(src)
    assert main(["reconstruct", str(src), "--out", str(tmp_path / "o"), "--checkpoints", str(tiny_bundle),
                 "--crop-box", "10", "40", "110", "140"]) == 0
    assert "crop_box (10, 40, 110, 140) (given)" in capsys.readouterr().out
    assert main(["reconstruct", str(src), "--out", str(tmp_path / "o"), "--checkpoints", str(tiny_bundle),
                 "--crop-box", "10", "40", "110", "150"]) == 2
    assert "crop_box must be a square" in capsys.readouterr().err


@pytest.mark.parametrize("form", ["path", "pil", "rgba", "float"])
def test_any_input_form_gives_the_same_result(sf, tmp_path, form):
    a = drawing(120, 100, (20, 15, 80, 105))
    ref = sf(a)
    if form == "path":
        x = tmp_path / "a.png"
        Image.fromarray(a).save(x)
    elif form == "pil":
        x = Image.fromarray(a)
    elif form == "rgba":
        x = np.dstack([np.zeros_like(a)] * 3 + [255 - a])
    else:
        x = a.astype(np.float64) / 255
    np.testing.assert_allclose(sf(x).fine, ref.fine, atol=2e-3)


def test_refine_changes_only_finenet(sf):
    r = sf(drawing(), lambda_line=0.85)
    r0 = sf.refine(r, lambda_line=0.0)
    np.testing.assert_array_equal(r0.coarse, r.coarse)
    assert r0.lambda_line == 0.0 and not np.allclose(r0.displacement, r.displacement)
    again = sf.refine(r0, lambda_line=0.85)
    np.testing.assert_allclose(again.fine, r.fine, atol=1e-5)
    sweep = sf.lambda_sweep(r, (0.0, 0.85))
    np.testing.assert_allclose(sweep[0].fine, r0.fine, atol=1e-4)
    np.testing.assert_allclose(sweep[1].fine, r.fine, atol=1e-4)


def test_edited_lines_feed_finenet(sf):
    r = sf(drawing())
    edited = r.lines.copy()
    edited[10:12, 5:27] = 0.0                                     # draw a new line (a wrinkle)
    e = sf.refine(r, lines=edited)
    assert not np.allclose(e.fine, r.fine)
    big = np.kron(edited, np.ones((4, 4), np.float32))            # any size is resized to the model frame
    assert np.abs(sf.refine(r, lines=big).lines - edited).mean() < 0.05


def test_photo_and_auto_kind(sf):
    rng = np.random.default_rng(0)
    photo = (rng.uniform(0.2, 0.9, (80, 64, 3)) * [1.0, 0.8, 0.7]).astype(np.float32)
    r = sf(photo, kind="photo")
    assert r.kind == "photo" and r.image.shape == (32, 32, 3) and r.colors is not None
    assert sf(photo, kind="auto").kind == "photo"


@pytest.mark.parametrize("lam", [-0.1, 1.5, float("nan"), "high", None])
def test_bad_lambda_is_refused(sf, lam):
    with pytest.raises(InputError, match="lambda_line"):
        sf(drawing(), lambda_line=lam)


def test_bad_kind_and_blank_input(sf):
    with pytest.raises(InputError, match="kind"):
        sf(drawing(), kind="painting")
    with pytest.raises(InputError, match="blank"):
        sf(np.full((64, 64), 255, np.uint8))


def test_missing_and_damaged_checkpoints(tiny_bundle, tmp_path):
    with pytest.raises(PipelineError, match="does not exist"):
        SketchFace.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(PipelineError, match="Hugging Face Hub"):     # HF_HUB_OFFLINE=1 in tests
        SketchFace.from_pretrained("someone/sketchface-lite")
    with pytest.raises(PipelineError, match="Hub repository id"):
        SketchFace.from_pretrained("../../etc/passwd")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_bundle, broken)
    w = broken / "finenet" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])                          # truncated download
    with pytest.raises(PipelineError, match="truncated or corrupt"):
        SketchFace.from_pretrained(broken)
    shutil.rmtree(broken / "line_extractor")
    with pytest.raises(PipelineError, match="no line_extractor"):
        SketchFace.from_pretrained(broken)


def test_inference_only_networks_cannot_train(tiny_bundle):
    from sketchface.nets import load_network
    import torch
    dp = load_network(tiny_bundle / "dp_coarse")
    assert dp.predict_depth(torch.ones(1, 1, 32, 32)).shape == (1, 1, 32, 32)
    with pytest.raises(RuntimeError, match="inference-only"):
        dp(torch.ones(1, 1, 32, 32), torch.ones(1, 3, 32, 32))
    # the shipped CycleGAN keeps only the photo -> sketch generator the pipeline uses
    from safetensors import safe_open
    with safe_open(str(tiny_bundle / "cyclegan" / "model.safetensors"), "pt") as f:
        assert {k.split(".")[0] for k in f.keys()} == {"G_ps"}
    gan = load_network(tiny_bundle / "cyclegan")
    assert gan.photo_to_sketch(torch.ones(1, 3, 32, 32)).shape[1] == 1
    with pytest.raises(RuntimeError, match="inference-only"):
        gan.sketch_to_photo(torch.ones(1, 1, 32, 32))


def test_reconstruct_cli_writes_every_file(tiny_bundle, tmp_path, capsys):
    import trimesh
    src = tmp_path / "sketch.png"
    Image.fromarray(drawing()).save(src)
    assert main(["reconstruct", str(src), "--out", str(tmp_path / "out"), "--checkpoints", str(tiny_bundle)]) == 0
    out = tmp_path / "out"
    for name in ("face.glb", "face.obj", "face.ply", "face_depth.png", "face_depth.npy", "face_overview.png",
                 "face_depth_input_frame.png", "face.json"):
        assert (out / name).is_file(), name
    assert np.load(out / "face_depth.npy", allow_pickle=False).shape == (32, 32)
    assert len(trimesh.load(out / "face.glb", force="mesh").faces) > 0
    once = tmp_path / "once"
    assert main(["reconstruct", str(src), "--out", str(once), "--checkpoints", str(tiny_bundle), "--read-once"]) == 0
    assert not np.array_equal(np.load(once / "face_depth.npy"), np.load(out / "face_depth.npy"))
    assert main(["reconstruct", str(tmp_path / "nope.png"), "--out", str(out),
                 "--checkpoints", str(tiny_bundle)]) == 2
    assert "not found" in capsys.readouterr().err


def test_a_drawing_of_a_few_strokes_gets_a_note(sf, tiny_bundle, tmp_path, capsys):
    from sketchface.framing import few_strokes_note

    assert sf(drawing()).notes() == []
    few = np.full((300, 260), 255, np.uint8)
    few[100:102, 60:200] = 0                                  # two thin strokes and no face
    few[200:202, 100:160] = 0
    r = sf(few, kind="lines")
    assert len(r.notes()) == 1 and "few strokes" in r.notes()[0]
    assert sf(np.full((64, 64, 3), 128, np.uint8), kind="photo").notes() == []
    ink = np.ones((128, 128), np.float32)
    ink[:, :3] = 0.0                                          # 2.3 % ink at the lite models' size: enough
    assert few_strokes_note(ink) is None
    ink[:, 1:] = 1.0                                          # 0.8 %: a note naming it
    assert "0.8 %" in few_strokes_note(ink) and "3 % or more" in few_strokes_note(ink)
    small = np.ones((32, 32), np.float32)
    small[:, :1] = 0.0                                        # 3.1 % ink, but one pixel is 4 times wider here
    assert "3.1 %" in few_strokes_note(small)
    src = tmp_path / "few.png"
    Image.fromarray(few).save(src)
    assert main(["reconstruct", str(src), "--out", str(tmp_path / "out"), "--checkpoints", str(tiny_bundle),
                 "--kind", "lines"]) == 0
    assert "note: Only a few strokes" in capsys.readouterr().out


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_coarsenet_reads_the_input_and_its_mirror_image(tiny_bundle, backend):
    """mirror=True (the default): the coarse depth is the mean of the CoarseNet's answer and its mirrored answer
    for the mirror image; mirror=False reads once, as the paper does."""
    import torch

    pytest.importorskip("onnxruntime") if backend == "onnx" else None
    a = drawing(200, 150, (30, 30, 120, 170))
    once = SketchFace.from_pretrained(tiny_bundle, mirror=False, backend=backend)
    both = SketchFace.from_pretrained(tiny_bundle, backend=backend)
    assert both.mirror and not once.mirror
    r1, r2 = once(a, kind="sketch", refine=False), both(a, kind="sketch", refine=False)
    assert r1.crop_box == r2.crop_box
    x = torch.from_numpy(np.ascontiguousarray(r1.image, np.float32))[None, None]
    net = once.coarse
    with torch.inference_mode():
        expect = (net.predict_depth(x, "sketch") + net.predict_depth(x.flip(-1), "sketch").flip(-1)) / 2
    np.testing.assert_allclose(r1.coarse, net.predict_depth(x, "sketch")[0, 0].numpy(), atol=2e-3)
    np.testing.assert_allclose(r2.coarse, expect[0, 0].numpy(), atol=2e-3)
    assert np.abs(r2.coarse - r1.coarse).max() > 1e-3
    # a drawing that is its own mirror image gets a coarse depth that is too
    sym = both(np.ascontiguousarray(np.concatenate([a[:, :75], a[:, :75][:, ::-1]], 1)), kind="sketch", refine=False)
    assert sym.crop_box[0] + sym.crop_box[2] == 150          # framed symmetrically
    np.testing.assert_allclose(sym.coarse, sym.coarse[:, ::-1], atol=1e-5)
