"""Torch datasets for real data that users bring: CUFSF, FineData, ZJU-VIPA-style line drawings and a generic
folder layout. Folder trees are documented in docs/DATASETS.md.

Every item is a dict of float32 tensors in [0, 1], channel-first (C, H, W) per docs/CONVENTIONS.md, plus the
sample's ``name`` (a str): ``photo`` (3, S, S), ``sketch`` (1, S, S), ``lines`` (1, S, S, black lines on white),
``depth`` (1, S, S, 1 = nearest, 0 = background) with ``mask`` (1, S, S, 1 where depth > 0). ``S`` is the
``size`` argument (default 256; ``None`` keeps the stored size).

A bad file (unreadable image, missing partner, wrong size where one is required) raises :class:`DataError`
(a ``ValueError``) whose message names the file.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import Dataset

from sketchface.errors import DataError  # noqa: F401  (re-exported)

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp")
DEPTH_EXTS = (".npy", ".png", ".tif", ".tiff")
MODALITIES = ("sketch", "photo", "depth", "lines")
CHANNELS = {"sketch": 1, "photo": 3, "lines": 1}

# Canonical eye framing of eye-aligned crops: eye centres at these fractions of the output width and height.
EYE_X = (0.35, 0.65)
EYE_Y = 0.42




# --------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------
def list_files(folder: str | os.PathLike, exts: Iterable[str] = IMAGE_EXTS) -> dict[str, Path]:
    """Files of ``folder`` with one of ``exts`` (case-insensitive), by stem; hidden files are skipped.
    Two files with the same stem (``a.png`` and ``a.jpg``) are a :class:`DataError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder.")
    exts = tuple(e.lower() for e in exts)
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file() or p.suffix.lower() not in exts:
            continue
        if p.stem in found:
            raise DataError(f"{p} and {found[p.stem]} have the same name; keep one of them.")
        found[p.stem] = p
    return found


def _open(path: Path) -> Image.Image:
    try:
        im = Image.open(path)
        im.load()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise DataError(f"Cannot read image {path} ({exc}).") from exc
    return im


def read_image(path: str | os.PathLike, channels: int = 3) -> np.ndarray:
    """An image as float32 in [0, 1]: (H, W) for ``channels=1`` (grey), (H, W, 3) for ``channels=3`` (RGB).
    Handles 8- and 16-bit grey, palette and alpha (composited over white) images and EXIF orientation."""
    path = Path(path)
    im = _open(path)
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # broken EXIF: keep the stored orientation
        pass
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float32)
        a = a / 65535.0 if im.mode != "F" else a
        a = np.clip(a, 0.0, 1.0)
        return a if channels == 1 else np.repeat(a[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    im = im.convert("L" if channels == 1 else "RGB")
    return np.asarray(im, dtype=np.float32) / 255.0


def read_depth(path: str | os.PathLike, invert: bool = False) -> np.ndarray:
    """A depth map as float32 (H, W) in [0, 1] (1 = nearest, 0 = background): ``.npy`` (float in [0, 1], or
    an integer type scaled by its maximum; NaN is background) or an 8/16-bit grey image. ``invert`` flips
    maps stored far = bright (the background stays 0)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        try:
            a = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"Cannot read depth {path} ({exc}).") from exc
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        if a.ndim != 2:
            raise DataError(f"Depth {path} has shape {a.shape}; expected (H, W).")
        if np.issubdtype(a.dtype, np.integer):
            a = a.astype(np.float64) / float(np.iinfo(a.dtype).max)
        elif not np.issubdtype(a.dtype, np.floating):
            raise DataError(f"Depth {path} has dtype {a.dtype}; expected float or integer values.")
        a = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        if a.min() < -1e-3 or a.max() > 1.0 + 1e-3:
            raise DataError(f"Depth {path} has values in [{a.min():.3g}, {a.max():.3g}]; expected [0, 1].")
        a = np.clip(a, 0.0, 1.0)
    else:
        im = _open(path)
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            a = np.asarray(im, dtype=np.float32) / 65535.0
        elif im.mode == "F":
            a = np.asarray(im, dtype=np.float32)
        elif im.mode in ("L", "P", "1"):
            a = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
        else:
            rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
            if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
                raise DataError(f"Depth {path} is a colour image; store depth as a grey 8/16-bit PNG or .npy.")
            a = rgb[..., 0] / 255.0
        a = np.clip(a, 0.0, 1.0)
    if invert:
        a = np.where(a > 0, 1.0 - a, 0.0).astype(np.float32)
    return a.astype(np.float32)


# --------------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------------
def _resize(a: np.ndarray, w: int, h: int) -> np.ndarray:
    if a.shape[1] == w and a.shape[0] == h:
        return a
    interp = cv2.INTER_AREA if (w < a.shape[1] and h < a.shape[0]) else cv2.INTER_LINEAR
    return cv2.resize(a, (w, h), interpolation=interp)


def fit_square(a: np.ndarray, size: int | None, fit: str = "crop", fill: float = 1.0) -> np.ndarray:
    """Make ``a`` (H, W[, C]) square and ``size`` pixels wide: ``crop`` the centre square, ``pad`` with
    ``fill`` around it, or ``stretch``. ``size=None`` returns ``a`` unchanged."""
    if size is None:
        return a
    h, w = a.shape[:2]
    if fit == "crop":
        s = min(h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2
        a = a[y0:y0 + s, x0:x0 + s]
    elif fit == "pad":
        s = max(h, w)
        out = np.full((s, s) + a.shape[2:], fill, a.dtype)
        y0, x0 = (s - h) // 2, (s - w) // 2
        out[y0:y0 + h, x0:x0 + w] = a
        a = out
    elif fit != "stretch":
        raise ValueError(f"fit must be 'crop', 'pad' or 'stretch', not {fit!r}")
    return _resize(np.ascontiguousarray(a), size, size)


def fit_depth(d: np.ndarray, size: int | None, fit: str = "crop") -> np.ndarray:
    """Like :func:`fit_square` for depth (padding with background 0): values are averaged over face pixels
    only and the silhouette (depth > 0) is resampled nearest-neighbour, so the mask stays sharp and no
    background leaks into the face edge."""
    if size is None:
        return d
    m = (d > 0).astype(np.float32)
    d = np.ascontiguousarray(d * m, dtype=np.float32)
    h, w = d.shape
    if fit == "crop":
        s = min(h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2
        d, m = d[y0:y0 + s, x0:x0 + s], m[y0:y0 + s, x0:x0 + s]
    elif fit == "pad":
        s = max(h, w)
        dd, mm = np.zeros((s, s), np.float32), np.zeros((s, s), np.float32)
        y0, x0 = (s - h) // 2, (s - w) // 2
        dd[y0:y0 + h, x0:x0 + w], mm[y0:y0 + h, x0:x0 + w] = d, m
        d, m = dd, mm
    elif fit != "stretch":
        raise ValueError(f"fit must be 'crop', 'pad' or 'stretch', not {fit!r}")
    if d.shape != (size, size):
        mask = cv2.resize(m, (size, size), interpolation=cv2.INTER_NEAREST) > 0.5
        num = _resize(np.ascontiguousarray(d), size, size)   # normalised convolution: depth-weighted sum ...
        den = _resize(np.ascontiguousarray(m), size, size)   # ... over the face-pixel weight
        d = np.where(mask & (den > 1e-6), num / np.maximum(den, 1e-6), 0.0)
    return np.clip(d, 0.0, 1.0).astype(np.float32)


def eye_align(a: np.ndarray, left: Sequence[float], right: Sequence[float], size: int, *,
              eye_x: tuple[float, float] = EYE_X, eye_y: float = EYE_Y, fill: float = 1.0) -> np.ndarray:
    """Warp ``a`` (H, W[, C]) by the similarity transform that puts the eye centres ``left`` and ``right``
    (x, y pixels; left = smaller x in the image) at ``(eye_x[0]*size, eye_y*size)`` and
    ``(eye_x[1]*size, eye_y*size)``; the output is ``size`` x ``size``, outside filled with ``fill``."""
    l = np.asarray(left, np.float64)
    r = np.asarray(right, np.float64)
    if l[0] > r[0]:
        l, r = r, l
    dist = float(np.hypot(*(r - l)))
    if not np.isfinite(dist) or dist < 1e-6:
        raise ValueError("the two eye positions coincide")
    target = (eye_x[1] - eye_x[0]) * size
    scale = target / dist
    if scale < 0.5:  # shrink with area averaging first, so the warp does not alias
        f = min(1.0, 2.0 * scale)
        h, w = a.shape[:2]
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        fx, fy = nw / w, nh / h
        a = cv2.resize(a, (nw, nh), interpolation=cv2.INTER_AREA)
        l, r = l * [fx, fy], r * [fx, fy]
        dist = float(np.hypot(*(r - l)))
        scale = target / dist
    ang = math.atan2(*(r - l)[::-1])
    c, s = scale * math.cos(-ang), scale * math.sin(-ang)
    rot = np.array([[c, -s], [s, c]])
    dst_l = np.array([eye_x[0] * size, eye_y * size])
    t = dst_l - rot @ l
    m = np.hstack([rot, t[:, None]])
    border = (fill,) * (a.shape[2] if a.ndim == 3 else 1)
    out = cv2.warpAffine(np.ascontiguousarray(a), m, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    return out.astype(np.float32)


def rotate(a: np.ndarray, degrees: float, fill: float = 1.0) -> np.ndarray:
    """Rotate ``a`` (H, W[, C]) about its centre by ``degrees`` (counter-clockwise), outside = ``fill``."""
    h, w = a.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), degrees, 1.0)
    border = (fill,) * (a.shape[2] if a.ndim == 3 else 1)
    return cv2.warpAffine(np.ascontiguousarray(a), m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def to_tensor(a: np.ndarray) -> torch.Tensor:
    """(H, W) -> (1, H, W); (H, W, C) -> (C, H, W); float32."""
    a = np.asarray(a, np.float32)
    if a.ndim == 2:
        a = a[None]
    else:
        a = a.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(a))


# --------------------------------------------------------------------------------------------------------
# Helpers shared by the datasets
# --------------------------------------------------------------------------------------------------------
def _subfolder(root: Path, *names: str) -> Path:
    for n in names:
        if (root / n).is_dir():
            return root / n
    raise DataError(f"{root} has no {' or '.join(repr(n + '/') for n in names)} folder; see docs/DATASETS.md.")


def _pair(a: dict[str, Path], b: dict[str, Path], strict: bool, what: tuple[str, str]) -> list[str]:
    """Names present in both; with ``strict`` a file without a partner is a :class:`DataError`."""
    if strict:
        for x, y, (wx, wy) in ((a, b, what), (b, a, what[::-1])):
            orphans = sorted(set(x) - set(y))
            if orphans:
                more = f" (and {len(orphans) - 1} more)" if len(orphans) > 1 else ""
                raise DataError(f"{x[orphans[0]]} has no matching {wy} (same file name){more}.")
    return sorted(set(a) & set(b))


def _read_names(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"Cannot read split file {path} ({exc}).") from exc
    names = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(_stem(line.split()[0]))
    return names


def _stem(name: str) -> str:
    p = Path(name)
    return p.stem if p.suffix.lower() in IMAGE_EXTS + DEPTH_EXTS else p.name


def _select_split(names: list[str], split: str, n_train: int, split_file, root: Path) -> list[str]:
    """Names of ``split``: from ``split_file`` (or ``root/<split>.txt``) if any, else the first ``n_train``
    sorted names for ``train`` and the rest for ``test``; ``all`` keeps everything."""
    if split == "all":
        return names
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train', 'test' or 'all', not {split!r}")
    f = Path(split_file) if split_file else (root / f"{split}.txt")
    if split_file or f.is_file():
        wanted = _read_names(f)
        have = set(names)
        missing = [n for n in wanted if n not in have]
        if missing:
            raise DataError(f"{f} lists {missing[0]!r}, which has no complete sample under {root}.")
        return wanted
    return names[:n_train] if split == "train" else names[n_train:]


_NUM = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def read_eye_file(path: str | os.PathLike) -> dict[str, tuple[float, float, float, float]]:
    """Eye centres from a text file with lines ``name x_left y_left x_right y_right`` (``name`` with or
    without extension; ``#`` comments, commas allowed)."""
    path = Path(path)
    out: dict[str, tuple[float, float, float, float]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"Cannot read eye coordinates {path} ({exc}).") from exc
    for i, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].replace(",", " ").strip()
        if not line:
            continue
        parts = line.split()
        try:
            vals = tuple(float(v) for v in parts[1:5])
        except ValueError:
            vals = ()
        if len(parts) < 5 or len(vals) != 4:
            raise DataError(f"{path}, line {i}: expected 'name x_left y_left x_right y_right'.")
        out[_stem(parts[0])] = vals  # type: ignore[assignment]
    return out


def _per_image_eyes(image: Path) -> tuple[float, float, float, float] | None:
    """Eye centres from a file beside the image (``NAME.eyes.txt``, ``NAME.txt``, ``NAME.3pts``, ``NAME.pts``):
    the first four numbers are x_left y_left x_right y_right (further points, e.g. the mouth, are ignored)."""
    for suffix in (".eyes.txt", ".txt", ".3pts", ".pts"):
        f = image.with_name(image.stem + suffix)
        if f.is_file():
            text = f.read_text(encoding="utf-8", errors="replace")
            if f.suffix == ".pts" and "{" in text:  # IBUG .pts header: take the block's numbers
                text = text[text.index("{") + 1:]
            nums = [float(v) for v in _NUM.findall(text)]
            if len(nums) < 4:
                raise DataError(f"{f} holds fewer than four numbers; expected x_left y_left x_right y_right.")
            return tuple(nums[:4])  # type: ignore[return-value]
    return None


# --------------------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------------------
class CUFSFDataset(Dataset):
    """CUFSF photo-sketch pairs (``root/photos/*``, ``root/sketches/*``, matched by file stem).

    Faces are cropped by eye coordinates to a canonical framing (eye centres at ``eye_x`` of the width and
    ``eye_y`` of the height) when coordinates are known, else centre-cropped. Eye coordinates (pixels,
    ``x_left y_left x_right y_right``, left = smaller x) come from, per image: ``eye_coords`` (a file path,
    a dict ``name -> 4 numbers`` or a dict ``{"photo": {...}, "sketch": {...}}``), else
    ``root/eyes_photos.txt`` / ``root/eyes_sketches.txt``, else a file beside the image
    (``NAME.eyes.txt``, ``NAME.txt``, ``NAME.3pts``), else ``root/eyes.txt``. Coordinates from a file shared
    by both (``eyes.txt`` or a plain dict) are photo pixels; the sketch's are scaled by the size ratio.
    Once any coordinates exist, every image needs them (a :class:`DataError` otherwise).

    Split: ``split_file`` (or ``root/train.txt`` / ``root/test.txt``) lists names; else the first
    ``n_train`` (900) sorted names are ``train`` and the rest (294) ``test``; ``all`` keeps every pair.
    ``augment`` rotates the sketch by a random angle in ±``max_rotation`` degrees (white fill).
    Items: ``photo`` (3, S, S), ``sketch`` (1, S, S), ``name``."""

    def __init__(self, root: str | os.PathLike, split: str = "train", size: int = 256,
                 eye_coords: str | os.PathLike | Mapping | None = None, augment: bool = False, *,
                 n_train: int = 900, split_file: str | os.PathLike | None = None, strict: bool = True,
                 max_rotation: float = 5.0, eye_x: tuple[float, float] = EYE_X, eye_y: float = EYE_Y):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"{self.root} is not a folder; expected a CUFSF folder with photos/ and sketches/.")
        self.size = size
        self.augment = augment
        self.max_rotation = float(max_rotation)
        self.eye_x, self.eye_y = eye_x, eye_y
        photos = list_files(_subfolder(self.root, "photos", "photo"))
        sketches = list_files(_subfolder(self.root, "sketches", "sketch"))
        names = _pair(photos, sketches, strict, ("photo", "sketch"))
        self.names = _select_split(names, split, n_train, split_file, self.root)
        self.photos = {n: photos[n] for n in self.names}
        self.sketches = {n: sketches[n] for n in self.names}
        self._eyes = {"photo": {}, "sketch": {}}  # name -> (coords, shared-with-photo?)
        self._load_eyes(eye_coords)

    def _load_eyes(self, eye_coords) -> None:
        shared: dict = {}
        own: dict[str, dict] = {"photo": {}, "sketch": {}}
        if eye_coords is not None:
            if isinstance(eye_coords, Mapping):
                if set(eye_coords) <= {"photo", "sketch"} and eye_coords:
                    for k, v in eye_coords.items():
                        own[k] = {_stem(n): tuple(map(float, c)) for n, c in v.items()}
                else:
                    shared = {_stem(n): tuple(map(float, c)) for n, c in eye_coords.items()}
            else:
                shared = read_eye_file(eye_coords)
        else:
            if (self.root / "eyes.txt").is_file():
                shared = read_eye_file(self.root / "eyes.txt")
            for mod, fname in (("photo", "eyes_photos.txt"), ("sketch", "eyes_sketches.txt")):
                if (self.root / fname).is_file():
                    own[mod] = read_eye_file(self.root / fname)
        any_found = bool(shared) or any(own.values())
        for mod, files in (("photo", self.photos), ("sketch", self.sketches)):
            for n, path in files.items():
                if n in own[mod]:
                    self._eyes[mod][n] = (own[mod][n], False)
                    continue
                beside = _per_image_eyes(path)
                if beside is not None:
                    self._eyes[mod][n] = (beside, False)
                    any_found = True
                elif n in shared:
                    self._eyes[mod][n] = (shared[n], mod == "sketch")
        if any_found:
            for mod, files in (("photo", self.photos), ("sketch", self.sketches)):
                for n, path in files.items():
                    if n not in self._eyes[mod]:
                        raise DataError(f"No eye coordinates for {path}; add them (see docs/DATASETS.md) "
                                        "or remove the other eye files to use centre crops.")
        self.eye_aligned = any_found

    def __len__(self) -> int:
        return len(self.names)

    def _frame(self, img: np.ndarray, mod: str, name: str, photo_shape) -> np.ndarray:
        entry = self._eyes[mod].get(name)
        if entry is None or self.size is None:
            return fit_square(img, self.size, "crop")
        (xl, yl, xr, yr), from_photo = entry
        if from_photo and photo_shape is not None:
            sy, sx = img.shape[0] / photo_shape[0], img.shape[1] / photo_shape[1]
            xl, xr, yl, yr = xl * sx, xr * sx, yl * sy, yr * sy
        path = self.photos[name] if mod == "photo" else self.sketches[name]
        try:
            return eye_align(img, (xl, yl), (xr, yr), self.size, eye_x=self.eye_x, eye_y=self.eye_y, fill=1.0)
        except ValueError as exc:
            raise DataError(f"Bad eye coordinates for {path} ({exc}).") from exc

    def __getitem__(self, i: int) -> dict:
        name = self.names[i]
        photo = read_image(self.photos[name], 3)
        sketch = read_image(self.sketches[name], 1)
        photo_out = self._frame(photo, "photo", name, None)
        sketch_out = self._frame(sketch, "sketch", name, photo.shape[:2])
        if self.augment and self.max_rotation > 0:
            angle = float(torch.empty(()).uniform_(-self.max_rotation, self.max_rotation))
            sketch_out = rotate(sketch_out, angle, fill=1.0)
        return {"photo": to_tensor(np.clip(photo_out, 0, 1)), "sketch": to_tensor(np.clip(sketch_out, 0, 1)),
                "name": name}


class FineDataDataset(Dataset):
    """FineData-style photo-depth pairs: ``root/photo/NAME.<img>`` and ``root/depth/NAME.png|.npy``
    (8/16-bit grey PNG or float .npy in [0, 1]; 1 = nearest, 0 = background; ``invert_depth`` for maps
    stored far = bright). With ``split`` ('train'/'test') the pairs are read from ``root/<split>/`` when
    that folder exists, else chosen by ``split_file`` / ``root/<split>.txt`` or the first ``n_train``
    sorted names. Photo and depth of a pair must have the same size (they are pixel-aligned).
    Items: ``photo`` (3, S, S), ``depth`` (1, S, S), ``mask`` (1, S, S), ``name``."""

    def __init__(self, root: str | os.PathLike, split: str = "all", size: int | None = 256, *,
                 n_train: int | None = None, split_file: str | os.PathLike | None = None,
                 invert_depth: bool = False, strict: bool = True, fit: str = "crop"):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"{self.root} is not a folder; expected a FineData folder with photo/ and depth/.")
        base = self.root / split if split in ("train", "test") and (self.root / split).is_dir() else self.root
        self.size, self.fit, self.invert_depth = size, fit, invert_depth
        photos = list_files(_subfolder(base, "photo", "photos"))
        depths = list_files(_subfolder(base, "depth", "depths"), DEPTH_EXTS)
        names = _pair(photos, depths, strict, ("photo", "depth"))
        if base == self.root:
            n = n_train if n_train is not None else int(round(0.8 * len(names)))
            names = _select_split(names, split, n, split_file, self.root)
        self.names = names
        self.photos = {n: photos[n] for n in names}
        self.depths = {n: depths[n] for n in names}

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> dict:
        name = self.names[i]
        photo = read_image(self.photos[name], 3)
        depth = read_depth(self.depths[name], self.invert_depth)
        if photo.shape[:2] != depth.shape:
            raise DataError(f"{self.depths[name]} is {depth.shape[1]}x{depth.shape[0]} but its photo "
                            f"{self.photos[name]} is {photo.shape[1]}x{photo.shape[0]}; pairs must be pixel-aligned.")
        photo = fit_square(photo, self.size, self.fit)
        depth = fit_depth(depth, self.size, self.fit)
        return {"photo": to_tensor(np.clip(photo, 0, 1)), "depth": to_tensor(depth),
                "mask": to_tensor((depth > 0).astype(np.float32)), "name": name}


class LineDrawingDataset(Dataset):
    """A folder of line drawings (ZJU-VIPA style; evaluation only, no depth): every image in ``root``.
    Drawings are padded with white to a square (nothing is cut off) and resized. ``invert='auto'`` turns
    white-on-black drawings (mean below 0.5) into black lines on white, the package convention.
    Items: ``sketch`` (1, S, S; the drawing, the input of the pipeline), ``name``."""

    def __init__(self, root: str | os.PathLike, size: int | None = 256, *, invert: bool | str = "auto",
                 fit: str = "pad"):
        self.root = Path(root).expanduser()
        self.files = list_files(self.root)
        if not self.files:
            raise DataError(f"{self.root} holds no images ({', '.join(IMAGE_EXTS)}).")
        self.names = sorted(self.files)
        self.size, self.invert, self.fit = size, invert, fit

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> dict:
        name = self.names[i]
        a = read_image(self.files[name], 1)
        if self.invert is True or (self.invert == "auto" and float(a.mean()) < 0.5):
            a = 1.0 - a
        a = fit_square(a, self.size, self.fit, fill=1.0)
        return {"sketch": to_tensor(np.clip(a, 0, 1)), "name": name}


class FolderDataset(Dataset):
    """Generic layout ``root/<split>/<modality>/<name>.<ext>`` with modality in sketch, photo, depth, lines
    (any subset; ``modalities=None`` takes the folders present). A sample is a name present in every listed
    modality (``strict=True`` makes a file without partners a :class:`DataError` instead). With ``aligned``
    all images of a sample must have the same size; ``expect_size`` (int or (H, W)) requires that size.
    Items: one tensor per modality (``photo`` 3 channels, others 1), ``mask`` with depth, ``name``."""

    def __init__(self, root: str | os.PathLike, split: str | None = "train",
                 modalities: Sequence[str] | None = None, size: int | None = 256, *, fit: str = "crop",
                 strict: bool = False, aligned: bool = True, expect_size: int | tuple[int, int] | None = None,
                 invert_depth: bool = False):
        self.root = Path(root).expanduser()
        base = self.root / split if split else self.root
        if not base.is_dir():
            raise DataError(f"{base} is not a folder; expected {self.root}/<split>/<modality>/ (see docs/DATASETS.md).")
        if modalities is None:
            modalities = [m for m in MODALITIES if (base / m).is_dir()]
            if not modalities:
                raise DataError(f"{base} has none of the folders {', '.join(MODALITIES)}.")
        bad = [m for m in modalities if m not in MODALITIES]
        if bad:
            raise ValueError(f"unknown modality {bad[0]!r}; expected a subset of {MODALITIES}")
        self.modalities = list(modalities)
        self.files: dict[str, dict[str, Path]] = {}
        for m in self.modalities:
            if not (base / m).is_dir():
                raise DataError(f"{base / m} is missing (modality {m!r} was asked for).")
            self.files[m] = list_files(base / m, DEPTH_EXTS if m == "depth" else IMAGE_EXTS)
        common = set.intersection(*(set(f) for f in self.files.values()))
        if strict:
            for m, f in self.files.items():
                extra = sorted(set(f) - common)
                if extra:
                    others = [o for o in self.modalities if extra[0] not in self.files[o]]
                    raise DataError(f"{f[extra[0]]} has no partner in {', '.join(others)}.")
        self.names = sorted(common)
        self.size, self.fit, self.aligned, self.invert_depth = size, fit, aligned, invert_depth
        if isinstance(expect_size, int):
            expect_size = (expect_size, expect_size)
        self.expect_size = tuple(expect_size) if expect_size is not None else None

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> dict:
        name = self.names[i]
        raw: dict[str, np.ndarray] = {}
        for m in self.modalities:
            path = self.files[m][name]
            raw[m] = read_depth(path, self.invert_depth) if m == "depth" else read_image(path, CHANNELS[m])
            hw = raw[m].shape[:2]
            if self.expect_size is not None and hw != self.expect_size:
                raise DataError(f"{path} is {hw[1]}x{hw[0]}; this dataset requires "
                                f"{self.expect_size[1]}x{self.expect_size[0]}.")
        if self.aligned:
            first = self.modalities[0]
            for m in self.modalities[1:]:
                if raw[m].shape[:2] != raw[first].shape[:2]:
                    a, b = raw[m].shape, raw[first].shape
                    raise DataError(f"{self.files[m][name]} is {a[1]}x{a[0]} but {self.files[first][name]} is "
                                    f"{b[1]}x{b[0]}; the images of a sample must be pixel-aligned.")
        out: dict = {}
        for m in self.modalities:
            if m == "depth":
                d = fit_depth(raw[m], self.size, self.fit)
                out["depth"] = to_tensor(d)
                out["mask"] = to_tensor((d > 0).astype(np.float32))
            else:
                out[m] = to_tensor(np.clip(fit_square(raw[m], self.size, self.fit, fill=1.0), 0, 1))
        out["name"] = name
        return out


__all__ = [
    "DataError", "CUFSFDataset", "FineDataDataset", "LineDrawingDataset", "FolderDataset",
    "read_image", "read_depth", "read_eye_file", "list_files", "eye_align", "fit_square", "fit_depth",
    "rotate", "to_tensor", "EYE_X", "EYE_Y", "MODALITIES",
]
