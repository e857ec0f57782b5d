"""Fetch ICT Face Model Light from the public ICT-FaceKit repository and convert it to the compact format.

``python -m sketchface fetch-face-model`` downloads the OBJ files of the model (folder ``FaceXModel/`` of
ICT-VGL/ICT-FaceKit at a pinned commit) plus the repository's MIT LICENSE, converts them with the OBJ
reader below into ``ict_face_light.npz`` (see :mod:`sketchface.facemodel`) in the user cache, and writes the
license text beside it. ``--from-dir DIR`` converts OBJs that are already on disk instead (no network).

Source layout (ICT-FaceKit README, "Face Model Topology"): the full model has 26719 vertices; vertices
[0, 9409) are the face, [9409, 11248) head and neck, and later ones mouth socket, eye sockets, gums and
tongue, teeth, eyeballs, lacrimal fluid, eye blend/occlusion meshes and eyelashes. Vertices [0, 6706) are
the narrow face area. The compact copy keeps vertices [0, face + head_neck) and the polygons that use only
those vertices (quads, each split into two triangles). Identity ``i`` is ``identity{i:03d}.obj``; the 53
expression shapes are ``<name>.obj`` with the ARKit-style names of ``vertex_indices.json`` ("expressions").
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from sketchface.errors import UserError
from sketchface.facemodel import FILENAME, cache_dir, save_face_model

# --------------------------------------------------------------------------------------------------------
# What to fetch
# --------------------------------------------------------------------------------------------------------
REPO = "ICT-VGL/ICT-FaceKit"
REVISION = "da5f95a607f5e6b37755b38d3385d7f2853732e5"
MODEL_FOLDER = "FaceXModel"
RAW_BASE_URL = "https://raw.githubusercontent.com"
NEUTRAL_FILE = "generic_neutral_mesh.obj"
LICENSE_FILENAME = "LICENSE-ICT-FaceKit.txt"
SOURCE_FILENAME = "ict_face_light.source.json"

N_IDENTITY = 100
FULL_VERTEX_COUNT = 26719          # all 17 geometries of the full model
FACE_VERTEX_COUNT = 9409           # geometry #0 "Face": vertices [0, 9409)
HEAD_NECK_VERTEX_COUNT = 1839      # geometry #1 "Head and Neck": vertices [9409, 11248)
NARROW_FACE_VERTEX_COUNT = 6706    # "Narrow face area": vertices [0, 6706)

# The 53 expression shapes, in the order of FaceXModel/vertex_indices.json ("expressions").
EXPRESSION_NAMES: tuple[str, ...] = (
    "browDown_L", "browDown_R", "browInnerUp_L", "browInnerUp_R", "browOuterUp_L", "browOuterUp_R",
    "cheekPuff_L", "cheekPuff_R", "cheekSquint_L", "cheekSquint_R", "eyeBlink_L", "eyeBlink_R",
    "eyeLookDown_L", "eyeLookDown_R", "eyeLookIn_L", "eyeLookIn_R", "eyeLookOut_L", "eyeLookOut_R",
    "eyeLookUp_L", "eyeLookUp_R", "eyeSquint_L", "eyeSquint_R", "eyeWide_L", "eyeWide_R",
    "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimple_L", "mouthDimple_R",
    "mouthFrown_L", "mouthFrown_R", "mouthFunnel", "mouthLeft", "mouthLowerDown_L", "mouthLowerDown_R",
    "mouthPress_L", "mouthPress_R", "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper",
    "mouthShrugLower", "mouthShrugUpper", "mouthSmile_L", "mouthSmile_R", "mouthStretch_L",
    "mouthStretch_R", "mouthUpperUp_L", "mouthUpperUp_R", "noseSneer_L", "noseSneer_R",
)

# Vertex index of each Multi-PIE 68 landmark (0-indexed), from the ICT-FaceKit README ("Facial Landmarks").
LANDMARKS68: tuple[int, ...] = (
    1225, 1888, 1052, 367, 1719, 1722, 2199, 1447, 966, 3661, 4390, 3927, 3924, 2608, 3272, 4088, 3443,
    268, 493, 1914, 2044, 1401, 3615, 4240, 4114, 2734, 2509, 978, 4527, 4942, 4857, 1140, 2075, 1147,
    4269, 3360, 1507, 1542, 1537, 1528, 1518, 1511, 3742, 3751, 3756, 3721, 3725, 3732, 5708, 5695, 2081,
    0, 4275, 6200, 6213, 6346, 6461, 5518, 5957, 5841, 5702, 5711, 5533, 6216, 6207, 6470, 5517, 5966,
)

# The repository's license (MIT), used when no LICENSE file is found beside the OBJs.
ICT_LICENSE_TEXT = """\
MIT License

