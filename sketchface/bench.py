"""``bench``: inference speed per stage and end to end, against the machine's matrix-multiply limit.

For each preset and batch size: milliseconds per call (median over repeats after a warm-up), images/s, peak
resident memory during the calls, and the achieved GFLOP/s (FLOPs counted by torch's FlopCounterMode) as a
fraction of the measured fp32 matmul GFLOP/s. Also: the end-to-end pipeline (framing, XDoG, CoarseNet,
FineNet, l', mesh) with the shipped checkpoints, with 1 and 2 intra-op threads. Results are written as a
markdown table (docs/BENCHMARKS.md) and JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakMemory:
    """Peak resident memory (MB) while the block runs, sampled every 5 ms (CUDA: max allocated)."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self.peak = 0.0

    def __enter__(self):
        import torch
        if self.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        self._stop = threading.Event()
        self.base = _rss_mb()
        self.peak = self.base

        def watch():
            while not self._stop.is_set():
                self.peak = max(self.peak, _rss_mb())
                time.sleep(0.005)
        self._t = threading.Thread(target=watch, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        import torch
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss_mb())
        if self.device.startswith("cuda"):
            self.peak = torch.cuda.max_memory_allocated() / 2**20
            self.base = 0.0


def time_call(fn: Callable[[], Any], repeat: int, device: str = "cpu", warmup: int = 1) -> dict[str, float]:
    import torch

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    for _ in range(warmup):
        fn()
    sync()
    times = []
    with PeakMemory(device) as mem:
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t)
    return {"ms": statistics.median(times) * 1000, "ms_min": min(times) * 1000, "peak_mb": mem.peak,
            "delta_mb": mem.peak - mem.base}


def matmul_gflops(n: int = 1024, repeat: int = 5, device: str = "cpu") -> float:
    """Measured fp32 matrix-multiply GFLOP/s (the practical limit of this machine)."""
    import torch

    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    r = time_call(lambda: a @ b, repeat, device, warmup=2)
    return 2 * n ** 3 / (r["ms_min"] / 1000) / 1e9


def count_gflops(fn: Callable[[], Any]) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        fn()
    return counter.get_total_flops() / 1e9


def stage_calls(preset_name: str, batch: int, device: str, bundle: Path | None) -> dict[str, Callable]:
    """Inference closures of each stage on inputs of the preset's size (shipped weights for lite when present)."""
    import torch

    from sketchface.nets import build, load_network, preset
    from sketchface.xdog import xdog_torch

    nets = {}
    for kind in ("dp_coarse", "line_extractor", "finenet", "cyclegan"):
        folder = bundle / kind if bundle is not None else None
        if preset_name == "lite" and folder is not None and (folder / "config.json").is_file():
            nets[kind] = load_network(folder, device=device).eval()
        else:
            nets[kind] = build(kind, preset(preset_name)[kind]).to(device).eval()
    s = nets["dp_coarse"].config.image_size
    g = torch.Generator().manual_seed(0)
    sketch = torch.rand(batch, 1, s, s, generator=g).to(device)
    photo = torch.rand(batch, 3, s, s, generator=g).to(device)
    coarse = torch.rand(batch, 1, s, s, generator=g).to(device)
    lines = (torch.rand(batch, 1, s, s, generator=g) > 0.1).float().to(device)
    lam = torch.full((batch,), 0.85, device=device)

    def fine_and_lprime():
        with torch.inference_mode():
            fine = nets["finenet"](coarse, lines, lam)["fine"]
            return nets["line_extractor"](fine)

    def inf(fn):
        def run():
            with torch.inference_mode():
                return fn()
        return run
    return {
        "XDoG lines l": inf(lambda: xdog_torch(sketch)),
        "DP-CoarseNet (sketch)": inf(lambda: nets["dp_coarse"].predict_depth(sketch, "sketch")),
        "DP-CoarseNet (photo)": inf(lambda: nets["dp_coarse"].predict_depth(photo, "photo")),
        "FineNet": inf(lambda: nets["finenet"](coarse, lines, lam)),
        "line extractor l′": inf(lambda: nets["line_extractor"](coarse)),
        "λ update (FineNet + l′)": fine_and_lprime,
        "CycleGAN photo→sketch": inf(lambda: nets["cyclegan"].photo_to_sketch(photo)),
    }


