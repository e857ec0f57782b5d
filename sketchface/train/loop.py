"""The training loop shared by every stage.

- Device: CUDA when present (mixed precision), CPU otherwise. Multi-GPU through ``torchrun`` and torch's
  DistributedDataParallel (gloo on the CPU, nccl on CUDA); each rank takes its slice of every global batch.
- Data order is a pure function of (seed, step), and the random choices of a step (sketch style, framing) of
  (seed, step, rank), so an interrupted run resumed from its last checkpoint takes exactly the batches the
  uninterrupted run would have taken.
- Checkpoints (``ckpt.pt``: weights, optimizer states, step) are written to a temporary file, flushed, then
  renamed over the previous one: a crash or a full disk while saving leaves the previous checkpoint intact.
  They are read with ``torch.load(weights_only=True)``.
- The learning rate of each step is ``cfg.lr_at(step)`` (constant unless ``lr_schedule: cosine``), so it also
  resumes exactly.
- A non-finite loss stops the run with a message; the last good checkpoint stays.
- ``metrics.csv`` gets the losses every ``log_every`` steps; ``samples/step_XXXXXX.png`` every ``sample_every``.
"""
from __future__ import annotations

import csv
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from sketchface.errors import UserError
from sketchface.train.config import TrainConfig, dump_config


class NonFiniteLoss(UserError):
    pass


def setup_device(cfg: TrainConfig) -> tuple[torch.device, int, int]:
    """(device, rank, world_size); initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if cfg.device == "auto":
        use_cuda = torch.cuda.is_available()
    else:
        use_cuda = cfg.device.startswith("cuda")
        if use_cuda and not torch.cuda.is_available():
            raise UserError("device=cuda was asked for but no CUDA device is available; use device=cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device(cfg.device if cfg.device.startswith("cuda:") else f"cuda:{local}")
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
    return device, rank, world


def batch_indices(n: int, step: int, batch: int, seed: int) -> np.ndarray:
    """The global batch of ``step``: consecutive slices of a per-epoch permutation of range(n)."""
    if n <= 0:
        raise UserError("the training set is empty")
    start = step * batch
    out = []
    while len(out) < batch:
        epoch, pos = divmod(start + len(out), n)
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        take = min(batch - len(out), n - pos)
        out.extend(perm[pos:pos + take].tolist())
    return np.asarray(out)


def collate(samples: list[dict]) -> dict:
    out = {}
    for k in samples[0]:
        v = samples[0][k]
        if torch.is_tensor(v):
            out[k] = torch.stack([s[k] for s in samples])
        elif isinstance(v, (int, float)):
            out[k] = torch.tensor([s[k] for s in samples])
    return out


class StepBatches(torch.utils.data.Sampler):
    """Batch sampler of a run from step ``start`` on: step k yields this rank's slice of ``batch_indices(k)``."""

    def __init__(self, n: int, start: int, steps: int, batch: int, seed: int, rank: int = 0, world: int = 1):
        self.n, self.start, self.steps, self.batch, self.seed = n, start, steps, batch, seed
        self.rank, self.world = rank, world

    def __len__(self) -> int:
        return max(self.steps - self.start, 0)

    def __iter__(self):
        for step in range(self.start, self.steps):
            yield batch_indices(self.n, step, self.batch, self.seed)[self.rank::self.world].tolist()


