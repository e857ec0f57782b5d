"""``evaluate-real --real DIR``: every shipped model on real artist sketches and line drawings, against a template.

DIR is a real-sketch folder laid out as ``dev/<group>/sketches/NAME`` with ``dev/landmarks.json`` (for each
sketch, 468 FaceMesh 3-D landmarks in the sketch's pixels, smaller z nearer, taken on the paired photo). Default:
``$SKETCHFACE_REALSKETCH``. The landmarks are only ever measured against, never trained on.

The metric (the same as the folder's own ``score.py``): for each sketch, the Pearson r between the predicted
depth sampled at the landmark pixels and the landmarks' depth (-z), over the landmarks inside the prediction's
mask; averaged per group. Baseline "template": the face model's mean face placed by a similarity that maps its
eyes and mouth onto the landmarks' eyes and mouth (given the answer's alignment; a model finds the face itself).
The depth a model is scored on is the result's ``fine`` (its ``coarse`` for "face model only") pasted from its
``crop_box`` into the sketch's pixels.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from sketchface.errors import UserError

ENV_VAR = "SKETCHFACE_REALSKETCH"
GROUPS = ("cufs", "fs2k", "lines")
MP_EYES_MOUTH = ((33, 133), (362, 263), (13, 14))    # FaceMesh: eye corners, inner lips
ICT_EYES_MOUTH = ((36, 39), (42, 45), (62, 66))      # 68-point indices
# rows of the table: (name, SketchFace.from_pretrained coarse, which depth is scored, FaceFit frames the input)
BEFORE = "before: DP-CoarseNet + FineNet, ink box + locator (--before)"
MODELS = (("DP-CoarseNet + FineNet, without FaceFit's framing", "dp_coarse", "fine", False),
          ("DP-CoarseNet + FineNet", "dp_coarse", "fine", True),
          ("SP-CoarseNet + FineNet", "sp_coarse", "fine", True),
          ("SP-CoarseNet− + FineNet", "sp_coarse_minus", "fine", True),
          ("D-Net + FineNet", "dnet", "fine", True),
          ("DP-CoarseNet on the face model (PriorFusion)", "dp_face_model", "coarse", True),
          ("DP-CoarseNet on the face model + FineNet", "dp_face_model", "fine", True),
          ("face model only (FaceFit)", "face_model", "coarse", True),
          ("face model + FineNet", "face_model", "fine", True))
PICTURE = (("cufs", 4), ("fs2k", 3), ("lines", 1))


REPORT_JSON = "RESULTS_REAL.json"   # --results writes the report beside the markdown under this name


def find_real(path: str | os.PathLike | None = None) -> Path:
    p = Path(path or os.environ.get(ENV_VAR, ""))
    if not str(path or os.environ.get(ENV_VAR, "")) or not (p / "dev" / "landmarks.json").is_file():
        raise UserError(f"no real-sketch folder with dev/landmarks.json at {str(p) or '(none given)'}; pass --real "
                        f"DIR or set {ENV_VAR}")
    return p


def load_dev(root: Path, groups=GROUPS, limit: int = 0) -> list[dict]:
    """[{rel, group, path, points (468, 3)}] sorted by name; ``limit`` sketches per group (0 = all)."""
    refs = json.loads((root / "dev" / "landmarks.json").read_text())
    rows, count = [], {}
    for rel, ref in sorted(refs.items()):
        group = rel.split("/")[1]
        if group not in groups or (limit and count.get(group, 0) >= limit):
            continue
        count[group] = count.get(group, 0) + 1
        rows.append({"rel": rel, "group": group, "path": root / rel, "points": np.asarray(ref["points"], np.float64)})
    return rows


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() >= 20 else float("nan")


def sample(depth: np.ndarray, pts: np.ndarray) -> np.ndarray:
    h, w = depth.shape
    x = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
    y = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
    return depth[y, x]


def depth_in_input(result, which: str = "fine") -> np.ndarray:
    """The result's depth in the input's pixels (H, W) through its crop box; NaN outside its mask and the box.
    The depth is pasted back weighted by the mask and divided by the pasted mask, so that the background's zeros
    do not pull the face's rim down."""
    d = {"fine": result.fine, "coarse": result.coarse}[which]
    return pasted_depth(d, result.mask, result.crop_box, result.input_image.shape[:2])


