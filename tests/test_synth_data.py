import json

import numpy as np
import pytest

from sketchface.cli import main
from sketchface.errors import UserError
from sketchface.data.make_data import is_test_identity, make_data
from sketchface.data.synthetic import SyntheticOnTheFly, SyntheticShards


def test_face_model_missing_gives_one_clear_sentence(tmp_path, monkeypatch):
    from sketchface.facemodel import load_face_model
    monkeypatch.setenv("SKETCHFACE_FACE_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="fetch-face-model"):
        load_face_model()
    assert main(["make-data", "--out", str(tmp_path / "d"), "--n", "2"]) == 2


def test_split_by_identity_is_disjoint_and_sized():
    test = [i for i in range(1000) if is_test_identity(i, 0.2)]
    assert len(test) == 200


@pytest.fixture(scope="module")
def shards(tmp_path_factory, tiny_model_path):
    out = tmp_path_factory.mktemp("data")
    meta = make_data(out, n=24, size=64, variants=3, seed=5, workers=1, bases_per_shard=3,
                     face_model=str(tiny_model_path), progress=False)
    return out, meta


def test_make_data_writes_split_by_identity(shards):
    out, meta = shards
    assert meta["n_samples"] == 24
    train, test = set(meta["identities"]["train"]), set(meta["identities"]["test"])
    assert train and test and not (train & test)
    ids_train = {int(s["identity"]) for s in SyntheticShards(out, "train", to_tensor=False)}
    ids_test = {int(s["identity"]) for s in SyntheticShards(out, "test", to_tensor=False)}
    assert ids_train == train and ids_test == test


def test_samples_have_every_modality_in_range(shards):
    out, _ = shards
    ds = SyntheticShards(out, "train")
    s = ds[0]
    assert s["photo"].shape == (3, 64, 64)
    for k in ("sketch_pencil", "sketch_lines", "lines", "depth", "depth_coarse_gt", "mask"):
        assert s[k].shape == (1, 64, 64), k
        assert 0 <= float(s[k].min()) and float(s[k].max()) <= 1, k
    assert s["normals"].shape == (3, 64, 64) and s["landmarks"].shape == (68, 2)
    m = s["mask"][0] > 0
    assert (s["depth"][0][m] > 0).all() and (s["depth"][0][~m] == 0).all()
    assert float(s["sketch_lines"].min()) < 0.2  # strokes were drawn
    params = [json.loads(l) for l in (out / ds.shards[0] / "params.jsonl").read_text().splitlines()]
    assert len(params[0]["identity"]) == 100 and "camera" in params[0]


def test_variants_share_the_base_face_but_differ_in_detail(shards):
    out, _ = shards
    ds = SyntheticShards(out, "train", to_tensor=False)
    a, b, c = ds[0], ds[1], ds[2]
    assert np.array_equal(a["depth_coarse_gt"], b["depth_coarse_gt"])
    assert a["identity"] == b["identity"] == c["identity"]
    assert np.abs(a["depth"] - a["depth_coarse_gt"]).max() < 1e-6     # variant 0 has no detail layer
    assert max(np.abs(x["depth"] - x["depth_coarse_gt"]).max() for x in (b, c)) > 1e-4


def test_same_seed_same_bytes(shards, tmp_path, tiny_model_path):
    out, _ = shards
    make_data(tmp_path, n=24, size=64, variants=3, seed=5, workers=1, bases_per_shard=3,
              face_model=str(tiny_model_path), progress=False)
    for key in ("photo", "sketch_pencil", "depth"):
        a = np.load(out / "train-00000" / f"{key}.npy")
        b = np.load(tmp_path / "train-00000" / f"{key}.npy")
        assert np.array_equal(a, b), key


def test_worker_processes_write_the_same_bytes_with_one_thread_each(shards, tmp_path, tiny_model_path):
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing as mp

    from sketchface.data.make_data import one_thread

    out, _ = shards
    make_data(tmp_path, n=24, size=64, variants=3, seed=5, workers=2, bases_per_shard=3,
              face_model=str(tiny_model_path), progress=False)
    for key in ("photo", "sketch_pencil", "depth"):
        for shard in ("train-00000", "test-00000"):
            assert np.array_equal(np.load(out / shard / f"{key}.npy"), np.load(tmp_path / shard / f"{key}.npy"))
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=one_thread) as pool:
        assert pool.submit(_blas_threads).result() == 1


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max(p["num_threads"] for p in threadpool_info())


