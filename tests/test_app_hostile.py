"""The hostile-input corpus uploaded to the running app through gradio_client, as an API user (or a browser)
would: every case that can be a file gives one clear sentence or a face, the 26 MB file is refused by the
upload limit, the server keeps serving, and nothing is written in the repository.

Cases that are not files (ints, dicts, lists) are covered through the Python API by test_hostile_inputs.py.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from hostile_corpus import corpus  # noqa: E402
from sketchface.framing import MAX_BYTES  # noqa: E402
from sketchface.webapp.strokes import draw_strokes, face_strokes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DP = "DP-CoarseNet + FineNet"
XDOG = (0.8, 1.6, 0.98, 0.0, 200.0)
# not compared: caches, the virtual environment, git's own files, and runs/ (written by training jobs that may
# be running beside the tests)
NOT_COMPARED = {".pytest_cache", "__pycache__", ".hypothesis", ".git", ".venv", "runs"}


def repo_snapshot() -> dict[str, tuple[int, int]]:
    """{relative path: (size, mtime_ns)} of every file of the repository tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in NOT_COMPARED]
        for f in filenames:
            p = os.path.join(dirpath, f)
            try:
                st = os.stat(p, follow_symlinks=False)
            except OSError:
                continue
            out[os.path.relpath(p, ROOT)] = (st.st_size, st.st_mtime_ns)
    return out


# ------------------------------------------------------------------------------------------ corpus -> files

def _suffix(data: bytes) -> str:
    """The extension a user's file of these bytes would have (an unknown blob is passed off as a PNG)."""
    head = data[:64].lstrip().lower()
    if data.startswith(b"GIF8"):
        return "gif"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if head.startswith(b"<svg"):
        return "svg"
    if head.startswith(b"<html"):
        return "html"
    return "png"


def _as_picture(a: np.ndarray) -> Image.Image | None:
    """The array as an image file would hold it, or None when no image format can (it goes as .npy)."""
    if a.size == 0 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        return None
    a = np.ascontiguousarray(a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a)
    if a.dtype == bool and a.ndim == 2:
        return Image.fromarray((a * 255).astype(np.uint8))
    if a.dtype == np.uint8:
        return Image.fromarray(a)
    if a.dtype == np.uint16 and a.ndim == 2:
        return Image.fromarray(a)
    if a.dtype.kind == "f" and np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1:
        return Image.fromarray((a * 255 + 0.5).astype(np.uint8))
    return None


def as_upload(name: str, payload, folder: Path) -> Path | None:
    """Write a corpus payload as the file a user would upload; None for payloads that are not files."""
    stem = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if isinstance(payload, bytes):
        path = folder / f"{stem}.{_suffix(payload)}"
        path.write_bytes(payload)
        return path
    if isinstance(payload, Image.Image):
        path = folder / f"{stem}.png"
        payload.save(path)
        return path
    if isinstance(payload, np.ndarray):
        picture = _as_picture(payload)
        if picture is not None:
            path = folder / f"{stem}.png"
            picture.save(path)
        else:
            path = folder / f"{stem}.npy"
            np.save(path, payload, allow_pickle=payload.dtype == object)   # a pickled .npy: never to be loaded
        return path
    return None


FILE_CASES = [c for c in corpus() if isinstance(c[1], (bytes, np.ndarray, Image.Image))]
PATH_CASES = [c for c in corpus() if isinstance(c[1], str)]


def test_most_of_the_corpus_goes_through_the_upload_box():
    assert len(FILE_CASES) >= 30 and {e for _, _, e in FILE_CASES} == {"error", "ok"}


# ------------------------------------------------------------------------------------------ the server

@pytest.fixture(scope="module")
def served(request):
    """(repository snapshot taken before the server started, the server's URL)."""
    before = repo_snapshot()
    return before, request.getfixturevalue("app_server")


@pytest.fixture
def client(served, tmp_path):
    return Client(served[1], verbose=False, download_files=str(tmp_path / "downloads"))


def reconstruct(client, upload):
    return client.predict("upload", None, upload, None, DP, 0.85, "auto", *XDOG, 1.0, "fine",
                          api_name="/reconstruct")


def assert_clear(message: str) -> None:
    """One line a user can read: not empty, not a traceback, not the catch-all of an unexpected failure."""
    assert message.strip(), "empty error message"
    assert "Traceback" not in message and 'File "' not in message, message
    assert "\n" not in message.strip() and len(message) < 400, message
    assert "Something went wrong" not in message, message


@pytest.mark.parametrize("name,payload,expect", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_hostile_upload(client, tmp_path, name, payload, expect):
    path = as_upload(name, payload, tmp_path)
    if expect == "error":
        with pytest.raises(Exception) as e:
            reconstruct(client, handle_file(str(path)))
        assert_clear(str(e.value))
        if path.stat().st_size > MAX_BYTES:                 # refused before any work: the upload limit
            assert re.search(r"(?i)maximum (allowed|file) size|413", str(e.value)), str(e.value)
    else:
        out = reconstruct(client, handle_file(str(path)))
        assert "λ_line 0.85" in out[5] and '"surface"' in str(out[0]), out[5]


def test_the_server_itself_refuses_an_upload_over_the_limit(client, tmp_path):
    """gradio_client checks max_file_size before sending; a client that does not is stopped by the server."""
    import httpx

    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + b"\x00" * (MAX_BYTES + 1024 * 1024))
    with open(big, "rb") as f:
        r = httpx.post(client.upload_url, files=[("files", ("big.png", f))], timeout=60)
    assert r.status_code == 413, (r.status_code, r.text[:200])
    assert "maximum allowed size" in r.text
    small = tmp_path / "small.png"
    small.write_bytes(big.read_bytes()[:1000])
    with open(small, "rb") as f:
        assert httpx.post(client.upload_url, files=[("files", ("small.png", f))], timeout=60).status_code == 200


SERVER_PATHS = [p for _, p, _ in PATH_CASES] + [str(ROOT / "demo/examples/lines_1.png"), "demo/examples/lines_1.png",
                                                "../" * 12 + str(ROOT / "demo/examples/lines_1.png")[1:]]


@pytest.mark.parametrize("path", SERVER_PATHS)
def test_files_on_the_server_cannot_be_named_instead_of_uploaded(client, path):
    """A file reference that was not uploaded (a server path, a path traversal, an image of the server's own
    disk) is refused before anything reads it, in the upload box and in the sketch pad."""
    ref = {"path": path, "orig_name": "face.png"}         # no gradio.FileData mark: gradio_client sends it as is
    with pytest.raises(Exception, match="Only files uploaded to the app can be used") as e:
        reconstruct(client, ref)
    assert_clear(str(e.value))
    with pytest.raises(Exception, match="(?i)meta|Only files uploaded"):    # the pad's payload is checked too
        client.predict("draw", {"background": ref, "layers": [], "composite": ref}, None, None, DP, 0.85, "auto",
                       *XDOG, 1.0, "fine", api_name="/reconstruct")


def test_after_the_corpus_a_face_still_reconstructs_and_the_repository_is_untouched(served, client, tmp_path):
    face = tmp_path / "face.png"
    Image.fromarray(draw_strokes(face_strokes(), 256, 2)).save(face)
    out = reconstruct(client, handle_file(str(face)))
    assert "λ_line 0.85" in out[5] and "Read as **a line drawing**" in out[5]
    after = repo_snapshot()
    before = served[0]
    added = sorted(set(after) - set(before))
    changed = sorted(p for p in set(after) & set(before) if after[p] != before[p])
    assert not added and not changed, f"written in the repository: added {added[:10]}, changed {changed[:10]}"
