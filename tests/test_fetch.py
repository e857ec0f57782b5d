"""fetch-face-model: OBJ reading, conversion of a tiny fake ICT-FaceKit folder, clear errors, no network."""
from __future__ import annotations

import io
import json
import socket
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from sketchface import fetch
from sketchface.cli import main
from sketchface.errors import UserError
from sketchface.facemodel import FILENAME, load_face_model

LOCAL_NPZ = Path("/work/shared/data/ict_face_light/ict_face_light.npz")

# Tiny model: a 3x3 grid (vertices 0-8, four quads) is "face + head and neck" (face = 0-5, narrow = 0-3),
# and one extra quad (vertices 9-12, an "eye") must be dropped.
FACE, HEAD_NECK, NARROW = 6, 3, 4
KEEP = FACE + HEAD_NECK
EXPRESSIONS = ["smile_L", "jawOpen"]
N_ID = 3
LANDMARKS = [i % FACE for i in range(68)]
GRID_QUADS = [(0, 1, 4, 3), (1, 2, 5, 4), (3, 4, 7, 6), (4, 5, 8, 7)]
EYE_QUAD = (9, 10, 11, 12)


def neutral_vertices() -> np.ndarray:
    grid = np.array([(x, y, 0.1 * x * y) for y in range(3) for x in range(3)], np.float64)
    eye = np.array([(5, 5, 1), (6, 5, 1), (6, 6, 1), (5, 6, 1)], np.float64)
    return np.vstack([grid, eye])  # (13, 3)


def uv_of(v: np.ndarray) -> np.ndarray:
    return (v[:, :2] / 10.0 + 0.05).astype(np.float32)


def write_obj(path: Path, v: np.ndarray, faces: bool = True, style: str = "v/vt/vn") -> None:
    lines = ["# fake ICT-FaceKit OBJ", "mtllib ICTFaceModelMaterial.mtl"]
    lines += [f"v {a:.6f} {b:.6f} {c:.6f}" for a, b, c in v]
    if faces:
        lines += [f"vt {a:.6f} {b:.6f}" for a, b in uv_of(v)]
        lines += ["vn 0 0 1"]
        for q in GRID_QUADS + [EYE_QUAD]:
            if style == "v/vt/vn":
                corners = [f"{i + 1}/{i + 1}/1" for i in q]
            elif style == "v/vt":
                corners = [f"{i + 1}/{i + 1}" for i in q]
            else:  # negative (relative) indices
                corners = [f"{i - len(v)}/{i - len(v)}" for i in q]
            lines.append("f " + " ".join(corners))
    path.write_text("\n".join(lines) + "\n")


def identity_offset(i: int, n: int) -> np.ndarray:
    return np.linspace(0, 1, n * 3).reshape(n, 3) * (i + 1) * 0.25


def expression_offset(k: int, n: int) -> np.ndarray:
    off = np.zeros((n, 3))
    off[:, 2] = 0.5 * (k + 1)
    off[0, 1] = -0.3 * (k + 1)
    return off


@pytest.fixture()
def obj_dir(tmp_path: Path) -> Path:
    d = tmp_path / "repo" / "FaceXModel"
    d.mkdir(parents=True)
    v = neutral_vertices()
    write_obj(d / "generic_neutral_mesh.obj", v)
    for i in range(N_ID):
        write_obj(d / f"identity{i:03d}.obj", v + identity_offset(i, len(v)), faces=(i == 0))
    for k, name in enumerate(EXPRESSIONS):
        write_obj(d / f"{name}.obj", v + expression_offset(k, len(v)), style="negative")
    return d


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCHFACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fetch, "_sleep", lambda s: None)

    def no_network(*a, **k):  # any accidental network use fails the test loudly
        raise AssertionError("tests must not use the network")

    monkeypatch.setattr(fetch, "urlopen", no_network)


