"""The app as a local server in a child process, for the latency and load measurements (scripts/bench_app.py,
scripts/load_app.py): ``start_server`` starts ``app.py`` on a free port and waits until it answers."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(checkpoints: str | None, threads: int | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False")
    if checkpoints:
        env["SKETCHFACE_CHECKPOINTS"] = str(Path(checkpoints).resolve())
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    import urllib.request

    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited:\n{proc.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the app did not start within 5 minutes")
