"""Active Shape Model (Cootes et al.) for the 68 feature points, as the paper uses.

* Point distribution model: training shapes aligned by generalised Procrustes (similarity), PCA keeping
  ``var_keep`` of the variance; a shape is ``mean + P b`` with ``|b_i| <= b_limit * sqrt(lambda_i)``.
* Grey-level profile model: at each point, the normalised derivative of the grey levels sampled along the
  normal to the shape outline (2k+1 samples), with a mean and an inverse covariance per point and per level
  of a 3-level image pyramid.
* Search: the mean shape is placed from the face detector's box (box -> shape relation learned per detector
  method on the training renders); at each level, coarse to fine, every point moves to the offset along its
  normal whose profile has the smallest Mahalanobis distance, then pose and shape parameters are refitted.

All of it works in a normalised frame: a square crop around the face resized to ``work_size`` px, so the
model is independent of the input resolution. Saved as .npz (no pickles).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from sketchface.errors import UserError
from sketchface.synth import landmarks as L


@dataclass
class ASMConfig:
    work_size: int = 128        # side of the normalised face crop (px)
    crop_factor: float = 5.0    # crop side = crop_factor * RMS radius of the shape
    levels: int = 3             # image pyramid levels
    profile_half: int = 4       # k: profile of 2k+1 samples
    search_half: int = 5        # m: candidate offsets -m..m along the normal
    var_keep: float = 0.98      # fraction of shape variance kept by the PCA
    b_limit: float = 3.0        # shape parameter limit in standard deviations
    iters: int = 6              # search iterations per level
    reg: float = 1e-3           # profile covariance regulariser (relative to its trace)

    @classmethod
    def from_dict(cls, d: dict) -> "ASMConfig":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise UserError(f"unknown ASM config keys: {', '.join(sorted(unknown))}")
        return cls(**d)


def _neighbours() -> np.ndarray:
    """(68, 2) indices of the previous and next point along each point's outline (for the normals)."""
    nb = np.zeros((68, 2), np.int64)
    for idx, closed in L.POLYLINES:
        n = len(idx)
        for j, p in enumerate(idx):
            if closed:
                nb[p] = idx[(j - 1) % n], idx[(j + 1) % n]
            else:
                nb[p] = idx[max(j - 1, 0)], idx[min(j + 1, n - 1)]
    return nb


NEIGHBOURS = _neighbours()


def normals(shape: np.ndarray) -> np.ndarray:
    """Unit normals (68, 2) of the outline at each point."""
    t = shape[NEIGHBOURS[:, 1]] - shape[NEIGHBOURS[:, 0]]
    n = np.stack([-t[:, 1], t[:, 0]], 1)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-6)


