"""``train-facefit --data DIR --out DIR``: train FaceFit (``sketchface.nets.facefit``, not in the papers).

Every sample of a make-data folder carries the face-model coefficients, head pose and placement that made it
(``params.jsonl``). Each step shows FaceFit a batch of pencil sketches, line drawings and photos of the training
identities through random squares around the training framing (as the pipeline's framing misses it: half-side
0.8-1.25, centre within +-0.15; the pen varied on half of the drawings, 70 % of them dressed with hair, glasses
and collars by ``sketchface.synth.dress``, since real artist sketches mostly show them) and compares the face it answers with
the true one *posed*: the mean |difference| of 2-D position and depth over the 68 landmarks and a fixed subset
of face vertices (3DDFA's vertex distance, in crop units), plus a small loss on the coefficients themselves.

A world with wider poses and framings than the CoarseNets' makes better training data (docs/TRAINING.md,
"FaceFit"); the face model must be the one the data was made with.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

SCALE_RANGE = (0.8, 1.25)   # half-side of the shown square, in units of the training frame's half-side
SHIFT = 0.15                # largest centre offset, same units
STYLES = ("sketch_pencil", "sketch_lines", "photo")   # the default inputs; "artist" adds sketch_artist (CycleGAN)
PHOTO_SHARE = 0.2           # share of photos among the inputs; the drawing styles share the rest evenly
N_SUBSET = 600              # face vertices in the loss besides the 68 landmarks
LANDMARK_WEIGHT = 2.0       # a landmark counts as this many subset vertices
COEFF_WEIGHT = 0.02         # the loss on raw coefficients, beside the vertex loss
SPARSE_SCALE_RANGE = (0.5, 1.1)   # crops of the features-only drawings: what their small ink box gives
SPARSE_SHIFT = 0.3
DRESS = 0.7                 # share of training drawings dressed with hair, glasses, collars (synth.dress)
REAL_SHARE = 0.25           # with real fits: share of each batch that is real train sketches (prepare-real-fits)


def style_keys(styles=None) -> tuple[str, ...]:
    """Shard keys of the input styles (names of ``SKETCH_STYLES`` or "photo"); default ``STYLES``."""
    from sketchface.errors import UserError
    from sketchface.data.make_data import SKETCH_STYLES

    if not styles:
        return STYLES
    keys = []
    for s in styles:
        if s != "photo" and s not in SKETCH_STYLES:
            raise UserError(f"unknown input style {s!r}; use photo or {', '.join(SKETCH_STYLES)}")
        keys.append("photo" if s == "photo" else SKETCH_STYLES[s])
    return tuple(keys)


def style_shares(keys) -> np.ndarray:
    drawings = [k for k in keys if k != "photo"]
    photo = PHOTO_SHARE if "photo" in keys else 0.0
    return np.array([photo if k == "photo" else (1 - photo) / len(drawings) for k in keys], np.float32)


def load_fit_split(data: str | Path, split: str, n: int = 0, progress: bool = False,
                   keys: tuple[str, ...] = STYLES) -> dict[str, np.ndarray]:
    """uint8 drawings (paper made white) and photos of one split with their true coefficients and camera."""
    from tqdm.auto import tqdm

    from sketchface.errors import UserError
    from sketchface.framing import flatten_paper

    root = Path(data)
    if not (root / "meta.json").is_file():
        raise UserError(f"{root} is not a make-data folder (no meta.json); make one with "
                        "`python -m sketchface make-data`")
    shards = [s for s in json.loads((root / "meta.json").read_text())["shards"] if s.startswith(split + "-")]
    out: dict[str, list] = {k: [] for k in (*keys, "landmarks", "identity", "expression", "camera")}
    for shard in tqdm(shards, desc=f"load {split}", disable=not progress):
        for k in (*keys, "landmarks"):
            path = root / shard / f"{k}.npy"
            if not path.is_file():
                raise UserError(f"{path} is missing: the style {k} is made by `python -m sketchface "
                                f"synthesize-sketches --data {root} --style {k.split('_')[-1]}`")
            out[k].append(np.load(path))
        for line in (root / shard / "params.jsonl").read_text().splitlines():
            p = json.loads(line)
            c = p["camera"]
            out["identity"].append(np.asarray(p["identity"], np.float32))
            out["expression"].append(np.asarray(p["expression"], np.float32))
            out["camera"].append(np.array([c["yaw"], c["pitch"], c["roll"], c["scale"], *c["offset"]], np.float32))
    if not out["identity"]:
        raise UserError(f"{data} has no {split} samples")
    d = {k: np.concatenate(v) if k in (*keys, "landmarks") else np.stack(v) for k, v in out.items()}
    if n and n < len(d["identity"]):
        idx = np.linspace(0, len(d["identity"]) - 1, n).round().astype(int)
        d = {k: v[idx] for k, v in d.items()}
    for k in (k for k in keys if k != "photo"):
        d[k] = np.stack([(flatten_paper(x.astype(np.float32) / 255) * 255 + 0.5).astype(np.uint8) for x in d[k]])
    return d


LIPS = slice(48, 68)         # the outer and inner lips among the 68 points


def face_basis(face_model, n_subset: int = N_SUBSET, seed: int = 0, lip_weight: float = 1.0) -> tuple[dict, "object"]:
    """Torch tensors of the face model on the loss's vertices (the 68 landmarks first, then ``n_subset`` face
    vertices) and their weights (the lips' ``lip_weight`` times a landmark's)."""
    import torch

    from sketchface.render import FRAME_CENTER

    rng = np.random.default_rng(seed)
    subset = rng.choice(face_model.face_vertex_count, n_subset, replace=False)
    idx = np.concatenate([face_model.landmarks68, subset])
    basis = {"neutral": torch.from_numpy(face_model.neutral[idx]),
             "identity": torch.from_numpy(face_model.identity_deltas[:, idx].astype(np.float32)),
             "expression": torch.from_numpy(face_model.expression_deltas[:, idx].astype(np.float32)),
             "centre": torch.tensor([FRAME_CENTER[0], FRAME_CENTER[1], 0.0])}
    w = torch.ones(len(idx))
    w[:68] = LANDMARK_WEIGHT
    w[LIPS] *= lip_weight
    return basis, w / w.mean()


def true_fit(identity, expression, camera, crop) -> dict:
    """The true answer in a crop: camera (N, 6: yaw, pitch, roll, scale, offset x, y) of the training framing and
    the crop's square (N, 3: log s, cx, cy as ``sketchface.nets.locator.crop_squares``)."""
    from sketchface.nets.facefit import CANONICAL_SCALE

    s_c = crop[:, 0].exp()
    scale = camera[:, 3] * CANONICAL_SCALE / s_c
    shift = (2 * camera[:, 4:6] - crop[:, 1:3]) / s_c[:, None]
    return {"identity": identity, "expression": expression, "angles": camera[:, :3], "scale": scale, "shift": shift}


