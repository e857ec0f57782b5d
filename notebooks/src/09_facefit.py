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
# # 09 · FaceFit: the face model under every drawing (not in the papers)
#
# The paper's networks carve depth into whatever crop the framing gives them; on real artist sketches that
# loses to a fixed mean face (docs/RESULTS.md, "Real sketches"). FaceFit reads the framed drawing or photo and
# answers the ICT face model's identity and expression weights, the head's rotation and a 2-D placement in the
# crop. The pipeline then re-frames the input where the fitted face sits, renders the fitted face's depth (the
# *prior*, the app's default coarse depth) and builds the whole-head mesh from it.
#
# Its loss is 3DDFA's vertex distance: the mean |difference| of 2-D position and depth between the predicted and
# the true *posed* face over the 68 landmarks (weight 2) and 600 face vertices, plus a small loss on the raw
# coefficients. The synthetic world gives every drawing its exact answer; the drawings are seen through random
# squares around the training framing, with the pen varied and 70 % of them dressed with hair, glasses and a
# collar, which real sketches show and the bald synthetic heads do not.
#
# FaceFit trains as a stage of the shared Trainer (`python -m sketchface train facefit --config
# configs/lite/facefit.yaml`, or `train-facefit`); this notebook runs a short training here and looks at the
# shipped network.

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
nb.get_face_model()        # $SKETCHFACE_FACE_MODEL, the user cache, or `fetch-face-model` (needs internet once)
data = nb.ensure_data(S)   # the synthetic world at S.size px (see 01_data_and_lines); docs/TRAINING.md trains on a
                           # world with wider poses and framings (data/fit128)

# %% [markdown]
# ## A short training run
#
# Each step shows a batch of drawings and photos through random crops; the sample grid puts the true 68 points
# (green) and FaceFit's (red) on what it was shown.

# %%
steps = S.steps_for(default_cpu=60, default_gpu=3000)
run = nb.train(S, "facefit", "facefit", data, steps, batch_size=8 if S.smoke else 32, lr=2e-3, beta1=0.9,
               lr_schedule="cosine", grad_clip=5.0, facefit={"dress": 0.7})
nb.plot_losses({"this run": run.path}, keys=["total", "vertex"])
nb.show_png(nb.last_samples(run.path), title="input | true (green) and fitted (red) landmarks")

# %% [markdown]
# ## The trained FaceFit on test drawings
#
# The shipped network (10,000 steps on the wide-pose world, then fine-tunings with artist-style sketches, drawings
# of the features alone and the head's pitch of real train faces; docs/TRAINING.md) when the checkpoints are here,
# else the run above: its 68 points on test drawings of identities it never saw, and the
# landmark error in pixels on random crops (what a framing that misses looks like).

# %%
from sketchface.facemodel import load_face_model
from sketchface.prior import FacePrior
from sketchface.train.facefit import evaluate_fit, face_basis, load_fit_split

fit_net, src = nb.find_trained(S, "facefit", fallback=run)
fm = load_face_model()
prior = FacePrior(fit_net.float().cpu().eval(), fm)
test = load_fit_split(data, "test", 8 if S.smoke else 200)
basis, _ = face_basis(fm)
err = evaluate_fit(fit_net.float().cpu(), test, basis)
print(f"landmark error {err['landmark_px']:.2f} px at {fit_net.config.image_size} px, |log scale| "
      f"{err['log_scale_abs']:.3f} on {err['n']} test drawings' random crops")
size = prior.size
rows = []
for i in range(4):
    img = np.asarray(test["sketch_pencil"][i], np.float32) / 255
    img = torch.nn.functional.interpolate(torch.from_numpy(img)[None, None], size=size, mode="area")[0, 0].numpy()
    fit = prior.fit(img)
    pts = prior.landmarks(fit, (0, 0, size, size))
    shown = np.repeat(img[..., None], 3, -1).copy()
    for x, y in np.round(pts).astype(int):
        shown[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2] = (0.9, 0.0, 0.0)     # 3 x 3 dots
    depth, mask = prior.render(fit, size)
    rows.append([img, shown, nb.shaded(depth, mask)])
nb.show_grid(rows, ["drawing", "its 68 points", "prior, shaded"], cell=1.8)

# %% [markdown]
# ## The whole head
#
# The fitted face in the face model's own topology, eyes and mouth closed: the mesh the app shows and the
# downloads hold (with FineNet's detail moved onto its front when a drawing is reconstructed).

# %%
head = prior.mesh(fit)
print(f"{len(head.vertices)} vertices, {len(head.faces)} triangles, watertight: {head.is_watertight}")
from sketchface.webapp.figures import meshes_figure
nb.show_plotly(meshes_figure([("fitted head", head)], height=380))

# %%
nb.banner(S, "FaceFit")
