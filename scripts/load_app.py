"""Load test of the app: many gradio_client users at once, every answer checked, latency and server memory.

    python scripts/load_app.py [--checkpoints checkpoints/] [--users 20] [--per-user 10] [--requests 500]
    python scripts/bench_app.py --load [same options]          # the same thing

Starts `python app.py` on a free local port (unless --url is given; then --pid names the server process for
the memory readings). Phase 1: --users threads, each its own gradio_client session, send --per-user requests
each at the same time (the first request of a session is /reconstruct, then /set_lambda and /reconstruct in
turn, every one with its own λ_line). Phase 2: the same users go on until --requests requests were sent in all.
Every answer is checked: the summary line has the requested λ_line (and λ_dis = 1 − λ_line) and the plot is a
3-D surface. Reports p50 / p95 round-trip latency per endpoint and the server's resident memory (VmRSS) after
50 requests and after the last one, and whether it grew by less than 10 %. Prints markdown tables; exits 1 when
an answer was wrong or the memory grew by 10 % or more.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
XDOG = (0.8, 1.6, 0.98, 0.0, 200.0)
MODEL = "DP-CoarseNet + FineNet"
RSS_GROWTH_LIMIT = 0.10
EARLY_RSS_AT = 50
RSS_TRACE_EVERY = 100      # the RSS every 100 requests: a steady climb is a leak, a plateau is warm-up


# ------------------------------------------------------------------------------------------------ measuring

def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MiB (VmRSS), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except Exception:
        return None


def lambda_for(user: int, i: int) -> float:
    """A λ_line for request ``i`` of ``user`` in [0.05, 0.95], different from the previous request's."""
    return round(0.05 + 0.9 * (((user * 37 + i * 11) % 91) / 90), 2)


def check_answer(out, lam: float) -> str | None:
    """None when ``out`` (the outputs of /reconstruct or /set_lambda) is a face at λ_line ``lam``; else why not."""
    try:
        plot, info = out[0], out[5]
    except (TypeError, IndexError, KeyError):
        return f"unexpected answer {str(out)[:80]!r}"
    if not isinstance(info, str) or f"λ_line {lam:.2f} / λ_dis {1 - lam:.2f}" not in info:
        return f"summary does not say λ_line {lam:.2f}: {str(info)[:120]!r}"
    if isinstance(plot, dict) and isinstance(plot.get("plot"), str):   # gr.Plot: {"type": "plotly", "plot": json}
        plot = plot["plot"]
    if '"surface"' not in (plot if isinstance(plot, str) else json.dumps(plot, default=str)):
        return "the plot has no 3-D surface"
    return None


@dataclass
class Call:
    api: str
    user: int
    index: int
    ms: float
    error: str | None


@dataclass
class LoadReport:
    users: int
    per_user: int
    requests: int
    calls: list[Call] = field(default_factory=list)
    rss_start: float | None = None
    rss_early: float | None = None                  # after EARLY_RSS_AT requests
    rss_end: float | None = None
    early_at: int | None = None
    seconds: float = 0.0
    rss_trace: list[tuple[int, float]] = field(default_factory=list)   # (requests answered, MiB) every 100

    @property
    def wrong(self) -> list[Call]:
        return [c for c in self.calls if c.error]

    @property
    def rss_growth(self) -> float | None:
        if not self.rss_early or self.rss_end is None:
            return None
        return self.rss_end / self.rss_early - 1

    @property
    def rss_ok(self) -> bool | None:
        g = self.rss_growth
        return None if g is None else g < RSS_GROWTH_LIMIT


class _User:
    """One browser tab: its own gradio_client session."""

    def __init__(self, url: str, index: int, inputs: list[str]):
        from gradio_client import Client

        self.index = index
        self.inputs = inputs
        self.client = Client(url, verbose=False, download_files=False)
        self.sent = 0
        self.has_face = False

    def request(self) -> tuple[str, float, str | None]:
        from gradio_client import handle_file

        i = self.sent
        self.sent += 1
        lam = lambda_for(self.index, i)
        api = "/set_lambda" if self.has_face and i % 2 == 1 else "/reconstruct"
        t = time.perf_counter()
        try:
            if api == "/reconstruct":
                image = self.inputs[(self.index + i) % len(self.inputs)]
                out = self.client.predict("upload", None, handle_file(image), None, MODEL, lam, "auto", *XDOG, 1.0,
                                          "fine", api_name=api)
            else:
                out = self.client.predict(lam, 1.0, "fine", api_name=api)
            error = check_answer(out, lam)
        except Exception as exc:  # a refused or failed request is a wrong answer, the load goes on
            error = f"{type(exc).__name__}: {str(exc)[:160]}"
        ms = (time.perf_counter() - t) * 1e3
        if api == "/reconstruct" and error is None:
            self.has_face = True
        return api, ms, error


def default_inputs() -> list[str]:
    return [str(p) for k in ("strokes", "lines", "pencil") for p in sorted((ROOT / "demo/examples").glob(f"{k}_*.png"))]


