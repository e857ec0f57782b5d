"""The face locator: what it is shown, how its answer moves the framing, training it and the pipeline using it."""
import json

import numpy as np
import pytest
import torch

from sketchface.framing import Framing, refine_framing
from sketchface.nets import load_network
from sketchface.nets.locator import FaceLocator, LocatorConfig, crop_views
from test_framing_mesh import drawing


def test_crop_views_shows_the_asked_square():
    d = torch.ones(1, 1, 64, 64)
    d[0, 0, 16:48, 16:48] = 0.0                               # a black square in the middle half
    same = crop_views(d, torch.zeros(1, 3), 64)
    torch.testing.assert_close(same, d, atol=1e-5, rtol=0)     # log s 0, centre 0: the frame itself
    zoom = crop_views(d, torch.tensor([[np.log(0.5), 0.0, 0.0]]), 64)
    assert zoom.mean() < 0.03 and zoom[0, 0, 2:-2, 2:-2].max() == 0    # half the frame, centred: black
    out = crop_views(d, torch.tensor([[np.log(2.0), 0.0, 0.0]]), 64)
    assert out[0, 0, 0, 0] == 1.0 and out[0, 0, 32, 32] == 0.0 and 0.9 < out.mean() < 0.95   # paper around it


class Fixed(torch.nn.Module):
    """Stands in for a trained locator: always gives the same answer."""

    def __init__(self, answer, view=16):
        super().__init__()
        self.answer = torch.tensor([answer], dtype=torch.float32)
        self.config = LocatorConfig(view=view)
        self.device = torch.device("cpu")

    def forward(self, x):
        assert x.shape == (1, 1, self.config.view, self.config.view)
        return self.answer

    locate = forward


def test_refine_framing_inverts_the_square_the_locator_names():
    gray = np.ones((200, 200, 3), np.float32)
    start = Framing((40, 40, 140, 140), (0, 0, 1, 1), "ink")
    # "this crop shows the training frame's square centred at (0.2, -0.1), half-side 0.5": the frame is twice
    # the crop, centred at -c / s in crop units
    out = refine_framing(gray, start, Fixed([np.log(0.5), 0.2, -0.1]), rounds=1)
    assert out.method == "ink+locator"
    x0, y0, x1, y1 = out.crop_box
    assert x1 - x0 == y1 - y0 == 200
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((90 - 50 * 0.4, 90 + 50 * 0.2), abs=1)
    same = refine_framing(gray, start, Fixed([0.0, 0.0, 0.0]), rounds=3)
    assert same.crop_box == start.crop_box


def test_train_locator_writes_a_checkpoint_the_pipeline_uses(tmp_path, tiny_model_path, tiny_bundle, capsys):
    import shutil

    from sketchface import SketchFace
    from sketchface.cli import main
    from sketchface.data.make_data import make_data

    data = tmp_path / "data"
    make_data(data, n=16, size=32, variants=2, seed=1, workers=1, bases_per_shard=4,
              face_model=str(tiny_model_path), progress=False)
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    assert main(["train-locator", "--data", str(data), "--out", str(bundle / "locator"), "--steps", "3",
                 "--no-progress"]) == 0
    assert "mean |error|" in capsys.readouterr().out
    net = load_network(bundle / "locator")
    assert isinstance(net, FaceLocator)
    assert json.loads((bundle / "locator" / "config.json").read_text())["kind"] == "locator"
    assert net(torch.ones(2, 1, net.config.view, net.config.view)).shape == (2, 3)
    with_loc = SketchFace.from_pretrained(bundle)            # pipeline.json does not name it: the default folder
    without = SketchFace.from_pretrained(tiny_bundle)
    assert with_loc.locator is not None and without.locator is None
    a = drawing()
    r = with_loc(a)
    assert r.framing_method == "ink+locator" and without(a).framing_method == "ink"
    assert with_loc(np.full((40, 40, 3), (0.8, 0.5, 0.4), np.float32), kind="photo").framing_method != "ink+locator"


def test_every_model_of_the_app_frames_with_the_locator(tiny_bundle, tmp_path):
    import shutil

    pytest.importorskip("gradio")
    from sketchface.webapp.models import ModelBank

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    FaceLocator(LocatorConfig(view=16, width=4, n_layers=2)).save_pretrained(bundle / "locator")
    bank = ModelBank.load(bundle, device="cpu")
    assert len(bank.pipelines) >= 2
    assert all(isinstance(sf.locator, FaceLocator) for sf in bank.pipelines.values())


