import numpy as np

from sketchface.xdog import to_gray01, xdog


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