def convert(src, out, **kw):
    args = dict(n_identity=N_ID, expression_names=EXPRESSIONS, landmarks68=LANDMARKS, face_vertex_count=FACE,
                head_neck_vertex_count=HEAD_NECK, narrow_face_vertex_count=NARROW)
    args.update(kw)
    return fetch.convert_obj_dir(src, out, **args)


# ---------------------------------------------------------------------------------------------------- OBJ
@pytest.mark.parametrize("style", ["v/vt/vn", "v/vt", "negative"])
def test_read_obj_splits_quads_and_reads_uv(tmp_path, style):
    v = neutral_vertices()
    write_obj(tmp_path / "m.obj", v, style=style)
    m = fetch.read_obj(tmp_path / "m.obj")
    np.testing.assert_allclose(m.vertices, v, atol=1e-6)
    assert m.triangles.shape == (10, 3)
    # quad a b c d -> a b c, a c d
    np.testing.assert_array_equal(m.triangles[:2], [[0, 1, 4], [0, 4, 3]])
    np.testing.assert_array_equal(m.triangles_uv, m.triangles)
    np.testing.assert_allclose(m.uv, uv_of(v), atol=1e-6)


def test_read_obj_without_uv_and_ngon(tmp_path):
    (tmp_path / "p.obj").write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv -1 1 0\nf 1//1 2//1 3//1 4//1 5//1\n")
    m = fetch.read_obj(tmp_path / "p.obj")
    assert m.triangles_uv is None
    np.testing.assert_array_equal(m.triangles, [[0, 1, 2], [0, 2, 3], [0, 3, 4]])


def test_read_obj_bad_index_names_file(tmp_path):
    (tmp_path / "bad.obj").write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nf 1 2 9\n")
    with pytest.raises(UserError, match="bad.obj"):
        fetch.read_obj(tmp_path / "bad.obj")


# --------------------------------------------------------------------------------------------- convert
def test_convert_from_dir(obj_dir, tmp_path):
    path = convert(obj_dir.parent, tmp_path / "out")  # the repository root: FaceXModel/ is found
    assert path == tmp_path / "out" / FILENAME and path.is_file()
    model = load_face_model(path)
    v = neutral_vertices()
    np.testing.assert_allclose(model.neutral, v[:KEEP], atol=1e-6)
    # 4 quads -> 8 triangles; the eye quad (vertices >= KEEP) is gone
    assert model.triangles.shape == (8, 3) and model.triangles.max() < KEEP
    np.testing.assert_array_equal(model.triangles[:2], [[0, 1, 4], [0, 4, 3]])
    assert model.identity_deltas.shape == (N_ID, KEEP, 3)
    for i in range(N_ID):
        np.testing.assert_allclose(model.identity_deltas[i], identity_offset(i, len(v))[:KEEP], atol=2e-3)
    for k in range(len(EXPRESSIONS)):
        np.testing.assert_allclose(model.expression_deltas[k], expression_offset(k, len(v))[:KEEP], atol=2e-3)
    assert model.expression_names == tuple(EXPRESSIONS)
    np.testing.assert_array_equal(model.landmarks68, LANDMARKS)
    assert model.face_vertex_count == FACE
    with np.load(path) as data:
        assert int(data["narrow_face_vertex_count"]) == NARROW
        uv, tuv = data["uv"], data["triangles_uv"]
        assert tuv.shape == (8, 3)
        # each corner's uv is the one written for that vertex
        np.testing.assert_allclose(uv[tuv], uv_of(v)[model.triangles], atol=1e-6)
    lic = (tmp_path / "out" / fetch.LICENSE_FILENAME).read_text()
    assert "USC Institute for Creative Technologies" in lic and "Permission is hereby granted" in lic
    src = json.loads((tmp_path / "out" / fetch.SOURCE_FILENAME).read_text())
    assert src["vertices"] == KEEP and len(src["files"]) == 1 + N_ID + len(EXPRESSIONS)
    assert all(len(f["sha256"]) == 64 for f in src["files"].values())
    # the face model's own helper agrees with the vertex ranges
    assert model.face_triangles.max() < FACE


