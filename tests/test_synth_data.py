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
