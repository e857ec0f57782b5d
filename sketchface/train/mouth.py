"""``train-mouth``: the Mouth (``sketchface.nets.mouth``), how far a drawn mouth is open, read around FaceFit's lips.

Training examples are crops around the lips, moved a little (about FaceFit's placement error) and mirrored at
random:

- the world's train faces (``--data``: a make-data folder whose faces open their mouths, ``open_mouth_prob``) as
  pencil sketches, line drawings and photos, the crop on their true lips; the target is their true jawOpen weight
  (centring the crop on the lips of the same face with its jaw closed, where FaceFit puts them, was tried: no
  difference, docs/TRAINING.md "Open mouths");
- with ``--real-fits`` (``prepare-real-fits --pose-from F --open-mouths``), a share ``--real-share`` of every batch is
  real train sketches, the crop on the target fit's lips, the target its jawOpen (the lip gap FaceMesh finds in
  the pair);
- a share ``--blank`` of the crops has the paper where the mouth would be (a drawing of the eyes and nose alone):
  no mouth drawn is a closed one.

The loss is the squared error of the weights (an L1 loss answers the median, a closed mouth, for every drawing:
most faces keep their mouths shut); AdamW, a short warm-up, then cosine decay. Afterwards the report gives the
correlation of the answered and true jawOpen weights on the world's test faces, the crop placed by FaceFit's own fit
(the bundle ``--checkpoints``), per style.

    python -m sketchface train-mouth --data data/fit128m --real-fits data/realfits_mouth --out runs/mouth
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

STYLES = ("sketch_pencil", "sketch_lines", "photo")


def fit_points(fm, identity, expression, camera, size: int) -> np.ndarray:
    """The 68 points (pixels of a ``size`` crop in the training framing) of a face given as make-data's camera row
    (yaw, pitch, roll, scale, offset x, y)."""
    from sketchface.prior import Fit

    fit = Fit.from_camera(identity, expression, camera)
    xy, _ = fit.camera().project(fm.vertices(fit.identity, fit.expression)[fm.landmarks68], size)
    return xy


def _gray(img: np.ndarray) -> np.ndarray:
    x = np.asarray(img, np.float32) / 255.0
    return x.mean(-1) if x.ndim == 3 else x


def train_mouth(data, out, real_fits=None, steps: int = 3000, n_train: int = 6000, real_share: float = 0.3,
                blank: float = 0.1, batch: int = 64, lr: float = 2e-3, n_test: int = 256, checkpoints=None,
                face_model=None, seed: int = 0, progress: bool = True) -> dict:
    import torch
    from tqdm.auto import tqdm

    from sketchface.data.realfits import load_real_fits
    from sketchface.errors import UserError
    from sketchface.facemodel import load_face_model
    from sketchface.nets.mouth import Mouth, MouthConfig, mouth_crop
    from sketchface.train.facefit import load_fit_split

    if not 0.0 <= real_share < 1.0 or not 0.0 <= blank < 1.0 or steps < 1:
        raise UserError("train-mouth needs real_share and blank in [0, 1) and at least one step")
    fm = load_face_model(face_model)
    if "jawOpen" not in fm.expression_names:
        raise UserError("this face model has no jawOpen expression for the Mouth to answer")
    jaw = list(fm.expression_names).index("jawOpen")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = MouthConfig()
    train = load_fit_split(data, "train", n_train, progress=progress, keys=STYLES)
    if float((train["expression"][:, jaw] > 0.1).mean()) < 0.05:
        raise UserError(f"fewer than 5 % of the faces in {data} open their mouths: make the world with "
                        "open_mouth_prob (docs/TRAINING.md, \"Open mouths\")")
    real, real_points = None, None
    if real_fits:
        real = load_real_fits(real_fits)
        wide = real["sketch"].shape[1]
        offset = (wide - wide // 2) / 2          # the crop box is the middle half of the stored image
        real_points = [fit_points(fm, real["identity"][i], real["expression"][i], real["camera"][i], wide // 2)
                       + offset for i in range(len(real["sketch"]))]

    def example():
        jitter = (rng.normal(0, 0.06), rng.normal(0, 0.06), rng.normal(0, 0.08), rng.normal(0, 4.0))
        if real is not None and rng.random() < real_share:
            i = int(rng.integers(len(real["sketch"])))
            gray, points, y = real["sketch"][i].astype(np.float32) / 255.0, real_points[i], real["expression"][i, jaw]
        else:
            i = int(rng.integers(len(train["photo"])))
            gray = _gray(train[STYLES[int(rng.integers(len(STYLES)))]][i])
            points, y = train["landmarks"][i], train["expression"][i, jaw]
        x = mouth_crop(gray, points, cfg, jitter)
        if rng.random() < blank:                 # eyes and nose drawn, no mouth
            x[int(cfg.side * rng.uniform(0.15, 0.3)):] = 1.0
            y = 0.0
        return (x[:, ::-1] if rng.random() < 0.5 else x), float(y)

    net = Mouth(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr, weight_decay=1e-4)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, (t + 1) / warm) * 0.5 *
                                              (1.0 + np.cos(np.pi * min(t, steps) / steps)))
    bar = tqdm(range(steps), desc="train-mouth", unit="step", disable=not progress)
    for _ in bar:
        xs, ys = zip(*(example() for _ in range(batch)))
        x = torch.from_numpy(1.0 - np.stack(xs)[:, None])
        loss = ((net(x) - torch.tensor(ys)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(mse=f"{loss.item():.4f}")
    net.eval()
    report = {"steps": steps, "train faces": len(train["photo"]), "real sketches": 0 if real is None else
              len(real["sketch"]), "real_share": real_share, "blank": blank, "parameters":
              sum(p.numel() for p in net.parameters()), **_test(net, data, n_test, checkpoints, fm, jaw)}
    out = Path(out)
    net.save_pretrained(out, dtype=torch.float16)
    (out / "training.json").write_text(json.dumps(report, indent=1))
    return report


def _test(net, data, n: int, checkpoints, fm, jaw: int) -> dict:
    """Correlation of the answered and true jawOpen weights on ``n`` test faces, the crop on FaceFit's fit."""
    from sketchface.nets import load_network
    from sketchface.prior import FacePrior
    from sketchface.train.facefit import load_fit_split

    folder = Path(checkpoints or "checkpoints") / "facefit"
    if not n or not (folder / "config.json").is_file():
        return {}
    prior = FacePrior(load_network(folder), fm, mouth=net)
    test = load_fit_split(data, "test", n, keys=STYLES)
    true = test["expression"][:, jaw]
    out = {}
    for key in STYLES:
        # as the pipeline shows them: photos in colour, drawings with their paper made white (load_fit_split)
        got = np.array([prior.fit(np.asarray(img, np.float32) / 255.0).expression[jaw] for img in test[key]])
        out[f"test {key}: r, mean |error|"] = [round(float(np.corrcoef(true, got)[0, 1]), 3),
                                              round(float(np.abs(true - got).mean()), 4)]
    return out


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-mouth", help="train the Mouth: how far a drawn mouth is open",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="make-data folder whose faces open their mouths")
    p.add_argument("--out", required=True, help="folder to write (config.json, model.safetensors, training.json)")
    p.add_argument("--real-fits", default=None, help="prepare-real-fits --open-mouths folder (real train sketches)")
    p.add_argument("--real-share", type=float, default=0.3)
    p.add_argument("--blank", type=float, default=0.1, help="share of crops without a mouth drawn (target: closed)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--n-train", type=int, default=6000, help="world train faces loaded (0 = all)")
    p.add_argument("--n-test", type=int, default=256, help="world test faces measured after training (0 = none)")
    p.add_argument("--checkpoints", default=None, help="bundle whose FaceFit places the test crops")
    p.add_argument("--face-model", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(a: argparse.Namespace) -> int:
    report = train_mouth(a.data, a.out, a.real_fits, a.steps, a.n_train, a.real_share, a.blank,
                         n_test=a.n_test, checkpoints=a.checkpoints, face_model=a.face_model, seed=a.seed,
                         progress=not a.no_progress)
    print(json.dumps(report, indent=1))
    print(f"wrote {a.out}")
    return 0