def sample_crops(n: int, generator, scale_range=None, shift: float | None = None):
    """(N, 3) random squares around the training framing (log half-side, centre x, y; crop units)."""
    import torch

    scale_range, shift = scale_range or SCALE_RANGE, SHIFT if shift is None else shift
    u = torch.rand(n, 3, generator=generator)
    lo, hi = math.log(scale_range[0]), math.log(scale_range[1])
    return torch.stack([lo + (hi - lo) * u[:, 0], shift * (2 * u[:, 1] - 1), shift * (2 * u[:, 2] - 1)], 1)


def input_keys(d: dict) -> tuple[str, ...]:
    """The input styles a loaded split holds (its shard keys), in their order."""
    return tuple(k for k in d if k == "photo" or k.startswith("sketch_"))


def pick_styles(d: dict, n: int, generator):
    """(N,) random indices into ``input_keys(d)``, drawn with ``style_shares``."""
    import torch

    return torch.multinomial(torch.from_numpy(style_shares(input_keys(d))), n, replacement=True, generator=generator)


def make_batch(d: dict, idx, crops, generator, pen: float = 0.5, size: int = 128, dress: float = 0.0, rng=None,
               style=None, sparse=None):
    """The framed RGB inputs (N, 3, size, size) of samples ``idx`` seen through ``crops``, each in its ``style``
    (indices into ``input_keys(d)``; default random); a share ``dress`` of the drawings dressed first (hair,
    glasses, collar; ``rng``: a numpy Generator); the drawings whose ``sparse`` (N, bool) is set keep only their
    inner features instead (``synth.dress.features_only``)."""
    import torch

    from sketchface.nets.locator import crop_squares
    from sketchface.train.locator import restyle

    n = len(idx)
    keys = input_keys(d)
    style = pick_styles(d, n, generator) if style is None else style
    out = torch.empty(n, 3, size, size)
    for si, key in enumerate(keys):
        sel = (style == si).nonzero().flatten()
        if not len(sel):
            continue
        ids = idx[sel].numpy()
        x = torch.from_numpy(d[key][ids]).float() / 255
        if key == "photo":
            x = crop_squares(x.permute(0, 3, 1, 2), crops[sel], size, "border")
        else:
            few = np.zeros(len(ids), bool) if sparse is None else np.asarray(sparse)[sel.numpy()]
            if dress > 0 and not few.all():
                from sketchface.synth.dress import dress_batch
                x[~few] = dress_batch(x[~few], d["landmarks"][ids[~few]], rng, dress)
            if few.any():
                from sketchface.synth.dress import features_only_batch
                x = features_only_batch(x, d["landmarks"][ids], rng, few)
            x = crop_squares(restyle(x[:, None], generator, pen), crops[sel], size, "white").expand(-1, 3, -1, -1)
        out[sel] = x
    return out


