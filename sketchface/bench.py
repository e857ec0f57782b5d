"""``bench``: inference speed per stage and end to end, against the machine's matrix-multiply limit.

For each preset and batch size: milliseconds per call (median over repeats after a warm-up), images/s, peak
resident memory during the calls, and the achieved GFLOP/s (FLOPs counted by torch's FlopCounterMode) as a
fraction of the measured fp32 matmul GFLOP/s. Also: the end-to-end pipeline (framing, XDoG, CoarseNet,
FineNet, l', mesh) with the shipped checkpoints, with 1 and 2 intra-op threads. With ``--backends torch onnx``
(the default when onnxruntime is installed): each inference network and the end-to-end call in PyTorch and in
ONNX Runtime side by side (lite preset, batch 1, 1 thread, calls of the two backends alternated so that other
load on the machine hits both alike). Results are written as a markdown table (docs/BENCHMARKS.md) and JSON.
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
    extra = {}
    if preset_name == "lite" and bundle is not None and (bundle / "facefit" / "config.json").is_file():
        facefit = load_network(bundle / "facefit", device=device).eval()
        framed = torch.rand(1, 3, facefit.config.image_size, facefit.config.image_size, generator=g).to(device)
        extra["FaceFit (one read, mirrored: 2 images)"] = inf(lambda: facefit.fit(framed))
    return {**extra,
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


def pipelines_to_bench(bundle: Path) -> dict[str, dict]:
    """{label: from_pretrained keyword arguments}: the face-model pipeline (when FaceFit and the face model are
    there; with the bundle's PriorFusion, DP-CoarseNet on the face model too) and the paper's DP-CoarseNet framed by
    the ink box and the locator alone, as shipped before FaceFit."""
    from sketchface.facemodel import FaceModelNotFound, find_face_model
    from sketchface.pipeline import DEFAULT_BUNDLE

    out = {}
    if (bundle / "facefit" / "config.json").is_file():
        try:
            find_face_model()
            out["face model (FaceFit) + FineNet, head mesh"] = {"coarse": "face_model"}
            if (bundle / DEFAULT_BUNDLE["fusion"] / "config.json").is_file():
                out["DP-CoarseNet on the face model + FineNet, head mesh"] = {"coarse": "dp_face_model"}
        except FaceModelNotFound:
            pass
    out["DP-CoarseNet + FineNet, locator framing, heightfield mesh"] = {"coarse": "dp_coarse", "facefit": False}
    return out


def bench_pipeline(bundle: Path, repeat: int, device: str, threads=(1, 2),
                   backends=("torch",)) -> list[dict[str, Any]]:
    """End-to-end SketchFace call (a 512x512 drawing -> mesh) and the λ update, per pipeline, backend and thread
    setting (the pipelines measured in the same run, so their ratio holds on a busy machine too)."""
    import torch

    from sketchface.pipeline import SketchFace

    img = _stroke_face(512)
    rows = []
    before = torch.get_num_threads()
    try:
        for backend in backends:
            for label, kwargs in pipelines_to_bench(bundle).items():
                sf = SketchFace.from_pretrained(bundle, device=device, backend=backend, **kwargs)
                for t in threads:
                    torch.set_num_threads(t)
                    r = time_call(lambda: sf(img, kind="sketch"), repeat, device)   # kind given: no guess (~11 ms)
                    res = sf(img, kind="sketch")
                    lam = time_call(lambda: sf.refine(res, lambda_line=0.3), repeat, device)
                    mesh = time_call(lambda: res.mesh(), repeat, device)
                    rows.append({"pipeline": label, "backend": sf.backend, "threads": t, "end_to_end_ms": r["ms"],
                                 "lambda_update_ms": lam["ms"], "mesh_ms": mesh["ms"],
                                 "peak_mb": max(r["peak_mb"], lam["peak_mb"])})
    finally:
        torch.set_num_threads(before)
    return rows


def time_alternating(fns: dict[str, Callable[[], Any]], repeat: int, warmup: int = 2) -> dict[str, float]:
    """Median ms of each call, the calls taking turns (A B A B ...) so that outside load affects all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) * 1000 for k, v in times.items()}


