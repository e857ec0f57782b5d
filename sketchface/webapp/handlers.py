"""The functions behind the app's buttons and sliders, callable without a browser.

Each handler takes the values of the interface's components and returns the values of its outputs. The result of
the last run lives in a per-session state dict ``{"result": Reconstruction, "model": label, "lines0": l, ...}``
so that moving the λ slider, editing lines or redrawing re-runs at most FineNet. Errors meant for the user
(``sketchface.errors``: an input that cannot be used, a model that is not there) become ``gr.Error`` with their
one-sentence message, each in its own words; anything unexpected is
logged and reported as one line, and the server keeps serving.
"""
from __future__ import annotations

import functools
import itertools
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from sketchface.errors import CheckpointError, InputError
from sketchface.framing import MIN_SIDE
from sketchface.mesh import label
from sketchface.xdog import XDOG_DEFAULTS
from sketchface.webapp import figures
from sketchface.webapp.models import ModelBank

log = logging.getLogger(__name__)

SOURCES = ("draw", "upload", "photo")
SHOW = ("fine", "coarse", "side by side")
RESOLUTIONS = {"full (a vertex per pixel)": 1, "half": 2, "quarter": 4}
SWEEP_LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)
SMALL_SIDE = 64                       # inputs smaller than this are accepted with a warning
EXPORT_MAX_AGE_S = 3600               # export folders older than this are removed
_VERSIONS = itertools.count(1)


NO_MODEL = "The model is not available"   # a CheckpointError's words, before its sentence


def error_boundary(errors: tuple[type[Exception], ...] = (InputError,), title: str = "Cannot use this input",
                   retry: str = "Try another input.", bug_title: str = "Error"):
    """Decorator: the package's one-sentence errors (``errors``) become gr.Error with ``title``; a missing or broken
    model (``CheckpointError``, e.g. the pipeline's) says so first, in its own words; anything else (a bug) is
    logged and reported as one line, and the server keeps serving."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except CheckpointError as exc:        # the model, not the input (gradio's toast shows no title)
                raise gr.Error(f"{NO_MODEL}: {str(exc)}", title=NO_MODEL) from None
            except errors as exc:
                raise gr.Error(_sentence(str(exc)), title=title) from None
            except Exception:
                log.exception("%s failed", fn.__name__)      # the details go to the server log, not the visitor
                raise gr.Error(f"Something went wrong on our side with this input. {retry}", title=bug_title) from None
        return wrapper
    return decorate


user_errors = error_boundary()


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    return (text[:1].upper() + text[1:]) if text else "The input cannot be used."


def _note(message: str) -> None:
    """Show a warning toast when running inside the app; log it otherwise."""
    try:
        gr.Warning(message)
    except Exception:  # outside an event: nothing to show
        pass
    log.info(message)


# --------------------------------------------------------------------------------------------- inputs

def pad_image(pad: Any) -> np.ndarray | None:
    """The composite of a sketch pad value ({background, layers, composite}) or an array; None when empty."""
    if pad is None:
        return None
    if isinstance(pad, dict):
        comp = pad.get("composite")
        if comp is None:
            layers = [x for x in (pad.get("layers") or []) if x is not None]
            comp = layers[-1] if layers else pad.get("background")
        pad = comp
    if pad is None:
        return None
    from sketchface.framing import load_image, to_gray

    g = to_gray(load_image(pad))
    if (g < 0.5).sum() < 10:
        return None
    return (np.clip(g, 0, 1) * 255 + 0.5).astype(np.uint8)


def inspect_upload(path: str | Path) -> list[str]:
    """Warnings worth showing about an uploaded file that can still be used (animation, transparency, size)."""
    from PIL import Image

    notes = []
    try:
        with Image.open(path) as im:
            w, h = im.size
            if getattr(im, "n_frames", 1) > 1:
                notes.append(f"The image is animated ({im.n_frames} frames): its first frame is used.")
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                notes.append("The image has transparent parts: they are read as white paper.")
            if MIN_SIDE <= min(w, h) < SMALL_SIDE:
                notes.append(f"The image is only {w}x{h} pixels: the face will be coarse.")
    except Exception:  # unreadable files are reported by load_image with a clear message
        return []
    return notes


def choose_input(source: str, pad: Any, upload: Any, photo: Any, upload_kind: str = "auto"):
    """-> (image, kind) for the active input tab, or an InputError that says what to do."""
    if source not in SOURCES:
        raise InputError(f"unknown input source {source!r}; use one of {', '.join(SOURCES)}")
    if source == "draw":
        img = pad_image(pad)
        if img is None:
            raise InputError("the sketch pad is blank: draw a face (outline, eyes, nose, mouth) first")
        return img, "lines"
    value = upload if source == "upload" else photo
    if value is None:
        what = "a sketch or line drawing" if source == "upload" else "a photo of a face"
        raise InputError(f"no image was uploaded: drop {what} on the upload box first")
    if isinstance(value, (str, Path)):
        for message in inspect_upload(value):
            _note(message)
    if source == "photo":
        return value, "photo"
    kind = upload_kind if upload_kind in ("auto", "sketch", "lines", "photo") else "auto"
    return value, kind


# --------------------------------------------------------------------------------------------- views

@dataclass
class View:
    """What every run shows: the surface, l, l', the displacement heat map, the model input, a summary line."""
    surface: Any
    lines: np.ndarray
    lines_pred: np.ndarray
    heatmap: np.ndarray
    model_input: np.ndarray
    info: str
    state: dict

    def as_tuple(self) -> tuple:
        return (self.surface, self.lines, self.lines_pred, self.heatmap, self.model_input, self.info, self.state)


