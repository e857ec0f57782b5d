"""Keep notebooks/NN_*.ipynb in step with their sources notebooks/src/NN_*.py (jupytext percent format), and run them.

    python scripts/notebooks.py                         # write each .ipynb's cells from its source, keep outputs
    python scripts/notebooks.py --check                 # exit 1 if a notebook's cells differ from its source
    python scripts/notebooks.py --execute 01 03         # then run these top to bottom and keep their outputs
    python scripts/notebooks.py --execute all --set STEPS=20 --note "..."
    make notebooks                                      # the same as --execute all

Edit a notebook either as its source (any editor) or in Jupyter (with jupytext installed, Jupyter saves both
files: `notebooks/jupytext.toml` pairs them). The cell tagged ``parameters`` holds SMOKE, PRESET, STEPS, DATA and
DEVICE, which ``--set`` (like papermill) overrides in a cell after it. A cell keeps its saved outputs while its
source is unchanged. Executed notebooks get a first markdown cell saying what produced their outputs.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks"
SRC = OUT / "src"
RUN_NOTE_TAG = "run-note"
INJECTED_TAG = "injected-parameters"
FORMATS = "ipynb,src//py:percent"


def names(out: Path = OUT) -> list[str]:
    return sorted(p.stem for p in (out / "src").glob("[0-9][0-9]_*.py"))


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def source_cells(nb) -> list:
    """The cells that come from the source (not the run note, not injected parameters)."""
    return [c for c in nb.cells if not {RUN_NOTE_TAG, INJECTED_TAG} & tags(c)]


def build(name: str, out: Path = OUT):
    """The notebook of a source, without outputs; cell ids ``NN-ii``."""
    nb = jupytext.read(out / "src" / f"{name}.py", fmt="py:percent")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["jupytext"] = {"formats": FORMATS}
    for i, c in enumerate(nb.cells):
        c["id"] = f"{name[:2]}-{i:02d}"
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    return nbformat.from_dict(nb)


def differs(name: str, out: Path = OUT) -> bool:
    path = out / f"{name}.ipynb"
    if not path.exists():
        return True
    old = source_cells(nbformat.read(path, as_version=4))
    new = build(name, out).cells
    return [(c.cell_type, c.source, sorted(tags(c))) for c in old] != [
        (c.cell_type, c.source, sorted(tags(c))) for c in new]


def sync(name: str, out: Path = OUT, keep_changed: bool = False):
    """The source's cells with the saved outputs of every cell whose source is unchanged (``keep_changed``: also of
    a changed cell at the same place, for edits that cannot change what a cell shows). The run note and the
    parameters of that run stay."""
    new = build(name, out)
    path = out / f"{name}.ipynb"
    if not path.exists():
        return new
    saved = nbformat.read(path, as_version=4)
    old = source_cells(saved)
    pool = {}
    for c in old:
        pool.setdefault((c.cell_type, c.source), []).append(c)
    for i, c in enumerate(new.cells):
        match = pool.get((c.cell_type, c.source))
        prev = match.pop(0) if match else None
        if prev is None and keep_changed and len(old) == len(new.cells) and old[i].cell_type == c.cell_type:
            prev = old[i]
        if prev is not None and c.cell_type == "code":
            c.outputs, c.execution_count = prev.get("outputs", []), prev.get("execution_count")
    notes = [c for c in saved.cells if RUN_NOTE_TAG in tags(c)]
    injected = [c for c in saved.cells if INJECTED_TAG in tags(c)]
    at = next((i + 1 for i, c in enumerate(new.cells) if "parameters" in tags(c)), 0)
    new.cells = notes + new.cells[:at] + injected + new.cells[at:]
    return new


def inject(nb, values: dict):
    """Put ``NAME = value`` lines in a cell tagged ``injected-parameters`` after the parameters cell (what
    papermill does)."""
    if not values:
        return nb
    for i, c in enumerate(nb.cells):
        if "parameters" in tags(c):
            cell = new_code_cell("# Parameters of this run\n" + "\n".join(f"{k} = {v!r}" for k, v in values.items()))
            cell.metadata["tags"] = [INJECTED_TAG]
            cell["id"] = c["id"] + "-run"
            nb.cells.insert(i + 1, cell)
            return nb
    raise ValueError("no cell tagged 'parameters'")


def tidy(nb):
    """Drop kernel start-up noise and the repr of figures a cell returned after showing them."""
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        for o in c.outputs:
            if o.get("output_type") == "stream":
                o["text"] = "".join(line for line in o["text"].splitlines(True) if "IPKernelApp" not in line)
                o["text"] = o["text"].replace(str(ROOT) + os.sep, "")   # paths relative to the checkout
        c.outputs = [o for o in c.outputs
                     if not (o.get("output_type") == "stream" and not o["text"])
                     and not (o.get("output_type") == "execute_result"
                              and str(o.get("data", {}).get("text/plain", "")).startswith(("<Figure", "<matplotlib")))]
    return nb


def execute(nb, cwd: Path, timeout: int = 3600, env: dict | None = None):
    from nbclient import NotebookClient

    old = dict(os.environ)
    try:
        if env:
            os.environ.update(env)
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--execute", nargs="*", default=None, help="notebooks to run after writing (prefixes or 'all')")
    ap.add_argument("--set", nargs="*", default=[], help="parameter values NAME=python-literal")
    ap.add_argument("--note", default="", help="run description put at the top of executed notebooks")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--check", action="store_true", help="only report notebooks whose cells differ from the source")
    ap.add_argument("--keep-changed", action="store_true",
                    help="keep the outputs of changed cells too (edits that cannot change what a cell shows)")
    ap.add_argument("--tidy", action="store_true", help="only tidy the saved outputs of the notebooks")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.check:
        stale = [n for n in names(out) if differs(n, out)]
        for n in stale:
            print(f"{n}.ipynb differs from src/{n}.py: run `python scripts/notebooks.py`", file=sys.stderr)
        return 1 if stale else 0
    if args.tidy:
        for n in names(out):
            path = out / f"{n}.ipynb"
            nbformat.write(tidy(nbformat.read(path, as_version=4)), path)
            print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")
        return 0
    values = {k: ast.literal_eval(v) for k, v in (s.split("=", 1) for s in args.set)}
    selected = []
    if args.execute is not None:
        selected = [n for n in names(out) if "all" in args.execute or any(n.startswith(p) for p in args.execute)]
    for name in names(out):
        path = out / f"{name}.ipynb"
        if name not in selected:
            if differs(name, out):
                nbformat.write(sync(name, out, args.keep_changed), path)
                print(f"{path.name}: cells written from src/{name}.py")
            continue
        nb = inject(build(name, out), values)
        t0 = time.time()
        print(f"running {name} ...", flush=True)
        execute(nb, out)
        minutes = (time.time() - t0) / 60
        tidy(nb)
        note = (args.note.format(minutes=minutes, steps=values.get("STEPS"),
                                 **{k.lower(): v for k, v in values.items() if k != "STEPS"})
                if args.note else f"Outputs of a run that took {minutes:.1f} min.")
        cell = new_markdown_cell(f"> **About the outputs below.** {note}")
        cell.metadata["tags"] = [RUN_NOTE_TAG]
        cell["id"] = f"{name[:2]}-note"
        nb.cells.insert(0, cell)
        nbformat.write(nb, path)
        print(f"{name}: {minutes:.1f} min, {path.stat().st_size / 1e6:.2f} MB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