def real_batch(real: dict, idx, crops, generator, pen: float = 0.5, size: int = 128, lines: float = 0.0,
               sparse=None, rng=None):
    """Real sketches of ``prepare-real-fits`` (stored around their crop box, ``CONTEXT`` times as wide) seen through
    ``crops`` (relative to the crop box, as ``sample_crops``), with the pen varied: (N, 3, size, size). A share
    ``lines`` of them (by chance) is shown as its XDoG lines (``some_as_lines``): a line drawing of a real face.
    Those whose ``sparse`` (N, bool) is set are shown as the XDoG lines of their features alone
    (``synth.dress.features_only`` around ``real["landmarks"]``, ``stored_landmarks``; ``rng`` a numpy Generator)."""
    import torch

    from sketchface.data.realfits import CONTEXT
    from sketchface.nets.locator import crop_squares
    from sketchface.train.locator import restyle
    from sketchface.xdog import some_as_lines, xdog_torch

    x = torch.from_numpy(real["sketch"][idx.numpy()]).float()[:, None] / 255
    few = torch.zeros(len(x), dtype=torch.bool) if sparse is None else torch.from_numpy(np.asarray(sparse, bool))
    if lines > 0:                       # the sparse ones become lines below, once
        x[~few] = some_as_lines(x[~few], lines, generator)
    if few.any():
        from sketchface.synth.dress import features_only_batch

        x[few] = xdog_torch(x[few])
        x = features_only_batch(x, real["landmarks"][idx.numpy()], rng, few.numpy())
    wide = torch.stack([crops[:, 0] - math.log(CONTEXT), crops[:, 1] / CONTEXT, crops[:, 2] / CONTEXT], 1)
    return crop_squares(restyle(x, generator, pen), wide, size, "white").expand(-1, 3, -1, -1)


def fit_loss(net, basis, weights, pred_raw, truth) -> tuple:
    """(total, vertex loss, coefficient loss) of raw FaceFit outputs against the true fit."""
    from sketchface.nets.facefit import pose_vertices

    pred = net.decode(pred_raw)
    v_pred = pose_vertices(basis, pred)
    v_true = pose_vertices(basis, truth)
    vert = ((v_pred - v_true).abs().mean(-1) * weights).mean()
    k = pred["identity"].shape[1]
    coeff = (pred["identity"] - truth["identity"][:, :k]).abs().mean() + \
        (pred["expression"] - truth["expression"][:, :pred["expression"].shape[1]]).abs().mean()
    return 10 * vert + COEFF_WEIGHT * coeff, vert, coeff


def evaluate_fit(net, d: dict, basis, seed: int = 1, batch: int = 64) -> dict:
    """Mean landmark error (pixels of the crop) and mean vertex error (crop units) on random crops of ``d``."""
    import torch

    from sketchface.nets.facefit import pose_vertices

    gen = torch.Generator().manual_seed(seed)
    n = len(d["identity"])
    size = net.config.image_size
    lm_err, v_err, scale_err = [], [], []
    net.eval()
    with torch.no_grad():
        for i in range(0, n, batch):
            idx = torch.arange(i, min(i + batch, n))
            crops = sample_crops(len(idx), gen)
            x = make_batch(d, idx, crops, gen, pen=0.0, size=size)
            t = true_fit(*(torch.from_numpy(d[k][idx.numpy()]) for k in ("identity", "expression", "camera")), crops)
            p = net.fit(x)
            vp, vt = pose_vertices(basis, p), pose_vertices(basis, t)
            lm_err.append(((vp[:, :68, :2] - vt[:, :68, :2]).norm(dim=-1).mean(1) * size / 2))
            v_err.append((vp - vt).abs().mean((1, 2)))
            scale_err.append((p["scale"] / t["scale"]).log().abs())
    return {"landmark_px": float(torch.cat(lm_err).mean()), "vertex_abs": float(torch.cat(v_err).mean()),
            "log_scale_abs": float(torch.cat(scale_err).mean()), "n": n}