def bench_backends(preset_name: str = "lite", batch: int = 1, repeat: int = 20, threads: int = 1,
                   seed: int = 0) -> list[dict[str, Any]]:
    """PyTorch vs ONNX Runtime on the CPU: each inference network and the end-to-end SketchFace call.

    Random-weight networks of the preset (speed does not depend on the weights); the ONNX graphs go to a
    temporary cache. Rows: {"what", "torch_ms", "onnx_ms", "speedup", "max_abs_diff"}."""
    import tempfile

    import torch

    from sketchface import onnx_backend as ob
    from sketchface.nets import build, preset
    from sketchface.pipeline import MASK_THRESHOLD, SketchFace

    torch.manual_seed(seed)
    cfg = preset(preset_name)
    nets = {k: build(k, cfg[k]).eval() for k in ("dp_coarse", "line_extractor", "finenet", "cyclegan")}
    s = nets["dp_coarse"].config.image_size
    g = torch.Generator().manual_seed(seed)
    sketch, photo = torch.rand(batch, 1, s, s, generator=g), torch.rand(batch, 3, s, s, generator=g)
    coarse = torch.rand(batch, 1, s, s, generator=g)
    lines = (torch.rand(batch, 1, s, s, generator=g) > 0.1).float()
    lam, mask = torch.full((batch,), 0.85), (coarse > MASK_THRESHOLD).float()
    img = _stroke_face(512)
    before, env = torch.get_num_threads(), os.environ.get("SKETCHFACE_ONNX_CACHE")
    rows = []
    with tempfile.TemporaryDirectory(prefix="sketchface-onnx-bench-") as tmp:
        os.environ["SKETCHFACE_ONNX_CACHE"] = tmp
        try:
            torch.set_num_threads(threads)
            run = ob.onnx_runners(nets["dp_coarse"], nets["line_extractor"], nets["finenet"], nets["cyclegan"])
            pairs = {
                "DP-CoarseNet (sketch)": (lambda: nets["dp_coarse"].predict_depth(sketch, "sketch"),
                                          lambda: run.coarse.predict_depth(sketch, "sketch")),
                "DP-CoarseNet (photo)": (lambda: nets["dp_coarse"].predict_depth(photo, "photo"),
                                         lambda: run.coarse.predict_depth(photo, "photo")),
                "line extractor l′": (lambda: nets["line_extractor"](coarse), lambda: run.line_extractor(coarse)),
                "FineNet (λ input)": (lambda: nets["finenet"](coarse, lines, lam, mask)["fine"],
                                      lambda: run.finenet(coarse, lines, lam, mask)["fine"]),
                "CycleGAN photo→sketch": (lambda: nets["cyclegan"].photo_to_sketch(photo),
                                          lambda: run.cyclegan.photo_to_sketch(photo)),
            }
            # the app's l′: an int8 copy of the line extractor (here calibrated on random maps like the input)
            q = ob.OnnxLineExtractor(nets["line_extractor"], calibration=lambda: [
                torch.rand(s, s, generator=torch.Generator().manual_seed(seed + i)).numpy() for i in range(8)])
            pairs["line extractor l′, int8 (the app's)"] = (lambda: nets["line_extractor"](coarse),
                                                            lambda: q(coarse))
            for name, (tfn, ofn) in pairs.items():
                with torch.inference_mode():
                    diff = float((tfn() - ofn()).abs().max())   # the first ONNX call exports the graph
                    ms = time_alternating({"torch": tfn, "onnx": ofn}, repeat)
                rows.append({"what": name, "torch_ms": ms["torch"], "onnx_ms": ms["onnx"],
                             "speedup": ms["torch"] / ms["onnx"], "max_abs_diff": diff})
            sfs = {b: SketchFace(nets["dp_coarse"], nets["line_extractor"], nets["finenet"], nets["cyclegan"],
                                 backend=b) for b in ("torch", "onnx")}
            res = {b: sf(img, kind="sketch") for b, sf in sfs.items()}
            diff = float(np.abs(res["torch"].fine - res["onnx"].fine).max())
            e2e = time_alternating({b: (lambda sf=sf: sf(img, kind="sketch")) for b, sf in sfs.items()}, repeat)
            rows.append({"what": "end to end (512×512 drawing → fine depth, l′)", "torch_ms": e2e["torch"],
                         "onnx_ms": e2e["onnx"], "speedup": e2e["torch"] / e2e["onnx"], "max_abs_diff": diff})
            upd = time_alternating({b: (lambda sf=sf, r=res[b]: sf.refine(r, lambda_line=0.3))
                                    for b, sf in sfs.items()}, repeat)
            rows.append({"what": "λ update (FineNet + l′)", "torch_ms": upd["torch"], "onnx_ms": upd["onnx"],
                         "speedup": upd["torch"] / upd["onnx"], "max_abs_diff": diff})
            if any(m.failed for m in (*run.coarse.paths.values(), run.line_extractor.graph, run.finenet.graph,
                                      run.cyclegan.graph, q.graph)):
                rows.append({"what": "note: an ONNX export failed and fell back to torch (see the log)",
                             "torch_ms": 0.0, "onnx_ms": 0.0, "speedup": 0.0, "max_abs_diff": 0.0})
        finally:
            torch.set_num_threads(before)
            if env is None:
                os.environ.pop("SKETCHFACE_ONNX_CACHE", None)
            else:
                os.environ["SKETCHFACE_ONNX_CACHE"] = env
    for r in rows:
        r.update(preset=preset_name, batch=batch, threads=threads)
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
              "| pipeline | backend | threads | end to end ms | λ update ms (FineNet + l′) | mesh ms | "
              "peak RSS MB |", "|---|---|---|---|---|---|---|"]
        for r in res["pipeline"]:
            L.append(f"| {r.get('pipeline', '')} | {r.get('backend', 'torch')} | {r['threads']} | "
                     f"{r['end_to_end_ms']:.1f} | {r['lambda_update_ms']:.1f} | {r['mesh_ms']:.1f} | "
                     f"{r['peak_mb']:.0f} |")
    if res.get("backends"):
        b = res["backends"][0]
        L += ["", f"### ONNX Runtime vs PyTorch ({b['preset']}, batch {b['batch']}, {b['threads']} thread(s), "
                  "random weights)", "",
              "Median ms; the two backends' calls alternate, so the ratio holds even when other work shares the "
              "CPU. `max |Δ|`: largest difference between the two outputs.", "",
              "| network / call | torch ms | onnxruntime ms | speed-up | max abs Δ |", "|---|---|---|---|---|"]
        for r in res["backends"]:
            L.append(f"| {r['what']} | {r['torch_ms']:.1f} | {r['onnx_ms']:.1f} | {r['speedup']:.2f}× | "
                     f"{r['max_abs_diff']:.1e} |")
    return "\n".join(L) + "\n"