Copyright (c) 2020 USC Institute for Creative Technologies

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
LICENSE_NOTICE = (
    "ICT Face Model Light (ict_face_light.npz beside this file) is converted from the public repository\n"
    "https://github.com/ICT-VGL/ICT-FaceKit (folder FaceXModel/), which is released under this license:\n\n"
)

# Smallest plausible size of a full-model OBJ (the real files are about 2-3.5 MB each).
MIN_OBJ_BYTES = 256 * 1024


def model_file_names(n_identity: int = N_IDENTITY,
                     expression_names: Sequence[str] = EXPRESSION_NAMES) -> list[str]:
    """The OBJ files of the model: the neutral mesh, the identity modes and the expression shapes."""
    return ([NEUTRAL_FILE] + [f"identity{i:03d}.obj" for i in range(n_identity)]
            + [f"{name}.obj" for name in expression_names])


# --------------------------------------------------------------------------------------------------------
# OBJ reading
# --------------------------------------------------------------------------------------------------------
@dataclass
class ObjMesh:
    vertices: np.ndarray              # (V, 3) float64
    uv: np.ndarray                    # (VT, 2) float32, empty when the file has no `vt`
    triangles: np.ndarray             # (T, 3) int64 into vertices; polygons fan-split (quad abcd -> abc, acd)
    triangles_uv: np.ndarray | None   # (T, 3) int64 into uv, None when some face has no uv index


def _resolve_index(token: str, count: int, what: str) -> int:
    i = int(token)
    if i > 0:
        return i - 1
    if i < 0:
        return count + i  # relative index: -1 is the last one defined so far
    raise ValueError(f"{what} index 0 (OBJ indices start at 1)")


