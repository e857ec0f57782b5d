"""Latency of the app as an API user (or the browser) sees it, through gradio_client against a local server.

    python scripts/bench_app.py [--checkpoints checkpoints/] [--n 30] [--url http://127.0.0.1:7860/]
    python scripts/bench_app.py --load [--users 20] [--per-user 10] [--requests 500]   # scripts/load_app.py

Starts `python app.py` on a free local port (unless --url is given), then times
  * full reconstruction  (/reconstruct: framing, XDoG, CoarseNet, FineNet, l', surface figure, pictures),
  * λ-slider update      (/set_lambda: FineNet + l' on the cached coarse depth, surface redrawn),
  * downloads            (/export: GLB for the viewer + GLB/OBJ/PLY/16-bit PNG/npy; chained after the above),
each as p50/p95 of the client's round trip ("total") and of the networks' forward passes ("model", reported by
the server), after --warmup untimed runs. Inputs cycle through demo/examples/ (drawings and pencil sketches).
Pictures are not fetched by the client (a browser fetches them in parallel with drawing the surface).

gradio_client looks for the server's answer every 50 ms (``time.sleep(0.05)`` in its message loop), so its round
trips come in steps of up to 50 ms that the app does not cause; a browser is told at once (an event stream).
``--poll-ms`` (default 1) shortens that wait in this process; ``--poll-ms 50`` measures as gradio_client does
(the figures in docs/APP.md up to 2026-12-06 were measured so).
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sketchface.local_server import start_server  # noqa: E402

INFO = re.compile(r"model (\d+) ms · server (\d+) ms")
XDOG = (0.8, 1.6, 0.98, 0.0, 200.0)


def poll_every(ms: float) -> None:
    """Make gradio_client look for messages every ``ms`` milliseconds instead of every 50 (its waits of more than
    ``ms`` are cut to ``ms``); only this process is affected."""
    import gradio_client.utils as client_utils

    clock = time

    class Clock:
        def __getattr__(self, name):
            return getattr(clock, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            clock.sleep(min(seconds, ms / 1e3))
    client_utils.time = Clock()


def stats(values) -> str:
    a = np.asarray(values, float)
    return f"{np.percentile(a, 50):.0f} / {np.percentile(a, 95):.0f}"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--load" in argv:                   # the load test: concurrent users, checked answers, server memory
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from load_app import main as load_main

        return load_main([a for a in argv if a != "--load"])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", action="store_true",
                    help="run the load test instead (scripts/load_app.py; its options: --users, --per-user, "
                         "--requests, --pid)")
    ap.add_argument("--checkpoints", help="checkpoint bundle (default: $SKETCHFACE_CHECKPOINTS, then checkpoints/)")
    ap.add_argument("--url", help="time a server that is already running instead of starting app.py")
    ap.add_argument("--n", type=int, default=30, help="timed calls of each kind")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, help="OMP_NUM_THREADS for the server")
    ap.add_argument("--poll-ms", type=float, default=1.0,
                    help="how often the client looks for the answer (gradio_client: 50 ms; a browser: at once)")
    ap.add_argument("--model", default="DP-CoarseNet + FineNet")
    args = ap.parse_args(argv)

    from gradio_client import Client, handle_file

    if args.poll_ms < 50:
        poll_every(args.poll_ms)
    proc = None
    url = args.url
    if not url:
        proc, url = start_server(args.checkpoints, args.threads)
    try:
        client = Client(url, verbose=False, download_files=False)
        inputs = [str(p) for k in ("strokes", "lines", "pencil") for p in sorted((ROOT / "demo/examples").glob(f"{k}_*.png"))]
        if not inputs:
            raise SystemExit("no examples in demo/examples/: run scripts/make_examples.py")

        def reconstruct(i):
            return client.predict("upload", None, handle_file(inputs[i % len(inputs)]), None, args.model, 0.85,
                                  "auto", *XDOG, 1.0, "fine", api_name="/reconstruct")

        def set_lambda(i):
            return client.predict(round(0.05 + 0.9 * ((i * 7) % 10) / 9, 2), 1.0, "fine", api_name="/set_lambda")

        def export(i):
            return client.predict(1.0, "full (a vertex per pixel)", api_name="/export")

        rows = []
        for name, fn in (("full reconstruction", reconstruct), ("λ-slider update", set_lambda)):
            totals, models, servers, exports = [], [], [], []
            for i in range(args.warmup + args.n):
                t = time.perf_counter()
                out = fn(i)
                total = (time.perf_counter() - t) * 1e3
                t = time.perf_counter()
                export(i)
                ex = (time.perf_counter() - t) * 1e3
                if i < args.warmup:
                    continue
                m = INFO.search(out[5])
                totals.append(total)
                models.append(float(m.group(1)))
                servers.append(float(m.group(2)))
                exports.append(ex)
            rows.append((name, stats(models), stats(servers), stats(totals), stats(exports)))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    import torch

    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads "
          f"{args.threads or torch.get_num_threads()}, checkpoints {args.checkpoints or os.environ.get('SKETCHFACE_CHECKPOINTS') or 'checkpoints/'}, "
          f"n={args.n}, model '{args.model}', client polls every {min(args.poll_ms, 50):g} ms\n")
    print("| call | model p50 / p95 (ms) | server handler p50 / p95 (ms) | total round trip p50 / p95 (ms) "
          "| then downloads (/export) p50 / p95 (ms) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
