"""Real photo–sketch pairs for the CycleGAN (prepare-real-pairs), its real-sketch domain, the style gap measure.

A tiny stand-in for ../shared/data/realsketch/train is drawn here: no real image is needed."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from sketchface.errors import UserError
from sketchface.webapp.strokes import draw_strokes, face_strokes


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory):
    """Two groups of pairs, FS2K-style names in one (sketch1_sketch0007 with photo1_image0007)."""
    root = tmp_path_factory.mktemp("realsketch_train")
    rng = np.random.default_rng(0)
    sketch = draw_strokes(face_strokes(), 200, 2)
    for group, names in (("cufs", [("a_01.png", "a_01.png"), ("a_02.png", "a_02.png")]),
                         ("fs2k", [(f"sketch1_sketch{i:04d}.png", f"photo1_image{i:04d}.png") for i in range(7, 17)])):
        (root / group / "sketches").mkdir(parents=True)
        (root / group / "photos").mkdir(parents=True)
        for s_name, p_name in names:
            Image.fromarray(sketch).save(root / group / "sketches" / s_name)
            photo = np.full((200, 160, 3), (70, 110, 160), np.uint8)          # a skin-coloured oval on blue
            yy, xx = np.mgrid[0:200, 0:160]
            photo[((yy - 100) / 60.0) ** 2 + ((xx - 80) / 45.0) ** 2 < 1] = (220, 170, 140)
            photo = np.clip(photo + rng.integers(-8, 8, photo.shape), 0, 255).astype(np.uint8)
            Image.fromarray(photo).save(root / group / "photos" / p_name)
    (root / "fs2k" / "sketches" / "sketch1_sketch0099.png").write_bytes(
        (root / "fs2k" / "sketches" / "sketch1_sketch0007.png").read_bytes())        # no photo: left out
    return root


@pytest.fixture(scope="module")
def pairs(real_folder, tiny_bundle, tmp_path_factory):
    from sketchface.data.realpairs import prepare_real_pairs

    out = tmp_path_factory.mktemp("pairs")
    meta = prepare_real_pairs(real_folder, out, tiny_bundle, progress=False)
    return out, meta


def test_pairs_are_joined_framed_and_split(pairs):
    from sketchface.data.realpairs import load_real_pairs

    out, meta = pairs
    assert meta["pairs"] == 12 and meta["per_group"] == {"cufs": 2, "fs2k": 10} and meta["val"] == 1
    assert "licence" in meta and json.loads((out / "meta.json").read_text())["size"] == 32
    train, val = load_real_pairs(out, "train"), load_real_pairs(out, "val")
    assert len(train["sketch"]) == 11 and len(val["sketch"]) == 1 and val["group"][0] == "fs2k"
    assert train["sketch"].shape[1:] == (32, 32) and train["photo"].shape[1:] == (32, 32, 3)
    assert train["sketch"].dtype == np.uint8 and train["sketch"].min() < 128 < train["sketch"].max()  # strokes


def test_missing_pairs_say_what_to_run(tmp_path):
    from sketchface.data.realpairs import list_pairs, load_real_pairs

    with pytest.raises(UserError, match="prepare-real-pairs"):
        load_real_pairs(tmp_path)
    with pytest.raises(UserError, match="no photo–sketch pairs"):
        list_pairs(tmp_path)
    with pytest.raises(UserError, match="is not a folder"):      # a mistyped --real: one sentence, no traceback
        list_pairs(tmp_path / "nowhere")


def test_real_sketch_domains_mix_real_and_rendered_photos(pairs):
    import torch

    from sketchface.data.realpairs import RealSketchDomains

    rendered = [{"photo": torch.zeros(3, 32, 32)} for _ in range(20)]      # stand-in renders: all black
    for share, want in ((0.0, 0), (1.0, 20)):
        d = RealSketchDomains(rendered, pairs[0], real_photo_share=share)
        items = [d[i] for i in range(len(d))]
        assert sum(float(x["photo"].max()) > 0 for x in items) == want
        assert all(x["sketch_real"].shape == (1, 32, 32) for x in items)
    d = RealSketchDomains(rendered, pairs[0], real_photo_share=0.5, seed=3)
    assert torch.equal(d[5]["photo"], d[5]["photo"]) and 0 < sum(float(d[i]["photo"].max()) > 0 for i in range(20)) < 20


def test_cyclegan_trains_on_real_sketches(pairs, tiny_model_path, tmp_path):
    from sketchface.data.make_data import make_data
    from sketchface.train.config import load_config
    from sketchface.train.loop import Trainer
    from sketchface.train.stages import get_stage

    data = tmp_path / "data"
    make_data(data, n=8, size=32, variants=1, seed=1, workers=1, face_model=str(tiny_model_path), progress=False)
    cfg = load_config(None, [f"data={data}", f"out={tmp_path / 'run'}", f"real_pairs={pairs[0]}", "steps=2",
                             "net={image_size: 32, ngf: 4, ndf: 4, n_blocks: 1}", "log_every=1", "threads=1"],
                      stage="cyclegan")
    t = Trainer(get_stage("cyclegan"), cfg, progress=False)
    assert type(t.dataset).__name__ == "RealSketchDomains"
    assert {"g", "d"} <= set(t.fit()) and (tmp_path / "run" / "final" / "model.safetensors").is_file()


def test_style_gap_tells_styles_apart(tmp_path):
    from sketchface.style_gap import measure_gap

    rng = np.random.default_rng(0)

    def drawings(n, dark):                   # white pages with blobs of ink, light (real) or heavy (a style)
        a = np.full((n, 32, 32), 255, np.uint8)
        for x in a:
            for _ in range(6):
                y, z = rng.integers(4, 28, 2)
                x[y - 2:y + 2, z - 2:z + 2] = dark
        return a

    far = measure_gap(drawings(60, 200), drawings(20, 200), drawings(60, 0), drawings(20, 0), steps=60)
    same = measure_gap(drawings(60, 120), drawings(20, 120), drawings(60, 120), drawings(20, 120), steps=60)
    assert far > 0.9 and same < 0.8