class MetricsLog:
    """``metrics.csv``: one row per call; a new column (the validation losses) rewrites the file with it."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, row: dict) -> None:
        fields, rows, rewrite = list(row), [], True
        if self.path.exists():
            with open(self.path, newline="") as f:
                reader = csv.DictReader(f)
                old = list(reader.fieldnames or [])
                new = [k for k in row if k not in old]
                rewrite = bool(new)
                if rewrite:
                    rows = list(reader)
            fields = old + new
        if rewrite:
            with open(self.path, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=fields, restval="")
                w.writeheader()
                w.writerows(rows)
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=fields, restval="").writerow(row)


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # disk full, quota, permissions: the previous checkpoint is untouched
        tmp.unlink(missing_ok=True)
        kept = f"the previous checkpoint {path} is intact" if path.exists() else "no checkpoint was kept"
        raise UserError(f"could not write the training checkpoint ({exc.strerror or exc}); {kept}; free disk "
                        "space and resume with --resume") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"training checkpoint {path} is damaged or truncated ({type(exc).__name__}); "
                        "delete it to start over, or restore a copy") from exc


class Trainer:
    """Runs a ``Stage`` (see sketchface.train.stages) for ``cfg.steps`` steps."""

    def __init__(self, stage, cfg: TrainConfig, progress: bool = True):
        self.stage, self.cfg, self.progress = stage, cfg, progress
        self.device, self.rank, self.world = setup_device(cfg)
        self.run = cfg.run_dir()
        torch.manual_seed(cfg.seed)
        self.models = stage.build_models(cfg, self.device)
        self.opts = stage.build_optimizers(self.models, cfg)
        self.train_models = self._wrap_ddp()
        self.amp = cfg.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.dataset = stage.dataset(cfg, "train")
        self.val_dataset = None
        self.step = 0

    def _wrap_ddp(self) -> dict:
        if self.world == 1:
            return self.models
        from torch.nn.parallel import DistributedDataParallel as DDP
        ids = [self.device.index] if self.device.type == "cuda" else None
        return {k: (DDP(m, device_ids=ids) if any(p.requires_grad for p in m.parameters()) else m)
                for k, m in self.models.items()}

    @property
    def ckpt_path(self) -> Path:
        return self.run / "ckpt.pt"

    def state(self) -> dict:
        return {"step": self.step,
                "models": {k: m.state_dict() for k, m in self.models.items()},
                "opts": {k: o.state_dict() for k, o in self.opts.items()},
                "scaler": self.scaler.state_dict()}

    def save(self) -> None:
        if self.rank == 0:
            save_atomic(self.state(), self.ckpt_path)

    def resume(self) -> bool:
        if not self.ckpt_path.is_file():
            return False
        ck = load_checkpoint(self.ckpt_path)
        for k, m in self.models.items():
            try:
                m.load_state_dict(ck["models"][k])
            except (KeyError, RuntimeError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise UserError(f"{self.ckpt_path} does not fit the network '{k}' this config builds ({first}); "
                                f"was preset, net, variant or init_from changed since the run started? Start a "
                                f"new run folder (out=...) or restore the run's settings") from None
        for k, o in self.opts.items():
            o.load_state_dict(ck["opts"][k])
        if ck.get("scaler"):
            self.scaler.load_state_dict(ck["scaler"])
        self.step = int(ck["step"])
        return True

    def loader(self, start: int):
        """The batches of steps ``start`` .. ``cfg.steps - 1`` (this rank's slice), built by ``cfg.workers``
        DataLoader processes (0: in this process); which samples a step takes depends on the step alone."""
        cfg = self.cfg
        sampler = StepBatches(len(self.dataset), start, cfg.steps, cfg.effective_batch, cfg.seed, self.rank,
                              self.world)
        return torch.utils.data.DataLoader(self.dataset, batch_sampler=sampler, num_workers=cfg.workers,
                                           collate_fn=collate, pin_memory=self.device.type == "cuda",
                                           persistent_workers=False)

    def local_batch(self, step: int, dataset=None, seed: int | None = None) -> dict:
        """The batch of ``step`` (this rank's slice) of ``dataset`` (default: the training set) on the device, built
        in this process."""
        dataset = self.dataset if dataset is None else dataset
        idx = batch_indices(len(dataset), step, self.cfg.effective_batch, self.cfg.seed if seed is None else seed)
        return self.to_device(collate([dataset[int(i)] for i in idx[self.rank::self.world]]))

    @contextmanager
    def eval_mode(self):
        """Every model in eval mode inside, back to training (the trainable ones) after."""
        for m in self.models.values():
            m.eval()
        try:
            yield
        finally:
            for k, m in self.models.items():
                m.train(k in self.stage.trainable(self.cfg))

    def to_device(self, batch: dict) -> dict:
        return {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}

    def generator(self, step: int) -> torch.Generator:
        """The random choices of a step (sketch style, framing, λ): per step and rank, so a resumed run draws the
        same ones and every rank draws its own for its slice of the global batch."""
        return torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step + self.rank * 7_919_000_017)

    def update(self, batch: dict, gen: torch.Generator) -> dict:
        """One optimizer step of every optimizer on ``batch``: the stage's losses in ``cfg.accumulate`` slices
        (forward under autocast, backward outside it), gradients clipped to ``cfg.grad_clip``, one GradScaler
        update. A non-finite loss stops before any weight changes. Returns the losses to log (floats)."""
        cfg = self.cfg
        for o in self.opts.values():
            o.zero_grad(set_to_none=True)
        n = next(v.shape[0] for v in batch.values() if torch.is_tensor(v))
        parts = max(1, min(cfg.accumulate, n))
        bounds = np.linspace(0, n, parts + 1).round().astype(int)
        logged: dict[str, float] = {}
        for i in range(parts):
            micro = {k: v[bounds[i]:bounds[i + 1]] if torch.is_tensor(v) else v for k, v in batch.items()}
            share = (bounds[i + 1] - bounds[i]) / n
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
                out = self.stage.losses(self.train_models, micro, cfg, gen)
            values = {k: float(v.detach()) for k, v in out.log.items()}
            bad = [k for k, v in values.items() if not math.isfinite(v)]
            bad += [k for k, v in out.backward.items() if not torch.isfinite(v.detach()).all() and k not in bad]
            if bad:
                raise NonFiniteLoss(f"loss {', '.join(bad)} became non-finite at step {self.step}; the run stopped "
                                    f"before changing the weights, and {self.ckpt_path} keeps the last good state "
                                    f"(try a lower lr, or grad_clip)")
            for name, loss in out.backward.items():
                self.scaler.scale(loss.float() * share).backward()
            for k, v in values.items():
                logged[k] = logged.get(k, 0.0) + v * share
        for name, o in self.opts.items():
            if cfg.grad_clip > 0:
                self.scaler.unscale_(o)
                params = [p for g in o.param_groups for p in g["params"] if p.grad is not None]
                logged[f"grad_norm_{name}"] = float(torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip))
            self.scaler.step(o)
        self.scaler.update()
        return logged

    def optimizer_step(self, step: int, batch: dict | None = None) -> tuple[dict, dict]:
        """One optimizer step of the stage on the batch of ``step`` (built here unless given), at
        ``cfg.lr_at(step)``; (batch, losses)."""
        for o in self.opts.values():
            for g in o.param_groups:
                g["lr"] = self.cfg.lr_at(step)
        batch = self.local_batch(step) if batch is None else self.to_device(batch)
        return batch, self.update(batch, self.generator(step))

    @torch.no_grad()
    def validate(self) -> dict:
        """The stage's losses on ``cfg.val_batches`` fixed batches of the held-out split (the same batches and
        random choices every time), models in eval mode; {"val_" + name: mean}. Watched, never selected on."""
        cfg = self.cfg
        if self.val_dataset is None:
            self.val_dataset = self.stage.dataset(cfg, "test")
        sums: dict[str, float] = {}
        with self.eval_mode():
            for i in range(cfg.val_batches):
                batch = self.local_batch(i, self.val_dataset, cfg.seed + 1)
                with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
                    out = self.stage.losses(self.models, batch, cfg, torch.Generator().manual_seed(cfg.seed + i))
                for k, v in out.log.items():
                    sums[k] = sums.get(k, 0.0) + float(v) / cfg.val_batches
        return {f"val_{k}": v for k, v in sums.items()}

    def fit(self, resume: bool = False) -> dict:
        cfg = self.cfg
        if self.rank == 0:
            self.run.mkdir(parents=True, exist_ok=True)
            (self.run / "config.yaml").write_text(dump_config(cfg))
        if resume and self.resume() and self.rank == 0:
            print(f"resumed {self.run} at step {self.step}")
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, initial=self.step, desc=f"train {cfg.stage}", unit="step",
                   disable=not self.progress or self.rank != 0, dynamic_ncols=True)
        log = MetricsLog(self.run / "metrics.csv")
        last: dict = {}
        t0, s0 = time.time(), self.step
        try:
            for cpu_batch in self.loader(self.step):
                batch, losses = self.optimizer_step(self.step, cpu_batch)
                self.step += 1
                last = losses
                bar.update(1)
                val = self.validate() if cfg.val_every and self.step % cfg.val_every == 0 else {}
                if self.rank == 0:
                    bar.set_postfix({k: f"{v:.4g}" for k, v in list(losses.items())[:4]})
                    if self.step % cfg.log_every == 0 or self.step == cfg.steps or val:
                        elapsed = time.time() - t0
                        log.write({"step": self.step, "time": round(elapsed, 2),
                                   "images_per_s": round((self.step - s0) * cfg.effective_batch / max(elapsed, 1e-9),
                                                         3),
                                   **{k: round(v, 6) for k, v in {**losses, **val}.items()}})
                    if self.step % cfg.sample_every == 0 or self.step == cfg.steps:
                        self.write_samples(batch)
                if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps:
                    self.save()
                if self.rank == 0 and self.step in cfg.export_at:
                    self.stage.export(self.models, self.run / f"step_{self.step}", cfg)
        finally:
            bar.close()
        if self.rank == 0:
            self.stage.export(self.models, self.run / "final", cfg)
        if self.world > 1:
            dist.barrier()
        return last

    @torch.no_grad()
    def write_samples(self, batch: dict) -> None:
        from PIL import Image
        with self.eval_mode():
            grid = self.stage.sample_grid(self.models, batch, self.cfg)
        (self.run / "samples").mkdir(exist_ok=True)
        Image.fromarray(grid).save(self.run / "samples" / f"step_{self.step:06d}.png")


def fit_into(stage, cfg: TrainConfig, out: str | Path, progress: bool = True, resume: bool = False) -> Trainer:
    """Train ``stage`` in its run folder (``cfg.out``) and copy the exported networks (``final/``) to the checkpoint
    folder ``out``: what ``train-locator``, ``train-facefit`` and ``train-facecheck`` do."""
    import shutil

    trainer = Trainer(stage, cfg, progress=progress)
    trainer.fit(resume=resume)
    out, final = Path(out), trainer.run / "final"
    if out.resolve() != final.resolve():
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(final, out)
    return trainer


def run_folder(out: str | Path, run: str | Path | None = None) -> Path:
    """The run folder of a ``train-X --out OUT`` command: ``run`` when given, else ``OUT-run`` beside it."""
    out = Path(out)
    return Path(run) if run else out.with_name(out.name + "-run")


def tile(columns: list[torch.Tensor], n: int = 4) -> np.ndarray:
    """Columns of (N, C, H, W) tensors in [0, 1] (C = 1 or 3, same H, W) -> uint8 grid of the first ``n`` rows."""
    rows = []
    for i in range(min(n, columns[0].shape[0])):
        cells = [c[i].detach().float().cpu().clamp(0, 1).expand(3, -1, -1) if c.shape[1] == 1
                 else c[i].detach().float().cpu().clamp(0, 1) for c in columns]
        rows.append(torch.cat(cells, 2))
    img = torch.cat(rows, 1).permute(1, 2, 0).numpy()
    return (img * 255 + 0.5).astype(np.uint8)


def diverging(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) signed values -> (N, 3, H, W) in [0, 1]: white at 0, red positive, blue negative, on one
    symmetric scale set by the largest |value| of the batch (so small values still show where they are)."""
    t = (x.detach().float() / x.detach().float().abs().amax().clamp_min(1e-6)).clamp(-1, 1)
    pos, neg = t.clamp_min(0), (-t).clamp_min(0)
    return torch.cat([1 - neg, 1 - pos - neg, 1 - pos], 1)