def test_on_the_fly_matches_shards(shards, tiny_model_path):
    out, meta = shards
    disk = SyntheticShards(out, "train", to_tensor=False)
    fly = SyntheticOnTheFly(6, "train", size=64, variants=3, seed=5, face_model=str(tiny_model_path),
                            to_tensor=False)
    assert np.allclose(fly[4]["depth"], disk[4]["depth"], atol=2e-5)
    assert np.allclose(fly[4]["sketch_pencil"], disk[4]["sketch_pencil"], atol=1 / 255 + 1e-6)


def test_preview_writes_a_contact_sheet(shards, tmp_path):
    from PIL import Image
    out, _ = shards
    p = tmp_path / "sheet.png"
    assert main(["preview-data", str(out), "--out", str(p), "--n", "3"]) == 0
    im = Image.open(p)
    assert im.width == 6 * 160 and im.height > 3 * 160


def test_cli_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for cmd in ("make-data", "preview-data"):
        assert cmd in text


def _mouth_model(tiny_model):
    """The tiny face model with three of its expressions named as the mouth options of the world look them up, and
    jawOpen moving the lower lip's landmarks (and nothing else) 1 cm down at weight 1."""
    import dataclasses

    names = list(tiny_model.expression_names)
    names[5], names[6], names[7] = "jawOpen", "mouthSmile_L", "mouthSmile_R"
    deltas = tiny_model.expression_deltas.copy()
    deltas[5] = 0.0
    deltas[5, tiny_model.landmarks68[[56, 57, 58, 65, 66, 67]], 1] = -1.0
    return dataclasses.replace(tiny_model, expression_names=tuple(names), expression_deltas=deltas)


def test_world_opens_mouths_and_smiles_with_the_chances_it_is_given(tiny_model):
    from sketchface.synth.sample import WorldConfig, sample_params

    fm = _mouth_model(tiny_model)
    ident = np.zeros(fm.n_identity, np.float32)
    cfg = WorldConfig(neutral_prob=1.0, open_mouth_prob=0.25, smile_prob=0.5)
    rng = np.random.default_rng(0)
    e = np.stack([sample_params(fm, ident, rng, cfg).expression for _ in range(800)])
    jaw, left, right = e[:, 5], e[:, 6], e[:, 7]
    assert 0.2 < (jaw > 0).mean() < 0.3 and jaw[jaw > 0].min() >= 0.1 and jaw.max() <= 0.7
    assert 0.44 < (left > 0).mean() < 0.56 and np.array_equal(left, right)     # a smile is symmetric
    assert np.count_nonzero(np.delete(e, [5, 6, 7], 1)) == 0                   # neutral otherwise


def test_world_without_mouth_options_draws_what_it_drew_before(tiny_model, monkeypatch):
    """With both chances 0 (the default) the mouth step draws nothing: the same faces and the same random stream as a
    sampler without that step, so worlds made before the options existed come out the same."""
    import sketchface.synth.sample as sample

    fm = _mouth_model(tiny_model)
    ident = np.zeros(fm.n_identity, np.float32)
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    a = [sample.sample_params(fm, ident, rng_a, sample.WorldConfig()) for _ in range(20)]
    monkeypatch.setattr(sample, "_mouth", lambda *args: None)
    b = [sample.sample_params(fm, ident, rng_b, sample.WorldConfig()) for _ in range(20)]
    assert all(np.array_equal(x.expression, y.expression) and x.camera == y.camera for x, y in zip(a, b))
    assert rng_a.bit_generator.state == rng_b.bit_generator.state


def test_jaw_for_gap_opens_the_face_model_as_far_as_the_lips_are_apart(tiny_model):
    from sketchface.data.realfits import ICT_EYES, ICT_LIPS, jaw_for_gap, lip_gap

    fm = _mouth_model(tiny_model)
    ident = np.zeros(fm.n_identity, np.float32)
    closed = lip_gap(fm.vertices(ident)[fm.landmarks68], ICT_LIPS, ICT_EYES)
    for want in (closed, closed + 0.05, closed + 0.12):           # at most 1 cm over 6.4 cm between the eyes
        e = jaw_for_gap(fm, ident, np.zeros(fm.n_expression, np.float32), want)
        got = lip_gap(fm.vertices(ident, e)[fm.landmarks68], ICT_LIPS, ICT_EYES)
        assert abs(got - want) < 0.01, (want, got, e[5])
    assert jaw_for_gap(fm, ident, np.zeros(fm.n_expression, np.float32), closed + 0.12)[5] > 0.6
    # FaceMesh's indices: lips 13 / 14 two units apart, eye centres ten apart
    pts = np.zeros((468, 3))
    pts[[33, 133], 0], pts[[362, 263], 0], pts[14, 1] = -5.0, 5.0, 2.0
    assert lip_gap(pts) == pytest.approx(0.2)