def line_recall(result) -> float:
    from sketchface.metrics import line_scores

    return float(line_scores(result.lines, result.lines_pred)["recall"])


def face_mesh(result, which: str = "fine", relief: float = 1.0):
    """The mesh a 3-D view shows: the fitted head when there is one, else the trusted heightfield, at most
    figures.PLOT_MAX_SIDE vertices a side."""
    step = max(1, int(np.ceil(result.size / figures.PLOT_MAX_SIDE)))
    return result.mesh(which, relief=relief, step=step)


def surface_for(result, relief: float = 1.0, show: str = "fine"):
    fine = f"fine (λ_line {result.lambda_line:.2f})"
    if show == "coarse":
        panels = [("coarse", face_mesh(result, "coarse", relief))]
    elif show == "side by side":
        panels = [("coarse", face_mesh(result, "coarse", relief)), (fine, face_mesh(result, "fine", relief))]
    else:
        panels = [(fine, face_mesh(result, "fine", relief))]
    return figures.meshes_figure(panels)


def model_input_picture(result) -> np.ndarray:
    """The framed model input; for a photo, the photo beside the CycleGAN sketch made of it."""
    pic = figures.to_uint8(result.image)
    if result.kind == "photo" and result.sketch is not None:
        pic = np.concatenate([pic, np.full((pic.shape[0], 6, 3), 255, np.uint8), figures.to_uint8(result.sketch)], 1)
    return pic


KIND_WORDS = {"lines": "a line drawing", "sketch": "a shaded sketch", "photo": "a photo"}


def kind_sentence(result, source: str | None = None) -> str:
    """How the input was read, in words, with the one-click way to correct it when it was guessed."""
    words = f"Read as **{KIND_WORDS.get(result.kind, result.kind)}**"
    if source == "upload":
        other = "sketch" if result.kind == "photo" else "photo"
        words += f" (not right? set *It is a* to *{other}*)"
    return words


def render_view(state: dict, relief: float = 1.0, show: str = "fine") -> View:
    r = state["result"]
    lam = r.lambda_line
    parts = [kind_sentence(r, state.get("source")), f"**{state.get('model', '')}**"]
    if state.get("refine", True):
        parts.append(f"lines kept {100 * lam:.0f} % (λ_line {lam:.2f} / λ_dis {1 - lam:.2f})")
    parts += [f"line recall {line_recall(r):.2f}",
              f"mean |displacement| {figures.mean_abs_displacement_mm(r.displacement, r.mask):.2f} mm",
              f"framing: {r.framing_method}"]
    if state.get("edited"):
        parts.append("edited lines")
    parts = [f"⚠️ **{note}**" for note in r.notes()] + parts
    return View(surface=surface_for(r, relief, show), lines=figures.to_uint8(r.lines),
                lines_pred=figures.to_uint8(r.lines_pred), heatmap=figures.heatmap_image(r.displacement, r.mask),
                model_input=model_input_picture(r), info=" · ".join(parts), state=state)