def pasted_depth(depth: np.ndarray, mask: np.ndarray, crop_box, shape) -> np.ndarray:
    """A model-frame depth and mask pasted into the input's pixels (H, W) through ``crop_box``, as
    ``depth_in_input`` pastes a result's (NaN outside the mask)."""
    from sketchface.framing import paste_back

    valid = np.asarray(mask, np.float32)
    v = paste_back(valid, crop_box, shape)
    x = paste_back(valid * np.asarray(depth, np.float32), crop_box, shape)
    return np.where(v > 0.5, x / np.maximum(v, 1e-6), np.nan).astype(np.float32)


def similarity_2d(src: np.ndarray, dst: np.ndarray):
    """The 2-D similarity taking points ``src`` onto ``dst`` (least squares, no reflection): (scale, rotation
    (2, 2), src mean, dst mean), so that ``dst ≈ scale * (src - src_mean) @ rotation.T + dst_mean``."""
    sm, dm = src.mean(0), dst.mean(0)
    a, b = src - sm, dst - dm
    u, sv, vt = np.linalg.svd(b.T @ a)
    rot = u @ vt
    if np.linalg.det(rot) < 0:
        u[:, -1] *= -1
        rot = u @ vt
    return sv.sum() / (a ** 2).sum(), rot, sm, dm


def template_depth(face_model, pts: np.ndarray, h: int, w: int) -> np.ndarray:
    """The mean face placed by the landmarks' eyes and mouth (a 2-D similarity), z-buffered into (h, w)."""
    from sketchface.render import rasterize

    v = face_model.neutral.astype(np.float64)
    lm = face_model.landmarks68
    src = np.array([v[lm[list(i)]].mean(0)[:2] for i in ICT_EYES_MOUTH]) * [1, -1]   # y down
    dst = np.array([pts[list(i), :2].mean(0) for i in MP_EYES_MOUTH])
    sc, rot, sm, dm = similarity_2d(src, dst)
    xy = sc * (v[:, :2] * [1, -1] - sm) @ rot.T + dm
    zb = rasterize(xy.astype(np.float32) - 0.5, (v[:, 2] * sc).astype(np.float32), face_model.face_triangles,
                   (h, w)).zbuf
    return np.where(np.isfinite(zb), zb, np.nan)


def score_model(sf, rows: list[dict], whiches=("fine",), progress: bool = True, keep: set | None = None):
    """Per-sketch r of each depth in ``whiches`` ("fine", "coarse"; one pipeline run scores them all), and the
    results of the sketches named in ``keep``, for pictures. Returns ({which: rows}, {sketch: result})."""
    from tqdm.auto import tqdm

    out, kept = {w: [] for w in whiches}, {}
    for row in tqdm(rows, desc="evaluate-real", unit="sketch", disable=not progress, leave=False):
        r = sf(str(row["path"]), kind="lines" if row["group"] == "lines" else "sketch")
        for which in whiches:
            s = sample(depth_in_input(r, which), row["points"])
            out[which].append({"sketch": row["rel"], "group": row["group"], "r": pearson(s, -row["points"][:, 2]),
                               "coverage": float(np.isfinite(s).mean())})
        if keep and row["rel"] in keep:
            kept[row["rel"]] = r
    return out, kept


def summarise(rows: list[dict], template: dict[str, float]) -> dict:
    out = {}
    for g in GROUPS:
        rs = [r for r in rows if r["group"] == g]
        if not rs:
            continue
        m = np.array([r["r"] for r in rs])
        t = np.array([template[r["sketch"]] for r in rs])
        out[g] = {"n": len(rs), "r": round(float(np.nanmean(m)), 3),
                  "beats_template": round(float(np.mean(np.nan_to_num(m, nan=-1) > t)), 3),
                  "coverage": round(float(np.mean([r["coverage"] for r in rs])), 3)}
    return out


def template_scores(fm, rows: list[dict]) -> dict[str, float]:
    """r of the mean-face template (placed by the true eyes and mouth) on each dev sketch, by its ``rel``."""
    from PIL import Image

    out = {}
    for row in rows:
        w, h = Image.open(row["path"]).size
        out[row["rel"]] = pearson(sample(template_depth(fm, row["points"], h, w), row["points"]), -row["points"][:, 2])
    return out


