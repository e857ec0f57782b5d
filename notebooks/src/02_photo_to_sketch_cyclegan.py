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
# # 02 · Photo → sketch with a CycleGAN
#
#
# The sketch paper has photo–depth pairs (FineData) and photo–sketch pairs of *other* people (CUFSF), but no
# sketch–depth pairs. It trains a **CycleGAN** between photos and sketches (unpaired) and turns every FineData
# photo into a sketch, giving sketch–photo–depth tuples for CoarseNet and FineNet.
#
# Two generators $G: P \to S$, $F: S \to P$ and two PatchGAN discriminators $D_S, D_P$ are trained with
# least-squares GAN losses, cycle consistency and an identity term:
#
# $$ \mathcal L_{\mathrm{GAN}}(G, D_S) = \mathbb E_s\big[(D_S(s) - 1)^2\big] + \mathbb E_p\big[D_S(G(p))^2\big] $$
# $$ \mathcal L_{\mathrm{cyc}} = \mathbb E_p \|F(G(p)) - p\|_1 + \mathbb E_s \|G(F(s)) - s\|_1,\qquad
# \mathcal L_{\mathrm{idt}} = \mathbb E_s\|G(s) - s\|_1 + \mathbb E_p \|F(p) - p\|_1 $$
# $$ \mathcal L = \mathcal L_{\mathrm{GAN}}(G, D_S) + \mathcal L_{\mathrm{GAN}}(F, D_P)
#  + \lambda_{\mathrm{cyc}}\,\mathcal L_{\mathrm{cyc}} + \lambda_{\mathrm{cyc}}\lambda_{\mathrm{idt}}\,\mathcal L_{\mathrm{idt}},
#  \qquad \lambda_{\mathrm{cyc}} = 10,\ \lambda_{\mathrm{idt}} = 0.5. $$
#
# Here the two domains are photos of the even training identities and pencil sketches of the odd ones, so no
# face is ever seen in both (with CUFSF, its sketches take the place of the pencil sketches).

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
import torch
from sketchface import notebook as nb

S = nb.setup(smoke=SMOKE, preset=PRESET, device=DEVICE, data=DATA, steps=STEPS)

# %%
nb.get_face_model()        # $SKETCHFACE_FACE_MODEL, the user cache, or `fetch-face-model` (needs internet once)
data = nb.ensure_data(S)   # the synthetic world at S.size px (see 01_data_and_lines)

# %%
from sketchface.data.synthetic import SyntheticShards, UnpairedDomains
pairs = UnpairedDomains(SyntheticShards(data, "train", keys=("photo", "sketch_pencil")))
print(f"{len(pairs)} unpaired (photo, sketch) items: photos of {len(pairs.a)} samples, sketches of {len(pairs.b)}")
k = min(5, len(pairs))
nb.show_grid([[pairs[i]["photo"] for i in range(k)], [pairs[i]["sketch_pencil"] for i in range(k)]],
             suptitle="top: photos (domain P); bottom: sketches of other people (domain S)")

# %% [markdown]
# ## Train
#
# A short run here (raise `STEPS` for better sketches; the lite preset's own run takes 800 steps).

# %%
steps = S.steps_for(default_cpu=40, default_gpu=2000)
run = nb.train(S, "cyclegan", "cyclegan", data, steps)
nb.plot_losses({"this run": run.path}, keys=["g", "d", "cycle_p"])
nb.show_png(nb.last_samples(run.path), title="photo | G(photo) | a real pencil sketch")

# %% [markdown]
# ## The trained CycleGAN
#
# The lite preset's trained network when it exists (`checkpoints/` or `runs/lite/cyclegan`), else the run above:

# %%
G, src = nb.find_trained(S, "cyclegan", fallback=run)
lite_run = nb.trained_run_dir("cyclegan") if S.use_trained else None
if lite_run:
    nb.plot_losses({"lite run": lite_run}, keys=["g", "d", "cycle_p"], title="lite training run")
test = nb.load_samples(data, "test", n=6, keys=("photo", "sketch_pencil"))
with torch.inference_mode():
    p = torch.from_numpy(test["photo"]).permute(0, 3, 1, 2).float().to(S.device)
    p = torch.nn.functional.interpolate(p, size=G.config.image_size, mode="area")
    fake = G.photo_to_sketch(p).float().cpu()
nb.show_grid({"test photo": test["photo"], "CycleGAN sketch": fake, "pencil sketch": test["sketch_pencil"]})

# %% [markdown]
# ## Synthesising sketches for a data set
#
# `synthesize_sketches` (CLI: `python -m sketchface synthesize-sketches --data DIR --cyclegan CKPT`) writes a
# `sketch_cyclegan` array beside every photo; training then mixes it in through `sketch_styles`. It writes into
# the data folder, so here it runs on a small folder of this notebook's own.

# %%
from sketchface.data.synthesize import synthesize_sketches
ckpt = nb.checkpoint_folder(S, "cyclegan", fallback=run)
demo = nb.ensure_data(S, n=16, name=f"nb_data/cyclegan-demo{S.size}", shared=False)
n = synthesize_sketches(demo, ckpt, batch=8, device=S.device, progress=False)
d = SyntheticShards(demo, "train", keys=("photo", "sketch_pencil", "sketch_cyclegan"))
print(f"wrote {n} CycleGAN sketches into {demo}")
nb.show_grid([[d[i]["photo"], d[i]["sketch_cyclegan"], d[i]["sketch_pencil"]] for i in range(3)],
             ["photo", "sketch_cyclegan", "sketch_pencil"])

# %%
# Your own data instead of the synthetic world (docs/DATASETS.md). Set a path to look at it; the
# training stages read make-data style folders, so real tuples go through the generic folder layout.
CUFSF = ""      # a folder with photos/ and sketches/ (+ eye coordinates)
FINEDATA = ""   # a folder with photo/ and depth/
if CUFSF:
    from sketchface.data.real import CUFSFDataset
    cufsf = CUFSFDataset(CUFSF, split="train", size=S.size, augment=True)
    nb.show_grid([[cufsf[i]["photo"], cufsf[i]["sketch"]] for i in range(3)], ["photo", "sketch"])
if FINEDATA:
    from sketchface.data.real import FineDataDataset
    fine_data = FineDataDataset(FINEDATA, split="train", size=S.size)
    nb.show_grid([[fine_data[i]["photo"], nb.shaded(fine_data[i]["depth"][0])] for i in range(3)],
                 ["photo", "depth (shaded)"])

# %%
nb.banner(S, "CycleGAN")