# --------------------------------------------------------------------------------------------- the app

class AppLogic:
    """Handlers over a loaded ModelBank. Every public method is one interface event."""

    def __init__(self, bank: ModelBank, export_root: str | Path | None = None):
        self.bank = bank
        self.export_root = Path(export_root) if export_root else Path(tempfile.gettempdir()) / "sketchface_app"

    def _need_result(self, state: dict | None) -> dict:
        if not state or state.get("result") is None:
            raise InputError("there is no face yet: draw or upload one and press Reconstruct first")
        return state

    # ------------------------------------------------------------------------------ full reconstruction
    @user_errors
    def reconstruct(self, source: str, pad: Any, upload: Any, photo: Any, model: str, lambda_line: float,
                    upload_kind: str = "auto", sigma: float = 0.8, k: float = 1.6, tau: float = 0.98,
                    epsilon: float = 0.0, phi: float = 200.0, relief: float = 1.0, show: str = "fine",
                    progress=gr.Progress()) -> tuple:
        t0 = time.perf_counter()
        if progress is not None:
            progress(0.1, desc="Reading the input")
        sf, choice = self.bank.get(model)
        image, kind = choose_input(source, pad, upload, photo, upload_kind)
        # only the parameters moved off their defaults: photos start from their own (pipeline.PHOTO_XDOG)
        xdog = {name: v for name, v in dict(sigma=sigma, k=k, tau=tau, epsilon=epsilon, phi=phi).items()
                if v != XDOG_DEFAULTS[name]}
        if progress is not None:
            progress(0.4, desc="CoarseNet and FineNet")
        tm = time.perf_counter()
        # what is drawn on the pad is taken as it grows (a first stroke is no face yet); uploads and photos are
        # refused when they hold no face (the bundle's FaceCheck)
        result = sf(image, lambda_line=lambda_line, kind=kind, xdog=xdog, refine=choice.refine,
                    check_face=source != "draw")
        model_ms = (time.perf_counter() - tm) * 1e3
        state = {"result": result, "model": choice.label, "refine": choice.refine, "lines0": result.lines,
                 "edited": False, "source": source if upload_kind == "auto" else None}
        if progress is not None:
            progress(0.9, desc="Drawing the surface")
        return self._finish(state, t0, model_ms, relief, show)

    @staticmethod
    def cleared(message: str = "Nothing to show: see the message above, then try again") -> tuple:
        """What every output of a run (the view, the 3-D model and the downloads) shows after a refusal or an
        error: no old face under the message."""
        return (figures.empty_figure(message), None, None, None, None, "", None, None, None)

    def reconstruct_live(self, live: bool, source: str, pad: Any, *args) -> tuple:
        """After each stroke on the pad: like reconstruct, but silent while the pad is blank or live is off."""
        if not live or source != "draw" or pad_image(pad) is None:
            return tuple(gr.skip() for _ in range(7))
        return self.reconstruct(source, pad, *args)

    def _finish(self, state: dict, t0: float, model_ms: float, relief: float, show: str,
                unchanged: tuple[str, ...] = ()) -> tuple:
        """The view of ``state``; the pictures named in ``unchanged`` are not sent again (gradio writes each picture
        as a file that the browser then fetches)."""
        state["version"] = next(_VERSIONS)                 # names this result for the export cache
        view = render_view(state, relief, show)
        server_ms = (time.perf_counter() - t0) * 1e3
        state["timing"] = {"model_ms": model_ms, "server_ms": server_ms}
        view.info += f" · model {model_ms:.0f} ms · server {server_ms:.0f} ms"
        for name in unchanged:
            setattr(view, name, gr.skip())
        return view.as_tuple()

    # ------------------------------------------------------------------------------ FineNet only
    def _refine(self, state: dict, lambda_line: float, lines=None):
        sf, choice = self.bank.get(state["model"])
        t = time.perf_counter()
        r = state["result"]
        if choice.refine:
            r = sf.refine(r, lambda_line=lambda_line, lines=lines)
        else:
            from dataclasses import replace
            from sketchface.pipeline import _check_lambda
            r = replace(r, lambda_line=_check_lambda(lambda_line))
        return r, (time.perf_counter() - t) * 1e3

    @user_errors
    def set_lambda(self, state: dict | None, lambda_line: float, relief: float = 1.0, show: str = "fine") -> tuple:
        """λ_line changed: FineNet on the cached coarse depth (and current lines)."""
        t0 = time.perf_counter()
        state = dict(self._need_result(state))
        state["result"], model_ms = self._refine(state, lambda_line)
        # the input's lines l and the framed input do not move with λ: the browser keeps them
        return self._finish(state, t0, model_ms, relief, show, unchanged=("lines", "model_input"))

    @user_errors
    def refine_lines(self, state: dict | None, edited: Any, lambda_line: float, relief: float = 1.0,
                     show: str = "fine") -> tuple:
        """Edited lines l (added wrinkles, removed lines) -> FineNet again: 3-D face editing. Returns the main
        view and a figure comparing the face from the original lines with the face from the edited ones."""
        t0 = time.perf_counter()
        state = dict(self._need_result(state))
        if not state.get("refine", True):
            raise InputError("editing lines needs FineNet: choose a model with '+ FineNet' and reconstruct")
        lines = edited_lines_at_model_size(editor_lines(edited), state["lines0"])
        state["result"], model_ms = self._refine(state, lambda_line, lines=lines)
        state["edited"] = True
        view = self._finish(state, t0, model_ms, relief, show)
        original, _ = self._refine(state, lambda_line, lines=state["lines0"])
        new = state["result"]
        compare = figures.meshes_figure([("from the original lines", face_mesh(original, "fine", relief)),
                                         ("from the edited lines", face_mesh(new, "fine", relief))])
        return view + (compare,)

    @user_errors
    def reset_lines(self, state: dict | None, lambda_line: float, relief: float = 1.0, show: str = "fine") -> tuple:
        """Back to the extracted lines l."""
        t0 = time.perf_counter()
        state = dict(self._need_result(state))
        state["result"], model_ms = self._refine(state, lambda_line, lines=state["lines0"])
        state["edited"] = False
        return self._finish(state, t0, model_ms, relief, show) + (self.lines_for_editor(state),)

    @user_errors
    def redraw(self, state: dict | None, relief: float = 1.0, show: str = "fine"):
        """View options changed (relief, coarse/fine): no network runs."""
        if not state or state.get("result") is None:
            return figures.empty_figure()
        return surface_for(state["result"], relief, show)

    # ------------------------------------------------------------------------------ λ sweep
    @user_errors
    def sweep(self, state: dict | None, relief: float = 1.0, lambdas=SWEEP_LAMBDAS, progress=gr.Progress()):
        """The face at several λ_line (the paper's Figure 12) side by side: one picture (shaded depth over the
        displacement heat map, one column per λ_line, a shared colour scale) and a table of line recall and mean
        displacement."""
        state = self._need_result(state)
        sf, choice = self.bank.get(state["model"])
        if not choice.refine:
            raise InputError("the λ sweep needs FineNet: choose a model with '+ FineNet' and reconstruct")
        if progress is not None:
            progress(0.2, desc=f"FineNet at {len(lambdas)} values of λ_line")
        results = sf.lambda_sweep(state["result"], lambdas)
        scale = max(figures.displacement_scale_mm(r.displacement, r.mask) for r in results)
        columns, rows = [], []
        gap = np.full((1, 8, 3), 255, np.uint8)
        for r in results:
            rec = line_recall(r)
            mad = figures.mean_abs_displacement_mm(r.displacement, r.mask)
            col = np.concatenate([figures.shaded_image(r.fine, r.mask, relief),
                                  figures.heatmap_image(r.displacement, r.mask, scale_mm=scale)], 0)
            col = label(label(col, f"line recall {rec:.2f} · |d| {mad:.2f} mm"),
                        f"λ_line {r.lambda_line:.2f}")
            columns += [col, np.repeat(gap, col.shape[0], 0)]
            rows.append([round(r.lambda_line, 2), round(1 - r.lambda_line, 2), round(rec, 3), round(mad, 3)])
        strip = np.concatenate(columns[:-1], 1)
        # room above the panels for the image's own label, which would otherwise hide the first panel's title
        return np.concatenate([np.full((30, strip.shape[1], 3), 255, np.uint8), strip], 0), rows

    # ------------------------------------------------------------------------------ edit view
    @user_errors
    def lines_for_editor(self, state: dict | None):
        """The current lines l, enlarged to the editor's canvas, as the editor's background."""
        if not state or state.get("result") is None:
            return None
        side = editor_side(self.bank.size)
        pic = figures.to_uint8(state["result"].lines, side, nearest=True)
        return {"background": pic, "layers": [], "composite": pic}

    # ------------------------------------------------------------------------------ downloads
    @user_errors
    def export(self, state: dict | None, relief: float = 1.0, resolution: str = "full (a vertex per pixel)"):
        """GLB for the 3-D viewer, and every download: GLB, OBJ, PLY, 16-bit depth PNG, .npy."""
        if not state or state.get("result") is None:
            return None, None
        r = state["result"]
        step = RESOLUTIONS.get(resolution, 1)
        key = (state.get("version"), float(relief), step)
        if key[0] is not None and state.get("export_key") == key and state.get("export_paths"):
            return state["export_paths"]            # nothing changed since the last export

        clean_old_exports(self._export_dir(), "face_*")
        out = Path(tempfile.mkdtemp(prefix="face_", dir=self._export_dir()))
        stem = f"sketchface_{r.kind}_lambda{r.lambda_line:.2f}".replace(".", "p")
        paths = r.save(out, stem=stem, relief=relief, step=step)
        files = [paths[k] for k in ("glb", "obj", "ply", "depth_png", "depth_npy") if k in paths]
        out_paths = (str(paths["glb"]), [str(p) for p in files])
        state["export_key"], state["export_paths"] = key, out_paths   # the session's state, kept in place
        return out_paths

    def _export_dir(self) -> Path:
        self.export_root.mkdir(parents=True, exist_ok=True)
        return self.export_root

