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
# # 01 · The data world: face model, rendering, detail layers, sketch styles, XDoG
#
#
# No sketch–photo–depth dataset can be downloaded freely, so SketchFace renders its training data from a real
# statistical face model, **ICT Face Model Light** (light-stage scans, MIT): a face is
#
# $$ v = \bar v + \sum_{i=1}^{100} w_i\,\Delta^{\mathrm{id}}_i + \sum_{j=1}^{53} e_j\,\Delta^{\mathrm{exp}}_j,
# \qquad w \sim \mathcal N(0, I),\; e_j \in [0, 1]. $$
#
# A vectorised z-buffer renders it frontally into a depth map $d$ (1 near the viewer, 0 far), normals, a mask
# and the 68 landmarks. The sketch paper's **FineData** idea, many photo–depth pairs that differ only in fine
# detail, becomes *detail layers*: wrinkles, folds, scars and moles drawn as displacement curves relative to
# the landmarks. Each face gets a shaded photo and several sketch styles, and the lines $l$ that FineNet
# follows come from **XDoG** (Winnemöller et al. 2012):
#
# $$ D = G_\sigma(I) - \tau\, G_{k\sigma}(I), \qquad
# T = \begin{cases} 1 & D \ge \varepsilon \\ 1 + \tanh\big(\varphi\,(D - \varepsilon)\big) & \text{otherwise} \end{cases} $$
#
# black lines (0) on white (1), the convention of the line loss $\|(1-l)\cdot l'\|_1$ in notebook 05.
# This notebook trains nothing: it shows every ingredient and writes the data set the other notebooks train on.

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

# %% [markdown]
# ## The face model

# %%
from sketchface.facemodel import load_face_model
from sketchface.render import render_face

model_path = nb.get_face_model()
fm = load_face_model(model_path)
print(f"{fm.neutral.shape[0]} vertices, {len(fm.face_triangles)} face triangles, {fm.n_identity} identity modes, "
      f"{fm.n_expression} expressions, 68 landmarks")
size = 256 if not S.smoke else 64
rng = np.random.default_rng(0)
faces = {"neutral": fm.vertices()}
for i in range(3):
    faces[f"identity {i + 1}"] = fm.vertices(rng.standard_normal(fm.n_identity).astype(np.float32))
e = np.zeros(fm.n_expression, np.float32); e[rng.choice(fm.n_expression, 2, replace=False)] = 0.6
faces["+ expression"] = fm.vertices(rng.standard_normal(fm.n_identity).astype(np.float32), e)
import time
t0 = time.time()
renders = {k: render_face(v, fm.face_triangles, fm.landmarks68, size) for k, v in faces.items()}
print(f"rendered {len(renders)} faces at {size}² in {(time.time() - t0) / len(renders) * 1000:.0f} ms each")
nb.show_grid([[nb.shaded(r.depth, r.mask) for r in renders.values()], [r.depth for r in renders.values()]],
             list(renders), cell=1.6)

# %% [markdown]
# Depth, mask and landmarks of one render, and the same depth map as a 3-D surface (drag it to turn it):

# %%
import matplotlib.pyplot as plt
r = renders["identity 1"]
fig, ax = plt.subplots(1, 3, figsize=(6, 2))
ax[0].imshow(r.depth, cmap="gray"); ax[0].set_title("depth d")
ax[1].imshow(r.mask, cmap="gray"); ax[1].set_title("mask")
ax[2].imshow(nb.shaded(r.depth, r.mask), cmap="gray"); ax[2].plot(*r.landmarks.T, ".", ms=2, color="tab:red")
ax[2].set_title("68 landmarks")
for a in ax: a.axis("off")
plt.show()
nb.show_plotly(nb.depth_surface(r.depth, r.mask, "identity 1"))

# %% [markdown]
# ## Detail layers (the FineData idea)
#
# A detail is a curve placed relative to the landmarks with a signed depth and a width; its displacement is a
# Gaussian cross-section along the curve. Variant 0 of every face has none, the others get random sets, so the
# data holds pairs that differ *only* in fine detail, which is what FineNet has to learn to add.

# %%
from sketchface.synth.details import sample_details
base = renders["identity 2"]
cols = {"no detail": base.depth}
for k in range(3):
    layer = sample_details(base.landmarks, np.random.default_rng(10 + k), amount=1.5)
    disp = layer.displacement(size) * (base.mask & ~base.holes)
    cols[f"variant {k + 1}"] = base.depth + disp
    print(f"variant {k + 1}: " + ", ".join(f"{d.kind} ({d.depth_cm:+.2f} cm)" for d in layer.details))