def evaluate_real(checkpoints, real, models=MODELS, limit: int = 0, face_model=None, progress: bool = True,
                  picture: str | Path | None = None, before: str | Path | None = None) -> dict:
    """Every model row on the dev sketches. ``before``: another bundle (e.g. the checkpoints of an earlier commit)
    whose DP-CoarseNet + FineNet, framed without FaceFit, is scored first and shown as "before" in the picture
    (default: the first row)."""

    import torch

    from sketchface.facemodel import load_face_model
    from sketchface.pipeline import DEFAULT_BUNDLE, FUSED, SketchFace

    root = find_real(real)
    rows = load_dev(root, limit=limit)
    template = template_scores(load_face_model(face_model), rows)
    chosen = {r["rel"] for g, k in PICTURE for r in [x for x in rows if x["group"] == g][:k]}
    report = {"n": len(rows), "template": {}, "models": {}, "seconds": {}, "before": bool(before),
              "threads": torch.get_num_threads()}
    for g in GROUPS:
        t = [template[r["rel"]] for r in rows if r["group"] == g]
        if t:
            report["template"][g] = {"n": len(t), "r": round(float(np.nanmean(t)), 3)}
    runs = [(BEFORE, "dp_coarse", "fine", False, before)] if before else []
    runs += [(*m, checkpoints) for m in models
             if m[1] != FUSED or (Path(checkpoints) / DEFAULT_BUNDLE["fusion"] / "config.json").is_file()]
    groups: dict[tuple, list] = {}          # rows that differ only in the depth scored share one pipeline run
    for run in runs:
        groups.setdefault((run[1], run[3], str(run[4])), []).append(run)
    kept_all, results = {}, {}
    for (coarse, framed, bundle), members in groups.items():
        # the bundle of before is run as the pipeline then ran: the CoarseNet reads the input once (no mirror)
        sf = SketchFace.from_pretrained(bundle, coarse=coarse, face_model=face_model, facefit=framed,
                                        mirror=not (before and bundle == str(before)))
        t0 = time.time()
        per, kept = score_model(sf, rows, tuple(dict.fromkeys(m[2] for m in members)), progress, chosen)
        for name, _, which, *_ in members:
            report["seconds"][name] = round(time.time() - t0, 1)
            results[name] = summarise(per[which], template)
            kept_all[name] = kept
    report["models"] = {run[0]: results[run[0]] for run in runs}
    if picture:
        names = [r[0] for r in runs]
        real_picture(rows, chosen, kept_all[names[0]], kept_all[names[-1]], picture)
    return report


def markdown(report: dict) -> str:
    groups = [g for g in GROUPS if g in report["template"]]
    head = "| model | " + " | ".join(f"{g} r (n {report['template'][g]['n']})" for g in groups) + " | " + \
        " | ".join(f"{g} > template" for g in groups) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(groups))]
    lines.append("| mean-face template (placed by the true eyes and mouth) | " +
                 " | ".join(f"{report['template'][g]['r']:.3f}" for g in groups) + " | " +
                 " | ".join("–" for _ in groups) + " |")
    for name, s in report["models"].items():
        lines.append(f"| {name} | " + " | ".join(f"{s[g]['r']:.3f}" for g in groups) + " | " +
                     " | ".join(f"{s[g]['beats_template']:.0%}" for g in groups) + " |")
    return "\n".join(lines)


def shaded_view(mesh, yaw: float, size: int = 200) -> np.ndarray:
    """A grey Lambert picture of a trimesh seen from ``yaw`` degrees (orthographic, light from the upper left)."""
    from sketchface.render import normals_from_depth, rasterize, rotation_matrix

    v = np.asarray(mesh.vertices, np.float64)
    v = (v - v.mean(0)) @ rotation_matrix(yaw=yaw).T.astype(np.float64)
    ext = max(np.ptp(v[:, 0]), np.ptp(v[:, 1])) * 1.08
    px = size / ext
    xy = np.stack([size / 2 + v[:, 0] * px, size / 2 - v[:, 1] * px], 1).astype(np.float32)
    zb = rasterize(xy, (v[:, 2] * px).astype(np.float32), np.asarray(mesh.faces), (size, size)).zbuf
    mask = np.isfinite(zb)
    if not mask.any():
        return np.ones((size, size), np.float32)
    z = np.where(mask, zb, zb[mask].min())
    n = normals_from_depth(z.astype(np.float32), mask, 1.0)
    light = np.array([-0.45, 0.45, 0.77])
    g = np.clip(n @ (light / np.linalg.norm(light)), 0, 1) * 0.8 + 0.15
    return np.where(mask, g, 1.0).astype(np.float32)


