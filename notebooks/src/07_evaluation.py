# ---
# jupyter:
#   jupytext:
#     formats: ipynb,src//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Evaluation: the Err / Var tables and plots
#
#
# The sketch paper measures accuracy and diversity of reconstructed faces:
#
# $$ \mathrm{Err} = \frac{1}{K}\sum_{i=1}^{K} \frac{1}{|d|}\,\big\|d^{(i)}_{gt} - d^{(i)}_{out}\big\|^2 \quad (12) $$
#
# on the 0..255 scale of 8-bit depth images, and
#
# $$ \mathrm{Var} = \Big(\prod_{i=1}^{n} \lambda_i\Big)^{1/n} \quad (13) $$
#
# where $\lambda_i$ are the eigenvalues of the covariance of the set of output depth maps (each map a column).
# The pixel covariance is huge, so its non-zero eigenvalues come from the $K\times K$ Gram matrix (the snapshot
# method). A network that outputs the average face everywhere has a low Err on average faces but Var near 0;
# the paper wants low Err *and* high Var. Its ordering: Err D-Net 20.89 > SP− 16.22 > SP 16.15 > DP 15.64, and
# Var the reverse. Only test identities are used; the absolute numbers differ from the paper's, which are on
# FineData/CUFSF.
#
# Over hundreds of maps the product in (13) is dominated by the smallest eigenvalues, i.e. by pixel noise: a
# noisy network can score a higher Var than the ground truth. The tables therefore also give $\mathrm{Var}_{20}$,
# the same geometric mean over the 20 largest eigenvalues (the main modes of variation), and the target uses it.

# %% tags=["parameters"]
SMOKE = False     # True: tiny data and networks, a few steps (what the tests run)
PRESET = "auto"   # "auto": the paper preset on CUDA, the lite preset on the CPU; or "lite" / "paper"
STEPS = None      # training steps of each run in this notebook; None = the notebook's default for the device
DATA = ""         # a make-data folder; "" = the repository's data/syn<size> if made, else rendered here
DEVICE = "auto"   # "auto", "cpu", "cuda", "cuda:1"

# %%
try:
    import sketchface  # noqa: F401  (is the package importable?)
except ImportError:  # a source checkout without `pip install -e .`: the package is one folder up
    import pathlib, sys
    sys.path.insert(0, str(pathlib.Path.cwd().parent))
    import sketchface  # noqa: F401  (is the package importable?)
import numpy as np
from sketchface import notebook as nb

S = nb.setup(smoke=SMOKE, preset=PRESET, device=DEVICE, data=DATA, steps=STEPS)

# %%
nb.get_face_model()        # $SKETCHFACE_FACE_MODEL, the user cache, or `fetch-face-model` (needs internet once)
data = nb.ensure_data(S)   # the synthetic world at S.size px (see 01_data_and_lines)

# %% [markdown]
# ## Err and Var on a toy example
#
# The snapshot method gives the same eigenvalues as the pixel covariance:

# %%
from sketchface.metrics import depth_error, snapshot_eigenvalues, variance_metric
batch = nb.load_samples(data, "test", n=12, keys=("depth",))["depth"]
small = batch[:, ::max(1, batch.shape[1] // 32), ::max(1, batch.shape[2] // 32)]   # 32² pixels: P x P is small
x = 255 * small.reshape(len(small), -1).astype(np.float64)
x = x - x.mean(0)
full = np.linalg.eigvalsh(x.T @ x / (len(x) - 1))[::-1][: len(x) - 1]   # P x P pixel covariance
snap = snapshot_eigenvalues(small)[: len(x) - 1]                          # K x K Gram matrix
print(f"{len(small)} maps of {x.shape[1]} pixels")
print("largest eigenvalues, pixel covariance:", np.round(full[:4], 1))
print("largest eigenvalues, snapshot method: ", np.round(snap[:4], 1))
mean_face = np.repeat(batch.mean(0, keepdims=True), len(batch), 0)
print(f"mean face for every sample: Err {depth_error(batch, mean_face):.2f}, Var {variance_metric(mean_face):.3g}; "
      f"ground truth Var {variance_metric(batch):.3g}")

# %% [markdown]
# ## The networks
#
# The lite preset's networks when present (`checkpoints/`, `runs/lite/`); any missing one is trained here briefly, so the tables below always have every row.

# %%
steps = S.steps_for(default_cpu=40, default_gpu=2000)
names = ("dp_coarse", "sp_coarse", "sp_coarse_minus", "dnet", "line_extractor", "finenet")
nets = nb.ensure_networks(S, data, steps, names)
bundle = nb.assemble_bundle(S, nets)
print("bundle for the evaluation:", bundle)

# %% [markdown]
# ## The tables
#
# `sketchface.evaluate.evaluate` is what `python -m sketchface evaluate` runs: CoarseNet Err/Var per sketch style, the DP loss ablation (from the lite run folders, when present) and the FineNet λ sweep.

# %%
from pathlib import Path
from IPython.display import Markdown, display
from sketchface.evaluate import EvalConfig, evaluate
lite_runs = nb.REPO_ROOT / "runs" / "lite"
cfg = EvalConfig(checkpoints=str(bundle), data=str(data), runs=str(lite_runs) if S.use_trained and lite_runs.is_dir() else "",
                 n=8 if S.smoke else (512 if S.device.startswith("cuda") else 32), device=S.device, out=str(S.runs / "RESULTS.md"), plots=str(S.runs / "img"))
res = evaluate(cfg)
nb.inline_plots()   # evaluate() drew its plots with matplotlib's file backend; back to inline pictures
text = Path(cfg.out).read_text()
display(Markdown("\n".join(l for l in text.splitlines() if not l.startswith("![") and not l.startswith("<!--"))))

# %% [markdown]
# ## Plots

# %%
import matplotlib.pyplot as plt
styles = list(res["coarse"]["rows"])
fig, ax = plt.subplots(1, 2, figsize=(8, 2.6))
for k, style in enumerate(styles):
    rows = [r for r in res["coarse"]["rows"][style] if not r["model"].startswith("mean")]
    xs = np.arange(len(rows)) + 0.38 * k
    ax[0].bar(xs, [r["err"] for r in rows], 0.38, label=style)
    ax[1].bar(xs, [r["var_top"] / res["coarse"]["gt_var_top"] for r in rows], 0.38, label=style)
for a, t in zip(ax, ("Err (eq. 12) ↓", "Var_20 / Var_20(ground truth) ↑")):
    a.set_xticks(np.arange(len(rows)) + 0.19, [r["model"].replace("CoarseNet", "") for r in rows], fontsize=7)
    a.set_title(t)
ax[0].legend()
fig.tight_layout(); plt.show()
for p in res["plots"]:
    nb.show_png(Path(cfg.out).parent / p)

# %%
for t in res["targets"]:
    print(("met   " if t["ok"] else "NOT met ") + t["target"] + f": {t['value'] if isinstance(t['value'], str) else round(t['value'], 3)}")

# %% [markdown]
# **Why the recall target is not met.** With the shipped lite networks FineNet's line-recall gain at λ_line 0.85 is about +0.08, not +0.15. `python scripts/experiments/line_misses.py` shows where recall is lost: lines off the face (hair, neck), and near misses 2–4 px beside a found line along the jaw, nose and lips. `python scripts/experiments/line_oracle.py` fits a displacement to each test drawing's own loss: as smooth as FineNet's, the paper's line loss is best fitted at about +0.12, so the target lies beyond the loss itself (docs/TRAINING.md, *What any displacement could buy*).

# %%
nb.banner(S, "evaluation")