def test_coordinate_channels_and_flat_head_see_where_the_ink_is():
    """A mean-pooled locator answers the same for a blot and the blot moved by a multiple of its strides (its
    features move with it); coordinate channels or the flat head tell the two apart."""
    torch.manual_seed(0)
    left, right = torch.ones(1, 1, 32, 32), torch.ones(1, 1, 32, 32)
    left[..., 12:20, 10:14] = 0.0
    right[..., 12:20, 14:18] = 0.0                        # 4 px = two stride-2 layers further right
    for extra, differs in (({}, False), ({"head": "flat"}, True), ({"coords": True}, True)):
        net = FaceLocator(LocatorConfig(view=32, width=4, n_layers=2, **extra)).eval()
        with torch.no_grad():
            a, b = net(left), net(right)
        assert (not torch.allclose(a, b, atol=1e-6)) == differs, extra
    assert LocatorConfig(view=96, n_layers=5).cells == 3
    with pytest.raises(ValueError, match="head"):
        LocatorConfig(head="max")


def test_near_share_draws_squares_close_to_the_frame():
    from sketchface.train.locator import NEAR, sample_params

    g = torch.Generator().manual_seed(0)
    wide, near = sample_params(4000, g), sample_params(4000, g, near=1.0)
    assert near[:, 0].abs().max() <= np.log(NEAR[0]) + 1e-6 and near[:, 1:].abs().max() <= NEAR[1]
    assert wide[:, 1:].abs().max() > 0.2
    half = sample_params(4000, g, near=0.5)
    assert 0.4 < (half[:, 1:].abs().max(1).values <= NEAR[1]).float().mean() < 0.65


def test_train_locator_refuses_a_bad_setting_in_one_sentence(tmp_path, capsys):
    from sketchface.cli import main

    assert main(["train-locator", "--data", str(tmp_path), "--out", str(tmp_path / "l"), "--set", "bogus=1"]) == 2
    assert "unknown key 'bogus'" in capsys.readouterr().err
    assert main(["train-locator", "--data", str(tmp_path), "--out", str(tmp_path / "l"), "--set", "view"]) == 2


def test_widen_makes_the_last_crop_wider_about_its_centre():
    gray = np.ones((200, 200, 3), np.float32)
    start = Framing((40, 40, 140, 140), (0, 0, 1, 1), "ink")
    loc = Fixed([0.0, 0.0, 0.0])
    loc.config = LocatorConfig(view=16, widen=0.1)
    x0, y0, x1, y1 = refine_framing(gray, start, loc, rounds=2).crop_box
    assert (x1 - x0, y1 - y0) == (110, 110) and ((x0 + x1) / 2, (y0 + y1) / 2) == (90, 90)
    with pytest.raises(ValueError, match="widen"):
        LocatorConfig(widen=1.5)


def test_mirror_averages_the_answer_for_the_mirrored_view():
    torch.manual_seed(0)
    net = FaceLocator(LocatorConfig(view=32, width=4, n_layers=2)).eval()
    both = FaceLocator(LocatorConfig(view=32, width=4, n_layers=2, mirror=True)).eval()
    both.load_state_dict(net.state_dict())
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        a, b, m = net.locate(x), both.locate(x), net(x.flip(-1))
    torch.testing.assert_close(a, net(x))
    torch.testing.assert_close(b, (a + m * torch.tensor([1.0, -1.0, 1.0])) / 2)
    with torch.no_grad():                       # a mirrored drawing gets the mirrored answer
        torch.testing.assert_close(both.locate(x.flip(-1)), b * torch.tensor([1.0, -1.0, 1.0]))


def test_the_locator_config_sets_the_rounds():
    calls = []

    class Counting(Fixed):
        def forward(self, x):
            calls.append(1)
            return super().forward(x)

        locate = forward

    loc = Counting([0.0, 0.0, 0.0])
    loc.config = LocatorConfig(view=16, rounds=3)
    refine_framing(np.ones((64, 64, 3), np.float32), Framing((8, 8, 56, 56), (0, 0, 1, 1), "ink"), loc)
    assert len(calls) == 3
    refine_framing(np.ones((64, 64, 3), np.float32), Framing((8, 8, 56, 56), (0, 0, 1, 1), "ink"), loc, rounds=1)
    assert len(calls) == 4


def test_crop_squares_fills_outside_by_kind():
    from sketchface.nets.locator import crop_squares

    x = torch.full((1, 3, 16, 16), 0.5)
    x[..., :, -1] = 0.9                                               # a bright right edge
    wide = torch.tensor([[np.log(2.0), 0.0, 0.0]])
    assert crop_squares(x, wide, 16, "white")[..., 0, 0].min() > 0.99
    assert crop_squares(x, wide, 16, "zeros")[..., 0, 0].max() < 0.01
    border = crop_squares(x, wide, 16, "border")
    assert torch.allclose(border[..., 8, -1], torch.full((1, 3), 0.9), atol=1e-5)   # the edge repeated
    with pytest.raises(ValueError, match="fill"):
        crop_squares(x, wide, 16, "reflect")
