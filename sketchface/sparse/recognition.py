"""Face recognition against the database's frontal projections: the paper's CNN and Table 1's cheap baselines.

The CNN, as the paper describes it: input 224x224 (``image_size``; smaller sizes keep the same layers),
3 convolutions 3x3 (stride 1, channels growing step by step), each followed by a pooling layer (max, max,
average), ReLU after every convolution but the last, dropout 0.3 before each inner-product layer, 2 fully
connected layers, softmax loss; the Caffe-style mean image is subtracted from the input. Trained with SGD,
lr 0.01 multiplied by 0.1 every 100k steps, momentum 0.9, weight decay 5e-4.

Retrieval: the input and the database's frontal projections go through the network; the k database faces
whose penultimate-layer features have the highest cosine similarity to the input's are "the similar faces".

Faces are aligned before recognition: a similarity transform maps the 68 feature points onto a canonical
template (from the face model's neutral face) inside the crop.

Baselines (Table 1): PCA eigenfaces + nearest neighbour, LBP histograms + linear SVM, LBP + PCA + SVM,
Gabor + PCA + nearest neighbour.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import cv2
import numpy as np

from sketchface.errors import UserError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


# ----------------------------------------------------------------------------------------------- alignment

def template_from_points(pts2d: np.ndarray) -> np.ndarray:
    """Canonical 68-point template in unit crop coordinates from 2-D feature points (x right, y up, any unit)."""
    p = np.asarray(pts2d, np.float64) * np.array([1.0, -1.0])
    p = p - p.mean(0)
    p = p / np.sqrt((p ** 2).sum(1).mean())
    return (p * 0.27 + np.array([0.5, 0.47])).astype(np.float32)


def align_crop(rgb: np.ndarray, lm: np.ndarray, template: np.ndarray, size: int) -> np.ndarray:
    """The face warped so that its feature points ``lm`` (68, 2 px) land on ``template * size``; uint8 RGB."""
    from sketchface.sparse.asm import similarity

    a, b, t = similarity(np.asarray(lm, np.float64), np.asarray(template, np.float64) * size)
    m = np.array([[a, -b, t[0]], [b, a, t[1]]])
    img = np.asarray(rgb)
    if img.dtype != np.uint8:
        img = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    scale = np.hypot(a, b)
    flags = cv2.INTER_AREA if scale < 0.7 else cv2.INTER_LINEAR
    return cv2.warpAffine(img[..., :3], m, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)


# ----------------------------------------------------------------------------------------------- the CNN

@dataclass
class CNNConfig:
    image_size: int = 224                  # paper: 224x224 input
    channels: tuple = (16, 32, 64)         # 3 conv layers, 3x3, growing step by step
    fc_dim: int = 256                      # first inner-product layer
    n_classes: int = 200                   # database identities
    dropout: float = 0.3                   # paper: 0.3 before the inner-product layers
    pool_grid: int = 7                     # the third (average) pooling brings the maps to 7x7
    batch_norm: bool = False               # not in the paper: BatchNorm after each convolution
    standardize: bool = False              # not in the paper: each crop's grey levels to zero mean, unit spread
    #                                        (the renders' skin colour and light say nothing of identity)
    template: list = field(default_factory=list)   # (68, 2) alignment template, unit crop coordinates

    @classmethod
    def from_dict(cls, d: dict) -> "CNNConfig":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise UserError(f"unknown CNN config keys: {', '.join(sorted(unknown))}")
        d = dict(d)
        if "channels" in d:
            d["channels"] = tuple(d["channels"])
        return cls(**d)


def build_cnn(cfg: CNNConfig):
    import torch
    from torch import nn

    class RecognitionCNN(nn.Module):
        """conv-ReLU-maxpool, conv-ReLU-maxpool, conv-avgpool, dropout-fc-ReLU, dropout-fc (softmax in the loss)."""

        def __init__(self, c: CNNConfig):
            super().__init__()
            self.config = c
            c1, c2, c3 = c.channels

            def conv(c_in, c_out):
                return [nn.Conv2d(c_in, c_out, 3, padding=1)] + ([nn.BatchNorm2d(c_out)] if c.batch_norm else [])

            self.features = nn.Sequential(
                *conv(3, c1), nn.ReLU(inplace=True), nn.MaxPool2d(2),      # (c1, S/2, S/2)
                *conv(c1, c2), nn.ReLU(inplace=True), nn.MaxPool2d(2),     # (c2, S/4, S/4)
                *conv(c2, c3), nn.AdaptiveAvgPool2d(c.pool_grid),          # (c3, 7, 7), no ReLU
            )
            self.fc1 = nn.Sequential(nn.Flatten(), nn.Dropout(c.dropout),
                                     nn.Linear(c3 * c.pool_grid ** 2, c.fc_dim), nn.ReLU(inplace=True))
            self.fc2 = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.fc_dim, c.n_classes))
            # Caffe-style mean image of the training set, subtracted from the input
            self.register_buffer("mean_image", torch.zeros(3, c.image_size, c.image_size))
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                    nn.init.zeros_(m.bias)

        def prepare(self, x):                        # x: (N, 3, S, S) in [0, 1]
            if self.config.standardize:
                g = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
                mu, sd = g.mean((2, 3), keepdim=True), g.std((2, 3), keepdim=True)
                x = ((g - mu) / (sd + 1e-3)).expand(-1, 3, -1, -1)
            return x - self.mean_image

        def embed(self, x):                          # x: (N, 3, S, S) in [0, 1]
            return self.fc1(self.features(self.prepare(x)))   # (N, fc_dim)

        def forward(self, x):
            return self.fc2(self.embed(x))           # (N, n_classes) logits

    return RecognitionCNN(cfg)


def save_cnn(net, folder: str | Path, dtype: str = "float16") -> Path:
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dt = {"float16": torch.float16, "float32": torch.float32}[dtype]
    sd = {k: v.detach().to(dt).contiguous() for k, v in net.state_dict().items()}
    save_file(sd, str(folder / WEIGHTS_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(asdict(net.config), indent=1))
    return folder


def load_cnn(folder: str | Path):
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise UserError(f"no recognition CNN in {folder}; train it with `python -m sketchface train-sparse`")
    net = build_cnn(CNNConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text())))
    sd = {k: v.float() for k, v in load_file(str(folder / WEIGHTS_FILE)).items()}
    net.load_state_dict(sd, strict=True)
    return net.eval()


def to_tensor(images: np.ndarray):
    """(N, S, S, 3) uint8 -> (N, 3, S, S) float in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


