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
# # 05 · FineNet, the line loss and λ
#
#
# FineNet refines the coarse depth with the lines of the input sketch. CoarseNet and the line extractor LE
# are frozen. With $l = \mathrm{XDoG}(s)$ the refinement module predicts a displacement:
#
# $$ d_{fine} = d_{coarse} + d_{dis}, \quad d_{dis} = \mathrm{FineNet}(d_{coarse}, l), \quad l' = \mathrm{LE}(d_{fine}). $$
#
# $$ L_{line} = \|(1 - l)\cdot l'\|_1 \quad (9) \qquad L_{dis} = \tfrac{1}{|d|}\|d_{dis}\|^2 \quad (10) \qquad
# L = \lambda_{line} L_{line} + \lambda_{dis} L_{dis} \quad (11) $$
#
# Lines are 0 (black) on 1 (white): $(1-l)$ selects the input's line pixels, and $L_{line}$ is zero when $l'$
# is black there, i.e. when the fine depth implies every line of the sketch. $L_{dis}$ keeps the displacement
# small. The paper uses $\lambda_{line} = 0.85$, $\lambda_{dis} = 0.15$ and sweeps $\lambda_{line} + \lambda_{dis} = 1$
# to trade detail against faithfulness to the coarse face (its Figure 12).
#
# **λ on a slider.** Instead of one network per λ, the package trains FineNet *loss-conditioned* (as in "You
# Only Train Once", Dosovitskiy & Djolonga 2020): $\lambda_{line} \sim U(0, 1)$ per example, fed to the network
# (FiLM on its residual blocks and an extra input plane), and the loss of each example uses its own λ. One
# network then covers every λ at the cost of one forward pass.
#
# **Lines nobody drew.** $L_{line}$ only asks $l'$ to be dark where $l$ has a line; a crease elsewhere costs
# FineNet nothing but $L_{dis}$, and on sparse pad drawings it learns to crease the whole face. The package adds
# (not in the paper; `lambda_extra=0` is the paper's loss) a term inside the $\lambda_{line}$ part that counts
# how much darker $l'$ is than the lines of the coarse depth, $l'_c = \mathrm{LE}(d_{coarse})$, away from $l$'s lines:
# $$ L_{extra} = \tfrac{1}{|l|}\|\mathrm{off}(l)\cdot \max(l'_c - l', 0)\|_1, \qquad
# L = \lambda_{line}(L_{line} + w_{extra} L_{extra}) + \lambda_{dis} L_{dis}. $$
# The sweep below reports the mean |displacement| on the drawn lines and off them (creases nobody drew).
#
# **A gate around the drawn lines** (not in the paper either; what the shipped FineNet uses). With
# `line_gate_radius` $r > 0$ the displacement is multiplied by a smooth gate $g(l)$: the ink $1 - l$ dilated by
# $r$ pixels and box-blurred by $r$, so it is 1 on a drawn line and 0 beyond about $2r$ pixels. FineNet can then
# deepen what was drawn but cannot crease the face anywhere else, and the displacement penalty can be weaker
# (`dis_scale: 3` instead of 10). On 200 test line drawings at $\lambda_{line} = 0.85$ (6,000-step DP-CoarseNet)
# it raises line recall by +0.111 over the coarse face (the ungated FineNet, same steps: +0.082), with
# |displacement| 10.9 on the lines and 0.26 away from them (ungated: 2.7 and 2.0). The shipped FineNet also
# upsamples bilinearly in its decoder (`upsample: bilinear`, not in the paper: MUNIT's nearest upsampling leaves
# the deep grooves in 8-pixel blocks); on the shipped 18,000-step DP-CoarseNet it raises recall by +0.075 on 800
# test line drawings, 9.4 depth levels on the lines and 0.22 away from them (docs/RESULTS.md).
#
# **Ablation (Table 6).** Replacing $L_{line}$ by a depth loss, $L_{dis} + L_{3d}$, needs ground-truth depth and
# ignores the sketch's lines.

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
from sketchface import notebook as nb

S = nb.setup(smoke=SMOKE, preset=PRESET, device=DEVICE, data=DATA, steps=STEPS)

# %%
nb.get_face_model()        # $SKETCHFACE_FACE_MODEL, the user cache, or `fetch-face-model` (needs internet once)
data = nb.ensure_data(S)   # the synthetic world at S.size px (see 01_data_and_lines)

# %% [markdown]
# ## CoarseNet and the line extractor (frozen)
#
# The lite preset's trained networks when present; otherwise short runs here.

# %%
steps = S.steps_for(default_cpu=40, default_gpu=2000)
coarse_dir = nb.checkpoint_folder(S, "dp_coarse")
lines_dir = nb.checkpoint_folder(S, "line_extractor")
if coarse_dir is None:
    coarse_dir = nb.train(S, "coarse", "dp_coarse", data, steps, variant="dp").path / "final"
if lines_dir is None:
    lines_dir = nb.train(S, "lines", "line_extractor", data, steps).path / "final"
print("CoarseNet:", coarse_dir, "| line extractor:", lines_dir)

# %% [markdown]
# ## Train FineNet (λ-conditioned, $L_{line} + L_{dis}$)

# %%
run = nb.train(S, "fine", "finenet", data, steps, coarse_ckpt=str(coarse_dir), lines_ckpt=str(lines_dir),
               dis_scale=3.0, net={**S.net("finenet"), "line_gate_radius": 2, "upsample": "bilinear"})