def bench_stages(presets, batches, repeat: int, device: str, bundle: Path | None, limit: float,
                 progress: bool = True) -> list[dict[str, Any]]:
    from tqdm import tqdm

    rows = []
    jobs = [(p, b) for p in presets for b in batches]
    for p, b in tqdm(jobs, desc="bench stages", disable=not progress):
        calls = stage_calls(p, b, device, bundle)
        for name, fn in calls.items():
            gf = count_gflops(fn)
            reps = repeat if p == "lite" or device.startswith("cuda") else max(1, repeat // 3)
            r = time_call(fn, reps, device)
            achieved = gf / (r["ms"] / 1000) if r["ms"] > 0 else 0.0
            rows.append({"preset": p, "batch": b, "stage": name, **r, "images_per_s": b / (r["ms"] / 1000),
                         "gflops": gf, "gflops_per_s": achieved, "of_matmul": achieved / limit if limit else 0.0})
    return rows


def bench_pipeline(bundle: Path, repeat: int, device: str, threads=(1, 2)) -> list[dict[str, Any]]:
    """End-to-end SketchFace call (a 512x512 drawing -> mesh) and the λ update, per thread setting."""
    import torch

    from sketchface.pipeline import SketchFace

    sf = SketchFace.from_pretrained(bundle, device=device)
    img = _stroke_face(512)
    rows = []
    before = torch.get_num_threads()
    try:
        for t in threads:
            torch.set_num_threads(t)
            r = time_call(lambda: sf(img), repeat, device)
            res = sf(img)
            lam = time_call(lambda: sf.refine(res, lambda_line=0.3), repeat, device)
            mesh = time_call(lambda: res.mesh(), repeat, device)
            rows.append({"threads": t, "end_to_end_ms": r["ms"], "lambda_update_ms": lam["ms"],
                         "mesh_ms": mesh["ms"], "peak_mb": max(r["peak_mb"], lam["peak_mb"])})
    finally:
        torch.set_num_threads(before)
    return rows


def _stroke_face(n: int) -> np.ndarray:
    import cv2
    img = np.full((n, n), 255, np.uint8)
    c = n // 2
    cv2.ellipse(img, (c, c), (n // 4, n // 3), 0, 0, 360, 0, 3)
    for dx in (-n // 10, n // 10):
        cv2.ellipse(img, (c + dx, c - n // 12), (n // 22, n // 40), 0, 0, 360, 0, 2)
        cv2.line(img, (c + dx - n // 18, c - n // 7), (c + dx + n // 18, c - n // 7), 0, 3)
    cv2.line(img, (c, c - n // 20), (c - n // 40, c + n // 14), 0, 2)
    cv2.ellipse(img, (c, c + n // 7), (n // 12, n // 40), 0, 0, 180, 0, 2)
    return img


def markdown(res: dict[str, Any]) -> str:
    L = [f"<!-- written by `python -m sketchface bench` on {res['when']} -->", "",
         f"Machine: {res['machine']}; device `{res['device']}`; torch threads {res['threads']}. "
         f"Measured fp32 matmul: **{res['matmul_gflops']:.1f} GFLOP/s** (1024×1024, best of 5).", ""]
    if res.get("note"):
        L += [res["note"], ""]
    L += ["### Per stage", "", "| preset | batch | stage | ms (median) | images/s | peak RSS MB | GFLOPs | GFLOP/s | of matmul |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in res["stages"]:
        L.append(f"| {r['preset']} | {r['batch']} | {r['stage']} | {r['ms']:.1f} | {r['images_per_s']:.1f} | "
                 f"{r['peak_mb']:.0f} | {r['gflops']:.2f} | {r['gflops_per_s']:.1f} | {r['of_matmul']:.0%} |")
    if res.get("pipeline"):
        L += ["", "### End to end (512×512 drawing → depth, l, l′, mesh), lite checkpoints", "",
              "| threads | end to end ms | λ update ms (FineNet + l′) | mesh ms | peak RSS MB |", "|---|---|---|---|---|"]
        for r in res["pipeline"]:
            L.append(f"| {r['threads']} | {r['end_to_end_ms']:.1f} | {r['lambda_update_ms']:.1f} | "
                     f"{r['mesh_ms']:.1f} | {r['peak_mb']:.0f} |")
    return "\n".join(L) + "\n"


def run_bench(presets=("lite", "paper"), batches=(1, 8), repeat: int = 10, device: str = "cpu",
              bundle: str | None = None, out: str = "docs/BENCHMARKS.md", note: str = "",
              progress: bool = True) -> dict[str, Any]:
    import torch

    from sketchface.pipeline import default_checkpoints

    b = Path(bundle) if bundle else default_checkpoints()
    b = b if (b / "finenet" / "config.json").is_file() else None
    limit = matmul_gflops(device=device)
    res: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M"), "device": device,
                           "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
                           "threads": torch.get_num_threads(), "matmul_gflops": limit, "note": note,
                           "bundle": str(b) if b else None}
    res["stages"] = bench_stages(presets, batches, repeat, device, b, limit, progress)
    res["pipeline"] = bench_pipeline(b, repeat, device) if b is not None else []
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(markdown(res))
        Path(out).with_suffix(".json").write_text(json.dumps(res, indent=1))
    return res


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="inference speed per stage and end to end (docs/BENCHMARKS.md)",
                       description=__doc__)
    p.add_argument("--presets", nargs="+", default=["lite", "paper"], choices=["lite", "paper"])
    p.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    p.add_argument("--repeat", type=int, default=10, help="timed calls per measurement (paper on CPU: a third)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--checkpoints", default=None, help="bundle for the lite weights and the end-to-end run")
    p.add_argument("--out", default="docs/BENCHMARKS.md")
    p.add_argument("--note", default="", help="a line written above the tables (e.g. what else ran)")
    p.set_defaults(func=lambda a: print(markdown(run_bench(tuple(a.presets), tuple(a.batches), a.repeat, a.device,
                                                           a.checkpoints, a.out, a.note))) or 0)