def real_picture(rows, chosen, before: dict, after: dict, path, cell: int = 160):
    """One row per chosen sketch: the sketch, then each model's mesh from the front and from 45°."""
    import cv2
    from PIL import Image

    from sketchface.mesh import label

    strips = []
    for row in [r for r in rows if r["rel"] in chosen]:
        sk = np.asarray(Image.open(row["path"]).convert("L"), np.float32) / 255
        h, w = sk.shape
        s = cell / max(h, w)
        sk = cv2.resize(sk, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
        pad = np.ones((cell, cell), np.float32)
        pad[:sk.shape[0], :sk.shape[1]] = sk
        cells = [pad]
        for res in (before[row["rel"]], after[row["rel"]]):
            m = res.mesh()
            cells += [shaded_view(m, 0.0, cell), shaded_view(m, 45.0, cell)]
        strips.append(np.concatenate(cells, 1))
    pic = (np.repeat(np.concatenate(strips, 0)[..., None], 3, -1) * 255).astype(np.uint8)
    top = np.full((26, pic.shape[1], 3), 255, np.uint8)
    heads = ["real sketch", "before: front", "before: 45 deg", "now: front", "now: 45 deg"]
    top = np.concatenate([label(np.full((26, cell, 3), 255, np.uint8), t) for t in heads], 1)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([top, pic], 0)).save(path, quality=88)


def synthetic_err(checkpoints, data, n: int = 0, face_model=None, styles=("lines", "pencil")) -> dict:
    """Err and Err_inner (docs/RESULTS.md) on the synthetic test split, in the training framing, of DP-CoarseNet
    and of the face model FaceFit fits (no re-framing: the drawing is already in the training framing)."""
    from sketchface.evaluate import RIM, STYLE_KEYS, load_split, predict
    from sketchface.facemodel import load_face_model
    from sketchface.framing import flatten_paper
    from sketchface.metrics import depth_error, depth_error_parts, erode_mask
    from sketchface.nets import load_network
    from sketchface.prior import FacePrior
    from sketchface.pipeline import DEFAULT_BUNDLE
    from sketchface.train.fusion import joined

    keys = ("depth", "mask", *[STYLE_KEYS[s] for s in styles])
    test = load_split(data, "test", keys, n)
    outline, mouth = Path(checkpoints) / "outline", Path(checkpoints) / "mouth"
    prior = FacePrior(load_network(Path(checkpoints) / "facefit"), load_face_model(face_model),
                      outline=load_network(outline) if (outline / "config.json").is_file() else None,
                      mouth=load_network(mouth) if (mouth / "config.json").is_file() else None)
    dp = load_network(Path(checkpoints) / "dp_coarse")
    fusion = Path(checkpoints) / DEFAULT_BUNDLE["fusion"]
    fusion = load_network(fusion).float().eval() if (fusion / "config.json").is_file() else None
    gt, inner = test["depth"], erode_mask(test["mask"], RIM)
    size = gt.shape[-1]
    out = {}
    for style in styles:
        x = test[STYLE_KEYS[style]]
        net = predict(dp, x[:, None], "sketch", 16, "cpu")
        flat = np.stack([flatten_paper(img) for img in x])      # the drawings as the pipeline reads them
        fits = [prior.fit(img) for img in flat]
        face = np.stack([prior.render(f, size)[0] for f in fits])
        preds = [("DP-CoarseNet", net), ("face model only", face)]
        if fusion is not None:          # DP-CoarseNet's depth and the face model's, joined
            preds.append(("DP-CoarseNet on the face model", joined(fusion, flat, net, face)))
        if prior.outline is not None:   # the jaw onto the drawn outline, as the pipeline does for sketches
            rgb = [np.repeat(img[..., None], 3, -1) for img in flat]
            moved = [prior.follow_outline(im, (0, 0, size, size), (1.0, 1.0, 1.0), f) for im, f in zip(rgb, fits)]
            preds.append(("face model + Outline", np.stack([prior.render(f, size)[0] for f in moved])))
        out[style] = {"n": len(x)}
        for name, pred in preds:
            parts = depth_error_parts(gt, pred, test["mask"])
            out[style].update({f"{name} Err": round(parts["inside"] + parts["outline"], 1),
                               f"{name} Err_inner": round(depth_error(gt, pred, mask=inner), 1),
                               f"{name} Err inside both faces": round(parts["inside"], 1),
                               f"{name} Err outline": round(parts["outline"], 1)})
    return out