def read_obj(path: str | os.PathLike, *, faces: bool = True) -> ObjMesh:
    """Read vertices (``v``), texture coordinates (``vt``) and faces (``f`` with ``v``, ``v/vt``, ``v//vn``
    or ``v/vt/vn`` corners; negative indices allowed) of a Wavefront OBJ. Polygons with more than three
    corners are split into triangles around their first corner, so a quad ``a b c d`` gives ``a b c`` and
    ``a c d``. With ``faces=False`` only the vertices are read (fast path for morph targets)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"Cannot read {p} ({exc.strerror or exc}).") from exc
    verts: list[list[str]] = []
    uvs: list[list[str]] = []
    tris: list[tuple[int, int, int]] = []
    tris_uv: list[tuple[int, int, int]] = []
    uv_complete = True
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line or line[0] not in "vf":
            continue
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        try:
            if key == "v":
                if len(parts) < 4:
                    raise ValueError("a vertex needs three coordinates")
                verts.append(parts[1:4])
            elif not faces:
                continue
            elif key == "vt":
                if len(parts) < 3:
                    raise ValueError("a texture coordinate needs two values")
                uvs.append(parts[1:3])
            elif key == "f":
                corners = parts[1:]
                if len(corners) < 3:
                    raise ValueError("a face needs at least three corners")
                vi, ti = [], []
                for c in corners:
                    fields = c.split("/")
                    vi.append(_resolve_index(fields[0], len(verts), "vertex"))
                    if len(fields) > 1 and fields[1]:
                        ti.append(_resolve_index(fields[1], len(uvs), "texture coordinate"))
                if len(ti) != len(vi):
                    uv_complete = False
                for k in range(1, len(vi) - 1):
                    tris.append((vi[0], vi[k], vi[k + 1]))
                    if uv_complete:
                        tris_uv.append((ti[0], ti[k], ti[k + 1]))
        except ValueError as exc:
            raise UserError(f"{p}, line {lineno}: cannot parse {line.strip()[:60]!r} ({exc}).") from exc
    try:
        vertices = np.array(verts, dtype=np.float64).reshape(-1, 3)
        uv = np.array(uvs, dtype=np.float32).reshape(-1, 2)
    except ValueError as exc:
        raise UserError(f"{p} has a non-numeric vertex or texture coordinate ({exc}).") from exc
    if len(vertices) == 0:
        raise UserError(f"{p} holds no vertices; it is not an OBJ mesh (a failed download?).")
    triangles = np.array(tris, dtype=np.int64).reshape(-1, 3)
    triangles_uv = np.array(tris_uv, dtype=np.int64).reshape(-1, 3) if (uv_complete and tris) else None
    if len(triangles) and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise UserError(f"{p} has a face that refers to a vertex that does not exist.")
    if triangles_uv is not None and (triangles_uv.min() < 0 or triangles_uv.max() >= len(uv)):
        raise UserError(f"{p} has a face that refers to a texture coordinate that does not exist.")
    return ObjMesh(vertices, uv, triangles, triangles_uv)


# --------------------------------------------------------------------------------------------------------
# Conversion to the compact format
# --------------------------------------------------------------------------------------------------------
def _model_dir(src: Path) -> Path:
    """The folder holding the OBJs: ``src`` itself or its ``FaceXModel/`` subfolder (a repository checkout)."""
    if not (src / NEUTRAL_FILE).is_file() and (src / MODEL_FOLDER / NEUTRAL_FILE).is_file():
        return src / MODEL_FOLDER
    return src


def _find_license(model_dir: Path) -> str | None:
    for folder in (model_dir, model_dir.parent):
        for name in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
            f = folder / name
            if f.is_file():
                text = f.read_text(encoding="utf-8", errors="replace")
                if "Permission is hereby granted" in text:
                    return text
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _resolve_out(out: str | os.PathLike | None) -> Path:
    if out is None:
        return cache_dir() / FILENAME
    p = Path(out).expanduser()
    if p.suffix.lower() != ".npz":  # a folder
        p = p / FILENAME
    return p


def convert_obj_dir(src: str | os.PathLike, out: str | os.PathLike | None = None, *,
                    n_identity: int = N_IDENTITY,
                    expression_names: Sequence[str] = EXPRESSION_NAMES,
                    landmarks68: Sequence[int] = LANDMARKS68,
                    face_vertex_count: int = FACE_VERTEX_COUNT,
                    head_neck_vertex_count: int = HEAD_NECK_VERTEX_COUNT,
                    narrow_face_vertex_count: int = NARROW_FACE_VERTEX_COUNT,
                    expected_vertex_count: int | None = None,
                    license_text: str | None = None,
                    source: dict | None = None,
                    progress: bool = False) -> Path:
    """Convert a folder of ICT-FaceKit OBJs (``generic_neutral_mesh.obj``, ``identity000.obj`` ...,
    ``<expression>.obj``; the folder itself or its ``FaceXModel/`` subfolder) to the compact format.

    Keeps vertices ``[0, face_vertex_count + head_neck_vertex_count)`` and the triangles that use only them;
    ``identity_deltas[i] = identity{i:03d} - neutral`` and ``expression_deltas[k] = <name_k> - neutral``.
    Writes ``out`` (a ``.npz`` path or a folder; default: the user cache), the license text beside it as
    ``LICENSE-ICT-FaceKit.txt`` and a provenance record ``ict_face_light.source.json``. Returns the path of
    the ``.npz``. Raises :class:`UserError` on a missing file or a vertex-count mismatch."""
    src_path = Path(src).expanduser()
    if not src_path.is_dir():
        raise UserError(f"{src_path} is not a folder; --from-dir needs the folder holding the ICT-FaceKit OBJs.")
    model_dir = _model_dir(src_path)
    expression_names = [str(n) for n in expression_names]
    names = model_file_names(n_identity, expression_names)
    missing = [n for n in names if not (model_dir / n).is_file()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise UserError(f"{model_dir} lacks {missing[0]}{more} of the {len(names)} ICT-FaceKit OBJ files; "
                        "download the whole FaceXModel folder (or run `python -m sketchface fetch-face-model`).")
    keep = int(face_vertex_count) + int(head_neck_vertex_count)
    if not 0 < int(narrow_face_vertex_count) <= int(face_vertex_count) <= keep:
        raise UserError("The vertex ranges must satisfy 0 < narrow face <= face <= face + head and neck.")
    landmarks = np.asarray(list(landmarks68), dtype=np.int64)
    if landmarks.shape != (68,):
        raise UserError(f"Expected 68 landmark vertex indices, got {landmarks.size}.")
    if landmarks.min() < 0 or landmarks.max() >= int(face_vertex_count):
        raise UserError(f"Landmark vertex indices must lie in the face area [0, {face_vertex_count}).")

    from tqdm import tqdm

    bar = tqdm(total=len(names), desc="converting", unit="file", disable=not progress, leave=False)
    neutral_path = model_dir / NEUTRAL_FILE
    mesh = read_obj(neutral_path)
    bar.update(1)
    n_full = len(mesh.vertices)
    if expected_vertex_count is not None and n_full != expected_vertex_count:
        raise UserError(f"{neutral_path} has {n_full} vertices, not the {expected_vertex_count} of ICT Face Model "
                        "Light; the download is from another version of the model (check --revision).")
    if n_full < keep:
        raise UserError(f"{neutral_path} has {n_full} vertices, fewer than the {keep} of the face, head and neck.")
    neutral_full = mesh.vertices
    neutral = neutral_full[:keep]
    sel = (mesh.triangles < keep).all(1)
    triangles = mesh.triangles[sel]
    if len(triangles) == 0:
        raise UserError(f"{neutral_path} has no faces among its first {keep} vertices.")
    triangles_uv = mesh.triangles_uv[sel] if mesh.triangles_uv is not None else None
    uv = mesh.uv if triangles_uv is not None else None

    def deltas(files: list[str]) -> np.ndarray:
        result = np.empty((len(files), keep, 3), np.float32)
        for j, name in enumerate(files):
            path = model_dir / name
            v = read_obj(path, faces=False).vertices
            if len(v) != n_full:
                raise UserError(f"{path} has {len(v)} vertices but {NEUTRAL_FILE} has {n_full}; "
                                "the OBJ files come from different versions of the model.")
            d = v[:keep] - neutral
            if not np.isfinite(d).all():
                raise UserError(f"{path} has non-finite vertex coordinates.")
            result[j] = d
            bar.update(1)
        return result

    identity_deltas = deltas(names[1:1 + n_identity])
    expression_deltas = deltas(names[1 + n_identity:])
    bar.close()

    out_path = _resolve_out(out)
    save_face_model(
        out_path, neutral=neutral, triangles=triangles, identity_deltas=identity_deltas,
        expression_deltas=expression_deltas, expression_names=expression_names, landmarks68=landmarks,
        face_vertex_count=face_vertex_count, narrow_face_vertex_count=narrow_face_vertex_count,
        uv=uv, triangles_uv=triangles_uv,
    )
    text = license_text if license_text is not None else (_find_license(model_dir) or ICT_LICENSE_TEXT)
    (out_path.parent / LICENSE_FILENAME).write_text(LICENSE_NOTICE + text, encoding="utf-8")
    record = dict(source or {"from_dir": str(model_dir.resolve())})
    record.update(
        repository=record.get("repository", f"https://github.com/{REPO}"),
        vertices=keep, full_vertices=n_full, triangles=int(len(triangles)),
        face_vertex_count=int(face_vertex_count), head_neck_vertex_count=int(head_neck_vertex_count),
        narrow_face_vertex_count=int(narrow_face_vertex_count), n_identity=int(n_identity),
        expression_names=expression_names,
    )
    if "files" not in record:
        record["files"] = {n: {"bytes": (model_dir / n).stat().st_size, "sha256": _sha256(model_dir / n)}
                           for n in names}
    out_path.with_name(SOURCE_FILENAME).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return out_path


# --------------------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------------------
urlopen = urllib.request.urlopen  # module attribute so tests can replace the network
_sleep = time.sleep
USER_AGENT = "sketchface-fetch/0.1 (+https://github.com/ICT-VGL/ICT-FaceKit)"


def raw_url(path: str, revision: str = REVISION, base_url: str = RAW_BASE_URL, repo: str = REPO) -> str:
    """URL of one file of the repository at ``revision`` (raw.githubusercontent.com layout)."""
    return f"{base_url.rstrip('/')}/{repo}/{revision}/{path}"


def _offline_reason(exc: BaseException) -> str | None:
    """A short description when ``exc`` means the host cannot be reached at all."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return "the host name cannot be resolved"
    if isinstance(reason, (ConnectionRefusedError, ConnectionResetError)):
        return "the connection was refused or reset"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "the connection timed out"
    if isinstance(reason, OSError) and getattr(reason, "errno", None) in (101, 113, 51, 65):  # unreachable
        return "the network is unreachable"
    return None


