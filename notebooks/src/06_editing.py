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
# # 06 · Editing a face by editing its lines
#
#
# FineNet reads the lines $l$, so changing $l$ changes the 3-D face: **add** a line (a wrinkle, a scar) and
# FineNet carves it into the depth; **remove** lines and their detail flattens. Only FineNet and the line
# extractor run again (`SketchFace.refine`), not CoarseNet:
#
# $$ d'_{fine} = d_{coarse} + \mathrm{FineNet}(d_{coarse},\ l_{edited},\ \lambda_{line}). $$

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

# %%
steps = S.steps_for(default_cpu=40, default_gpu=2000)
nets = nb.ensure_networks(S, data, steps)
sf = nb.sketchface_from(S, nets["dp_coarse"], nets["line_extractor"], nets["finenet"])
test = nb.load_samples(data, "test", n=4, keys=("sketch_pencil", "sketch_lines"))
result = sf(test["sketch_pencil"][2], lambda_line=0.85, kind="sketch")
print(f"input framed by '{result.framing_method}' into {result.size}² px")
nb.show_grid([[result.image, result.lines, nb.shaded(result.coarse, result.mask),
               nb.shaded(result.fine, result.mask), result.lines_pred]],
             ["input", "lines l", "coarse", "fine", "l' of fine"], cell=1.7)

# %% [markdown]
# ## Add lines: forehead wrinkles and a cheek scar

# %%
import cv2
n = result.size
added = result.lines.copy()
ys, xs = np.nonzero(result.mask)
top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
w = max(1, n // 128)
for k in range(3):   # three forehead wrinkles
    y = int(top + (0.12 + 0.05 * k) * (bottom - top))
    pts = np.array([[left + (right - left) * t, y + 0.015 * n * np.sin(np.pi * t * 2)] for t in np.linspace(0.3, 0.7, 12)])
    cv2.polylines(added, [pts.astype(np.int32)], False, 0.0, w, cv2.LINE_AA)
cx, cy = int(left + 0.72 * (right - left)), int(top + 0.6 * (bottom - top))
cv2.line(added, (cx - n // 16, cy - n // 20), (cx + n // 24, cy + n // 16), 0.0, w, cv2.LINE_AA)   # a scar
edited = sf.refine(result, lines=added)
diff = edited.fine - result.fine
print(f"depth change: max {np.abs(diff).max() * 255:.2f} (0..255 scale), inside the face mean {np.abs(diff[result.mask]).mean() * 255:.3f}")
nb.show_grid([[added, nb.shaded(result.fine, result.mask), nb.shaded(edited.fine, edited.mask),
               0.5 + diff / max(np.abs(diff).max(), 1e-6) * 0.5, edited.lines_pred]],
             ["edited lines", "fine before", "fine after", "change (grey = 0)", "l' after"], cell=1.7)
nb.show_plotly(nb.depth_surfaces([result.fine, edited.fine], ["before", "after adding lines"],
                                 [result.mask, edited.mask]))

# %% [markdown]
# ## Remove lines: erase the lower half of the face
#
# White paint over $l$ removes those lines; the detail FineNet added for them goes away.

# %%
removed = result.lines.copy()
removed[int(top + 0.55 * (bottom - top)):, :] = 1.0
flat = sf.refine(result, lines=removed)
d2 = flat.fine - result.fine
nb.show_grid([[removed, nb.shaded(result.fine, result.mask), nb.shaded(flat.fine, flat.mask),
               0.5 + d2 / max(np.abs(d2).max(), 1e-6) * 0.5]],
             ["lines with a part erased", "fine before", "fine after", "change"], cell=1.7)
print(f"mean |displacement| in the erased part: before {np.abs(result.displacement[int(top + 0.55 * (bottom - top)):]).mean() * 255:.3f}, "
      f"after {np.abs(flat.displacement[int(top + 0.55 * (bottom - top)):]).mean() * 255:.3f} (0..255 scale)")

# %% [markdown]
# ## Edits and λ together
#
# The same edited lines at several $\lambda_{line}$: λ says how strongly the lines are followed.

# %%
sweep = sf.lambda_sweep(edited, (0.0, 0.5, 1.0))
nb.show_grid([[nb.shaded(r.fine, r.mask) for r in sweep]], [f"λ = {r.lambda_line}" for r in sweep], cell=1.8)
out = edited.save(S.runs / "edited_face")
print("saved:", ", ".join(sorted(p.name for p in out.values())))

# %%
nb.banner(S, "editing")