class _Indices:
    """The samples of one split as indices (the arrays stay with the stage): {"index": i, "test": 0 or 1}."""

    def __init__(self, n: int, test: bool):
        self.n, self.test = n, int(test)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {"index": int(i), "test": self.test}


def facefit_stage():
    """FaceFit as a stage of the shared Trainer (``python -m sketchface train facefit``): the loss, data and
    augmentations above; the Trainer owns the step (AdamW, warm-up and cosine lr, clipping, checkpoints)."""
    import torch

    from sketchface.errors import UserError
    from sketchface.train.loop import tile
    from sketchface.train.stages import Losses, Stage, _module, load_fixed

    class FaceFitStage(Stage):
        name = "facefit"
        export_dtype = torch.float16

        def __init__(self):
            self.data: dict = {}
            self.real = None
            self.basis = self.weights = None

        def dataset(self, cfg, split):
            keys = style_keys(cfg.facefit.styles)
            self.data[split] = load_fit_split(cfg.data, split, n=0 if split == "train" else 300, keys=keys)
            if split == "train" and cfg.facefit.real_fits:
                from sketchface.data.realfits import load_real_fits

                self.real = load_real_fits(cfg.facefit.real_fits)
                if cfg.facefit.real_sparse > 0:
                    from sketchface.data.realfits import stored_landmarks
                    from sketchface.facemodel import load_face_model

                    self.real["landmarks"] = stored_landmarks(self.real, load_face_model(cfg.facefit.face_model or None))
            return _Indices(len(self.data[split]["identity"]), split != "train")

        def build_models(self, cfg, device):
            from sketchface.facemodel import load_face_model
            from sketchface.nets.facefit import FaceFit, FaceFitConfig

            fm = load_face_model(cfg.facefit.face_model or None)
            if cfg.init_from:
                net = load_fixed(cfg.init_from, "init_from").float()
            else:
                net = FaceFit(FaceFitConfig.from_dict({"face_vertices": int(fm.neutral.shape[0]), **cfg.net}))
            if net.config.face_vertices != fm.neutral.shape[0]:
                raise UserError(f"FaceFitConfig.face_vertices is {net.config.face_vertices} but the face model has "
                                f"{fm.neutral.shape[0]} vertices")
            basis, weights = face_basis(fm, seed=cfg.seed, lip_weight=cfg.facefit.lip_weight)
            self.basis = {k: v.to(device) for k, v in basis.items()}
            self.weights = weights.to(device)
            return {"net": net.to(device).train()}

        def build_optimizers(self, models, cfg):
            return {"net": torch.optim.AdamW(models["net"].parameters(), cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                             weight_decay=1e-4)}

        def _inputs(self, net, batch, cfg, gen):
            f = cfg.facefit
            d = self.data["test" if int(batch["test"][0]) else "train"]
            idx = batch["index"].cpu()
            n = len(idx)
            crops = sample_crops(n, gen)
            rng = np.random.default_rng(int(torch.randint(2 ** 31 - 1, (1,), generator=gen)))
            style, sparse = pick_styles(d, n, gen), None
            if f.sparse > 0 and "sketch_lines" in input_keys(d):
                # line drawings of the features alone, framed as their small ink box frames them
                lines = (style == input_keys(d).index("sketch_lines")).numpy()
                sparse = lines & (torch.rand(n, generator=gen) < f.sparse).numpy()
                if sparse.any():
                    crops[sparse] = sample_crops(int(sparse.sum()), gen, SPARSE_SCALE_RANGE, SPARSE_SHIFT)
            x = make_batch(d, idx, crops, gen, f.pen, net.config.image_size, f.dress, rng, style, sparse)
            truth = true_fit(*(torch.from_numpy(d[k][idx.numpy()]) for k in ("identity", "expression", "camera")),
                             crops)
            n_real = int(round(n * f.real_share)) if self.real is not None and not int(batch["test"][0]) else 0
            if n_real:      # the last n_real examples: real train sketches, the face of their photo as the target
                ridx = torch.randint(0, len(self.real["sketch"]), (n_real,), generator=gen)
                few = None
                if f.real_sparse > 0:   # sparse line drawings of real faces, framed as their small ink box frames them
                    few = (torch.rand(n_real, generator=gen) < f.real_sparse).numpy()
                    if few.any():
                        at = torch.from_numpy(np.flatnonzero(few) + n - n_real)
                        crops[at] = sample_crops(int(few.sum()), gen, SPARSE_SCALE_RANGE, SPARSE_SHIFT)
                x[-n_real:] = real_batch(self.real, ridx, crops[-n_real:], gen, f.pen, net.config.image_size,
                                         f.real_lines, few, rng)
                rt = true_fit(*(torch.from_numpy(self.real[k][ridx.numpy()]) for k in ("identity", "expression",
                                                                                         "camera")), crops[-n_real:])
                truth = {k: torch.cat([v[:-n_real], rt[k].to(v.dtype)]) for k, v in truth.items()}
            dev = batch["index"].device
            return x.to(dev), {k: v.to(dev) for k, v in truth.items()}

        def losses(self, models, batch, cfg, gen) -> Losses:
            net = _module(models["net"])
            x, truth = self._inputs(net, batch, cfg, gen)
            loss, vert, coeff = fit_loss(net, self.basis, self.weights, models["net"](x), truth)
            return Losses.single({"total": loss, "vertex": vert, "coeff": coeff})

        def sample_grid(self, models, batch, cfg):
            from sketchface.nets.facefit import pose_vertices

            net = _module(models["net"])
            x, truth = self._inputs(net, batch, cfg, torch.Generator().manual_seed(0))
            size = net.config.image_size
            shown, rows = x.clone(), torch.arange(len(x), device=x.device)[:, None]
            for pts, colour in ((pose_vertices(self.basis, truth)[:, :68, :2], (0.0, 0.7, 0.0)),
                                (pose_vertices(self.basis, net.fit(x))[:, :68, :2], (0.9, 0.0, 0.0))):
                px = ((pts + 1) * size / 2).round().long()                        # crop units -> pixels
                for dy in (-1, 0, 1):                                             # 3 x 3 dots
                    for dx in (-1, 0, 1):
                        qx, qy = (px[..., 0] + dx).clamp(0, size - 1), (px[..., 1] + dy).clamp(0, size - 1)
                        shown[rows, :, qy, qx] = torch.tensor(colour, dtype=x.dtype, device=x.device)
            return tile([x, shown])       # the input, then the true (green) and fitted (red) 68 points

    return FaceFitStage()