def download_file(url: str, dest: str | os.PathLike, *, timeout: float = 60.0, retries: int = 3,
                  progress: bool = True) -> dict:
    """Download ``url`` to ``dest`` (atomically, through ``dest.part``) with ``retries`` attempts and a
    per-request ``timeout``; checks the length against Content-Length. Returns ``{"bytes", "sha256"}``.
    Raises :class:`UserError` with one sentence when the file cannot be had."""
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last: BaseException | None = None
    for attempt in range(max(1, retries)):
        if attempt:
            _sleep(min(2.0 ** attempt, 30.0))
        try:
            req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urlopen(req, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length") if getattr(resp, "headers", None) else None
                total = int(length) if length and length.isdigit() else None
                h = hashlib.sha256()
                n = 0
                with open(part, "wb") as f, tqdm(total=total, unit="B", unit_scale=True, leave=False,
                                                 desc=dest.name, disable=not progress) as bar:
                    while True:
                        block = resp.read(1 << 16)
                        if not block:
                            break
                        f.write(block)
                        h.update(block)
                        n += len(block)
                        bar.update(len(block))
            if total is not None and n != total:
                raise ConnectionError(f"got {n} of {total} bytes")
            os.replace(part, dest)
            return {"bytes": n, "sha256": h.hexdigest()}
        except urllib.error.HTTPError as exc:
            last = exc
            if exc.code in (400, 401, 403, 404, 410):
                part.unlink(missing_ok=True)
                raise UserError(f"{url} answered HTTP {exc.code} ({exc.reason}); check --revision and --base-url."
                                ) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            last = exc
            if _offline_reason(exc) == "the host name cannot be resolved":
                break  # no point retrying without a network
    part.unlink(missing_ok=True)
    host = urllib.parse.urlparse(url).netloc or url
    why = _offline_reason(last) if last is not None else None
    if why:
        raise UserError(
            f"Cannot download the ICT face model: {host} is unreachable ({why}); check the internet connection, "
            "or download ICT-FaceKit's FaceXModel folder on another machine and run "
            "`python -m sketchface fetch-face-model --from-dir DIR`.") from last
    raise UserError(f"Downloading {url} failed after {max(1, retries)} attempts ({last}); try again later, or "
                    "use `python -m sketchface fetch-face-model --from-dir DIR` with files fetched another way."
                    ) from last


def _check_downloaded_obj(path: Path) -> None:
    """Size and content sanity of one downloaded OBJ (a truncated file or an HTML/LFS page is rejected)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"version https://git-lfs"):
        path.unlink()
        raise UserError(f"{path.name} came as a Git LFS pointer, not a mesh; use a --base-url that serves LFS files.")
    if size < MIN_OBJ_BYTES or not (head.startswith(b"v ") or b"\nv " in head):
        path.unlink()
        raise UserError(f"{path.name} is {size} bytes and does not look like an ICT-FaceKit OBJ (a failed download?); "
                        "run the command again.")


def fetch_face_model(out: str | os.PathLike | None = None, *, revision: str = REVISION,
                     base_url: str = RAW_BASE_URL, download_dir: str | os.PathLike | None = None,
                     keep_downloads: bool = False, timeout: float = 60.0, retries: int = 3,
                     progress: bool = True) -> Path:
    """Download the ICT-FaceKit OBJs at ``revision`` and convert them (see :func:`convert_obj_dir`).

    Files go to ``download_dir`` (default: ``<cache>/downloads/ICT-FaceKit-<revision>``), so an interrupted
    run resumes where it stopped; they are deleted after a successful conversion unless ``keep_downloads``."""
    from tqdm import tqdm

    staging = Path(download_dir).expanduser() if download_dir else (
        cache_dir() / "downloads" / f"ICT-FaceKit-{revision[:12]}")
    model_dir = staging / MODEL_FOLDER
    names = model_file_names()
    files: dict[str, dict] = {}
    manifest = staging / "manifest.json"
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text())
        except ValueError:
            files = {}
    lic = staging / "LICENSE"
    if not lic.is_file():
        download_file(raw_url("LICENSE", revision, base_url), lic, timeout=timeout, retries=retries, progress=False)
    license_text = lic.read_text(encoding="utf-8", errors="replace")
    if "Permission is hereby granted" not in license_text:
        license_text = None  # not the MIT text: fall back to the embedded copy
    todo = [n for n in names if not ((model_dir / n).is_file() and n in files)]
    with tqdm(total=len(names), initial=len(names) - len(todo), desc="ICT-FaceKit", unit="file",
              disable=not progress) as bar:
        for name in todo:
            dest = model_dir / name
            info = download_file(raw_url(f"{MODEL_FOLDER}/{name}", revision, base_url), dest,
                                 timeout=timeout, retries=retries, progress=progress)
            _check_downloaded_obj(dest)
            files[name] = info
            manifest.write_text(json.dumps(files, indent=1))
            bar.update(1)
    source = {"repository": f"https://github.com/{REPO}", "revision": revision,
              "url": raw_url(MODEL_FOLDER, revision, base_url), "files": files}
    path = convert_obj_dir(model_dir, out, expected_vertex_count=FULL_VERTEX_COUNT, license_text=license_text,
                           source=source, progress=progress)
    if not keep_downloads:
        shutil.rmtree(staging, ignore_errors=True)
    return path


# --------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------
def _int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in text.replace(",", " ").split()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc


def _name_list(text: str) -> list[str]:
    return [t for t in text.replace(",", " ").split() if t]


def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "fetch-face-model",
        help="download ICT Face Model Light (MIT) and convert it to the compact format",
        description="Download the ICT Face Model Light OBJs from the public ICT-FaceKit repository "
                    f"(github.com/{REPO}, folder {MODEL_FOLDER}/, about 500 MB, MIT license) and convert them "
                    f"to {FILENAME} (about 8 MB) in the user cache, or convert OBJs already on disk with --from-dir.",
    )
    p.add_argument("--out", help=f"output .npz file or folder (default: {cache_dir() / FILENAME})")
    p.add_argument("--from-dir", metavar="DIR",
                   help="convert the OBJs in DIR (or DIR/FaceXModel) instead of downloading them")
    p.add_argument("--revision", default=REVISION, help="ICT-FaceKit commit to download (default: %(default)s)")
    p.add_argument("--base-url", default=RAW_BASE_URL, help="raw-file server or mirror (default: %(default)s)")
    p.add_argument("--download-dir", help="where to keep the downloaded OBJs (default: a folder in the cache)")
    p.add_argument("--keep-downloads", action="store_true", help="keep the OBJs after the conversion")
    p.add_argument("--force", action="store_true", help="rebuild even if the output file exists")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default: %(default)s)")
    p.add_argument("--retries", type=int, default=3, help="attempts per file (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    adv = p.add_argument_group("model layout (only for other versions of the model; defaults match ICT-FaceKit)")
    adv.add_argument("--identities", type=int, default=N_IDENTITY, help="number of identity OBJs")
    adv.add_argument("--expressions", type=_name_list, default=list(EXPRESSION_NAMES),
                     help="comma-separated expression names (OBJ file stems)")
    adv.add_argument("--landmarks", type=_int_list, default=list(LANDMARKS68),
                     help="comma-separated 68 landmark vertex indices")
    adv.add_argument("--face-vertices", type=int, default=FACE_VERTEX_COUNT)
    adv.add_argument("--head-neck-vertices", type=int, default=HEAD_NECK_VERTEX_COUNT)
    adv.add_argument("--narrow-face-vertices", type=int, default=NARROW_FACE_VERTEX_COUNT)
    p.add_argument("--if-missing", action="store_true",
                   help="do nothing when a face model is already found ($SKETCHFACE_FACE_MODEL or the cache)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    if args.if_missing and not args.force and not args.from_dir:
        from sketchface.facemodel import FaceModelNotFound, find_face_model
        try:
            print(f"face model found: {find_face_model(args.out)}")
            return 0
        except FaceModelNotFound:
            pass
    out = _resolve_out(args.out)
    if out.exists() and not args.force and not args.from_dir:
        print(f"{out} already exists; use --force to download it again.")
        return 0
    if args.from_dir:
        path = convert_obj_dir(
            args.from_dir, out, n_identity=args.identities, expression_names=args.expressions,
            landmarks68=args.landmarks, face_vertex_count=args.face_vertices,
            head_neck_vertex_count=args.head_neck_vertices, narrow_face_vertex_count=args.narrow_face_vertices,
            progress=not args.no_progress)
    else:
        path = fetch_face_model(out, revision=args.revision, base_url=args.base_url,
                                download_dir=args.download_dir, keep_downloads=args.keep_downloads,
                                timeout=args.timeout, retries=args.retries, progress=not args.no_progress)
    with np.load(path) as data:
        v = data["neutral"].shape[0]
        t = data["triangles"].shape[0]
        ni = data["identity_deltas"].shape[0]
        ne = data["expression_deltas"].shape[0]
    print(f"wrote {path} ({v} vertices, {t} triangles, {ni} identity modes, {ne} expressions); "
          f"license: {path.parent / LICENSE_FILENAME}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from sketchface.cli import main

    sys.exit(main(["fetch-face-model", *sys.argv[1:]]))
