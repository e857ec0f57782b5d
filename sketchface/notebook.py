"""Helpers shared by the notebooks in ``notebooks/``: device and preset, the face model and data, short
training runs, finding trained networks, and pictures (image grids, loss curves, Plotly depth surfaces).

Everything a notebook needs beyond a few lines lives here, so the notebooks stay readable and the code is
tested like the rest of the package.

    from sketchface import notebook as nb
    S = nb.setup(smoke=False, preset="auto", device="auto", data="", steps=None)
    nb.get_face_model()
    data = nb.ensure_data(S)
    run = nb.train(S, "coarse", "dp_coarse", data, steps=40, variant="dp")
    nb.plot_losses({"DP": run.path})
    net, source = nb.find_trained(S, "dp_coarse", fallback=run)   # checkpoints/, runs/lite/, else this run
"""
from __future__ import annotations

import csv
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from sketchface.train.config import COARSE_KINDS
from sketchface.train.export import OWN_COMMAND, RUN_FOLDERS

REPO_ROOT = Path(__file__).resolve().parents[1]

# Tiny networks for SMOKE runs (a few steps on 32 px data): the mechanics, not the results.
SMOKE_SIZE = 32
SMOKE_NETS = {
    "sp_coarse_minus": dict(image_size=32, dim=4, n_res=1, mlp_dim=8),
    "sp_coarse": dict(image_size=32, dim=4, n_res=1, mlp_dim=8),
    "dp_coarse": dict(image_size=32, dim=4, n_res=1, mlp_dim=8),
    "dnet": dict(image_size=32, dim=4, n_downsample=5),
    "line_extractor": dict(image_size=32, dim=4, n_res=1),
    "finenet": dict(image_size=32, dim=4, n_res=1, lambda_hidden=8),
    "cyclegan": dict(image_size=32, ngf=4, ndf=4, n_blocks=1),
    "facefit": dict(image_size=32, widths=(4, 4, 4, 4), head_channels=2, hidden=8, n_identity=4, n_expression=3),
}
STAGE_KIND = {"lines": "line_extractor", "fine": "finenet", "cyclegan": "cyclegan", "facefit": "facefit"}

# Run folders of the lite training (scripts/train_lite.sh) by network kind (the bundle's, one home in
# sketchface.train.export) or ablation name.
LITE_RUNS = {
    **{kind: folder for kind, folder in RUN_FOLDERS.items() if kind not in OWN_COMMAND},
    "dp_La": "coarse-dp-La",
    "dp_Lb": "coarse-dp-Lb",
    "dp_Lc": "coarse-dp-Lc",
    "finenet_dis3d": "fine-dis+3d",
}


# ----------------------------------------------------------------------------------------------- setup

def pick_device_and_preset(preset: str = "auto", device: str = "auto") -> tuple[str, str]:
    """CUDA when present (and asked for), the paper preset there, the lite preset on the CPU."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("DEVICE asks for CUDA but torch sees no CUDA device; use DEVICE = 'auto' or 'cpu'")
    if preset == "auto":
        preset = "paper" if device.startswith("cuda") else "lite"
    if preset not in ("lite", "paper"):
        raise ValueError(f"PRESET must be 'auto', 'lite' or 'paper', got {preset!r}")
    return device, preset


@dataclass
class Setup:
    """What a notebook run uses: device, network preset, image size, data and where runs go."""
    smoke: bool
    device: str
    preset: str
    size: int
    steps: int | None
    data: str
    runs: Path
    use_trained: bool
    started: float = field(default_factory=time.time)

    def net(self, kind: str) -> dict:
        """Network config overrides for ``kind`` (tiny networks in SMOKE mode, none otherwise)."""
        return dict(SMOKE_NETS[kind]) if self.smoke else {}

    def steps_for(self, default_cpu: int, default_gpu: int | None = None, smoke: int = 3) -> int:
        """STEPS when set; else a few steps in SMOKE mode, else the notebook's default for the device."""
        if self.smoke:
            return smoke if self.steps is None else min(self.steps, smoke)
        if self.steps is not None:
            return int(self.steps)
        return int(default_gpu if (default_gpu and self.device.startswith("cuda")) else default_cpu)

    def elapsed(self) -> str:
        return _fmt_seconds(time.time() - self.started)


