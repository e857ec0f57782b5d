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

# %% [markdown]
# ## The Mouth: how far a drawn mouth is open
#
# FaceFit reads the head's pose from a coarse grid of features and answers about the same closed mouth for every
# drawing. The Mouth (`sketchface/nets/mouth.py`, 7,777 parameters) is a second stage in the manner of 3DDFA's
# cascades: it looks only at a 32 px crop around FaceFit's fitted lips, turned with the eye line, and answers the
# face model's jawOpen weight; `FacePrior.fit` opens the fitted jaw by it. It learns from a world where a quarter of
# the faces open their mouths (`open_mouth_prob`) and 30 % smile, as pencil sketches, line drawings and photos;
# a tenth of its crops have no mouth drawn, which it must read as closed. `docs/TRAINING.md` ("Open mouths") adds
# real train sketches (`--real-fits`), as the shipped one was trained:
# `python -m sketchface train-mouth --data data/fit128m --real-fits data/realfits_mouth --out runs/mouth`.

# %%
from sketchface.nets.mouth import Mouth
from sketchface.train.mouth import train_mouth

mouth_net = None
if "jawOpen" not in fm.expression_names:
    print("this face model has no jawOpen expression (the tests' tiny stand-in): the Mouth is skipped")
else:
    mouth_data = nb.ensure_data(S, n=1600, name=f"nb_data/mouth{S.size}{'-smoke' if S.smoke else ''}",
                                shared=False, world={"open_mouth_prob": 0.4 if S.smoke else 0.25, "smile_prob": 0.3})
    bundle = nb.checkpoints_dir()
    report = train_mouth(mouth_data, "nb_runs/mouth", steps=S.steps_for(default_cpu=400, default_gpu=3000),
                         n_train=0, n_test=0 if S.smoke else 200, batch=16 if S.smoke else 64,
                         checkpoints=bundle if (bundle / "facefit" / "config.json").is_file() else None,
                         progress=False)
    print({k: v for k, v in report.items() if k.startswith("test") or k in ("steps", "train faces", "parameters")})
    trained = Mouth.from_pretrained("nb_runs/mouth")
    mouth_net, _ = nb.find_trained(S, "mouth", fallback=trained)      # the shipped Mouth when it is here

# %% [markdown]
# The test faces of that world that open their mouths widest, fitted without and with the Mouth (`r` above: how
# well the answered jawOpen follows the true one on test faces, the crop placed by FaceFit's own fit). The lip gap
# is the inner lips' distance over the eyes' (about 0.01 closed, 0.2 for a smile showing the teeth).

# %%
if mouth_net is not None:
    from sketchface.data.realfits import lip_gap, ICT_EYES, ICT_LIPS

    world = load_fit_split(mouth_data, "test", 8 if S.smoke else 200)
    jaw = list(fm.expression_names).index("jawOpen")
    widest = []                                  # three different faces (a face's variants share its jaw)
    for i in np.argsort(-world["expression"][:, jaw]):
        if len(widest) < 3 and all(abs(world["expression"][i, jaw] - world["expression"][j, jaw]) > 1e-3
                                   for j in widest):
            widest.append(int(i))
    with_mouth = FacePrior(fit_net.float().cpu().eval(), fm, mouth=mouth_net.float().cpu().eval())
    rows = []
    for i in widest:
        img = np.asarray(world["sketch_lines"][i], np.float32) / 255
        img = torch.nn.functional.interpolate(torch.from_numpy(img)[None, None], size=size, mode="area")[0, 0].numpy()
        cells = [img]
        for p in (prior, with_mouth):
            f = p.fit(img)
            gap = lip_gap(p.landmarks(f, (0, 0, size, size)), ICT_LIPS, ICT_EYES)
            cells.append(nb.shaded(*p.render(f, size)))
            print(f"test face {i}: true jawOpen {world['expression'][i, jaw]:.2f}, "
                  f"{'with' if p is with_mouth else 'without'} the Mouth: jawOpen {f.expression[jaw]:.2f}, "
                  f"lip gap {gap:.3f}")
        rows.append(cells)
    nb.show_grid(rows, ["line drawing", "FaceFit alone", "FaceFit + Mouth"], cell=1.8)

# %% [markdown]
# The Mouth answers what is drawn: where a drawing's lines show the lips only just apart, however far the true jaw
# is open underneath, it reads a nearly closed mouth.

# %%
nb.banner(S, "FaceFit")