def normalise(shape: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Centred shape of unit Frobenius norm, its centroid and the RMS radius."""
    c = shape.mean(0)
    x = shape - c
    rms = float(np.sqrt((x ** 2).sum(1).mean()))
    return x / np.linalg.norm(x), c, rms


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, float, np.ndarray]:
    """a, b, t of the similarity x -> [[a, -b], [b, a]] x + t that maps src onto dst (least squares)."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    den = (s ** 2).sum()
    a = (s * d).sum() / den
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / den
    r = np.array([[a, -b], [b, a]])
    return a, b, md - r @ ms


def apply_sim(a: float, b: float, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    return x @ np.array([[a, -b], [b, a]]).T + t


def crop_frame(center: np.ndarray, rms: float, cfg: ASMConfig) -> np.ndarray:
    """2x3 affine from input pixels to the normalised crop."""
    s = cfg.work_size / (cfg.crop_factor * rms)
    return np.array([[s, 0, cfg.work_size / 2 - s * center[0]], [0, s, cfg.work_size / 2 - s * center[1]]])


def _gray(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb, np.float32)
    if a.max() > 1.5:
        a = a / 255.0
    if a.ndim == 3:
        a = a[..., :3] @ np.float32([0.299, 0.587, 0.114])
    return a


def pyramid(gray_crop: np.ndarray, levels: int) -> list[np.ndarray]:
    """Smoothed levels, finest first."""
    out = [cv2.GaussianBlur(gray_crop, (0, 0), 0.8)]
    for _ in range(levels - 1):
        out.append(cv2.pyrDown(out[-1]))
    return out


def sample_profiles(img: np.ndarray, pts: np.ndarray, nrm: np.ndarray, half: int) -> np.ndarray:
    """Normalised derivative profiles (n, 68, 2*half+1) at offsets centred on each point, for the points
    ``pts`` (n_off, 68, 2) — one profile of length 2k+1 per candidate position. Here: pts (P, 68, 2)."""
    t = np.arange(-half - 1, half + 1, dtype=np.float32) + 0.5       # 2k+2 samples -> 2k+1 differences
    xy = pts[..., None, :] + t[:, None] * nrm[None, :, None, :]      # (P, 68, 2k+2, 2)
    vals = ndimage.map_coordinates(img, [xy[..., 1].ravel(), xy[..., 0].ravel()], order=1, mode="nearest")
    vals = vals.reshape(xy.shape[:-1])
    g = np.diff(vals, axis=-1)
    return g / (np.abs(g).sum(-1, keepdims=True) + 1e-6)


@dataclass
class ActiveShapeModel:
    config: ASMConfig
    mean: np.ndarray          # (136,) unit-norm centred mean shape
    modes: np.ndarray         # (136, t) orthonormal
    eigvals: np.ndarray       # (t,)
    prof_mean: np.ndarray     # (levels, 68, 2k+1)
    prof_icov: np.ndarray     # (levels, 68, 2k+1, 2k+1)
    init: dict                # method -> (dx, dy, rms) relative to the detector box width
    kind: str = "photo"

    # ------------------------------------------------------------------------------------------- training
    @classmethod
    def train(cls, images, landmarks, boxes=None, config: ASMConfig | None = None, kind: str = "photo",
              progress: bool = False) -> "ActiveShapeModel":
        """images: sequence of RGB/grey arrays; landmarks: (n, 68, 2) px; boxes: optional list of
        Detection (or None) per image, to learn where the shape sits relative to each detector's box."""
        from tqdm import tqdm

        cfg = config or ASMConfig()
        shapes = np.asarray(landmarks, np.float64)
        # generalised Procrustes analysis
        xs = np.stack([normalise(s)[0] for s in shapes])
        mean = xs[0].copy()
        for _ in range(10):
            xs = np.stack([apply_sim(*similarity(x, mean), x) for x in xs])
            new = xs.mean(0)
            new = normalise(new)[0]
            if np.abs(new - mean).max() < 1e-7:
                mean = new
                break
            mean = new
        # project to the tangent space of the mean, then PCA
        flat = xs.reshape(len(xs), -1)
        flat = flat / (flat @ mean.ravel())[:, None]
        cov = np.cov((flat - mean.ravel()).T)
        w, v = np.linalg.eigh(cov)
        w, v = w[::-1], v[:, ::-1]
        w = np.clip(w, 0, None)
        t = int(np.searchsorted(np.cumsum(w) / w.sum(), cfg.var_keep) + 1)
        modes, eig = v[:, :t], w[:t]
        # profiles
        k = cfg.profile_half
        profs = [[] for _ in range(cfg.levels)]
        for img, lm in tqdm(zip(images, shapes), total=len(shapes), desc=f"ASM profiles ({kind})",
                            disable=not progress):
            _, c, rms = normalise(lm)
            m = crop_frame(c, rms, cfg)
            crop = cv2.warpAffine(_gray(img), m, (cfg.work_size,) * 2, flags=cv2.INTER_AREA
                                  if rms * cfg.crop_factor > cfg.work_size else cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
            lmc = lm @ m[:, :2].T + m[:, 2]
            for lev, im in enumerate(pyramid(crop, cfg.levels)):
                p = (lmc + 0.5) / 2 ** lev - 0.5
                profs[lev].append(sample_profiles(im, p[None], normals(p), k)[0])
        pm = np.zeros((cfg.levels, 68, 2 * k + 1))
        pic = np.zeros((cfg.levels, 68, 2 * k + 1, 2 * k + 1))
        for lev in range(cfg.levels):
            g = np.stack(profs[lev])                                    # (n, 68, 2k+1)
            pm[lev] = g.mean(0)
            for j in range(68):
                c = np.cov(g[:, j].T) if len(g) > 1 else np.eye(2 * k + 1)
                c += np.eye(2 * k + 1) * (cfg.reg * np.trace(c) + 1e-6)
                pic[lev, j] = np.linalg.inv(c)
        # where the shape sits relative to each detector's box
        init: dict = {}
        if boxes is not None:
            rel: dict[str, list] = {}
            for det, lm in zip(boxes, shapes):
                if det is None:
                    continue
                _, c, rms = normalise(lm)
                rel.setdefault(det.method, []).append([(c[0] - det.center[0]) / det.width,
                                                       (c[1] - det.center[1]) / det.width, rms / det.width])
            init = {m: np.median(np.array(r), 0).tolist() for m, r in rel.items()}
        return cls(cfg, mean.ravel(), modes, eig, pm, pic, init, kind)

    # ------------------------------------------------------------------------------------------- search
    def initial_shape(self, det) -> np.ndarray:
        """Mean shape placed in input pixels from a detection (box + method)."""
        dx, dy, rel = self.init.get(det.method) or next(iter(self.init.values()), (0.0, 0.1, 0.36))
        c = det.center + np.array([dx, dy]) * det.width
        rms = rel * det.width
        x = self.mean.reshape(68, 2)
        x = x / np.sqrt((x ** 2).sum(1).mean())
        return x * rms + c

    def fit_shape(self, target: np.ndarray, iters: int = 5) -> np.ndarray:
        """Closest plausible shape to ``target`` (68, 2): pose + clipped shape parameters."""
        mean = self.mean.reshape(68, 2)
        b = np.zeros(len(self.eigvals))
        lim = self.config.b_limit * np.sqrt(self.eigvals)
        for _ in range(iters):
            x = mean + (self.modes @ b).reshape(68, 2)
            a, bb, t = similarity(x, target)
            den = a * a + bb * bb
            inv = np.array([[a, bb], [-bb, a]]) / den                   # inverse rotation-scale
            y = (target - t) @ inv.T
            y = y / (y.ravel() @ self.mean)                             # tangent space
            b = np.clip(self.modes.T @ (y.ravel() - self.mean), -lim, lim)
        x = mean + (self.modes @ b).reshape(68, 2)
        return apply_sim(*similarity(x, target), x)

    def search(self, rgb: np.ndarray, det=None, start: np.ndarray | None = None) -> np.ndarray:
        """68 feature points (px) in the image, from a detection or a starting shape."""
        cfg = self.config
        shape = np.asarray(start, np.float64) if start is not None else self.initial_shape(det)
        _, c, rms = normalise(shape)
        m = crop_frame(c, rms, cfg)
        crop = cv2.warpAffine(_gray(rgb), m, (cfg.work_size,) * 2,
                              flags=cv2.INTER_AREA if rms * cfg.crop_factor > cfg.work_size else cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        pyr = pyramid(crop, cfg.levels)
        x = shape @ m[:, :2].T + m[:, 2]
        k, half = cfg.profile_half, cfg.search_half
        offs = np.arange(-half, half + 1, dtype=np.float64)
        for lev in range(cfg.levels - 1, -1, -1):
            im = pyr[lev]
            f = 2.0 ** lev
            for _ in range(cfg.iters):
                p = (x + 0.5) / f - 0.5
                nrm = normals(p)
                cand = p[None] + offs[:, None, None] * nrm[None]        # (2m+1, 68, 2)
                g = sample_profiles(im, cand, nrm, k) - self.prof_mean[lev][None]   # (2m+1, 68, 2k+1)
                d = np.einsum("ojk,jkl,ojl->oj", g, self.prof_icov[lev], g)
                best = offs[np.argmin(d, 0)]
                target = ((p + best[:, None] * nrm) + 0.5) * f - 0.5
                new = self.fit_shape(target)
                moved = np.abs(new - x).max()
                x = new
                if moved < 0.2 * f:
                    break
        minv = cv2.invertAffineTransform(m)
        return (x @ minv[:, :2].T + minv[:, 2]).astype(np.float32)

    # ------------------------------------------------------------------------------------------- files
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, config=np.array(json.dumps(asdict(self.config))), mean=self.mean,
                            modes=self.modes, eigvals=self.eigvals, prof_mean=self.prof_mean,
                            prof_icov=self.prof_icov, init=np.array(json.dumps(self.init)),
                            kind=np.array(self.kind))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "ActiveShapeModel":
        path = Path(path)
        if not path.is_file():
            raise UserError(f"no ASM model at {path}; train it with `python -m sketchface train-sparse`")
        with np.load(path, allow_pickle=False) as d:
            return cls(ASMConfig.from_dict(json.loads(str(d["config"]))), d["mean"], d["modes"], d["eigvals"],
                       d["prof_mean"], d["prof_icov"], json.loads(str(d["init"])), str(d["kind"]))


def nme(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Normalised mean error per face: mean point distance / inter-ocular (outer eye corners) distance."""
    pred, gt = np.asarray(pred).reshape(-1, 68, 2), np.asarray(gt).reshape(-1, 68, 2)
    iod = np.linalg.norm(gt[:, 45] - gt[:, 36], axis=1)
    return np.linalg.norm(pred - gt, axis=2).mean(1) / iod
