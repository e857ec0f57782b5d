"""The Mouth: how far a drawn mouth is open, read around FaceFit's lips (sketchface.nets.mouth, train-mouth)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sketchface.nets.config import ConfigError  # noqa: E402
from sketchface.nets.mouth import Mouth, MouthConfig, mouth_crop, mouth_frame  # noqa: E402


def _points(cx=64.0, cy=90.0, eye=40.0, angle_deg=0.0):
    """68 points with the eyes ``eye`` apart, turned by ``angle_deg``, and the lips around (cx, cy)."""
    p = np.zeros((68, 2))
    a = np.deg2rad(angle_deg)
    d = 0.5 * eye * np.array([np.cos(a), np.sin(a)])
    p[36:42], p[42:48] = np.array([cx, cy - 40]) - d, np.array([cx, cy - 40]) + d
    p[48:68] = [cx, cy]
    return p


def test_config_round_trip_and_refusals(tmp_path):
    from sketchface.nets import load_network

    net = Mouth(MouthConfig())
    net.save_pretrained(tmp_path / "m", dtype=torch.float16)
    again = load_network(tmp_path / "m")
    assert isinstance(again, Mouth) and again.config == net.config
    assert sum(p.numel() for p in net.parameters()) < 12_000          # it has to fit the committed checkpoints
    with pytest.raises(ConfigError):
        MouthConfig(side=30)
    with pytest.raises(ConfigError):
        MouthConfig(span=10.0)


def test_crop_is_centred_on_the_lips_and_turns_with_the_eyes():
    img = np.ones((128, 128), np.float32)
    img[88:93, 50:79] = 0.0                                 # a horizontal mouth line at (64, 90)
    cfg = MouthConfig()
    c, eye, ang = mouth_frame(_points())
    assert np.allclose(c, [64, 90]) and eye == pytest.approx(40) and ang == pytest.approx(0)
    x = mouth_crop(img, _points(), cfg)
    mid = cfg.side // 2
    assert x.shape == (cfg.side, cfg.side) and x[mid - 1:mid + 1, mid].max() < 0.3 and x[2, 2] == 1.0
    assert x[mid, :].mean() < x[:, mid].mean()              # the line runs across the crop
    # eyes turned by 90 degrees: the crop turns with them, so the same line now runs down it
    y = mouth_crop(img, _points(angle_deg=90.0), cfg)
    assert y[:, mid].mean() < y[mid, :].mean()
    # paper beyond the image is white
    assert mouth_crop(img, _points(cx=-200.0), cfg).min() == 1.0


def _mouth_model_file(tiny_model, path):
    """The tiny face model saved with its expression 5 named jawOpen, moving the lower lip down."""
    from sketchface.facemodel import save_face_model

    names = list(tiny_model.expression_names)
    names[5] = "jawOpen"
    deltas = tiny_model.expression_deltas.copy()
    deltas[5] = 0.0
    deltas[5, tiny_model.landmarks68[[56, 57, 58, 65, 66, 67]], 1] = -1.0
    return save_face_model(path, neutral=tiny_model.neutral, triangles=tiny_model.triangles,
                           identity_deltas=tiny_model.identity_deltas, expression_deltas=deltas,
                           expression_names=names, landmarks68=tiny_model.landmarks68,
                           face_vertex_count=tiny_model.face_vertex_count)


def _constant_mouth(value: float) -> Mouth:
    net = Mouth(MouthConfig())
    with torch.no_grad():
        net.net[-1].weight.zero_()
        net.net[-1].bias.fill_(float(np.log(value / (1 - value))) + 2.0)    # sigmoid(raw - 2) = value
    return net


def test_the_prior_opens_the_fitted_jaw_by_the_mouths_answer(tiny_model, tmp_path):
    from sketchface.facemodel import load_face_model
    from sketchface.nets.facefit import FaceFit, FaceFitConfig
    from sketchface.prior import FacePrior

    fm = load_face_model(_mouth_model_file(tiny_model, tmp_path / "fm.npz"))
    torch.manual_seed(0)
    ff = FaceFit(FaceFitConfig(image_size=64, widths=(4, 4, 4, 4, 4), head_channels=2, hidden=8, n_identity=4,
                               face_vertices=fm.neutral.shape[0]))
    img = np.ones((64, 64), np.float32)
    plain = FacePrior(ff, fm).fit(img)
    opened = FacePrior(ff, fm, mouth=_constant_mouth(0.4)).fit(img)
    assert opened.expression[5] == pytest.approx(0.4, abs=1e-3)
    np.testing.assert_array_equal(np.delete(opened.expression, 5), np.delete(plain.expression, 5))
    assert opened.scale == plain.scale and np.array_equal(opened.angles, plain.angles)   # the pose is FaceFit's
    # the crop is read around the fitted face's own lips, in the pixels of the image FaceFit read
    seen = []

    class Recorder(torch.nn.Module):
        def jaw_open(self, gray, points):
            seen.append((gray.shape, np.array(points)))
            return 0.25

    prior = FacePrior(ff, fm, mouth=Recorder())
    fit = prior.fit(img)
    xy, _ = fit.camera().project(prior.vertices(fit)[fm.landmarks68], 64)
    assert seen[0][0] == (64, 64) and np.abs(seen[0][1][:48] - xy[:48]).max() < 1e-3     # eyes, nose, brows, jaw
    assert fit.expression[5] == pytest.approx(0.25)
    # a face model without jawOpen keeps FaceFit's answer
    kept = FacePrior(ff, tiny_model, mouth=_constant_mouth(0.4)).fit(img)
    np.testing.assert_array_equal(kept.expression, FacePrior(ff, tiny_model).fit(img).expression)


def test_train_mouth_learns_from_a_world_that_opens_its_mouths(tiny_model, tmp_path):
    from sketchface.data.make_data import make_data
    from sketchface.errors import UserError
    from sketchface.nets import load_network
    from sketchface.train.mouth import train_mouth

    fm_path = _mouth_model_file(tiny_model, tmp_path / "fm.npz")
    make_data(tmp_path / "closed", 12, size=64, variants=1, workers=1, face_model=str(fm_path), progress=False,
              neutral_prob=1.0)
    with pytest.raises(UserError, match="open_mouth_prob"):
        train_mouth(tmp_path / "closed", tmp_path / "m0", steps=2, face_model=str(fm_path), n_test=0,
                    progress=False)
    make_data(tmp_path / "open", 24, size=64, variants=1, workers=1, face_model=str(fm_path), progress=False,
              open_mouth_prob=0.5)
    report = train_mouth(tmp_path / "open", tmp_path / "m", steps=5, batch=8, n_test=0, face_model=str(fm_path),
                         progress=False)
    assert report["steps"] == 5 and report["train faces"] > 0
    net = load_network(tmp_path / "m")
    assert isinstance(net, Mouth) and net.config == MouthConfig()
    assert json.loads((tmp_path / "m" / "training.json").read_text())["blank"] == 0.1


SHIPPED = __import__("pathlib").Path(__file__).resolve().parents[1] / "checkpoints" / "mouth"


@pytest.mark.skipif(not (SHIPPED / "config.json").is_file(), reason="needs the shipped mouth checkpoint")
def test_shipped_mouth_opens_for_a_drawn_open_mouth_and_not_for_a_line():
    """A mouth drawn as one line reads closed; drawn as two lips apart with teeth between, open; no mouth, closed."""
    import cv2

    from sketchface.nets import load_network

    net = load_network(SHIPPED).float()
    pts = _points(64, 90, 40)
    closed = np.ones((128, 128), np.float32)
    cv2.ellipse(closed, (64, 88), (14, 4), 0, 0, 180, 0.0, 1)                # a smiling line
    opened = np.ones((128, 128), np.float32)
    cv2.ellipse(opened, (64, 86), (15, 3), 0, 180, 360, 0.0, 1)              # upper lip
    cv2.ellipse(opened, (64, 86), (15, 11), 0, 0, 180, 0.0, 1)               # lower lip, far below
    cv2.line(opened, (50, 88), (78, 88), 0.0, 1)                             # the teeth's edge
    for x in range(53, 78, 5):
        cv2.line(opened, (x, 86), (x, 89), 0.0, 1)
    a, b = net.jaw_open(closed, pts), net.jaw_open(opened, pts)
    blank = net.jaw_open(np.ones((128, 128), np.float32), pts)
    assert b > a + 0.1 and b > 0.15, (a, b)
    assert a < 0.15 and blank < 0.15, (a, blank)


def test_fit_from_camera_inverts_fit_camera():
    from sketchface.data.realfits import camera_of
    from sketchface.prior import Fit

    fit = Fit(np.ones(4, np.float32), np.zeros(3, np.float32), np.array([5.0, -3.0, 2.0], np.float32), 0.08,
              np.array([0.1, -0.05], np.float32))
    back = Fit.from_camera(fit.identity, fit.expression, camera_of(fit))
    np.testing.assert_allclose(back.angles, fit.angles, atol=1e-5)
    np.testing.assert_allclose(back.shift, fit.shift, atol=1e-6)
    assert back.scale == pytest.approx(fit.scale)
