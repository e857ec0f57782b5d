"""Throughput of make-data: writes N samples at a size with all cores and prints samples/s as a table row.

    python scripts/bench_data.py --n 2000 --size 256
"""
import argparse
import shutil
import tempfile

from sketchface.data.make_data import make_data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--variants", type=int, default=4)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--keep", default=None, help="write here and keep it (default: a temporary folder)")
    a = ap.parse_args()
    out = a.keep or tempfile.mkdtemp(prefix="sketchface-bench-")
    try:
        meta = make_data(out, a.n, a.size, a.variants, workers=a.workers)
        print(f"| {a.size}² | {meta['n_samples']} | {meta['samples_per_second']} |")
    finally:
        if not a.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":      # make-data's workers are spawned: they import this file again
    main()