@dataclass
class TrainConfig:
    steps: int = 3000
    batch: int = 32
    lr: float = 0.01              # paper
    lr_step: int = 100_000        # paper: x0.1 every 100k steps
    lr_gamma: float = 0.1
    momentum: float = 0.9         # paper
    weight_decay: float = 5e-4    # paper
    seed: int = 0
    flip: bool = False            # no mirror augmentation: a mirrored face is another identity
    schedule: str = "step"        # "step" (paper) or "cosine" (lr to 0 over the run)
    label_smoothing: float = 0.0  # paper: plain softmax loss
    colour_jitter: float = 0.0    # per-channel gain spread and gamma spread of the crops (paper: brightness only)


# How the CNN is trained. "paper": the paper's layers and solver as written. "robust": the same three convolutions
# and two inner-product layers with BatchNorm, crops standardised, SGD lr 0.05 on a cosine schedule, label
# smoothing 0.1 and colour jitter: the recipe that recognises held-out renders (scripts/experiments/recognition_cnn.py,
# docs/RESULTS_SPARSE.md).
RECIPES = {
    "paper": ({}, {}),
    "robust": ({"batch_norm": True, "standardize": True},
               {"lr": 0.05, "schedule": "cosine", "label_smoothing": 0.1, "colour_jitter": 0.4}),
}