def train_facefit(data: str | Path, out: str | Path, steps: int = 10000, batch: int = 48, lr: float = 2e-3,
                  seed: int = 0, config=None, face_model=None, progress: bool = True, pen: float = 0.5,
                  dress: float = DRESS, log_every: int = 200, save_every: int = 1000, styles=None,
                  init_from: str | Path | None = None, real_fits: str | Path | None = None,
                  real_share: float = REAL_SHARE, run: str | Path | None = None, resume: bool = False,
                  sparse: float = 0.0, real_lines: float = 0.0, real_sparse: float = 0.0) -> dict:
    """Train with the shared Trainer in the run folder ``run`` (default: OUT-run), write ``out`` (fp16
    safetensors + config.json, and ``metrics.json``); returns the test errors.

    ``styles``: the input styles (default pencil, lines, photo; "artist" adds the CycleGAN's artist sketches);
    ``init_from``: a FaceFit checkpoint to start from (fine-tuning; its config is kept); ``real_fits``: a
    ``prepare-real-fits`` folder, whose real sketches make up a share ``real_share`` of every batch, each with the
    face its photo shows as the target (``real_lines``: the chance that one is shown as its XDoG lines;
    ``real_sparse``: as the XDoG lines of its features alone); ``sparse``: the share of examples drawn as their
    features alone."""
    import csv

    from sketchface.nets import load_network
    from sketchface.train.config import make_config
    from sketchface.train.loop import fit_into, run_folder

    run = run_folder(out, run)
    net = {}
    if config is not None:
        net = dict(config.to_dict())
        net.pop("kind", None)
    cfg = make_config({"stage": "facefit", "data": str(data), "out": str(run), "steps": steps, "batch_size": batch,
                       "lr": lr, "beta1": 0.9, "lr_schedule": "cosine", "warmup_steps": steps // 20,
                       "grad_clip": 5.0, "seed": seed, "net": net, "init_from": str(init_from or ""),
                       "ckpt_every": max(1, min(save_every, steps)), "log_every": max(1, min(log_every, steps)),
                       "sample_every": max(1, min(2000, steps)),
                       "facefit": {"styles": list(styles or []), "dress": dress, "pen": pen,
                                   "real_fits": str(real_fits or ""), "real_share": real_share,
                                   "real_lines": real_lines, "real_sparse": real_sparse, "sparse": sparse,
                                   "face_model": str(face_model or "")}})
    stage = facefit_stage()
    fit_into(stage, cfg, out, progress, resume)
    with open(run / "metrics.csv", newline="") as f:
        log = [{"step": int(r["step"]), "loss": float(r["total"]), "vertex": float(r["vertex"]),
                "coeff": float(r["coeff"])} for r in csv.DictReader(f) if r.get("total")]
    basis = {k: v.cpu() for k, v in stage.basis.items()}
    res = {"steps": steps, "styles": list(style_keys(styles)), "dress": dress, "init_from": str(init_from or ""),
           "real_fits": str(real_fits or ""), "real_share": real_share if real_fits else 0.0, "sparse": sparse,
           "real_lines": real_lines if real_fits else 0.0, "real_sparse": real_sparse if real_fits else 0.0,
           "run": str(run),
           # on the default styles (pencil, lines, photo) whatever the run trained on, so that runs compare
           "test": evaluate_fit(load_network(out).float(), load_fit_split(data, "test", 300), basis), "log": log}
    (Path(out) / "metrics.json").write_text(json.dumps(res, indent=1))
    return res


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-facefit", help="train FaceFit: face-model coefficients, pose and placement",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="make-data folder (made with the same face model)")
    p.add_argument("--out", required=True, help="checkpoint folder to write (e.g. checkpoints/facefit)")
    p.add_argument("--steps", type=int, default=10000, help="the shipped checkpoint: 10,000 (28 min on 2 cores)")
    p.add_argument("--batch", type=int, default=48)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dress", type=float, default=DRESS,
                   help="share of training drawings dressed with hair, glasses and collars")
    p.add_argument("--styles", nargs="+", default=None,
                   help="input styles: pencil lines photo (default), artist adds the CycleGAN's artist sketches")
    p.add_argument("--init-from", default=None, help="FaceFit checkpoint to fine-tune (e.g. checkpoints/facefit)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (fine-tuning: 5e-4)")
    p.add_argument("--real-fits", default=None,
                   help="prepare-real-fits folder: real train sketches with the face their photos show")
    p.add_argument("--real-share", type=float, default=REAL_SHARE, help="share of each batch that is real sketches")
    p.add_argument("--real-lines", type=float, default=0.0,
                   help="with --real-fits: chance that a real sketch is shown as its XDoG lines")
    p.add_argument("--real-sparse", type=float, default=0.0,
                   help="with --real-fits: chance that a real sketch is shown as the XDoG lines of its features alone")
    p.add_argument("--sparse", type=float, default=0.0,
                   help="share of examples drawn as their features alone (eyes, some brows, nose, mouth)")
    p.add_argument("--face-model", default=None, help="face model file or folder (default: $SKETCHFACE_FACE_MODEL)")
    p.add_argument("--run", default=None, help="run folder (checkpoint, metrics.csv, samples; default OUT-run)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(a: argparse.Namespace) -> int:
    res = train_facefit(a.data, a.out, steps=a.steps, batch=a.batch, lr=a.lr, seed=a.seed, face_model=a.face_model,
                        progress=not a.no_progress, dress=a.dress, styles=a.styles, init_from=a.init_from,
                        real_fits=a.real_fits, real_share=a.real_share, run=a.run, resume=a.resume,
                        sparse=a.sparse, real_lines=a.real_lines, real_sparse=a.real_sparse)
    t = res["test"]
    print(f"wrote {a.out}: on {t['n']} test samples' random crops, landmark error {t['landmark_px']:.2f} px, "
          f"|log scale| {t['log_scale_abs']:.3f}")
    return 0
