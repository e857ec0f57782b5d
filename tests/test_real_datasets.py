"""Real-data datasets on tiny fixture folders: shapes, ranges, pairing, eye crops, splits and bad files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from sketchface.data.real import (
    EYE_X, EYE_Y, CUFSFDataset, DataError, FineDataDataset, FolderDataset, LineDrawingDataset, read_depth,
    read_image,
)

W, H = 40, 50          # fixture images: 40 wide, 50 tall
NAMES = ["a", "b", "c", "d", "e", "f"]
EYES = {n: (7.0 + i, 12.0, 19.0 + i, 14.0) for i, n in enumerate(NAMES)}  # x_l y_l x_r y_r; small, tilted, off-centre


def level(i: int) -> int:
    """A grey level that identifies sample i (kept away from the eye dots' 0)."""
    return 100 + 25 * i


def face_image(i: int, channels: int, eyes=None) -> np.ndarray:
    a = np.full((H, W, 3), level(i), np.uint8)
    a[..., 1] = 200  # photos: green fixed, red/blue carry the id
    if eyes is not None:
        xl, yl, xr, yr = eyes
        for x, y in ((xl, yl), (xr, yr)):
            a[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = 0
    return a if channels == 3 else a[..., 0]


@pytest.fixture()
def cufsf(tmp_path: Path) -> Path:
    root = tmp_path / "cufsf"
    (root / "photos").mkdir(parents=True)
    (root / "sketches").mkdir()
    for i, n in enumerate(NAMES):
        Image.fromarray(face_image(i, 3, EYES[n])).save(root / "photos" / f"{n}.jpg", quality=98)
        Image.fromarray(face_image(i, 1, EYES[n])).save(root / "sketches" / f"{n}.png")
    return root


def write_eyes(root: Path, names=NAMES, fname="eyes.txt") -> None:
    lines = ["# name x_left y_left x_right y_right"]
    lines += [f"{n}.jpg {' '.join(str(v) for v in EYES[n])}" for n in names]
    (root / fname).write_text("\n".join(lines) + "\n")


def dark_points(img: torch.Tensor) -> np.ndarray:
    """Centroids (x, y) of the dark blobs in the left and right halves of a (C, S, S) image."""
    a = img.mean(0).numpy()
    s = a.shape[1]
    out = []
    for x0, x1 in ((0, s // 2), (s // 2, s)):
        part = a[:, x0:x1]
        ys, xs = np.nonzero(part < 0.25)
        out.append((xs.mean() + x0, ys.mean()))
    return np.array(out)


# ------------------------------------------------------------------------------------------------ CUFSF
def test_cufsf_shapes_ranges_pairing(cufsf):
    ds = CUFSFDataset(cufsf, split="all", size=32)
    assert len(ds) == 6 and ds.names == NAMES and not ds.eye_aligned
    for i in range(len(ds)):
        item = ds[i]
        assert item["photo"].shape == (3, 32, 32) and item["sketch"].shape == (1, 32, 32)
        for k in ("photo", "sketch"):
            t = item[k]
            assert t.dtype == torch.float32 and 0.0 <= t.min() and t.max() <= 1.0
        # photo and sketch of the same sample carry the same id level (centre pixel, away from the eyes)
        expect = level(i) / 255.0
        assert abs(float(item["photo"][0, 28, 16]) - expect) < 0.03
        assert abs(float(item["sketch"][0, 28, 16]) - expect) < 0.01
        assert item["name"] == NAMES[i]
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["photo"].shape == (4, 3, 32, 32) and batch["name"] == NAMES[:4]


def test_cufsf_splits(cufsf):
    assert len(CUFSFDataset(cufsf, "train", size=16, n_train=4)) == 4
    test = CUFSFDataset(cufsf, "test", size=16, n_train=4)
    assert test.names == ["e", "f"]
    (cufsf / "train.txt").write_text("b\nd.jpg  # with extension\n")
    assert CUFSFDataset(cufsf, "train", size=16).names == ["b", "d"]
    other = cufsf.parent / "mysplit.txt"
    other.write_text("f\n")
    assert CUFSFDataset(cufsf, "test", size=16, split_file=other).names == ["f"]
    other.write_text("zzz\n")
    with pytest.raises(DataError, match="mysplit.txt"):
        CUFSFDataset(cufsf, "test", size=16, split_file=other)


def test_cufsf_default_split_is_900_294(tmp_path):
    root = tmp_path / "big"
    (root / "photos").mkdir(parents=True)
    (root / "sketches").mkdir()
    img = Image.fromarray(np.full((4, 4), 128, np.uint8))
    for k in range(1194):
        img.save(root / "photos" / f"{k:05d}.png")
        img.save(root / "sketches" / f"{k:05d}.png")
    assert len(CUFSFDataset(root, "train")) == 900
    assert len(CUFSFDataset(root, "test")) == 294


@pytest.mark.parametrize("size", [64, 48])
def test_cufsf_eye_crop_puts_eyes_at_canonical_positions(cufsf, size):
    write_eyes(cufsf)
    ds = CUFSFDataset(cufsf, split="all", size=size)
    assert ds.eye_aligned
    want = np.array([(EYE_X[0] * size, EYE_Y * size), (EYE_X[1] * size, EYE_Y * size)])
    plain = CUFSFDataset(cufsf, split="all", size=size, eye_coords={})  # {} = no coordinates: centre crop
    for i in (0, 5):
        item = ds[i]
        for key in ("photo", "sketch"):
            got = dark_points(item[key])
            assert np.abs(got - want).max() < 1.6, (key, got, want)
        # without eye coordinates the eyes are elsewhere
        assert np.abs(dark_points(plain[i]["sketch"]) - want).max() > 3


def test_cufsf_eye_sources(cufsf):
    # per-modality file for sketches + per-image file beside photos; the per-image '.3pts' has a mouth too
    write_eyes(cufsf, fname="eyes_sketches.txt")
    for n in NAMES:
        xl, yl, xr, yr = EYES[n]
        (cufsf / "photos" / f"{n}.3pts").write_text(f"{xl} {yl}\n{xr} {yr}\n20 40\n")
    ds = CUFSFDataset(cufsf, split="all", size=64)
    want = np.array([(EYE_X[0] * 64, EYE_Y * 64), (EYE_X[1] * 64, EYE_Y * 64)])
    assert np.abs(dark_points(ds[2]["photo"]) - want).max() < 1.6
    # a dict for both, in photo pixels
    ds2 = CUFSFDataset(cufsf, split="all", size=64, eye_coords={"photo": EYES, "sketch": EYES})
    assert np.abs(dark_points(ds2[3]["sketch"]) - want).max() < 1.6


def test_cufsf_shared_eyes_scale_to_sketch_size(cufsf):
    # sketches stored at twice the photo size: coordinates in eyes.txt are photo pixels
    for i, n in enumerate(NAMES):
        big = Image.fromarray(face_image(i, 1, EYES[n])).resize((2 * W, 2 * H), Image.NEAREST)
        big.save(cufsf / "sketches" / f"{n}.png")
    write_eyes(cufsf)
    item = CUFSFDataset(cufsf, split="all", size=64)[1]
    want = np.array([(EYE_X[0] * 64, EYE_Y * 64), (EYE_X[1] * 64, EYE_Y * 64)])
    assert np.abs(dark_points(item["sketch"]) - want).max() < 1.6


def test_cufsf_missing_eye_entry_names_path(cufsf):
    write_eyes(cufsf, names=NAMES[:-1])
    with pytest.raises(DataError, match=r"f\.jpg"):
        CUFSFDataset(cufsf, split="all", size=32)
    (cufsf / "eyes.txt").write_text("a 1 2 3\n")
    with pytest.raises(DataError, match=r"eyes\.txt, line 1"):
        CUFSFDataset(cufsf, split="all", size=32)


def test_cufsf_augment_rotates_sketch_only(cufsf):
    write_eyes(cufsf)
    plain = CUFSFDataset(cufsf, split="all", size=48)
    aug = CUFSFDataset(cufsf, split="all", size=48, augment=True, max_rotation=5.0)
    torch.manual_seed(0)
    a = aug[0]
    p = plain[0]
    assert torch.equal(a["photo"], p["photo"])
    assert a["sketch"].shape == p["sketch"].shape and not torch.equal(a["sketch"], p["sketch"])
    assert 0.0 <= a["sketch"].min() and a["sketch"].max() <= 1.0
    # a rotation of at most 5 degrees moves the eyes by little
    assert np.abs(dark_points(a["sketch"]) - dark_points(p["sketch"])).max() < 3.0
    still = CUFSFDataset(cufsf, split="all", size=48, augment=True, max_rotation=0.0)
    assert torch.equal(still[0]["sketch"], p["sketch"])


def test_cufsf_missing_pair_and_bad_file(cufsf):
    (cufsf / "sketches" / "c.png").unlink()
    with pytest.raises(DataError, match=r"photos/c\.jpg has no matching sketch"):
        CUFSFDataset(cufsf, split="all")
    assert CUFSFDataset(cufsf, split="all", strict=False).names == ["a", "b", "d", "e", "f"]
    (cufsf / "photos" / "b.jpg").write_bytes(b"not a jpeg at all")
    ds = CUFSFDataset(cufsf, split="all", strict=False, size=16)
    with pytest.raises(DataError, match=r"photos/b\.jpg"):
        ds[1]
    with pytest.raises(DataError, match="photos/"):
        CUFSFDataset(cufsf.parent, split="all")


def test_cufsf_duplicate_stem(cufsf):
    Image.fromarray(face_image(0, 3)).save(cufsf / "photos" / "a.png")
    with pytest.raises(DataError, match=r"a\.(png|jpg)"):
        CUFSFDataset(cufsf, split="all")


# --------------------------------------------------------------------------------------------- FineData
def depth_array(i: int) -> np.ndarray:
    """A face-like blob: background 0, a disc of depth rising to the centre."""
    yy, xx = np.mgrid[0:H, 0:W]
    r = np.hypot((xx - W / 2) / 14, (yy - H / 2) / 18)
    return np.where(r < 1, 0.3 + 0.5 * (1 - r) + 0.02 * i, 0.0)


@pytest.fixture()
def finedata(tmp_path: Path) -> Path:
    root = tmp_path / "finedata"
    (root / "photo").mkdir(parents=True)
    (root / "depth").mkdir()
    for i, n in enumerate(NAMES[:4]):
        Image.fromarray(face_image(i, 3)).save(root / "photo" / f"{n}.png")
        d = depth_array(i)
        if i == 0:
            np.save(root / "depth" / f"{n}.npy", d.astype(np.float32))
        elif i == 1:
            Image.fromarray(np.round(d * 255).astype(np.uint8)).save(root / "depth" / f"{n}.png")
        else:
            Image.fromarray(np.round(d * 65535).astype(np.uint16)).save(root / "depth" / f"{n}.png")
    return root


def test_read_depth_formats(finedata):
    for n, tol in (("a", 1e-6), ("b", 1 / 255), ("c", 1 / 65535)):
        path = next((finedata / "depth").glob(f"{n}.*"))
        d = read_depth(path)
        assert d.dtype == np.float32 and d.shape == (H, W)
        np.testing.assert_allclose(d, depth_array(NAMES.index(n)), atol=tol + 1e-6)
    # 16-bit precision survives (an 8-bit read would be off by up to 1/255)
    d16 = read_depth(finedata / "depth" / "c.png")
    assert np.abs(d16 - depth_array(2)).max() < 1e-4


def test_finedata_items(finedata):
    ds = FineDataDataset(finedata, size=32)
    assert ds.names == ["a", "b", "c", "d"]
    for i in range(len(ds)):
        item = ds[i]
        assert item["photo"].shape == (3, 32, 32) and item["depth"].shape == (1, 32, 32)
        assert item["mask"].shape == (1, 32, 32)
        d, m = item["depth"], item["mask"]
        assert 0 <= d.min() and d.max() <= 1
        assert torch.equal(m, (d > 0).float())
        assert m[0, 0, 0] == 0 and m[0, 16, 16] == 1  # background corner, face centre
        # face pixels keep their depth (no background mixed in at the silhouette)
        assert float(d[m > 0].min()) > 0.25
    assert len(FineDataDataset(finedata, "train", size=16, n_train=3)) == 3
    assert FineDataDataset(finedata, "test", size=16, n_train=3).names == ["d"]


def test_finedata_split_subfolders(finedata, tmp_path):
    import shutil

    root = tmp_path / "fd2"
    shutil.copytree(finedata, root / "train")
    shutil.copytree(finedata, root / "test")
    for f in (root / "test" / "photo").glob("[ab].*"):
        f.unlink()
    for f in (root / "test" / "depth").glob("[ab].*"):
        f.unlink()
    assert len(FineDataDataset(root, "train", size=16)) == 4
    assert FineDataDataset(root, "test", size=16).names == ["c", "d"]


def test_finedata_bad_files_name_the_path(finedata):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(finedata / "depth" / "d.png")
    ds = FineDataDataset(finedata, size=32)
    with pytest.raises(DataError, match=r"depth/d\.png is 10x10 but its photo"):
        ds[3]
    np.save(finedata / "depth" / "a.npy", np.full((H, W), 7.0, np.float32))
    with pytest.raises(DataError, match=r"depth/a\.npy"):
        ds[0]
    (finedata / "depth" / "b.png").unlink()
    with pytest.raises(DataError, match=r"photo/b\.png has no matching depth"):
        FineDataDataset(finedata)
    Image.fromarray(np.dstack([np.zeros((H, W), np.uint8), np.full((H, W), 9, np.uint8),
                               np.zeros((H, W), np.uint8)])).save(finedata / "depth" / "b.png")
    with pytest.raises(DataError, match=r"depth/b\.png is a colour image"):
        FineDataDataset(finedata)[1]


# ---------------------------------------------------------------------------------------- line drawings
def test_line_drawings(tmp_path):
    root = tmp_path / "zju"
    root.mkdir()
    lines = np.full((H, W), 255, np.uint8)
    lines[10:40, 20] = 0
    Image.fromarray(lines).save(root / "001.png")
    Image.fromarray(255 - lines).save(root / "002.png")          # white lines on black
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[10:40, 20, 3] = 255                                      # black strokes on a transparent canvas
    Image.fromarray(rgba, "RGBA").save(root / "003.png")
    (root / "notes.txt").write_text("ignored")
    ds = LineDrawingDataset(root, size=32)
    assert len(ds) == 3 and set(ds[0]) == {"sketch", "name"}
    for i in range(3):
        s = ds[i]["sketch"]
        assert s.shape == (1, 32, 32) and s.dtype == torch.float32
        assert 0 <= s.min() and s.max() <= 1
        assert float(s.mean()) > 0.8                               # mostly white paper
        assert float(s[0, :, 0].min()) > 0.999                     # white padding on the short side
        assert float(s.min()) < 0.6                                # the line survives
    assert torch.allclose(ds[0]["sketch"], ds[1]["sketch"], atol=1e-6)
    assert torch.allclose(ds[0]["sketch"], ds[2]["sketch"], atol=1e-6)
    (root / "004.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match=r"004\.png"):
        LineDrawingDataset(root, size=32)[3]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no images"):
        LineDrawingDataset(empty)


# --------------------------------------------------------------------------------------- generic folder
@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    for split, names in (("train", NAMES[:4]), ("test", NAMES[4:])):
        for m in ("sketch", "photo", "depth", "lines"):
            (root / split / m).mkdir(parents=True)
        for n in names:
            i = NAMES.index(n)
            Image.fromarray(face_image(i, 1)).save(root / split / "sketch" / f"{n}.png")
            Image.fromarray(face_image(i, 3)).save(root / split / "photo" / f"{n}.jpg", quality=98)
            Image.fromarray(face_image(i, 1)).save(root / split / "lines" / f"{n}.png")
            np.save(root / split / "depth" / f"{n}.npy", depth_array(i).astype(np.float32))
    # an unpaired sketch
    Image.fromarray(face_image(0, 1)).save(root / "train" / "sketch" / "zz.png")
    return root


def test_folder_dataset(folder):
    ds = FolderDataset(folder, "train", size=24)
    assert ds.modalities == ["sketch", "photo", "depth", "lines"]
    assert ds.names == NAMES[:4]                                 # 'zz' has only a sketch
    item = ds[2]
    assert set(item) == {"sketch", "photo", "depth", "lines", "mask", "name"}
    assert item["sketch"].shape == (1, 24, 24) and item["photo"].shape == (3, 24, 24)
    assert item["depth"].shape == (1, 24, 24) and item["lines"].shape == (1, 24, 24)
    for k in ("sketch", "photo", "depth", "lines", "mask"):
        assert item[k].dtype == torch.float32 and 0 <= item[k].min() and item[k].max() <= 1
    assert abs(float(item["sketch"][0, 12, 12]) - level(2) / 255) < 0.01  # pairing by name
    sub = FolderDataset(folder, "test", modalities=["photo", "depth"], size=None)
    assert sub.names == ["e", "f"] and set(sub[0]) == {"photo", "depth", "mask", "name"}
    assert sub[0]["photo"].shape == (3, H, W)                     # size=None keeps the stored size
    assert len(FolderDataset(folder, "train", modalities=["sketch"])) == 5


def test_folder_dataset_errors(folder):
    with pytest.raises(DataError, match=r"sketch/zz\.png has no partner in photo, depth, lines"):
        FolderDataset(folder, "train", strict=True)
    with pytest.raises(DataError, match="val"):
        FolderDataset(folder, "val")
    import shutil

    shutil.rmtree(folder / "test" / "lines")
    with pytest.raises(DataError, match="lines"):
        FolderDataset(folder, "test", modalities=["sketch", "lines"])
    with pytest.raises(DataError, match=r"sketch/a\.png is 40x50; this dataset requires 64x64"):
        FolderDataset(folder, "train", expect_size=64)[0]
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(folder / "train" / "lines" / "b.png")
    with pytest.raises(DataError, match=r"lines/b\.png is 20x20 but .*sketch/b\.png is 40x50"):
        FolderDataset(folder, "train")[1]
    (folder / "train" / "photo" / "c.jpg").write_bytes(b"")
    with pytest.raises(DataError, match=r"photo/c\.jpg"):
        FolderDataset(folder, "train")[2]


def test_read_image_modes(tmp_path):
    g16 = (np.linspace(0, 65535, W * H).reshape(H, W)).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    a = read_image(tmp_path / "g16.png", 1)
    assert a.dtype == np.float32 and abs(float(a.max()) - 1.0) < 1e-6 and a.min() == 0
    rgb = read_image(tmp_path / "g16.png", 3)
    assert rgb.shape == (H, W, 3)
    pal = Image.fromarray(face_image(1, 3)).convert("P")
    pal.save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png", 3).shape == (H, W, 3)
    with pytest.raises(DataError, match="nothing.png"):
        read_image(tmp_path / "nothing.png")