def train_cnn(net, images: np.ndarray, labels: np.ndarray, cfg: TrainConfig | None = None,
              progress: bool = False, log=None) -> dict:
    """Train on aligned crops (N, S, S, 3) uint8 with identity labels; small photometric jitter on the fly."""
    import torch
    from torch import nn
    from tqdm import tqdm

    cfg = cfg or TrainConfig()
    g = torch.Generator().manual_seed(cfg.seed)
    with torch.no_grad():
        net.mean_image.zero_()
        net.mean_image.copy_(torch.cat([net.prepare(to_tensor(images[i:i + 256])) for i in range(0, len(images), 256)])
                             .mean(0))
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    elif cfg.schedule == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, cfg.lr_step, cfg.lr_gamma)
    else:
        raise UserError(f"schedule must be step or cosine, not {cfg.schedule!r}")
    lossf = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    y_all = torch.as_tensor(labels, dtype=torch.long)
    net.train()
    hist, t0 = [], time.time()
    bar = tqdm(range(cfg.steps), desc="train recognition CNN", disable=not progress, unit="step")
    run_loss, run_acc = 0.0, 0.0
    for step in bar:
        idx = torch.randint(0, len(images), (cfg.batch,), generator=g)
        x = to_tensor(images[idx.numpy()])
        x = x * (1 + 0.1 * (torch.rand(cfg.batch, 1, 1, 1, generator=g) - 0.5))   # brightness jitter
        if cfg.colour_jitter:
            j = cfg.colour_jitter
            gain = 1 + j * (torch.rand(cfg.batch, 3, 1, 1, generator=g) - 0.5)
            gamma = torch.exp(j * (torch.rand(cfg.batch, 1, 1, 1, generator=g) - 0.5))
            x = (x.clamp(0, 1) * gain).clamp(1e-4, 1) ** gamma
        y = y_all[idx]
        logits = net(x)
        loss = lossf(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        lv = loss.detach().item()
        run_loss = 0.98 * run_loss + 0.02 * lv if step else lv
        acc = float((logits.argmax(1) == y).float().mean())
        run_acc = 0.98 * run_acc + 0.02 * acc if step else acc
        if step % 50 == 0 or step == cfg.steps - 1:
            bar.set_postfix(loss=f"{run_loss:.3f}", acc=f"{run_acc:.2f}")
            hist.append({"step": step, "loss": round(run_loss, 4), "train_acc": round(run_acc, 3)})
            if log:
                log(hist[-1])
    net.eval()
    return {"history": hist, "seconds": time.time() - t0, "config": asdict(cfg)}


def cnn_embed(net, images: np.ndarray, batch: int = 64) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            out.append(net.embed(to_tensor(images[i:i + batch])).numpy())
    return np.concatenate(out) if out else np.zeros((0, net.config.fc_dim), np.float32)


def cnn_predict(net, images: np.ndarray, batch: int = 64) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            out.append(net(to_tensor(images[i:i + batch])).argmax(1).numpy())
    return np.concatenate(out)


def cosine_top_k(query: np.ndarray, gallery: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (k,) into the gallery of the most similar rows and their cosine similarities."""
    q = query / (np.linalg.norm(query) + 1e-8)
    g = gallery / (np.linalg.norm(gallery, axis=1, keepdims=True) + 1e-8)
    s = g @ q
    idx = np.argsort(-s)[:k]
    return idx, s[idx]


# ----------------------------------------------------------------------------------------------- baselines

def gray_small(images: np.ndarray, size: int = 64) -> np.ndarray:
    """(N, S, S, 3) uint8 -> (N, size, size) float32 grey, histogram-equalised."""
    out = np.zeros((len(images), size, size), np.float32)
    for i, im in enumerate(images):
        g = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)
        g = cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA)
        out[i] = cv2.equalizeHist(g).astype(np.float32) / 255
    return out


def _uniform_lut() -> np.ndarray:
    lut = np.full(256, 58, np.int64)
    k = 0
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            lut[code] = k
            k += 1
    return lut   # 58 uniform patterns + 1 bin for the rest


UNIFORM = _uniform_lut()


def lbp_histograms(gray: np.ndarray, grid: int = 8) -> np.ndarray:
    """Uniform LBP (8 neighbours, radius 1) histograms over a grid x grid of cells, concatenated, (N, grid^2*59)."""
    g = gray
    c = g[:, 1:-1, 1:-1]
    code = np.zeros(c.shape, np.int64)
    nbrs = [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0)]
    for bit, (dy, dx) in enumerate(nbrs):
        code |= (g[:, dy:dy + c.shape[1], dx:dx + c.shape[2]] >= c).astype(np.int64) << bit
    lab = UNIFORM[code]                                   # (N, h, w) in 0..58
    n, h, w = lab.shape
    ch, cw = h // grid, w // grid
    lab = lab[:, :ch * grid, :cw * grid].reshape(n, grid, ch, grid, cw).transpose(0, 1, 3, 2, 4).reshape(n, grid * grid, -1)
    hist = np.zeros((n, grid * grid, 59), np.float32)
    for b in range(59):
        hist[..., b] = (lab == b).sum(-1)
    hist /= ch * cw
    return np.sqrt(hist.reshape(n, -1))                   # Hellinger-style square root


def gabor_features(gray: np.ndarray, size: int = 32) -> np.ndarray:
    """Magnitudes of a bank of 4 orientations x 2 scales of Gabor filters, downsampled, concatenated."""
    feats = []
    for lam in (4.0, 8.0):
        for th in np.arange(4) * np.pi / 4:
            kr = cv2.getGaborKernel((15, 15), lam * 0.56, th, lam, 0.5, 0)
            ki = cv2.getGaborKernel((15, 15), lam * 0.56, th, lam, 0.5, np.pi / 2)
            out = []
            for g in gray:
                m = np.hypot(cv2.filter2D(g, -1, kr), cv2.filter2D(g, -1, ki))
                out.append(cv2.resize(m, (size // 2, size // 2), interpolation=cv2.INTER_AREA).ravel())
            feats.append(np.stack(out))
    return np.concatenate(feats, 1)


class Baseline:
    """fit(train crops, labels) / predict(crops); ``name`` as in the paper's Table 1."""

    def __init__(self, name: str, n_components: int = 100):
        self.name = name
        self.n_components = n_components

    def _features(self, images: np.ndarray) -> np.ndarray:
        g = gray_small(images)
        if self.name in ("PCA",):
            return g.reshape(len(g), -1)
        if self.name.startswith("Gabor"):
            return gabor_features(g)
        return lbp_histograms(g)

    def fit(self, images: np.ndarray, labels: np.ndarray) -> "Baseline":
        from sklearn.decomposition import PCA
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.svm import LinearSVC

        f = self._features(images)
        self.pca = None
        if "PCA" in self.name:
            self.pca = PCA(min(self.n_components, len(f) - 1, f.shape[1]), whiten="SVM" in self.name,
                           svd_solver="full").fit(f)
            f = self.pca.transform(f)
        if "SVM" in self.name:
            self.clf = LinearSVC(C=1.0, max_iter=5000).fit(f, labels)
        else:
            self.clf = KNeighborsClassifier(1).fit(f, labels)
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        f = self._features(images)
        if self.pca is not None:
            f = self.pca.transform(f)
        return self.clf.predict(f)


BASELINES = ("PCA", "Gabor+PCA", "LBP+SVM", "LBP+PCA+SVM")


def time_per_face(predict_one, images: np.ndarray, n: int = 50) -> float:
    """Milliseconds to recognise one face (feature extraction + classification), mean over n single calls."""
    n = min(n, len(images))
    predict_one(images[:1])
    t = time.perf_counter()
    for i in range(n):
        predict_one(images[i:i + 1])
    return (time.perf_counter() - t) / max(n, 1) * 1000
