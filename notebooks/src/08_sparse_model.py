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
# # 08 · The sparse-face-model pipeline (photo → 3-D face, classical)
#
#
# The second paper builds a 3-D face from a photo without a depth network:
#
# 1. **detect** the face (Haar cascade; the ink box for drawings), 2. locate **68 feature points** with an
# Active Shape Model (the paper's; here the default is *learned* points: the 68 landmarks of the face model that
# FaceFit, the sketch pipeline's network, fits to the input), 3. a small **CNN** (3 conv + 2 fully connected layers, softmax over the database
# identities) embeds the aligned face and **retrieves the $k$ most similar faces** of a 3-D database by comparing
# with the database's frontal projections, 4. their average is the **statistical face**
#
# $$ \bar S = \frac{1}{k}\sum_{i=1}^{k} S_{(i)}, $$
#
# 5. the depth of the input's 2-D feature points comes from the retrieved faces' feature points: the **sparse face
# model** (68 3-D points), 6. a **thin-plate spline** carries the statistical face onto them, separately for
# $x$, $y$ and $z$:
#
# $$ f(p) = a_0 + a^\top p + \sum_{i=1}^{68} w_i\, \varphi(\|p - c_i\|), \qquad f(c_i) = c'_i, \qquad
# \varphi(r) = r^2 \log r, $$
#
# 7. the photo is projected onto the mesh and **Poisson fusion** fills what the photo cannot see (ears, the far
# cheek): inside the unseen region $\Omega$, $\Delta f = \Delta g$ (the gradients of a donor texture $g$) with
# $f$ equal to the photo's colours on $\partial\Omega$.
#
# The "3-D database" here is made from the face model (500 identities: 200 searchable, 200 for testing).

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

# %% [markdown]
# ## The 3-D database

# %%
from sketchface.facemodel import load_face_model
from sketchface.sparse.database import DatabaseConfig, build_database
from sketchface.sparse.pipeline import SparseFace, default_folder
import json
fm = load_face_model(nb.get_face_model())
shipped = default_folder()
use_shipped = (S.use_trained and (shipped / "sparse.json").is_file() and (shipped / "cnn" / "config.json").is_file())
if use_shipped:
    db_cfg = DatabaseConfig.from_dict(json.loads((shipped / "sparse.json").read_text())["database"])
elif S.smoke:
    db_cfg = DatabaseConfig(n_identities=16, n_train=8, n_test=8, image_size=64)
else:
    db_cfg = DatabaseConfig()
db = build_database(fm, db_cfg)
print(f"{db_cfg.n_identities} faces of {db.vertices.shape[1]} vertices; searchable ids 0..{db_cfg.n_train - 1}, "
      f"test ids {db_cfg.n_train}..{db_cfg.n_train + db_cfg.n_test - 1}")
nb.show_grid([[db.projection(int(i)) for i in db.train_ids[:6]]], [f"id {i}" for i in db.train_ids[:6]],
             suptitle="frontal projections of database faces (what the CNN compares a photo with)")

# %% [markdown]
# ## The ASMs and the recognition CNN
#
# The shipped ones (`checkpoints/sparse/`, written by `python -m sketchface train-sparse`) when present, else trained here on renders of the database faces.

# %%
from sketchface.sparse.train import train_all
if use_shipped:
    folder = shipped
    print("sparse checkpoints:", folder)
else:
    steps = S.steps_for(default_cpu=300, default_gpu=3000)
    folder = S.runs / "sparse"
    rep = train_all(fm, db, folder, size=32 if S.smoke else (224 if S.device.startswith("cuda") else 64),
                    steps=steps, batch=4 if S.smoke else 64, views=2 if S.smoke else 12, asm_views=2,
                    cache=S.runs / "sparse-cache", render_size=96 if S.smoke else 160, progress=False,
                    recipe="robust")
    print(f"ASM: {rep['asm']['shapes']} training shapes, {rep['asm']['modes']} modes ({rep['asm']['seconds']} s); "
          f"CNN: {rep['cnn']['train_images']} images, {steps} steps ({rep['cnn']['seconds']} s), last {rep['cnn']['final']}")
sf = SparseFace.from_checkpoints(folder, database=db)
print("feature points:", sf.points)

# %% [markdown]
# ## Feature points: the paper's ASM and the learned ones
#
# Normalised mean error (mean distance / outer-eye-corner distance) against the exact points of a few test renders. The full table (200 renders, real photos too) is in docs/RESULTS_SPARSE.md.

