"""XDoG line extraction (Winnemöller et al., "XDoG: An eXtended difference-of-Gaussians compendium", 2012).

    D = G_sigma(I) - tau * G_{k*sigma}(I)
    T = 1                            where D >= epsilon
    T = 1 + tanh(phi * (D - epsilon))  elsewhere

``I`` is the grey image in [0, 1]. The result is in [0, 1] with black lines (0) on white (1), the
convention of the sketch paper's line loss. Defaults (sigma 0.8, k 1.6, tau 0.98, epsilon 0.0, phi 200)
give thin, mostly binary lines on 128-256 px faces; raise sigma for thicker lines, lower epsilon to drop
faint edges, lower phi for softer, greyer lines.
"""
from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class XDoGParams:
    sigma: float = 0.8     # scale of the inner Gaussian, pixels
    k: float = 1.6         # ratio of the outer to the inner Gaussian
    tau: float = 0.98      # weight of the outer Gaussian (close to 1: edges only)
    epsilon: float = 0.0   # threshold on the difference of Gaussians
    phi: float = 200.0     # steepness of the soft threshold

    def as_dict(self) -> dict:
        return asdict(self)


def to_gray01(image: np.ndarray) -> np.ndarray:
    """uint8/uint16/float, grey/RGB/RGBA -> float32 grey in [0, 1] (alpha composited on white)."""
    img = np.asarray(image)
    if img.dtype == np.uint8:
        f = img.astype(np.float32) / 255.0
    elif img.dtype == np.uint16:
        f = img.astype(np.float32) / 65535.0
    else:
        f = img.astype(np.float32)
        if not np.isfinite(f).all():
            raise ValueError("image contains NaN or infinite values")
        if f.size and f.max() > 1.0 + 1e-6:  # float image in 0..255
            f = f / 255.0
    if f.ndim == 3:
        if f.shape[2] == 4:
            a = f[..., 3:4]
            f = f[..., :3] * a + (1.0 - a)
        if f.shape[2] >= 3:
            f = f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114
        else:
            f = f[..., 0]
    if f.ndim != 2:
        raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {img.shape}")
    return np.clip(f, 0.0, 1.0)


def xdog(image: np.ndarray, sigma: float = 0.8, k: float = 1.6, tau: float = 0.98, epsilon: float = 0.0,
         phi: float = 200.0) -> np.ndarray:
    """XDoG lines of ``image`` (any of the layouts ``to_gray01`` accepts) in [0, 1], black lines on white."""
    if sigma <= 0 or k <= 0:
        raise ValueError("xdog: sigma and k must be positive")
    g = to_gray01(image)
    g1 = cv2.GaussianBlur(g, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    g2 = cv2.GaussianBlur(g, (0, 0), sigma * k, borderType=cv2.BORDER_REPLICATE)
    d = g1 - tau * g2
    out = np.where(d >= epsilon, 1.0, 1.0 + np.tanh(phi * (d - epsilon)))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# the defaults of xdog / xdog_torch, named once for the app's sliders and anyone else who needs them
XDOG_DEFAULTS = {name: p.default for name, p in inspect.signature(xdog).parameters.items() if name != "image"}


def _gauss_kernel(sigma: float, device, dtype):
    import torch
    r = max(1, int(round(3 * sigma)))
    x = torch.arange(-r, r + 1, device=device, dtype=dtype)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def xdog_torch(image, sigma: float = 0.8, k: float = 1.6, tau: float = 0.98, epsilon: float = 0.0,
               phi: float = 200.0):
    """XDoG of a batch of grey images (N, 1, H, W) in [0, 1], in torch (same formula as ``xdog``; borders
    replicate). Runs on the images' device inside training and inference."""
    import torch
    import torch.nn.functional as F

    def blur(x, s):
        g = _gauss_kernel(s, x.device, x.dtype)
        r = (len(g) - 1) // 2
        x = F.pad(x, (r, r, 0, 0), mode="replicate")
        x = F.conv2d(x, g.view(1, 1, 1, -1))
        x = F.pad(x, (0, 0, r, r), mode="replicate")
        return F.conv2d(x, g.view(1, 1, -1, 1))

    d = blur(image, sigma) - tau * blur(image, sigma * k)
    out = torch.where(d >= epsilon, torch.ones_like(d), 1.0 + torch.tanh(phi * (d - epsilon)))
    return out.clamp(0, 1)


def some_as_lines(images, share: float, generator=None):
    """The batch (N, 1, H, W) in [0, 1] with each image, by chance ``share``, replaced by its XDoG lines
    (``xdog_torch``): a sketch shown as a line drawing of the same face. Returns a new tensor."""
    import torch

    x = images.clone()
    pick = torch.rand(len(x), generator=generator) < share
    if pick.any():
        at = pick.nonzero().flatten().to(x.device)
        x[at] = xdog_torch(x[at])
    return x


def remove_specks(lines: np.ndarray, min_area: int, threshold: float = 0.5) -> np.ndarray:
    """``lines`` (H, W) or (N, H, W), black on white, with every stroke (8-connected ink, value < ``threshold``)
    of fewer than ``min_area`` pixels turned white. XDoG of a sketch synthesised from a photo is speckled by
    the photo's texture and background; FineNet would carve each speck into the face."""
    a = np.asarray(lines, dtype=np.float32)
    if min_area <= 1:
        return a.copy()
    out = a.copy()
    for img in out.reshape(-1, *a.shape[-2:]):
        n, labels, stats, _ = cv2.connectedComponentsWithStats((img < threshold).astype(np.uint8), connectivity=8)
        small = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] < min_area) + 1
        if len(small):
            img[np.isin(labels, small)] = 1.0
    return out