def test_convert_uses_license_file_found_beside_objs(obj_dir, tmp_path):
    (obj_dir.parent / "LICENSE").write_text("MIT License\n\nCopyright (c) 2020 Someone\n\n"
                                            "Permission is hereby granted, free of charge ...\n")
    convert(obj_dir, tmp_path / "o2" / "model.npz")
    assert (tmp_path / "o2" / "model.npz").is_file()
    assert "Someone" in (tmp_path / "o2" / fetch.LICENSE_FILENAME).read_text()


def test_cli_from_dir_writes_to_cache(obj_dir, tmp_path, capsys):
    rc = main(["fetch-face-model", "--from-dir", str(obj_dir), "--no-progress",
               "--identities", str(N_ID), "--expressions", ",".join(EXPRESSIONS),
               "--landmarks", ",".join(map(str, LANDMARKS)), "--face-vertices", str(FACE),
               "--head-neck-vertices", str(HEAD_NECK), "--narrow-face-vertices", str(NARROW)])
    assert rc == 0
    out = tmp_path / "cache" / FILENAME  # SKETCHFACE_CACHE
    assert out.is_file() and (tmp_path / "cache" / fetch.LICENSE_FILENAME).is_file()
    assert "wrote" in capsys.readouterr().out
    assert load_face_model(out).identity_deltas.shape == (N_ID, KEEP, 3)


def test_missing_obj_gives_clear_error(obj_dir, tmp_path, capsys):
    (obj_dir / "identity001.obj").unlink()
    with pytest.raises(UserError, match="identity001.obj"):
        convert(obj_dir, tmp_path / "out")
    rc = main(["fetch-face-model", "--from-dir", str(obj_dir), "--out", str(tmp_path / "out"), "--no-progress",
               "--identities", str(N_ID), "--expressions", ",".join(EXPRESSIONS),
               "--landmarks", ",".join(map(str, LANDMARKS)), "--face-vertices", str(FACE),
               "--head-neck-vertices", str(HEAD_NECK), "--narrow-face-vertices", str(NARROW)])
    err = capsys.readouterr().err
    assert rc == 2 and "identity001.obj" in err and err.count("\n") == 1
    assert not (tmp_path / "out" / FILENAME).exists()


def test_mismatched_vertex_count_gives_clear_error(obj_dir, tmp_path):
    v = neutral_vertices()
    write_obj(obj_dir / "jawOpen.obj", v[:-1], faces=False)
    with pytest.raises(UserError, match=r"jawOpen\.obj has 12 vertices but generic_neutral_mesh\.obj has 13"):
        convert(obj_dir, tmp_path / "out")


def test_full_vertex_count_check(obj_dir, tmp_path):
    with pytest.raises(UserError, match="26719"):
        convert(obj_dir, tmp_path / "out", expected_vertex_count=fetch.FULL_VERTEX_COUNT)


def test_bad_landmarks_and_ranges(obj_dir, tmp_path):
    with pytest.raises(UserError, match="68"):
        convert(obj_dir, tmp_path / "out", landmarks68=[0, 1, 2])
    with pytest.raises(UserError, match="face area"):
        convert(obj_dir, tmp_path / "out", landmarks68=[FACE] * 68)
    with pytest.raises(UserError, match="vertex ranges"):
        convert(obj_dir, tmp_path / "out", narrow_face_vertex_count=FACE + 1)


def test_not_a_folder(tmp_path):
    with pytest.raises(UserError, match="not a folder"):
        convert(tmp_path / "nope", tmp_path / "out")


# -------------------------------------------------------------------------------------------- download
def test_urls_pin_the_revision():
    names = fetch.model_file_names()
    assert len(names) == 1 + 100 + 53 and names[0] == "generic_neutral_mesh.obj"
    assert names[1] == "identity000.obj" and names[100] == "identity099.obj" and names[-1] == "noseSneer_R.obj"
    url = fetch.raw_url("FaceXModel/identity000.obj")
    assert url == ("https://raw.githubusercontent.com/ICT-VGL/ICT-FaceKit/"
                   "da5f95a607f5e6b37755b38d3385d7f2853732e5/FaceXModel/identity000.obj")


