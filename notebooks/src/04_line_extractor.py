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
# # 04 · The line extractor
#
#
# FineNet needs to know which lines a depth map *implies*. The sketch paper pre-trains a **line-extraction
# module** (the $E_{con}$ + $D_{3D}$ architecture) that maps a depth map to the XDoG lines of its paired sketch:
#
# $$ l' = \mathrm{LE}(d) \approx l = \mathrm{XDoG}(s). $$
#
# Lines are sparse (most pixels are white), so a plain L1 loss is happy with an all-white output. The
# package weights line pixels up:
#
# $$ L_{LE} = \frac{1}{|l|}\sum_x w(x)\,\big|\mathrm{LE}(d)(x) - l(x)\big|, \qquad w = 1 + c\,(1 - l), $$
#
# with $c$ = `line_weight`, 1 by default (4 drew lines too thick).
#
# Once trained it is frozen: in notebook 05 it "draws" the fine depth so that the line loss can compare those
# lines with the input's.

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
import torch
from sketchface import notebook as nb

S = nb.setup(smoke=SMOKE, preset=PRESET, device=DEVICE, data=DATA, steps=STEPS)

# %%
nb.get_face_model()        # $SKETCHFACE_FACE_MODEL, the user cache, or `fetch-face-model` (needs internet once)
data = nb.ensure_data(S)   # the synthetic world at S.size px (see 01_data_and_lines)

# %%
batch = nb.load_samples(data, "train", n=5, keys=("depth", "lines", "sketch_pencil", "mask"))
nb.show_grid({"sketch": batch["sketch_pencil"], "its XDoG lines l": batch["lines"],
              "depth d (input)": [nb.shaded(d, m) for d, m in zip(batch["depth"], batch["mask"])]})

# %% [markdown]
# ## Train

# %%
steps = S.steps_for(default_cpu=40, default_gpu=2000)
run = nb.train(S, "lines", "line_extractor", data, steps)
nb.plot_losses({"this run": run.path}, keys=["l1w"])
nb.show_png(nb.last_samples(run.path), title="depth | target lines l | predicted l'")

# %% [markdown]
# ## The trained line extractor on test identities

# %%
LE, src = nb.find_trained(S, "line_extractor", fallback=run)
lite_run = nb.trained_run_dir("line_extractor") if S.use_trained else None
if lite_run:
    nb.plot_losses({"lite run": lite_run}, keys=["l1w"], title="lite training run")
from sketchface.metrics import line_scores
test = nb.load_samples(data, "test", n=8 if S.smoke else 64, keys=("depth", "lines", "mask", "depth_coarse_gt"))
size = LE.config.image_size
def draw(depth):
    x = torch.from_numpy(depth[:, None].astype(np.float32)).to(S.device)
    x = torch.nn.functional.interpolate(x, size=size, mode="area")
    with torch.inference_mode():
        return LE(x)[:, 0].float().cpu().numpy()
l_true = torch.nn.functional.interpolate(torch.from_numpy(test["lines"][:, None]), size=size, mode="area")[:, 0].numpy()
pred_fine, pred_smooth = draw(test["depth"]), draw(test["depth_coarse_gt"])
for name, p in (("depth with details", pred_fine), ("same face without details", pred_smooth)):
    sc = line_scores(l_true, p)
    print(f"l' of the {name:26s}: precision {sc['precision']:.3f}, recall {sc['recall']:.3f}, F1 {sc['f1']:.3f}")
changed = np.abs((pred_fine < 0.5).astype(float) - (pred_smooth < 0.5)).mean() * 100
print(f"line pixels that differ between the two: {changed:.2f} % of the image")
nb.show_grid({"depth": [nb.shaded(d, m) for d, m in zip(test["depth"][:4], test["mask"][:4])],
              "l (XDoG of sketch)": l_true[:4], "l' = LE(depth)": pred_fine[:4],
              "LE(depth without details)": pred_smooth[:4]})

# %% [markdown]
# The last two columns are the same face with and without its detail layer. Where the extractor draws the wrinkles of the detailed depth and not those of the smooth one, the line loss of notebook 05 can pull lines into the fine depth; a short or early run mostly draws the large contours, which barely differ between the two.

# %%
nb.banner(S, "line extractor")