def _rel(p: str | Path) -> str:
    """A path for printing: relative to the checkout when inside it."""
    try:
        return str(Path(p).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def _fmt_seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def setup(smoke: bool = False, preset: str = "auto", device: str = "auto", data: str = "",
          steps: int | None = None, runs: str = "nb_runs", threads: int = 0, seed: int = 0,
          use_trained: bool | None = None) -> Setup:
    """Resolve the notebook's parameters, seed everything, make pictures compact; prints one summary line.

    ``use_trained``: look for the repository's trained networks (checkpoints/, runs/lite/); default: not in
    SMOKE mode, so a smoke run only uses what it trains itself."""
    import torch

    device, preset = pick_device_and_preset(preset, device)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    from sketchface.nets import preset as net_preset

    size = SMOKE_SIZE if smoke else int(net_preset(preset)["line_extractor"].image_size)
    s = Setup(smoke=bool(smoke), device=device, preset=preset, size=size, steps=steps, data=str(data or ""),
              runs=Path(runs), use_trained=(not smoke) if use_trained is None else bool(use_trained))
    _compact_plots()
    where = torch.cuda.get_device_name(0) if device.startswith("cuda") else f"CPU, {torch.get_num_threads()} threads"
    print(f"device {device} ({where}); preset {preset} ({size} px){'; SMOKE mode: tiny data and networks' if smoke else ''}"
          f"; torch {torch.__version__}")
    return s


def inline_plots() -> None:
    """Inside a Jupyter kernel, make sure matplotlib draws inline (code that calls ``matplotlib.use("Agg")``
    switches it off)."""
    import matplotlib

    if "ipykernel" in sys.modules and "inline" not in matplotlib.get_backend():
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("matplotlib", "inline")
            _compact_plots()


def _compact_plots() -> None:
    try:
        import matplotlib
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return
    plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "image.interpolation": "nearest",
                         "axes.titlesize": 9, "font.size": 8})
    del matplotlib


# ---------------------------------------------------------------------------------------- face model, data

def get_face_model() -> Path:
    """The face model file: ``$SKETCHFACE_FACE_MODEL`` or the user cache; downloaded (``fetch-face-model``) when
    it is missing and the internet can be reached."""
    from sketchface.facemodel import FaceModelNotFound, find_face_model

    try:
        path = find_face_model()
    except FaceModelNotFound:
        from sketchface.cli import main
        print("no face model found: downloading ICT Face Model Light (MIT, ~500 MB of OBJs -> ~8 MB) ...")
        rc = main(["fetch-face-model", "--if-missing", "--no-progress"])
        if rc:
            raise RuntimeError("fetch-face-model failed; without internet, set SKETCHFACE_FACE_MODEL to a "
                               "folder holding ict_face_light.npz (see docs/DATASETS.md)") from None
        path = find_face_model()
    print(f"face model: {path.name} ({path.stat().st_size / 2**20:.1f} MB)")
    return path


def _has_data(root: Path, n: int) -> bool:
    import json

    meta = root / "meta.json"
    if not meta.is_file():
        return False
    try:
        return int(json.loads(meta.read_text())["n_samples"]) >= n
    except (ValueError, KeyError):
        return False


def ensure_data(s: Setup, n: int | None = None, name: str | None = None, shared: bool = True,
                world: dict | None = None) -> Path:
    """A make-data folder at the setup's size: DATA when given; else the repository's ``data/syn<size>`` when it
    exists; else rendered now into ``nb_data/syn<size>`` (16 samples in SMOKE mode, ``n`` otherwise).
    ``shared=False`` always renders a folder of the notebook's own (e.g. one it will write into); ``world``:
    more of make-data's options for it (e.g. ``open_mouth_prob``)."""
    if s.data and shared:
        root = Path(s.data).expanduser()
        if not (root / "meta.json").is_file():
            raise FileNotFoundError(f"DATA = {s.data!r} is not a make-data folder (no meta.json)")
        print(f"data: {root}")
        return root
    n = 16 if s.smoke else (n or (2000 if s.preset == "lite" else 4000))
    if not s.smoke and shared:
        repo = REPO_ROOT / "data" / f"syn{s.size}"
        if _has_data(repo, min(n, 400)):
            print(f"data: {_rel(repo)} (already made)")
            return repo
    root = Path(name or f"nb_data/syn{s.size}{'-smoke' if s.smoke else ''}")
    if _has_data(root, n):
        print(f"data: {root} (already made)")
        return root
    from sketchface.data.make_data import make_data

    t0 = time.time()
    meta = make_data(root, n=n, size=s.size, variants=4 if n >= 16 else 2, seed=0,
                     workers=1 if s.smoke else None, progress=False, **(world or {}))
    print(f"data: rendered {meta['n_samples']} samples at {s.size} px into {root} in {_fmt_seconds(time.time() - t0)}")
    return root


