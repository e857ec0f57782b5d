"""``make-data``: write the synthetic world to disk as shards of memory-mappable .npy arrays.

Layout::

    OUT/meta.json                      # config, counts, identities of each split
    OUT/train-00000/photo.npy          # (n, H, W, 3) uint8
    OUT/train-00000/sketch_pencil.npy  # (n, H, W) uint8; also sketch_lines, lines, shading
    OUT/train-00000/depth.npy          # (n, H, W) uint16 = depth * 65535; also depth_coarse_gt
    OUT/train-00000/normals.npy        # (n, H, W, 3) uint8 = (n + 1) * 127.5
    OUT/train-00000/mask.npy           # (n, H, W) bool
    OUT/train-00000/landmarks.npy      # (n, 68, 2) float32
    OUT/train-00000/identity.npy       # (n,) int32
    OUT/train-00000/params.jsonl       # generating parameters, one line per sample
    OUT/test-00000/...

Every base face is an identity of its own numbered ``b // per_identity``; identities are assigned to the test
split by number (no identity is on both sides). Output is a pure function of the seed and the arguments.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from sketchface.errors import UserError

# sketch style -> its array in a make-data shard (cyclegan and artist are written by synthesize-sketches)
SKETCH_STYLES = {"pencil": "sketch_pencil", "lines": "sketch_lines", "cyclegan": "sketch_cyclegan",
                 "artist": "sketch_artist"}
ARRAY_KEYS = ("photo", "sketch_pencil", "sketch_lines", "lines", "shading", "depth", "depth_coarse_gt",
              "normals", "mask", "landmarks")


def is_test_identity(identity: int, test_fraction: float) -> bool:
    """Deterministic split by identity number: a fixed fraction of every block of 100 identities."""
    return (identity * 37) % 100 < round(test_fraction * 100)


def _encode(key: str, x: np.ndarray) -> np.ndarray:
    if key in ("depth", "depth_coarse_gt"):
        return (np.clip(x, 0, 1) * 65535 + 0.5).astype(np.uint16)
    if key == "normals":
        return ((np.clip(x, -1, 1) + 1) * 127.5 + 0.5).astype(np.uint8)
    return x


def decode(key: str, x: np.ndarray) -> np.ndarray:
    """Stored array -> the convention of docs/CONVENTIONS.md (float32 in [0, 1], normals in [-1, 1])."""
    if key in ("depth", "depth_coarse_gt"):
        return x.astype(np.float32) / 65535.0
    if key == "normals":
        return x.astype(np.float32) / 127.5 - 1.0
    if x.dtype == np.uint8 and key != "mask":
        return x.astype(np.float32) / 255.0
    return x


def generate_base(face_model, cfg, seed: int, base_index: int, per_identity: int) -> list[dict]:
    """All K variants of base face number ``base_index`` (deterministic)."""
    from sketchface.synth.sample import identity_weights, make_variants, render_base, sample_params
    identity = base_index // per_identity
    rng = np.random.default_rng([seed, base_index])
    w = identity_weights(identity, face_model.n_identity, cfg.identity_std, seed)
    params = sample_params(face_model, w, rng, cfg)
    base = render_base(face_model, params, cfg.size)
    samples = make_variants(base, params, rng, cfg)
    for s in samples:
        s["identity"] = identity
        s["base"] = base_index
    return samples


def _write_shard(job) -> tuple[str, int]:
    out, name, bases, seed, per_identity, cfg_dict, model_path = job
    from sketchface.facemodel import load_face_model
    from sketchface.synth.sample import WorldConfig
    cfg = WorldConfig(**cfg_dict)
    fm = load_face_model(model_path)
    samples = [s for b in bases for s in generate_base(fm, cfg, seed, b, per_identity)]
    tmp = Path(out) / (name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for key in ARRAY_KEYS:
        np.save(tmp / f"{key}.npy", np.stack([_encode(key, s[key]) for s in samples]))
    np.save(tmp / "identity.npy", np.array([s["identity"] for s in samples], np.int32))
    with open(tmp / "params.jsonl", "w") as f:
        for s in samples:
            f.write(json.dumps({"base": s["base"], **s["params"]}) + "\n")
    final = Path(out) / name
    if final.exists():
        import shutil
        shutil.rmtree(final)
    os.replace(tmp, final)
    return name, len(samples)


def make_data(out: str | Path, n: int, size: int = 256, variants: int = 4, seed: int = 0, test_fraction: float = 0.2,
              per_identity: int = 1, bases_per_shard: int = 32, workers: int | None = None,
              face_model: str | None = None, progress: bool = True, **world) -> dict:
    """Write about ``n`` samples (rounded up to whole base faces of ``variants`` each). Returns meta."""
    from tqdm import tqdm

    from sketchface.facemodel import find_face_model
    from sketchface.synth.sample import WorldConfig
    model_path = str(find_face_model(face_model))
    unknown = set(world) - {f.name for f in fields(WorldConfig)}
    if unknown:
        raise UserError(f"unknown world option(s) {sorted(unknown)}; allowed: {[f.name for f in fields(WorldConfig)]}")
    cfg = WorldConfig(size=size, variants=variants, **world)
    n_bases = -(-n // variants)
    splits = {"train": [], "test": []}
    for b in range(n_bases):
        splits["test" if is_test_identity(b // per_identity, test_fraction) else "train"].append(b)
    jobs = []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for split, bases in splits.items():
        for i in range(0, len(bases), bases_per_shard):
            jobs.append((str(out), f"{split}-{i // bases_per_shard:05d}", bases[i:i + bases_per_shard], seed,
                         per_identity, asdict(cfg), model_path))
    workers = workers or os.cpu_count() or 1
    t0 = time.time()
    shards = {}
    bar = tqdm(total=n_bases * variants, unit="sample", desc="make-data", disable=not progress)
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp
        # spawn: fresh workers, whatever thread pools the caller (a notebook, a test run) has already started; a
        # forked child that touches a pool its parent used (OpenMP, OpenCV's threads) can hang
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers, initializer=one_thread) as pool:
            for name, k in pool.imap_unordered(_write_shard, jobs):
                shards[name] = k
                bar.update(k)
    else:
        for job in jobs:
            name, k = _write_shard(job)
            shards[name] = k
            bar.update(k)
    bar.close()
    dt = time.time() - t0
    meta = {
        "format": "sketchface-shards-v1", "seed": seed, "n_samples": sum(shards.values()), "size": size,
        "world": asdict(cfg), "per_identity": per_identity, "test_fraction": test_fraction,
        "shards": dict(sorted(shards.items())),
        "identities": {s: sorted({b // per_identity for b in bases}) for s, bases in splits.items()},
        "seconds": round(dt, 2), "samples_per_second": round(sum(shards.values()) / max(dt, 1e-9), 2),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def one_thread() -> None:
    """One thread per make-data worker process: each worker's BLAS and OpenCV would otherwise start a thread per
    core, and two workers on two cores ran 45 samples/s at 256² instead of 62 (README, "Throughput")."""
    os.environ["OMP_NUM_THREADS"] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    try:
        import cv2
        cv2.setNumThreads(1)
    except Exception:
        pass


def add_cli(sub) -> None:
    p = sub.add_parser("make-data", help="render the synthetic training world (photos, sketches, lines, depth)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--n", type=int, default=2000, help="number of samples (base faces x variants)")
    p.add_argument("--size", type=int, default=256, help="resolution (square)")
    p.add_argument("--variants", type=int, default=4, help="fine-detail variants per base face")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-fraction", type=float, default=0.2, help="fraction of identities held out for testing")
    p.add_argument("--per-identity", type=int, default=1, help="base faces (expression/pose) per identity")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--face-model", default=None, help="face model file or folder (default: $SKETCHFACE_FACE_MODEL, then the cache)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    if args.n < 1 or args.size < 32 or args.variants < 1:
        raise UserError("--n and --variants must be at least 1 and --size at least 32")
    meta = make_data(args.out, args.n, args.size, args.variants, args.seed, args.test_fraction, args.per_identity,
                     workers=args.workers, face_model=args.face_model)
    n_train = sum(v for k, v in meta["shards"].items() if k.startswith("train"))
    print(f"wrote {meta['n_samples']} samples ({n_train} train, {meta['n_samples'] - n_train} test) to {args.out} "
          f"in {meta['seconds']} s: {meta['samples_per_second']} samples/s")
    return 0
