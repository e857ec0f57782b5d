"""bench: timing helpers and the end-to-end measurement on tiny networks (no speed is asserted)."""
import time

import numpy as np

from sketchface.bench import PeakMemory, bench_pipeline, count_gflops, markdown, matmul_gflops, time_call


def test_time_call_measures_what_runs():
    r = time_call(lambda: time.sleep(0.02), repeat=3)
    assert 15 < r["ms"] < 500 and r["ms_min"] <= r["ms"]


def test_peak_memory_sees_an_allocation():
    with PeakMemory() as m:
        a = np.ones(40 * 2**20 // 8)          # 40 MB
        time.sleep(0.05)
        del a
    assert m.peak - m.base > 20


def test_flop_count_of_a_matmul():
    import torch
    a = torch.ones(64, 32)
    b = torch.ones(32, 16)
    assert count_gflops(lambda: a @ b) * 1e9 == 2 * 64 * 32 * 16
    assert matmul_gflops(n=128, repeat=2) > 0


def test_pipeline_bench_on_tiny_bundle(tiny_bundle):
    rows = bench_pipeline(tiny_bundle, repeat=1, device="cpu", threads=(1,))
    assert rows[0]["threads"] == 1 and rows[0]["end_to_end_ms"] > 0 and rows[0]["lambda_update_ms"] > 0
    text = markdown({"when": "now", "machine": "m", "device": "cpu", "threads": 1, "matmul_gflops": 10.0,
                     "stages": [{"preset": "lite", "batch": 1, "stage": "FineNet", "ms": 10.0, "images_per_s": 100.0,
                                 "peak_mb": 100.0, "gflops": 0.5, "gflops_per_s": 50.0, "of_matmul": 0.5}],
                     "pipeline": rows})
    assert "| lite | 1 | FineNet | 10.0 | 100.0 |" in text and "End to end" in text


def test_markdown_shows_backends_side_by_side():
    row = {"what": "FineNet (λ input)", "torch_ms": 250.0, "onnx_ms": 180.0, "speedup": 250 / 180,
           "max_abs_diff": 3e-7, "preset": "lite", "batch": 1, "threads": 1}
    text = markdown({"when": "now", "machine": "m", "device": "cpu", "threads": 1, "matmul_gflops": 10.0,
                     "stages": [], "backends": [row]})
    assert "ONNX Runtime vs PyTorch (lite, batch 1, 1 thread(s)" in text
    assert "| FineNet (λ input) | 250.0 | 180.0 | 1.39× | 3.0e-07 |" in text
