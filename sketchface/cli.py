"""Command-line entry point: ``python -m sketchface SUBCOMMAND``.

Each subcommand lives in the module that owns the work; the module exposes
``add_cli(subparsers)`` which registers its parser and sets ``func``.
Modules are imported lazily so that ``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from sketchface.errors import UserError  # its home is sketchface.errors; the CLI prints it without a traceback

# Modules that register subcommands, in the order they appear in --help.
CLI_MODULES = [
    "sketchface.fetch",          # fetch-face-model
    "sketchface.data.make_data",  # make-data
    "sketchface.data.preview",    # preview-data
    "sketchface.nets.summary",    # nets
    "sketchface.data.synthesize",  # synthesize-sketches
    "sketchface.data.realpairs",  # prepare-real-pairs
    "sketchface.data.realfits",   # prepare-real-fits
    "sketchface.data.realdepths",  # prepare-real-depths
    "sketchface.style_gap",  # style-gap
    "sketchface.train.cli",       # train
    "sketchface.train.export",    # export-checkpoints
    "sketchface.train.locator",   # train-locator
    "sketchface.train.facefit",   # train-facefit
    "sketchface.train.facecheck",  # train-facecheck
    "sketchface.train.outline",   # train-outline
    "sketchface.train.mouth",     # train-mouth
    "sketchface.train.fusion",    # prepare-fusion, train-fusion
    "sketchface.reconstruct",     # reconstruct
    "sketchface.evaluate",        # evaluate
    "sketchface.evaluate_real",   # evaluate-real
    "sketchface.bench",           # bench
    "sketchface.train.throughput",  # bench-train
    "sketchface.sparse.database",  # build-sparse-db
    "sketchface.sparse.train",     # train-sparse
    "sketchface.sparse.pipeline",  # reconstruct-sparse
    "sketchface.sparse.evaluate",  # evaluate-sparse
]



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sketchface",
        description="SketchFace: turn a face sketch into a 3-D face.",
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name in CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a module not written yet must not break the others
            if exc.name and exc.name.startswith("sketchface"):
                continue
            raise
        module.add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides may come after option flags (argparse stops a positional list at the first flag)
    if extra:
        if hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides = list(args.overrides or []) + extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        result = args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(result or 0)