def clean_old_exports(root: Path, pattern: str, max_age_s: float = EXPORT_MAX_AGE_S) -> None:
    """Remove the export folders ``root/pattern`` older than ``max_age_s`` (downloads of past sessions)."""
    if not root.is_dir():
        return
    now = time.time()
    for d in root.glob(pattern):
        try:
            if now - d.stat().st_mtime > max_age_s:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def editor_side(size: int) -> int:
    """Canvas side for drawing at model resolution ``size``: a whole multiple of it, about 512 px."""
    return int(size * max(1, round(512 / size)))


def edited_lines_at_model_size(edited: np.ndarray, original: np.ndarray, tol: float = 0.03) -> np.ndarray:
    """The edited lines (editor canvas, gray, black on white) at the model's size, the original l kept exactly
    where the user changed nothing.

    The canvas is a whole multiple of the model's side and the pen about half a model pixel wide, so an added
    stroke averages to mid-grey and would read as half a line: where a model pixel got darker, covering half of it
    makes it a full line (2m - 1); where it got lighter (the white pen), clearing half of it removes the line (2m).
    """
    import cv2

    size = original.shape[0]
    m = np.asarray(edited, np.float32)
    if m.shape != original.shape:
        m = cv2.resize(m, (size, size), interpolation=cv2.INTER_AREA)
    orig = np.asarray(original, np.float32)
    out = orig.copy()
    darker, lighter = m < orig - tol, m > orig + tol
    out[darker] = np.minimum(orig, np.clip(2 * m - 1, 0, 1))[darker]
    out[lighter] = np.maximum(orig, np.clip(2 * m, 0, 1))[lighter]
    return out


def editor_lines(edited: Any) -> np.ndarray:
    """An image editor value (or an image) -> gray lines in [0, 1], black on white."""
    if edited is None:
        raise InputError("the line editor is empty: open the Edit lines tab after a reconstruction")
    if isinstance(edited, dict):
        comp = edited.get("composite")
        if comp is None:
            comp = edited.get("background")
        edited = comp
    if edited is None:
        raise InputError("the line editor is empty: open the Edit lines tab after a reconstruction")
    from sketchface.framing import load_image, to_gray

    return to_gray(load_image(edited))
