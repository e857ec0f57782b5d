"""Every notebook in notebooks/ runs top to bottom in SMOKE mode (tiny data and networks, a few steps), each in a
temporary working folder, and shows pictures; the notebook helpers find trained networks in every case."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -r requirements.txt)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -r requirements.txt)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -r requirements.txt)")


def test_notebooks_are_there_and_match_their_sources():
    """Each notebook has a jupytext source notebooks/src/NN_*.py with the same cells; sizes stay small."""
    pytest.importorskip("jupytext", reason="jupytext is not installed (pip install -r requirements.txt)")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import notebooks as tool
    finally:
        sys.path.pop(0)
    assert [p.stem for p in NOTEBOOKS] == tool.names(), "every notebook needs its source in notebooks/src/"
    for path in NOTEBOOKS:
        assert not tool.differs(path.stem), f"{path.name} differs from src/{path.stem}.py; run scripts/notebooks.py"
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["jupytext"]["formats"] == tool.FORMATS       # Jupyter saves both files
        assert path.stat().st_size < 2_000_000, f"{path.name} is over 2 MB"
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        assert sum("parameters" in t for t in tags) == 1


def test_syncing_keeps_the_outputs_of_unchanged_cells(tmp_path):
    pytest.importorskip("jupytext", reason="jupytext is not installed (pip install -r requirements.txt)")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import notebooks as tool
    finally:
        sys.path.pop(0)
    (tmp_path / "src").mkdir()
    src = tmp_path / "src" / "01_x.py"
    src.write_text('# %% [markdown]\n# # Title\n\n# %% tags=["parameters"]\nSTEPS = 1\n\n# %%\nprint(STEPS)\n'
                   '\n# %%\nprint(2)\n')
    nb = tool.build("01_x", tmp_path)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code"]
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    for c, text in zip(nb.cells[2:], ("1\n", "2\n")):
        c.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    assert not tool.differs("01_x", tmp_path)
    src.write_text(src.read_text().replace("print(2)", "print(3)"))
    assert tool.differs("01_x", tmp_path)
    assert tool.main(["--out", str(tmp_path)]) == 0
    again = nbformat.read(tmp_path / "01_x.ipynb", as_version=4)
    assert again.cells[2].outputs[0]["text"] == "1\n" and again.cells[3].outputs == []     # stale output gone
    assert again.cells[3].source == "print(3)" and tool.main(["--out", str(tmp_path), "--check"]) == 0


def _smoke(nb):
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for i, c in enumerate(nb.cells):
        if "parameters" in c.metadata.get("tags", []):
            nb.cells.insert(i + 1, nbformat.v4.new_code_cell("SMOKE = True\nSTEPS = 2"))
            return nb
    raise AssertionError("no parameters cell")


@pytest.fixture
def kernel_env(tmp_path, tiny_model_path, monkeypatch):
    """The kernel imports this checkout and gets a face model: the real one when SKETCHFACE_FACE_MODEL points
    at it, else the tests' tiny synthetic one. Nothing is downloaded."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if not os.environ.get("SKETCHFACE_FACE_MODEL"):
        monkeypatch.setenv("SKETCHFACE_FACE_MODEL", str(tiny_model_path))
    monkeypatch.setenv("SKETCHFACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return tmp_path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_smoke_mode(path, kernel_env):
    nb = _smoke(nbformat.read(path, as_version=4))
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
    work = kernel_env / "work"
    work.mkdir()
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(work)}})
    client.execute()   # raises CellExecutionError with the failing cell and its traceback
    kinds = [o.get("output_type") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert "error" not in kinds
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 2, f"{path.name} showed {images} pictures"
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "SMOKE mode" in text and "finished:" in text
    assert (work / "nb_data").is_dir() or (work / "nb_runs").is_dir(), "data and runs go into the working folder"


def test_find_trained_prefers_the_bundle_then_the_fallback(tmp_path, monkeypatch, tiny_model_path):
    from conftest import make_tiny_bundle

    from sketchface import notebook as nbh

    bundle = make_tiny_bundle(tmp_path / "bundle")
    monkeypatch.setenv("SKETCHFACE_CHECKPOINTS", str(bundle))
    s = nbh.setup(smoke=True, runs=str(tmp_path / "runs"), use_trained=True)
    net, src = nbh.find_trained(s, "finenet")
    assert net is not None and str(bundle) in src
    assert nbh.checkpoint_folder(s, "line_extractor") == bundle / "line_extractor"
    monkeypatch.setenv("SKETCHFACE_CHECKPOINTS", str(tmp_path / "nothing"))
    s2 = nbh.setup(smoke=True, runs=str(tmp_path / "runs"), use_trained=False)
    assert nbh.find_trained(s2, "finenet", verbose=False) == (None, "")
    import torch
    lin = torch.nn.Linear(1, 1)
    assert nbh.find_trained(s2, "finenet", fallback=lin, verbose=False)[0] is lin


def test_trained_at_step_reads_the_export_of_that_step_only(tmp_path, monkeypatch, tiny_bundle):
    import shutil

    from sketchface import notebook as nbh

    monkeypatch.setattr(nbh, "REPO_ROOT", tmp_path)
    s = nbh.setup(smoke=True, runs=str(tmp_path / "nb_runs"), use_trained=True)
    assert nbh.trained_at_step(s, "dp_coarse", 800) is None              # no run folder at all
    shutil.copytree(tiny_bundle / "dp_coarse", tmp_path / "runs/lite/coarse-dp-full/step_800")
    net = nbh.trained_at_step(s, "dp_coarse", 800)
    assert net is not None and not net.training
    assert nbh.trained_at_step(s, "dp_coarse", 1600) is None             # another step was not exported
    off = nbh.setup(smoke=True, runs=str(tmp_path / "nb_runs"), use_trained=False)
    assert nbh.trained_at_step(off, "dp_coarse", 800) is None            # SMOKE runs never use trained networks


def test_pick_device_and_preset_on_the_cpu():
    import torch

    from sketchface.notebook import pick_device_and_preset

    dev, preset = pick_device_and_preset()
    assert (dev, preset) == (("cuda", "paper") if torch.cuda.is_available() else ("cpu", "lite"))
    assert pick_device_and_preset("lite", "cpu") == ("cpu", "lite")
    with pytest.raises(ValueError):
        pick_device_and_preset("huge", "cpu")