nb.show_grid([[nb.shaded(d, base.mask) for d in cols.values()],
              [0.5 + 40 * (d - base.depth) for d in cols.values()]], list(cols), cell=1.9,
             suptitle="top: shaded depth; bottom: the displacement layer (grey = 0)")

# %% [markdown]
# ## Photos and sketch styles
#
# `generate_base` poses a face (identity, expression, head pose, scale), renders it and makes K detail variants,
# each with a shaded **photo** (albedo + Lambert/Blinn-Phong under a random light), a **pencil** sketch (XDoG
# contours, dodge-blend tone, hatching), a clean **line drawing** (strokes from the geometry, like a sketch pad),
# the **lines l** (XDoG of the pencil sketch before hatching) and the depth.

# %%
from sketchface.data.make_data import decode, generate_base
from sketchface.synth.sample import WorldConfig
world = WorldConfig(size=size, variants=4)
samples = generate_base(fm, world, seed=0, base_index=3, per_identity=1)
keys = ["photo", "sketch_pencil", "sketch_lines", "lines", "shading"]
nb.show_grid([[decode(k, s[k]) for k in keys] + [nb.shaded(s["depth"], s["mask"])] for s in samples],
             keys + ["depth (shaded)"], cell=1.5)

# %% [markdown]
# ## XDoG and its parameters
#
# $\sigma$ sets the line scale, $k$ the ratio of the two Gaussians, $\tau$ how much of the wider blur is
# subtracted (close to 1: edges only), $\varepsilon$ the threshold and $\varphi$ the steepness of the soft step.
# The defaults ($\sigma$ 0.8, $k$ 1.6, $\tau$ 0.98, $\varepsilon$ 0, $\varphi$ 200) give thin, mostly binary
# lines; `xdog_torch` computes the same on the GPU inside training.

# %%
from sketchface.xdog import XDoGParams, xdog, xdog_torch
photo = decode("photo", samples[2]["photo"])
base_p = XDoGParams()
sweeps = {"sigma": [0.5, 0.8, 1.4, 2.2], "tau": [0.9, 0.95, 0.98, 1.0], "epsilon": [-0.02, -0.005, 0.0, 0.01],
          "phi": [5, 20, 200, 2000]}
for name, values in sweeps.items():   # one parameter at a time, the others at their defaults
    nb.show_grid([[photo] + [xdog(photo, **{**base_p.as_dict(), name: v}) for v in values]],
                 ["photo"] + [f"{name} = {v}" for v in values], cell=1.4)
g = torch.from_numpy(photo.mean(-1, dtype=np.float32))[None, None]
print("numpy vs torch XDoG, max difference:",
      float(np.abs(xdog(photo.mean(-1)) - xdog_torch(g)[0, 0].numpy()).max()))

# %% [markdown]
# ## The data set
#
# `make-data` writes shards of memory-mapped arrays; identities never cross the train/test split. The other
# notebooks use this folder (`data/syn128` for the lite preset, 256 px for the paper preset). On the command line:
# `python -m sketchface make-data --out data/syn128 --n 4000 --size 128`.

# %%
nb.get_face_model()        # $SKETCHFACE_FACE_MODEL, the user cache, or `fetch-face-model` (needs internet once)
data = nb.ensure_data(S)   # the synthetic world at S.size px (see 01_data_and_lines)

# %%
from sketchface.data.synthetic import SyntheticShards
train_ds, test_ds = SyntheticShards(data, "train"), SyntheticShards(data, "test")
ids_tr, ids_te = set(train_ds.identities().tolist()), set(test_ds.identities().tolist())
print(f"{len(train_ds)} train samples ({len(ids_tr)} identities), {len(test_ds)} test samples "
      f"({len(ids_te)} identities), shared identities: {len(ids_tr & ids_te)}")
batch = nb.load_samples(data, "test", n=6)
nb.show_grid({"photo": batch["photo"], "pencil": batch["sketch_pencil"], "line drawing": batch["sketch_lines"],
              "lines l": batch["lines"], "depth": batch["depth"]}, cell=1.3)

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
nb.banner(S, "no training in this notebook")