def test_offline_gives_one_sentence_error(tmp_path, monkeypatch, capsys):
    calls = []

    def offline(req, timeout=None):
        calls.append(req.full_url)
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(fetch, "urlopen", offline)
    with pytest.raises(UserError) as info:
        fetch.fetch_face_model(tmp_path / "out", download_dir=tmp_path / "dl", progress=False)
    msg = str(info.value)
    assert "unreachable" in msg and "--from-dir" in msg and "\n" not in msg
    assert calls and calls[0].startswith("https://raw.githubusercontent.com/ICT-VGL/ICT-FaceKit/da5f95a6")
    rc = main(["fetch-face-model", "--no-progress", "--download-dir", str(tmp_path / "dl")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: Cannot download the ICT face model") and err.count("\n") == 1


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes, length: int | None = None):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data) if length is None else length)}


def test_download_retries_then_succeeds(tmp_path, monkeypatch):
    attempts = []

    def flaky(req, timeout=None):
        attempts.append(timeout)
        if len(attempts) == 1:
            raise urllib.error.URLError(ConnectionResetError("reset"))
        if len(attempts) == 2:
            return FakeResponse(b"v 1 2 3\n", length=100)  # truncated
        return FakeResponse(b"v 1 2 3\n")

    monkeypatch.setattr(fetch, "urlopen", flaky)
    info = fetch.download_file("https://example.invalid/x.obj", tmp_path / "x.obj", timeout=7, retries=3,
                               progress=False)
    assert attempts == [7, 7, 7]
    assert (tmp_path / "x.obj").read_bytes() == b"v 1 2 3\n" and info["bytes"] == 8 and len(info["sha256"]) == 64
    assert not (tmp_path / "x.obj.part").exists()


def test_download_404_is_not_retried(tmp_path, monkeypatch):
    attempts = []

    def missing(req, timeout=None):
        attempts.append(1)
        raise urllib.error.HTTPError(req.full_url, 404, "Not Found", {}, None)

    monkeypatch.setattr(fetch, "urlopen", missing)
    with pytest.raises(UserError, match="HTTP 404"):
        fetch.download_file("https://example.invalid/x.obj", tmp_path / "x.obj", progress=False)
    assert len(attempts) == 1


def test_downloaded_obj_sanity(tmp_path):
    f = tmp_path / "identity000.obj"
    f.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(UserError, match="does not look like"):
        fetch._check_downloaded_obj(f)
    f.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n")
    with pytest.raises(UserError, match="LFS"):
        fetch._check_downloaded_obj(f)


# ------------------------------------------------------------------------------ constants vs local copy
@pytest.mark.skipif(not LOCAL_NPZ.is_file(), reason="local compact copy of the face model not present")
def test_constants_match_local_compact_copy():
    with np.load(LOCAL_NPZ) as d:
        assert list(d["landmarks68"]) == list(fetch.LANDMARKS68)
        assert [str(s) for s in d["expression_names"]] == list(fetch.EXPRESSION_NAMES)
        assert int(d["face_vertex_count"]) == fetch.FACE_VERTEX_COUNT
        assert int(d["narrow_face_vertex_count"]) == fetch.NARROW_FACE_VERTEX_COUNT
        assert d["neutral"].shape[0] == fetch.FACE_VERTEX_COUNT + fetch.HEAD_NECK_VERTEX_COUNT
        assert d["identity_deltas"].shape[0] == fetch.N_IDENTITY
        # every source polygon of face + head and neck is a quad: two triangles each
        t = d["triangles"]
        assert len(t) % 2 == 0 and (t[0::2, 0] == t[1::2, 0]).all() and (t[0::2, 2] == t[1::2, 1]).all()