def run_bench(presets=("lite", "paper"), batches=(1, 8), repeat: int = 10, device: str = "cpu",
              bundle: str | None = None, out: str = "docs/BENCHMARKS.md", note: str = "",
              progress: bool = True, backends=("torch", "onnx")) -> dict[str, Any]:
    import torch

    from sketchface.onnx_backend import available
    from sketchface.pipeline import default_checkpoints

    b = Path(bundle) if bundle else default_checkpoints()
    b = b if (b / "finenet" / "config.json").is_file() else None
    limit = matmul_gflops(device=device)
    res: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M"), "device": device,
                           "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
                           "threads": torch.get_num_threads(), "matmul_gflops": limit, "note": note,
                           "bundle": str(b) if b else None}
    res["stages"] = bench_stages(presets, batches, repeat, device, b, limit, progress)
    onnx = "onnx" in backends and device == "cpu" and available()
    kinds = tuple(x for x in backends if x != "onnx" or onnx) or ("torch",)
    res["pipeline"] = bench_pipeline(b, repeat, device, backends=kinds) if b is not None else []
    res["backends"] = bench_backends("lite", 1, max(repeat, 20), threads=1) if onnx else []
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
    p.add_argument("--backends", nargs="+", default=["torch", "onnx"], choices=["torch", "onnx"],
                   help="onnx adds the PyTorch vs ONNX Runtime table (CPU, needs onnxruntime) and an onnx "
                        "end-to-end row")
    p.set_defaults(func=lambda a: print(markdown(run_bench(tuple(a.presets), tuple(a.batches), a.repeat, a.device,
                                                           a.checkpoints, a.out, a.note,
                                                           backends=tuple(a.backends)))) or 0)