# %%
from sketchface.sparse.asm import nme
from sketchface.sparse.detect import NoFaceError
from sketchface.sparse.pipeline import draw_detection
from sketchface.sparse.evaluate import test_input
methods = ["asm"] + (["facefit"] if sf.prior is not None else [])
errors, shown = {m: [] for m in methods}, []
for j in db.test_ids[:4 if S.smoke else 12]:
    im, r = test_input(db, int(j), size=128 if S.smoke else 256)
    rgb = im.astype(np.float32) / 255
    try:
        found = {m: sf.locate(rgb, "photo", m) for m in methods}
    except NoFaceError:
        continue
    for m, (det, pts) in found.items():
        errors[m].append(float(nme(pts[None], r.landmarks[None])[0]))
    if not shown:
        shown = [draw_detection(im, det.box, pts) for m, (det, pts) in found.items()]
print({m: f"NME {np.mean(e):.4f} on {len(e)} faces" for m, e in errors.items()})
if shown:
    nb.show_grid([shown], [f"{m} points" for m in methods], cell=2.2)

# %% [markdown]
# ## One test face, stage by stage

# %%
from sketchface.render import render_face
from sketchface.sparse.evaluate import test_input
i = int(db.test_ids[0])
img, truth = test_input(db, i, size=128 if S.smoke else 256)
res = sf(img, kind="photo")
print(f"detected by {res.detection_method}; retrieved ids {res.retrieved_ids.tolist()}; timings "
      + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in res.timings.items()))
nb.show_grid([[img, res.draw()] + list(res.thumbnails[:5])],
             ["input (test face)", "box + 68 points"] + [f"similar {k + 1}" for k in range(5)], cell=1.5)
def depth_of(vertices, size=128):
    r = render_face(vertices, db.triangles, db.landmarks68, size)
    return r.depth, r.mask
maps = {"mean of the database": depth_of(db.mean_face(db.train_ids)),
        "statistical face (k similar)": depth_of(res.statistical_vertices),
        "sparse model + TPS": depth_of(res.vertices), "ground truth": depth_of(db.vertices[i])}
nb.show_grid([[nb.shaded(d, m) for d, m in maps.values()]], list(maps), cell=1.7)
nb.show_plotly(nb.depth_surfaces([maps["sparse model + TPS"][0], maps["ground truth"][0]],
                                 ["sparse model + TPS", "ground truth"],
                                 [maps["sparse model + TPS"][1], maps["ground truth"][1]]))
print("textured mesh:", res.save_glb(S.runs / "sparse_face.glb"))

# %% [markdown]
# ## A sketch as input
#
# Drawings get their points the same way (the learned ones, or the sketch ASM) and retrieve by landmark geometry (no photo texture).

# %%
from sketchface.sparse.database import random_view
from sketchface.sparse.detect import NoFaceError
sketch, _ = random_view(fm, db, i, 128 if S.smoke else 256, np.random.default_rng(1), kind="sketch")
try:
    rs = sf(sketch, kind="sketch")
    nb.show_grid([[sketch, rs.draw(), nb.shaded(*depth_of(rs.vertices))]], ["sketch", "box + points", "3-D face"], cell=1.8)
except NoFaceError as exc:
    print("no face found in the sketch:", exc)

# %% [markdown]
# ## Evaluation on test faces
#
# Per-vertex Euclidean error to the ground-truth mesh and depth error at 7 feature points (brows, eyes, nose tip, mouth corners), in millimetres, for the whole pipeline and its ablations (`python -m sketchface evaluate-sparse` runs the full version).

# %%
from sketchface.sparse.evaluate import eval_reconstruction
ev = eval_reconstruction(db, sf, n=len(db.test_ids) if S.smoke else 20, progress=False)
print(f"{ev['faces']} test faces (no face found in {ev['no_face_found']}), k = {ev['k']}")
print(f"{'method':48s} {'Euclidean mm':>12s} {'7-pt depth mm':>13s}")
for r in ev["table"]:
    print(f"{r['method']:48s} {r['euclidean_mm']:12.2f} {r['depth7_abs_mm']:13.2f}")
print("ms per face:", {k: round(v, 1) for k, v in ev["ms_per_face"].items()})

# %%
nb.banner(S, "sparse-model pipeline")