# dis_scale, gate and upsampling as configs/lite/fine.yaml
nb.plot_losses({"this run": run.path}, keys=["line", "extra", "dis", "total"])
nb.show_png(nb.last_samples(run.path), title="sketch | l | coarse | (displacement: red nearer, blue further; l') at λ = 0, 0.5, 1")

# %% [markdown]
# ## The λ sweep
#
# The trained FineNet (lite preset when present, else the run above) on test sketches: recall of the input's lines in $l'$, mean |displacement| and Err for each λ.

# %%
from sketchface.evaluate import EvalConfig, finenet_sweep, load_split
from sketchface.nets import load_network
coarse = load_network(coarse_dir, device=S.device).eval()
LE = load_network(lines_dir, device=S.device).eval()
fine, src = nb.find_trained(S, "finenet", fallback=run)
lite_run = nb.trained_run_dir("finenet") if S.use_trained else None
if lite_run:
    nb.plot_losses({"lite run": lite_run}, keys=["line", "extra", "dis", "total"], title="lite training run")
test = load_split(data, "test", ("sketch_pencil", "sketch_lines", "depth", "mask"),
                  n=8 if S.smoke else (256 if S.device.startswith("cuda") else 32))
ecfg = EvalConfig(device=S.device, batch=16)
sweep = finenet_sweep(coarse, LE, fine, test, ecfg, "pencil")
print(f"{'model':22s} {'λ_line':>6s} {'recall':>7s} {'precision':>9s} {'|disp|':>7s} {'on l':>6s} {'off l':>6s} "
      f"{'Err':>7s}")
for r in sweep:
    lam = "–" if r["lambda_line"] is None else f"{r['lambda_line']:.2f}"
    print(f"{r['model']:22s} {lam:>6s} {r['recall']:7.3f} {r['precision']:9.3f} {r['mean_abs_disp']:7.3f} "
          f"{r['disp_on']:6.2f} {r['disp_off']:6.2f} {r['err']:7.2f}")
import matplotlib.pyplot as plt
lam = [r["lambda_line"] for r in sweep[1:]]
fig, ax = plt.subplots(1, 2, figsize=(7, 2.4))
ax[0].plot(lam, [r["recall"] for r in sweep[1:]], "o-"); ax[0].axhline(sweep[0]["recall"], ls="--", c="gray")
ax[0].set(xlabel="λ_line", ylabel="line recall of l' (dashed: coarse)")
ax[1].plot(lam, [r["mean_abs_disp"] for r in sweep[1:]], "o-"); ax[1].set(xlabel="λ_line", ylabel="mean |displacement| (0..255)")
fig.tight_layout(); plt.show()

# %% [markdown]
# ### What λ does, to the eye
#
# A few hundred CPU steps teach FineNet little: its displacement is near zero everywhere and $l'$ hardly changes
# with λ. The figure puts the run above (or, on a checkout with the lite checkpoints, the shipped FineNet: 2,000
# steps) beside it. Red is nearer, blue further, white untouched, on one symmetric scale per network: as
# $\lambda_{line}$ grows, FineNet deepens the drawn lines (the displacement concentrates on them) and $l'$ takes
# more of the drawing's lines; at $\lambda_{line} = 0$ only $L_{dis}$ counts and the displacement vanishes.

# %%
moved = nb.lambda_effect(S, coarse, LE, {"this run": run.net.eval(), "trained FineNet": fine},
                         test["sketch_pencil"][1])
for name, v in moved.items():
    print(f"{name:28s} mean |displacement| on the face at λ_line 0, 0.5, 1: " + ", ".join(f"{x:.2f}" for x in v))

# %% [markdown]
# One sketch through the whole pipeline at several λ (top: shaded fine depth; bottom: $l'$):

# %%
sf = nb.sketchface_from(S, coarse, LE, fine)
sketch = test["sketch_pencil"][1]
r0 = sf(sketch, lambda_line=0.85, kind="sketch")
sw = sf.lambda_sweep(r0, (0.0, 0.5, 0.85, 1.0))
nb.show_grid([[r0.image, r0.lines] + [nb.shaded(r.fine, r.mask) for r in sw],
              [None, nb.shaded(r0.coarse, r0.mask)] + [r.lines_pred for r in sw]],
             ["input", "l / coarse"] + [f"λ = {r.lambda_line}" for r in sw], cell=1.5)
nb.show_plotly(nb.depth_surfaces([r0.coarse, sw[-1].fine], ["coarse", "fine, λ = 1"], [r0.mask, r0.mask]))

# %% [markdown]
# ## Ablation: $L_{dis} + L_{3d}$ instead of $L_{line} + L_{dis}$ (Table 6)

# %%
abl = nb.train(S, "fine", "finenet-dis3d", data, steps, coarse_ckpt=str(coarse_dir), lines_ckpt=str(lines_dir),
               loss="dis+3d", lambda_conditioned=False)
abl_net, _ = nb.find_trained(S, "finenet_dis3d", fallback=abl)
rows = finenet_sweep(coarse, LE, abl_net, test, EvalConfig(device=S.device, batch=16, lambdas=(0.85,)),
                     "pencil", "L_dis + L_3d")
at = [r for r in sweep if r["lambda_line"] == 0.85]
for r in [sweep[0]] + at + rows[1:]:
    print(f"{r['model']:22s} recall {r['recall']:.3f}  precision {r['precision']:.3f}  "
          f"|disp| {r['mean_abs_disp']:.3f}  Err {r['err']:.2f}")

# %%
nb.banner(S, "FineNet, λ sweep and the L_dis + L_3d ablation")