def load_samples(data: str | Path, split: str = "test", n: int = 8, keys: Iterable[str] | None = None) -> dict:
    """``n`` samples of a make-data folder as numpy arrays stacked per key ((n, H, W) or (n, H, W, 3))."""
    from sketchface.data.synthetic import SyntheticShards

    ds = SyntheticShards(data, split, keys=tuple(keys) if keys else None, to_tensor=False)
    idx = np.linspace(0, len(ds) - 1, min(n, len(ds))).round().astype(int)
    items = [ds[int(i)] for i in idx]
    return {k: np.stack([np.asarray(it[k]) for it in items]) for k in items[0] if k != "identity"}


# ------------------------------------------------------------------------------------------------ training

@dataclass
class Run:
    """A training run of a notebook: its folder, config, the trained network and the last losses."""
    path: Path
    cfg: Any
    net: Any
    losses: dict
    seconds: float
    steps_done: int


def train(s: Setup, stage: str, name: str, data: str | Path, steps: int, fresh: bool = False, **keys) -> Run:
    """Train one stage for ``steps`` steps into ``<runs>/<name>`` (resumes a run already there unless ``fresh``).

    ``keys`` are training-config keys (``variant``, ``loss``, ``coarse_ckpt``, ...; see
    ``python -m sketchface train --help``). Prints one line: steps, time, throughput, last losses."""
    import shutil

    from sketchface.train.config import make_config
    from sketchface.train.loop import Trainer
    from sketchface.train.stages import get_stage

    kind = COARSE_KINDS[keys.get("variant", "dp")] if stage == "coarse" else STAGE_KIND[stage]
    out = s.runs / name
    if fresh and out.exists():
        shutil.rmtree(out)
    values = {"stage": stage, "preset": s.preset, "data": str(data), "out": str(out), "steps": int(steps),
              "device": s.device, "net": s.net(kind),
              "ckpt_every": max(int(steps), 1), "sample_every": max(int(steps) // 4, 1),
              "log_every": max(min(20, int(steps) // 10), 1), **keys}
    cfg = make_config(values)
    trainer = Trainer(get_stage(stage), cfg, progress=False)
    start = trainer.step
    t0 = time.time()
    last = trainer.fit(resume=True)
    dt = time.time() - t0
    done = trainer.step - start
    rate = f"{dt / done:.2f} s/step, " if done else "already trained, "
    print(f"{name}: {trainer.step} steps ({done} now, {_fmt_seconds(dt)}, {rate}batch {cfg.effective_batch}); "
          + ", ".join(f"{k} {v:.4g}" for k, v in list(last.items())[:6]))
    net = trainer.models["net"]
    net.eval()
    return Run(out, cfg, net, last, dt, done)


# ------------------------------------------------------------------------------------- trained networks

def checkpoints_dir() -> Path:
    from sketchface.pipeline import default_checkpoints

    return default_checkpoints()


def _run_network(run: Path, device: str = "cpu"):
    """A network from a run folder: ``final/`` when the run finished, else its latest training checkpoint."""
    from sketchface.nets import load_network

    if (run / "final" / "config.json").is_file():
        return load_network(run / "final", device=device), "final"
    if not ((run / "ckpt.pt").is_file() and (run / "config.yaml").is_file()):
        return None, ""
    import torch

    from sketchface.nets import build
    from sketchface.train.config import load_config
    from sketchface.train.stages import net_config

    cfg = load_config(run / "config.yaml")
    kind = COARSE_KINDS[cfg.variant] if cfg.stage == "coarse" else STAGE_KIND[cfg.stage]
    c = net_config(cfg, kind)
    if kind == "finenet":
        c = c.replace(lambda_conditioned=cfg.fine.lambda_conditioned)
    ck = torch.load(run / "ckpt.pt", map_location="cpu", weights_only=True)
    net = build(kind, c)
    net.load_state_dict(ck["models"]["net"])
    return net.to(device).eval(), f"step {int(ck['step'])} of {cfg.steps} (training in progress)"


def find_trained(s: Setup, name: str, fallback: Any = None, verbose: bool = True):
    """The best trained network ``name`` (a kind such as ``dp_coarse``, or ``dp_La`` / ``finenet_dis3d``):
    ``checkpoints/<kind>`` (the shipped bundle), else ``runs/lite/<run>`` (final, or the latest checkpoint of a
    run still training), else ``fallback`` (e.g. what this notebook just trained). Returns (network, source)."""
    from sketchface.nets import load_network

    if s.use_trained:
        ck = checkpoints_dir() / name
        if (ck / "config.json").is_file():
            net = load_network(ck, device=s.device).eval()
            return _said(name, net, _rel(ck), verbose)
        if name in LITE_RUNS:
            run = lite_run(name)
            net, how = _run_network(run, s.device)
            if net is not None:
                return _said(name, net, f"{_rel(run)} ({how})", verbose)
    if fallback is None:
        if verbose:
            print(f"{name}: no trained network found")
        return None, ""
    net = fallback.net if isinstance(fallback, Run) else fallback     # a network may have a .net of its own
    src = f"this notebook's run {fallback.path}" if isinstance(fallback, Run) else "this notebook"
    return _said(name, net.eval(), src, verbose)


def _said(name, net, src, verbose):
    if verbose:
        print(f"{name}: {src}")
    return net, src


def lite_run(name: str) -> Path:
    """The folder of ``name``'s run in the lite training (``runs/lite/<run>``), whether or not it exists."""
    return REPO_ROOT / "runs" / "lite" / LITE_RUNS.get(name, name)


def trained_at_step(s: Setup, name: str, step: int):
    """The lite run of ``name`` as exported at ``step`` (``runs/lite/<run>/step_N``, written by ``export_at``),
    e.g. DP-CoarseNet at the 800 steps of the loss ablation; None when that export is not there."""
    from sketchface.nets import load_network

    folder = lite_run(name) / f"step_{step}"
    if not (s.use_trained and (folder / "config.json").is_file()):
        return None
    return load_network(folder, device=s.device).eval()


def trained_run_dir(name: str) -> Path | None:
    """The lite training run folder of ``name`` when it exists (for its loss curves and sample grids)."""
    run = lite_run(name)
    return run if (run / "metrics.csv").is_file() else None


def checkpoint_folder(s: Setup, name: str, fallback: Run | None = None) -> Path | None:
    """A checkpoint *folder* (config.json + model.safetensors) for ``name``, as the fine stage needs:
    the bundle's, a finished lite run's ``final/``, a lite run still training (its latest checkpoint, saved
    into ``<runs>/trained/<name>``), else the fallback run's ``final/``."""
    if s.use_trained:
        for p in (checkpoints_dir() / name, lite_run(name) / "final"):
            if (p / "config.json").is_file():
                return p
        net, how = (_run_network(lite_run(name)) if name in LITE_RUNS
                    else (None, ""))
        if net is not None:
            out = s.runs / "trained" / name
            net.save_pretrained(out)
            print(f"{name}: runs/lite/{LITE_RUNS[name]} ({how}) -> {out}")
            return out
    if fallback is not None and (fallback.path / "final" / "config.json").is_file():
        return fallback.path / "final"
    return None


def ensure_networks(s: Setup, data: str | Path, steps: int, names: Sequence[str] = ("dp_coarse", "line_extractor",
                    "finenet")) -> dict[str, Any]:
    """The trained networks ``names`` (see ``find_trained``); any that cannot be found is trained here for
    ``steps`` steps (a short run: enough to see the pipeline work, not to reproduce the paper)."""
    nets: dict[str, Any] = {}
    runs: dict[str, Run] = {}
    order = [n for n in ("dp_coarse", "sp_coarse", "sp_coarse_minus", "dnet", "line_extractor", "cyclegan",
                         "finenet") if n in names]
    for name in order:
        net, _ = find_trained(s, name)
        if net is None:
            if name == "finenet":
                coarse = checkpoint_folder(s, "dp_coarse", runs.get("dp_coarse"))
                lines = checkpoint_folder(s, "line_extractor", runs.get("line_extractor"))
                if coarse is None:
                    runs["dp_coarse"] = train(s, "coarse", "dp_coarse", data, steps, variant="dp")
                    coarse = runs["dp_coarse"].path / "final"
                if lines is None:
                    runs["line_extractor"] = train(s, "lines", "line_extractor", data, steps)
                    lines = runs["line_extractor"].path / "final"
                runs[name] = train(s, "fine", name, data, steps, coarse_ckpt=str(coarse), lines_ckpt=str(lines))
            elif name in ("line_extractor", "cyclegan"):
                runs[name] = train(s, "lines" if name == "line_extractor" else "cyclegan", name, data, steps)
            else:
                variant = {v: k for k, v in COARSE_KINDS.items()}[name]
                runs[name] = train(s, "coarse", name, data, steps, variant=variant)
            net = runs[name].net
        nets[name] = net.to(s.device).eval()
    return nets


def assemble_bundle(s: Setup, nets: Mapping[str, Any], out: str | Path | None = None) -> Path:
    """Write networks into a checkpoint-bundle folder (the layout ``evaluate`` and ``SketchFace`` read)."""
    import json

    from sketchface.pipeline import DEFAULT_BUNDLE, PIPELINE_FILE

    root = Path(out or s.runs / "bundle")
    for name, net in nets.items():
        net.save_pretrained(root / name)
    spec = {k: v for k, v in DEFAULT_BUNDLE.items() if v in nets}
    (root / PIPELINE_FILE).write_text(json.dumps(spec, indent=2) + "\n")
    return root


def sketchface_from(s: Setup, coarse, line_extractor, finenet, cyclegan=None):
    """A ``SketchFace`` pipeline from networks (objects, e.g. from ``find_trained``)."""
    from sketchface.pipeline import SketchFace

    return SketchFace(coarse, line_extractor, finenet, cyclegan, device=s.device)


# ------------------------------------------------------------------------------------------------ pictures

def _rgb(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().float().cpu().numpy()
    a = np.asarray(a, np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.dtype != np.float32 or a.max() > 1.0 + 1e-6:
        a = a / 255.0 if a.max() > 1.0 + 1e-6 else a
    return np.clip(a, 0, 1)


def show_grid(rows: Sequence | Mapping, titles: Sequence[str] | None = None, cell: float = 1.4,
              suptitle: str = "", cmap: str = "gray"):
    """Show images as a grid: ``rows`` is a list of rows (each a list of images) or a dict title -> images
    (one column per key). Images: (H, W), (H, W, 3) or torch (C, H, W), values in [0, 1] (or uint8)."""
    inline_plots()
    import matplotlib.pyplot as plt

    if isinstance(rows, Mapping):
        titles = list(rows)
        cols = [list(v) for v in rows.values()]
        rows = [list(r) for r in zip(*cols)]
    rows = [list(r) for r in rows]
    nr, nc = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(nr, nc, figsize=(cell * nc, cell * nr + (0.3 if suptitle else 0)), squeeze=False)
    for i, r in enumerate(rows):
        for j in range(nc):
            ax = axes[i][j]
            ax.axis("off")
            if j < len(r) and r[j] is not None:
                ax.imshow(_rgb(r[j]), cmap=cmap, vmin=0, vmax=1)
            if i == 0 and titles is not None and j < len(titles):
                ax.set_title(titles[j])
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout(pad=0.2)
    plt.show()


def shaded(depth, mask=None) -> np.ndarray:
    """A depth map as a grey Lambert-shaded picture (what a face model looks like under one light)."""
    from sketchface.mesh import shade

    d = _rgb(depth)
    return shade(d, None if mask is None else np.asarray(mask) > 0)


def lambda_effect(s: Setup, coarse, line_extractor, finenets: Mapping[str, Any], sketch,
                  lambdas: Sequence[float] = (0.0, 0.5, 1.0), kind: str = "sketch"):
    """What λ_line does, for one drawing and each FineNet of ``finenets`` (name -> network): per λ, the
    displacement on a diverging scale (red: nearer, blue: further; white: none; one symmetric scale per network,
    in 0..255 depth levels, so a FineNet that moves little still shows where it moves), l' and, for the last
    network, the shaded fine depth. Two networks that are the same object are shown once."""
    inline_plots()
    import matplotlib.pyplot as plt

    seen, nets = set(), {}
    for name, net in finenets.items():
        if id(net) not in seen:
            seen.add(id(net))
            nets[name] = net
    rows = []
    for name, net in nets.items():
        sf = sketchface_from(s, coarse, line_extractor, net)
        r0 = sf(sketch, lambda_line=float(lambdas[0]), kind=kind)
        rows.append((name, r0, sf.lambda_sweep(r0, lambdas)))
    nc = len(lambdas) + 1
    nr = 2 * len(rows) + 1
    fig, axes = plt.subplots(nr, nc, figsize=(1.7 * nc + 0.6, 1.7 * nr), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, (name, r0, sweep) in enumerate(rows):
        disp = [255.0 * np.where(r0.mask > 0, r.fine - r0.coarse, 0.0) for r in sweep]
        vmax = max(float(np.abs(np.stack(disp)).max()), 1e-3)
        axes[2 * k][0].imshow(_rgb(r0.image), cmap="gray", vmin=0, vmax=1)
        axes[2 * k][0].set_title("input", fontsize=8)
        axes[2 * k + 1][0].imshow(_rgb(r0.lines), cmap="gray", vmin=0, vmax=1)
        axes[2 * k + 1][0].set_title("l (drawn lines)", fontsize=8)
        for j, (r, d) in enumerate(zip(sweep, disp), start=1):
            im = axes[2 * k][j].imshow(d, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            axes[2 * k][j].set_title(f"{name}\nλ_line {r.lambda_line:g}: displacement", fontsize=8)
            axes[2 * k + 1][j].imshow(_rgb(r.lines_pred), cmap="gray", vmin=0, vmax=1)
            axes[2 * k + 1][j].set_title(f"l' at λ_line {r.lambda_line:g}", fontsize=8)
        fig.colorbar(im, ax=axes[2 * k, 1:].tolist(), fraction=0.02, pad=0.01, label="depth levels")
    name, r0, sweep = rows[-1]
    axes[-1][0].imshow(shaded(r0.coarse, r0.mask), cmap="gray", vmin=0, vmax=1)
    axes[-1][0].set_title(f"coarse, shaded ({name})", fontsize=8)
    for j, r in enumerate(sweep, start=1):
        axes[-1][j].imshow(shaded(r.fine, r.mask), cmap="gray", vmin=0, vmax=1)
        axes[-1][j].set_title(f"fine, λ_line {r.lambda_line:g}", fontsize=8)
    plt.show()
    return {name: [float(np.abs(255.0 * (r.fine - r0.coarse))[r0.mask > 0].mean()) for r in sweep]
            for name, r0, sweep in rows}


def read_metrics(run: str | Path) -> dict[str, np.ndarray]:
    """``metrics.csv`` of a run folder as columns (step, time, images_per_s and every loss)."""
    rows = list(csv.DictReader(open(Path(run) / "metrics.csv")))
    cols: dict[str, list] = {}
    for r in rows:
        for k, v in r.items():
            cols.setdefault(k, []).append(float(v) if v not in ("", None) else np.nan)
    return {k: np.asarray(v) for k, v in cols.items()}


def plot_losses(runs: Mapping[str, str | Path] | str | Path, keys: Sequence[str] | None = None,
                logy: bool = True, title: str = ""):
    """Loss curves from ``metrics.csv`` of one run or of several (dict label -> run folder), one panel per loss."""
    inline_plots()
    import matplotlib.pyplot as plt

    if not isinstance(runs, Mapping):
        runs = {Path(runs).name: runs}
    data = {label: read_metrics(p) for label, p in runs.items() if p and (Path(p) / "metrics.csv").is_file()}
    if not data:
        print("no metrics.csv to plot")
        return
    skip = {"step", "time", "images_per_s"}
    if keys is None:
        keys = []
        for m in data.values():
            keys += [k for k in m if k not in skip and k not in keys]
    keys = list(keys)
    fig, axes = plt.subplots(1, len(keys), figsize=(min(2.6 * len(keys), 12), 2.3), squeeze=False)
    for ax, k in zip(axes[0], keys):
        for label, m in data.items():
            if k in m and np.isfinite(m[k]).any():
                ax.plot(m["step"], m[k], label=label, lw=1)
        ax.set_title(k)
        ax.set_xlabel("step")
        if logy and all((m[k][np.isfinite(m[k])] > 0).all() for m in data.values() if k in m):
            ax.set_yscale("log")
    if len(data) > 1:
        axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout(pad=0.3)
    plt.show()


def show_png(path: str | Path, max_width: int = 720, title: str = ""):
    """Show a PNG (e.g. a run's sample grid) scaled down to ``max_width`` pixels."""
    inline_plots()
    import matplotlib.pyplot as plt
    from PIL import Image

    img = Image.open(path).convert("RGB")
    if img.width > max_width:
        img = img.resize((max_width, round(img.height * max_width / img.width)), Image.BILINEAR)
    fig = plt.figure(figsize=(img.width / 72, img.height / 72 + (0.25 if title else 0)))
    ax = fig.add_axes([0, 0, 1, 1 if not title else img.height / (img.height + 18)])
    ax.imshow(np.asarray(img))
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=8)
    plt.show()


def last_samples(run: str | Path) -> Path | None:
    """The newest sample grid of a run folder (``samples/step_*.png``)."""
    files = sorted((Path(run) / "samples").glob("step_*.png"))
    return files[-1] if files else None


def depth_surface(depth, mask=None, title: str = "", max_size: int = 80, height: int = 360):
    """A Plotly 3-D surface of a depth map (face only), downsampled to ``max_size`` pixels a side so the
    figure stays small in a saved notebook. Returns the figure; show it with ``show_plotly``."""
    import plotly.graph_objects as go

    d = _rgb(depth).astype(np.float32)
    m = (d > 0.02) if mask is None else (np.asarray(mask) > 0)
    step = max(1, int(np.ceil(d.shape[0] / max_size)))
    d, m = d[::step, ::step], m[::step, ::step]
    z = np.where(m, d, np.nan).astype(np.float32)
    h, w = z.shape
    fig = go.Figure(go.Surface(z=np.round(z, 3), x=np.arange(w), y=np.arange(h)[::-1], colorscale="Greys",
                               showscale=False, lighting=dict(ambient=0.35, diffuse=0.8, specular=0.15,
                                                              roughness=0.6)))
    zr = [float(np.nanmin(z)) if m.any() else 0.0, float(np.nanmax(z)) if m.any() else 1.0]
    fig.update_layout(title=title, height=height, margin=dict(l=0, r=0, t=30 if title else 0, b=0),
                      scene=dict(xaxis_visible=False, yaxis_visible=False, zaxis_visible=False,
                                 aspectmode="manual", aspectratio=dict(x=1, y=1, z=0.45),
                                 zaxis=dict(range=[zr[0] - 0.3 * (zr[1] - zr[0]), zr[1]]),
                                 camera=dict(eye=dict(x=0.25, y=-1.1, z=1.6), up=dict(x=0, y=1, z=0))))
    return fig


def depth_surfaces(depths: Sequence, titles: Sequence[str], masks: Sequence | None = None, max_size: int = 64,
                   height: int = 300):
    """Several depth maps side by side as Plotly surfaces (one shared figure)."""
    from plotly.subplots import make_subplots

    n = len(depths)
    fig = make_subplots(1, n, specs=[[{"type": "surface"}] * n], subplot_titles=list(titles),
                        horizontal_spacing=0.01)
    for i, dmap in enumerate(depths):
        sub = depth_surface(dmap, None if masks is None else masks[i], max_size=max_size)
        fig.add_trace(sub.data[0], 1, i + 1)
        scene = sub.layout.scene.to_plotly_json()
        fig.update_layout({f"scene{i + 1 if i else ''}": scene})
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=30, b=0))
    return fig


def show_plotly(fig) -> None:
    """Show a Plotly figure: Colab's renderer there; elsewhere the figure JSON (JupyterLab, VS Code) plus
    HTML that loads plotly.js from its CDN (classic notebook), so saved notebooks stay small."""
    if "google.colab" in sys.modules:
        fig.show()
    else:
        fig.show(renderer="plotly_mimetype+notebook_connected")


def banner(s: Setup, what: str = "") -> None:
    """One line for the end of a notebook: what ran, where, how long."""
    import platform

    import torch

    where = (torch.cuda.get_device_name(0) if s.device.startswith("cuda")
             else f"CPU ({os.cpu_count()} cores, {platform.machine()})")
    print(f"finished: {where}, preset {s.preset}{', SMOKE' if s.smoke else ''}; {what + '; ' if what else ''}"
          f"total {s.elapsed()}")