def real_section(report: dict, date: str | None = None) -> str:
    """The "Real sketches" section of docs/RESULTS.md (``write_results`` puts it between its markers)."""
    import datetime

    date = date or datetime.date.today().isoformat()
    secs = ", ".join(f"{k} {v:.0f} s" for k, v in report["seconds"].items())
    flags = (" --before OLD_BUNDLE" if report.get("before") else "") + (" --synthetic DATA" if report.get("synthetic")
                                                                        else "")
    return ("## Real sketches\n\n"
            f"Written by `python -m sketchface evaluate-real --real DIR{flags} --results docs/RESULTS.md` on {date}: "
            f"{report['n']} real drawings no renderer made (CUFS and FS2K artist sketches, DeepPS line drawings; "
            "their dev split, never trained on), each scored by the Pearson r between the model's depth at the "
            "468 FaceMesh landmarks of its photo and the landmarks' own depth (1 = the right shape up to scale "
            "and offset). The template is the face model's mean face placed by the *true* eyes and mouth; a model "
            "finds the face by itself. \"> template\" is the share of sketches on which the model's r is higher. "
            "OLD_BUNDLE: the checkpoints of an earlier commit (here those shipped before FaceFit, with the face "
            "locator); the rows after it use this bundle.\n\n"
            f"{markdown(report)}\n\nSeconds per pipeline run (all sketches, {report.get('threads', 2)} torch "
            "thread(s); rows that score the "
            f"coarse and the fine depth of one run share it): {secs}.\n"
            f"\nThe picture: the first sketches of each group (4 CUFS, 3 FS2K, 1 line drawing; not chosen), the mesh "
            f"the app serves, shaded, from the front and from 45°: *before* is the first row of the table, *now* "
            f"the last (the default pipeline).\n"
            f"{synthetic_markdown(report.get('synthetic'))}"
            "![real sketches](img/real_sketches.jpg)\n\nWhat the training data buys on these sketches (the artist "
            "style, hair, glasses and clothes; FaceFit and DP-CoarseNet fine-tuned with and without each): the "
            "\"Training data\" table below and docs/TRAINING.md, \"Artist sketches\".")


def synthetic_markdown(syn: dict | None) -> str:
    if not syn:
        return ""
    cols = list(next(iter(syn.values())))[1:]
    lines = ["", "The same models on the synthetic test split (`--synthetic DATA`; "
             f"{next(iter(syn.values()))['n']} test drawings of each style, training framing, coarse depth; "
             "Err on 0..255 depth as above; Err = Err inside both faces + Err outline, the first over the pixels that "
             "both the true and the predicted face cover, the second over those only one of them covers, each "
             "divided by every pixel):", "", "| input | " + " | ".join(cols) + " |",
             "|---|" + "---|" * len(cols)]
    lines += [f"| {style} | " + " | ".join(f"{row[c]:.1f}" for c in cols) + " |" for style, row in syn.items()]
    return "\n".join(lines) + "\n"


def write_results(report: dict, path: str | Path) -> None:
    """Put the real-sketch section between its markers in ``path`` (appended when absent)."""
    from sketchface.results import write_block

    write_block(path, "real-sketches", real_section(report))


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate-real", help="every model on real sketches (FaceMesh landmarks) against a template",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", default="checkpoints")
    p.add_argument("--real", default=None, help=f"real-sketch folder (default ${ENV_VAR})")
    p.add_argument("--limit", type=int, default=0, help="first N sketches of each group (0 = all)")
    p.add_argument("--models", nargs="*", default=None, help="names of MODELS rows to run (default: all)")
    p.add_argument("--json", default=None, help="write the report as JSON here (default with --results: "
                                               "RESULTS_REAL.json beside the markdown file)")
    p.add_argument("--results", default=None, help="put the table into this markdown file (docs/RESULTS.md)")
    p.add_argument("--picture", default=None, help="write the before/after picture here (docs/img/real_sketches.jpg)")
    p.add_argument("--before", default=None, metavar="DIR",
                   help="an earlier checkpoint bundle: its DP-CoarseNet + FineNet (no FaceFit) is the first row and "
                        "the picture's 'before'")
    p.add_argument("--synthetic", default=None, metavar="DATA",
                   help="also measure DP-CoarseNet and the face model on this make-data folder's test split")
    p.add_argument("--face-model", default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(a: argparse.Namespace) -> int:
    models = MODELS
    if a.models:
        unknown = set(a.models) - {m[0] for m in MODELS}
        if unknown:
            raise UserError(f"unknown model(s) {sorted(unknown)}; choose from {[m[0] for m in MODELS]}")
        models = tuple(m for m in MODELS if m[0] in a.models)
    report = evaluate_real(a.checkpoints, a.real, models, a.limit, a.face_model, not a.no_progress, a.picture,
                           a.before)
    if a.synthetic:
        report["synthetic"] = synthetic_err(a.checkpoints, a.synthetic, face_model=a.face_model)
    print(markdown(report) + "\n" + synthetic_markdown(report.get("synthetic")))
    json_path = a.json or (Path(a.results).with_name(REPORT_JSON) if a.results else None)
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=1) + "\n")
    if a.results:
        write_results(report, a.results)
    return 0