def run_load(url: str, users: int = 20, per_user: int = 10, requests: int = 500, pid: int | None = None,
             inputs: list[str] | None = None, log=None) -> LoadReport:
    """Phase 1: ``users`` sessions × ``per_user`` requests at once; phase 2: the same sessions until
    ``requests`` requests in all. ``pid``: the server process whose memory is read (None: not read)."""
    inputs = inputs or default_inputs()
    if not inputs:
        raise SystemExit("no input images: run scripts/make_examples.py or pass inputs")
    requests = max(requests, users * per_user)
    report = LoadReport(users, per_user, requests)
    report.rss_start = rss_mb(pid) if pid else None
    sessions = [_User(url, u, inputs) for u in range(users)]
    lock = threading.Lock()

    def done(call: Call) -> None:
        with lock:
            report.calls.append(call)
            if len(report.calls) == min(EARLY_RSS_AT, requests):
                report.early_at = len(report.calls)
                report.rss_early = rss_mb(pid) if pid else None
            if pid and len(report.calls) % RSS_TRACE_EVERY == 0:
                report.rss_trace.append((len(report.calls), rss_mb(pid)))
            if log and len(report.calls) % 50 == 0:
                log(f"{len(report.calls)} / {requests} requests, {len(report.wrong)} wrong")

    def worker(user: _User, n: int) -> None:
        for _ in range(n):
            i = user.sent
            api, ms, error = user.request()
            done(Call(api, user.index, i, ms, error))

    def phase(counts: list[int]) -> None:
        threads = [threading.Thread(target=worker, args=(s, n), daemon=True) for s, n in zip(sessions, counts) if n]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    t0 = time.perf_counter()
    phase([per_user] * users)
    rest = requests - users * per_user
    phase([rest // users + (u < rest % users) for u in range(users)])
    report.seconds = time.perf_counter() - t0
    report.rss_end = rss_mb(pid) if pid else None
    return report


# ------------------------------------------------------------------------------------------------ reporting

def _pct(values) -> str:
    if not values:
        return "–"
    a = np.asarray(values, float)
    return f"{np.percentile(a, 50):.0f} / {np.percentile(a, 95):.0f}"


def _mb(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}"


def markdown(report: LoadReport) -> str:
    phase1 = [c for c in report.calls if c.index < report.per_user]
    rows = []
    for name, sel in ((f"1: {report.users} users × {report.per_user} requests at once", phase1),
                      (f"all: {report.users} users, {report.requests} requests", report.calls)):
        by = {api: [c.ms for c in sel if c.api == api] for api in ("/reconstruct", "/set_lambda")}
        rows.append(f"| {name} | {len(sel)} | {_pct(by['/reconstruct'])} | {_pct(by['/set_lambda'])} | "
                    f"{_pct([c.ms for c in sel])} | {sum(1 for c in sel if c.error)} |")
    growth = report.rss_growth
    verdict = {None: "–", True: "yes", False: "**no**"}[report.rss_ok]
    lines = [
        "| phase | requests | /reconstruct p50 / p95 (ms) | /set_lambda p50 / p95 (ms) | all p50 / p95 (ms) "
        "| wrong answers |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"| server RSS at start (MiB) | after {report.early_at or EARLY_RSS_AT} requests (MiB) "
        f"| after {len(report.calls)} requests (MiB) | growth | within 10 % |",
        "|---|---|---|---|---|",
        f"| {_mb(report.rss_start)} | {_mb(report.rss_early)} | {_mb(report.rss_end)} | "
        f"{'–' if growth is None else f'{growth * 100:+.1f} %'} | {verdict} |",
    ]
    if report.rss_trace:
        lines += ["", "Server RSS (MiB) after n requests: " + ", ".join(f"{n}: {v:.0f}" for n, v in report.rss_trace
                                                                      if v is not None)]
    if report.wrong:
        lines += ["", "Wrong answers (first 5):"] + [f"* {c.api} user {c.user} request {c.index}: {c.error}"
                                                     for c in report.wrong[:5]]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoints", help="checkpoint bundle (default: $SKETCHFACE_CHECKPOINTS, then checkpoints/)")
    ap.add_argument("--url", help="load a server that is already running instead of starting app.py")
    ap.add_argument("--pid", type=int, help="with --url: the server's process id, for its memory")
    ap.add_argument("--users", type=int, default=20, help="concurrent sessions")
    ap.add_argument("--per-user", type=int, default=10, help="requests of each session in phase 1")
    ap.add_argument("--requests", type=int, default=500, help="requests in all (phase 1 included)")
    ap.add_argument("--threads", type=int, help="OMP_NUM_THREADS for the server")
    args = ap.parse_args(argv)

    from sketchface.local_server import start_server

    proc, url, pid = None, args.url, args.pid
    if not url:
        proc, url = start_server(args.checkpoints, args.threads)
        pid = proc.pid
    try:
        report = run_load(url, args.users, args.per_user, args.requests, pid=pid,
                          log=lambda m: print(m, file=sys.stderr, flush=True))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    where = args.checkpoints or os.environ.get("SKETCHFACE_CHECKPOINTS") or "checkpoints/"
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, checkpoints {where}, "
          f"{args.users} users, {report.requests} requests in {report.seconds:.0f} s, model '{MODEL}'\n")
    print(markdown(report))
    return 0 if not report.wrong and report.rss_ok is not False else 1


if __name__ == "__main__":
    raise SystemExit(main())
