import numpy as np

from sketchface.xdog import remove_specks, to_gray01, xdog


def test_xdog_marks_the_dark_side_of_an_edge():
    img = np.ones((40, 40), np.float32)
    img[:, 20:] = 0.2                      # a vertical step edge
    out = xdog(img)
    assert out.shape == img.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert out[:, 20:23].mean() < 0.3      # a black line along the dark side of the edge
    assert out[:, :15].min() > 0.95        # flat areas stay white
    assert out[:, 27:].min() > 0.95


def test_xdog_blank_is_white_and_layouts_agree():
    assert xdog(np.full((16, 16), 255, np.uint8)).min() == 1.0
    g = (np.random.default_rng(0).random((20, 20)) * 255).astype(np.uint8)
    rgb = np.repeat(g[..., None], 3, -1)
    rgba = np.concatenate([rgb, np.full((20, 20, 1), 255, np.uint8)], -1)
    assert np.allclose(xdog(g), xdog(rgb), atol=1e-5)
    assert np.allclose(xdog(rgb), xdog(rgba), atol=1e-5)


def test_to_gray_transparent_is_white():
    rgba = np.zeros((4, 4, 4), np.uint8)
    assert np.allclose(to_gray01(rgba), 1.0)


def test_remove_specks_drops_small_strokes_only():
    l = np.ones((2, 30, 30), np.float32)
    l[0, 5, 2:22] = 0.0                    # a stroke of 20 pixels
    l[0, 20:22, 20:22] = 0.1               # a speck of 4
    l[0, 25, 25] = 0.4                     # a speck of 1
    l[1, 10:14, 10:14] = 0.0               # a blob of 16 in the second map
    out = remove_specks(l, 16)
    assert out.shape == l.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 5], l[0, 5])                     # the stroke stays
    assert out[0, 20:22, 20:22].min() == 1.0 and out[0, 25, 25] == 1.0   # the specks go
    np.testing.assert_array_equal(out[1], l[1])                           # 16 pixels is not a speck
    assert remove_specks(l, 17)[1].min() == 1.0
    np.testing.assert_array_equal(remove_specks(l, 0), l)
    assert l[0, 25, 25] == 0.4                                            # the input is left alone
