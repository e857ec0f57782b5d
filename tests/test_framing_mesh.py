"""Input reading, face framing, paste-back, and mesh export."""
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sketchface.framing import (InputError, crop_to_frame, flatten_paper, frame_face, guess_kind, ink_box,
                                load_image, paper_surface, paste_back)
from sketchface.mesh import depth_to_mesh, export_mesh, save_depth_png16


def drawing(h=300, w=260, box=(60, 40, 200, 250), width=3):
    """A face-like ink drawing: an ellipse outline, two eyes and a mouth inside ``box``."""
    import cv2
    img = np.full((h, w), 255, np.uint8)
    x0, y0, x1, y1 = box
    c = ((x0 + x1) // 2, (y0 + y1) // 2)
    cv2.ellipse(img, c, ((x1 - x0) // 2, (y1 - y0) // 2), 0, 0, 360, 0, width)
    ex = (x1 - x0) // 5
    cv2.circle(img, (c[0] - ex, c[1] - (y1 - y0) // 8), max(ex // 3, 2), 0, width)
    cv2.circle(img, (c[0] + ex, c[1] - (y1 - y0) // 8), max(ex // 3, 2), 0, width)
    cv2.line(img, (c[0] - ex, c[1] + (y1 - y0) // 4), (c[0] + ex, c[1] + (y1 - y0) // 4), 0, width)
    return img


@pytest.mark.parametrize("make", [
    lambda a: a,                                          # uint8 gray
    lambda a: a.astype(np.float32) / 255,                 # float gray
    lambda a: np.repeat(a[..., None], 3, 2),              # uint8 RGB
    lambda a: np.dstack([np.zeros_like(a)] * 3 + [255 - a]),  # RGBA: black ink on transparent
    lambda a: a.astype(np.uint16) * 257,                  # 16-bit
    lambda a: Image.fromarray(a),                         # PIL
    lambda a: Image.fromarray(a).convert("CMYK"),         # CMYK
])
def test_load_image_accepts_common_forms(make):
    a = drawing()
    rgb = load_image(make(a))
    assert rgb.shape == (*a.shape, 3) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb.mean(-1), a / 255.0, atol=0.02)


def test_load_image_reads_files(tmp_path):
    p = tmp_path / "d.png"
    Image.fromarray(drawing()).save(p)
    assert load_image(p).shape == (300, 260, 3)
    assert load_image(p.read_bytes()).shape == (300, 260, 3)


@pytest.mark.parametrize("bad,words", [
    (None, "no image"),
    (np.zeros((0, 0)), "0x0 pixels"),
    (np.zeros((1, 1), np.uint8), "at least 8x8"),
    (np.full((16, 16), np.nan, np.float32), "NaN"),
    (np.full((16, 16), 7.0, np.float64) * 1000, "[0, 1]"),
    (np.zeros((16, 16, 2)), "shape"),
    (b"", "empty"),
    (b"not an image at all", "not an image"),
    (12, "file path, a PIL image"),
])
def test_load_image_refuses_with_one_sentence(bad, words):
    with pytest.raises(InputError) as e:
        load_image(bad)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_decompression_bomb_is_refused():
    buf = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buf, "PNG")     # tiny file, 81 M pixels
    with pytest.raises(InputError, match="million"):
        load_image(buf.getvalue())


def test_blank_drawing_says_so():
    with pytest.raises(InputError, match="blank"):
        frame_face(np.ones((64, 64, 3), np.float32), "sketch")


def test_kind_guess():
    a = load_image(drawing())
    assert guess_kind(a) == "lines"
    photo = np.random.default_rng(0).uniform(0, 1, (64, 64, 3)).astype(np.float32)
    assert guess_kind(photo) == "photo"


def on_paper(a, tint=(1.0, 0.95, 0.82)):
    """The drawing ``a`` (uint8 grey) photographed on cream paper under light falling from the left."""
    h, w = a.shape
    light = 0.9 - 0.25 * np.mgrid[0:h, 0:w][1] / w
    ink = 1 - (1 - a / 255.0) * 0.8                                   # grey pencil
    return (ink * light)[..., None] * np.array(tint, np.float32)


def test_paper_is_made_white_and_ink_stays():
    a = drawing()
    clean = load_image(a).mean(-1)
    np.testing.assert_allclose(flatten_paper(clean), clean, atol=1e-4)     # white paper: nothing to do
    gray = on_paper(a).mean(-1).astype(np.float32)
    surface, share = paper_surface(gray)
    assert share > 0.9 and surface.shape == gray.shape
    flat = flatten_paper(gray)
    paper, ink = a == 255, a == 0
    assert gray[paper].min() < 0.7 and np.percentile(flat[paper], 5) > 0.95     # uneven cream -> white
    assert flat[ink].mean() < 0.35                                              # the strokes stay dark
    big = np.kron(gray, np.ones((9, 9), np.float32))                            # 2700 x 2340: one small fit
    assert paper_surface(big)[0].shape == big.shape


def test_kind_guess_on_paper_and_in_colour():
    a = drawing()
    assert guess_kind(on_paper(a)) != "photo"                          # tinted paper is not a colour photo
    assert guess_kind(on_paper(a, (0.8, 0.9, 1.0))) != "photo"         # nor is a bluish one
    face = np.full((90, 90, 3), (0.3, 0.5, 0.9), np.float32)           # a skin-coloured disc on blue
    yy, xx = np.mgrid[0:90, 0:90]
    face[(yy - 45) ** 2 + (xx - 45) ** 2 < 30 ** 2] = (0.85, 0.6, 0.5)
    assert guess_kind(face) == "photo"
    assert guess_kind(np.kron(face, np.ones((8, 8, 1), np.float32))) == "photo"     # 720 px: judged on a copy
    assert guess_kind(load_image(drawing(900, 780, (180, 120, 600, 750), width=6))) == "lines"
    import cv2
    grey = cv2.resize(np.random.default_rng(0).uniform(0.1, 0.9, (6, 6)).astype(np.float32), (90, 90),
                      interpolation=cv2.INTER_CUBIC).clip(0, 1)
    assert paper_surface(grey)[1] < 0.5 and guess_kind(np.repeat(grey[..., None], 3, -1)) == "photo"   # no paper
    ramp = np.repeat(np.linspace(0.4, 0.9, 90, dtype=np.float32)[None, :], 90, 0)
    assert guess_kind(np.repeat(ramp[..., None], 3, -1)) != "photo"    # light falling across a blank sheet


def test_framing_follows_the_drawing_in_position_and_scale():
    """The same drawing shifted and scaled: the crop box moves and scales with it, the framed inputs match."""
    a = drawing(300, 260, (60, 40, 200, 250))
    b = drawing(600, 700, (200, 100, 480, 520), width=6)        # 2x larger, elsewhere
    fa, fb = frame_face(load_image(a), "sketch"), frame_face(load_image(b), "sketch")
    sa, sb = fa.crop_box[2] - fa.crop_box[0], fb.crop_box[2] - fb.crop_box[0]
    assert sb / sa == pytest.approx(2.0, rel=0.03)
    assert fb.crop_box[0] - 200 == pytest.approx(2 * (fa.crop_box[0] - 60), abs=3)
    assert fb.crop_box[1] - 100 == pytest.approx(2 * (fa.crop_box[1] - 40), abs=3)
    ia = crop_to_frame(load_image(a), fa.crop_box, 64, (1, 1, 1)).mean(-1)
    ib = crop_to_frame(load_image(b), fb.crop_box, 64, (1, 1, 1)).mean(-1)
    assert np.abs(ia - ib).mean() < 0.05
    # the ink lands where the training renders have it
    x0, y0, x1, y1 = ink_box(ia)
    assert 0.08 < x0 / 64 < 0.25 and 0.75 < x1 / 64 < 0.92


def test_paste_back_inverts_the_crop():
    rng = np.random.default_rng(1)
    img = rng.uniform(0, 1, (90, 120, 3)).astype(np.float32)
    import cv2
    img = cv2.GaussianBlur(img, (0, 0), 4)                      # smooth, so resampling is nearly exact
    box = (20, -10, 120, 90)                                     # reaches outside the top
    framed = crop_to_frame(img, box, 100, (0, 0, 0))             # 1 px -> 1 px
    back = paste_back(framed[..., 0], box, img.shape[:2])
    np.testing.assert_allclose(back[5:85, 25:115], img[5:85, 25:115, 0], atol=1e-3)
    assert back[:, :19].max() == 0                               # left of the crop: fill


def face_depth(n=48):
    yy, xx = np.mgrid[0:n, 0:n] / (n - 1) * 2 - 1
    r2 = xx ** 2 + (yy * 0.8) ** 2
    d = np.where(r2 < 0.8, 0.55 + 0.2 * np.sqrt(np.clip(0.8 - r2, 0, None)), 0.0)
    d += 0.15 * np.exp(-((xx) ** 2 + (yy + 0.4) ** 2) / 0.02) * (r2 < 0.8)   # a bump in the UPPER half
    return d.astype(np.float32)


def test_mesh_is_upright_faces_plus_z_and_keeps_colours(tmp_path):
    import trimesh
    d = face_depth()
    colors = np.zeros((48, 48, 3), np.float32)
    colors[..., 0] = 1.0                                          # red
    mesh = depth_to_mesh(d, colors=colors)
    assert mesh.vertices[mesh.vertices[:, 2].argmax(), 1] > 0     # the bump (upper image half) is at +y
    assert (mesh.face_normals[:, 2] > 0).mean() > 0.95            # triangles face the viewer (+Z)
    paths = export_mesh(mesh, tmp_path)
    assert b'"NORMAL"' in paths["glb"].read_bytes()[:4096]          # smooth shading in Blender: normals written
    assert "\nvn " in paths["obj"].read_text()
    g = trimesh.load(paths["glb"], force="mesh")
    assert len(g.faces) == len(mesh.faces)
    assert g.visual.vertex_colors[:, 0].min() == 255 and g.visual.vertex_colors[:, 1].max() == 0
    assert (g.face_normals[:, 2] > 0).mean() > 0.95
    for fmt in ("obj", "ply"):
        m = trimesh.load(paths[fmt], force="mesh")
        assert len(m.faces) == len(mesh.faces)
        np.testing.assert_allclose(m.bounds, mesh.bounds, atol=1e-4)


def test_mesh_drops_silhouette_jumps_and_refuses_empty():
    d = face_depth()
    full = depth_to_mesh(d, mask=np.ones_like(d, bool))          # background in the mask
    cut = depth_to_mesh(d, mask=np.ones_like(d, bool), max_edge_cm=1.0)
    assert len(cut.faces) < len(full.faces)
    with pytest.raises(ValueError, match="no face pixels"):
        depth_to_mesh(np.zeros((8, 8), np.float32))


def test_depth_png16_round_trip(tmp_path):
    import cv2
    d = face_depth()
    p = save_depth_png16(d, tmp_path / "d.png")
    back = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_allclose(back / 65535.0, d, atol=1 / 65535)


def test_kind_guess_pale_wall_photo_and_blue_pen():
    wall = np.full((120, 160, 3), 0.82, np.float32)                    # a face before a pale grey wall: mostly
    yy, xx = np.mgrid[0:120, 0:160]                                    # "paper", but coloured beyond any ink
    wall[(yy - 60) ** 2 / 40 ** 2 + (xx - 80) ** 2 / 22 ** 2 < 1] = (0.86, 0.62, 0.52)
    assert guess_kind(wall) == "photo"
    a = load_image(drawing()).copy()                                   # the same lines drawn in blue ink
    ink = a.mean(-1) < 0.5
    a[ink] = (0.1, 0.2, 0.7)
    assert guess_kind(a) != "photo"


REALSKETCH = Path(os.environ.get("SKETCHFACE_REALSKETCH", Path(__file__).resolve().parents[2] / "shared" / "data"
                                 / "realsketch"))


@pytest.mark.skipif(not (REALSKETCH / "dev").is_dir(), reason="the real dev sketches (../shared) are not here")
def test_kind_guess_on_real_dev_sketches_and_photos():
    from sketchface.data.real import IMAGE_EXTS

    wrong, n = [], 0
    for group in sorted(p for p in (REALSKETCH / "dev").iterdir() if p.is_dir()):
        for role, want in (("sketches", False), ("photos", True)):
            for path in sorted((group / role).iterdir()):
                if path.suffix.lower() in IMAGE_EXTS:
                    n += 1
                    if (guess_kind(load_image(str(path))) == "photo") != want:
                        wrong.append(f"{group.name}/{role}/{path.name}")
    assert n > 500
    assert len(wrong) <= 0.005 * n, wrong


def test_plunging_rim_gives_no_spikes_in_meshes():
    from sketchface.mesh import drop_spiky_triangles, spiky_cells, spiky_triangles, trusted_mask
    from sketchface.render import DEPTH_FAR_CM, DEPTH_NEAR_CM

    yy, xx = np.mgrid[0:64, 0:64]
    r2 = ((yy - 32) ** 2 + (xx - 32) ** 2) / 24.0 ** 2
    mask = r2 < 1
    depth = np.where(mask, 0.5 + 0.3 * np.sqrt(np.clip(1 - r2, 0, 1)), 0).astype(np.float32)
    rim = mask & (r2 > 0.8)
    depth[rim] = 0.08                                   # the rim plunges, as predicted depth often does
    z = np.where(mask, depth * (DEPTH_NEAR_CM - DEPTH_FAR_CM), np.nan)
    assert spiky_cells(z).sum() > 20                    # what the app drew before: a curtain of spikes
    raw = depth_to_mesh(depth, mask, max_edge_cm=100.0)
    assert spiky_triangles(raw).sum() > 20
    trusted = trusted_mask(depth, mask)
    assert trusted.sum() > 0.5 * mask.sum() and trusted[r2 < 0.7].all()
    mesh = drop_spiky_triangles(depth_to_mesh(depth, trusted))
    assert spiky_triangles(mesh).sum() == 0 and len(mesh.faces) > 1000
