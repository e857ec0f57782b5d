"""The Gradio interface: layout and event wiring. The work is done by sketchface.webapp.handlers."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from sketchface.framing import MAX_BYTES
from sketchface.webapp import figures
from sketchface.webapp.handlers import (RESOLUTIONS, SHOW, XDOG_DEFAULTS, AppLogic, editor_side)
from sketchface.webapp.models import ModelBank
from sketchface.webapp.sparse_tab import KINDS as SPARSE_KINDS
from sketchface.webapp.sparse_tab import SparseLogic, finds_face

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "demo" / "examples"
# The visitor's view of a 3-D plot survives every update. Gradio's Plot mounts a new <div> for each new figure and
# draws it with Plotly.react, so the figure's ``uirevision`` alone has no earlier view to keep. This page script
# wraps Plotly.react once: it remembers the last camera the visitor set (the plotly_relayout event) per
# ``uirevision`` and puts it into the next figure of that ``uirevision`` before it is drawn, so nothing jumps.
# A figure with another ``uirevision`` (the empty placeholder, the sparse tab) starts from its own camera.
KEEP_CAMERA_JS = r"""
() => {
  const install = () => {
    const P = window.Plotly;                  // set when the first plot has loaded the plotly bundle
    if (!P || !P.react) { setTimeout(install, 250); return; }
    if (P.__sketchfaceCamera) return;
    P.__sketchfaceCamera = true;
    const cameras = {};
    const listen = (gd) => {
      if (!gd || !gd.on || gd.__sketchfaceListens) return;
      gd.__sketchfaceListens = true;
      gd.on('plotly_relayout', (ev) => {
        const rev = gd.layout && gd.layout.uirevision != null ? String(gd.layout.uirevision) : null;
        if (rev === null || !ev) return;
        for (const key of Object.keys(ev)) {
          const m = key.match(/^(scene\d*)\.camera$/);
          if (m) cameras[rev + '/' + m[1]] = JSON.parse(JSON.stringify(ev[key]));
        }
      });
    };
    document.querySelectorAll('.js-plotly-plot').forEach(listen);
    const react = P.react;
    P.react = function (gd, data, layout, config) {
      if (layout && layout.uirevision != null) {
        const rev = String(layout.uirevision);
        for (const scene of Object.keys(layout).filter((k) => /^scene\d*$/.test(k))) {
          const cam = cameras[rev + '/' + scene];
          if (cam) layout[scene].camera = cam;
        }
      }
      const out = react.apply(this, arguments);
      listen(gd);
      return out;
    };
  };
  install();
}
"""
# on a narrow screen (a phone: the result column sits under the inputs) a finished Reconstruct scrolls to the face
SCROLL_TO_FACE_JS = """() => {
  const plot = document.querySelector('#sf-plot');
  if (plot && window.innerWidth < 800) setTimeout(() => plot.scrollIntoView({block: 'start'}), 100);
}"""
# what demo.launch() gets besides host and port (those come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)
LAUNCH_KWARGS = dict(max_file_size=MAX_BYTES, show_error=True, js=KEEP_CAMERA_JS)
QUEUE_KWARGS = dict(default_concurrency_limit=1, max_size=64)

INTRO = """# SketchFace: draw a face, get it in 3-D
**Draw a face on the pad** (outline, eyes, nose, mouth), **or upload a drawing or a photo**, and the 3-D face
appears on the right: **drag it to turn it**, download it for Blender below. The slider says how strongly your
lines are carved into the face.
"""
# the research terms, for the Advanced accordion and the docs
ABOUT = """**How it works** (two papers, docs/PAPER.md). A 3-D face model (ICT Face Model Light) is fitted to your
drawing by a small network, FaceFit; under *Model* you can pick one of the paper's CoarseNets instead (SP-CoarseNet−,
SP-CoarseNet, DP-CoarseNet, D-Net), or DP-CoarseNet on the face model (the outline DP-CoarseNet reads in your
drawing, the face model's shape inside it). FineNet then carves the details your lines ask for. **λ_line** weighs keeping
your lines against keeping the displacement small (λ_dis = 1 − λ_line): moving it re-runs FineNet only. Lines l are
extracted by XDoG; l′ are the lines of the fine face. A photo goes through DP-CoarseNet's photo path, and a CycleGAN
turns it into a sketch for its lines.
"""

CSS = """
#sf-info {min-height: 2.5em}
#sf-lambda-dis input {font-weight: 600}
"""


NOT_UPLOADED = "Only files uploaded to the app can be used; upload the image instead of naming a file on the server."


def check_uploaded(payload) -> None:
    """Refuse an image payload whose file is outside the upload folder. Gradio checks this only for payloads
    marked as gradio.FileData (the image editor's payloads must carry the mark; gr.Image's need not), so an API
    call leaving the mark out would otherwise make the server read any path it names."""
    from gradio.utils import get_upload_folder, is_in_or_equal

    path = getattr(payload, "path", None)
    url = getattr(payload, "url", None) or ""
    if path and not url.startswith("data:") and not is_in_or_equal(path, get_upload_folder()):
        raise gr.Error(NOT_UPLOADED, title="Cannot use this input")


class InputImage(gr.Image):
    """gr.Image whose unreadable uploads reach the handler as their path, which refuses them in one clear sentence
    instead of a preprocessing traceback, and which reads only files uploaded to the app."""

    is_template = True   # rendered by the frontend as a plain Image

    def preprocess(self, payload):
        check_uploaded(payload)
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception:
            # the handler reads the file and refuses it like any input it cannot use: one sentence, and the old
            # face cleared (an error raised here would leave the old face and skip the app's error handling)
            return getattr(payload, "path", None)


def example_files(kind: str) -> list[str]:
    """Example images of ``demo/examples/`` whose names start with ``kind`` (lines_, pencil_, photo_, strokes_)."""
    if not EXAMPLES_DIR.is_dir():
        return []
    return [str(p) for p in sorted(EXAMPLES_DIR.glob(f"{kind}_*.png"))]


def blank_page(side: int) -> dict:
    """A white sheet as the sketch pad's background."""
    import numpy as np

    white = np.full((side, side, 3), 255, np.uint8)
    return {"background": white, "layers": [], "composite": white}


SPARSE_INTRO = """The second paper's pipeline, without networks for the depth: the face is found (Haar detector),
68 feature points are placed (those of the face model FaceFit fits to your photo; the paper used an Active Shape
Model), a CNN picks the most similar faces of a 3-D face
database, their mean (the statistical face) is bent onto the sparse face model of your photo (thin-plate
spline) and the photo is mapped onto it. The model is loaded on first use (a few seconds)."""


def build_demo(bank: ModelBank | None = None, checkpoints: str | Path | None = None,
               device: str = "auto", sparse: SparseLogic | None = None) -> gr.Blocks:
    """The app. ``bank``: networks already loaded; else they are loaded from ``checkpoints`` (default:
    $SKETCHFACE_CHECKPOINTS, then checkpoints/). ``sparse``: the sparse-face-model tab's handler (default: one
    that loads checkpoints/sparse on first use)."""
    if bank is None:
        bank = ModelBank.load(checkpoints, device=device)
    logic = AppLogic(bank)
    sparse = sparse if sparse is not None else SparseLogic()
    side = editor_side(bank.size)
    brush_px = max(1, side // bank.size // 2)    # about one model pixel wide

    with gr.Blocks(title="SketchFace: sketch to 3-D face", delete_cache=(1800, 3600)) as demo:
        gr.Markdown(INTRO)
        if not bank.ok:
            gr.Markdown(f"⚠️ **The models are not loaded.** {bank.error}", elem_id="sf-no-models")
        state = gr.State(None)
        source = gr.Textbox("draw", visible="hidden", label="source")

        with gr.Row(equal_height=False):
            # ------------------------------------------------------------------------------------ inputs
            with gr.Column(scale=5, min_width=360):
                with gr.Tabs(selected="draw"):
                    with gr.Tab("Draw", id="draw") as tab_draw:
                        pad = gr.Sketchpad(
                            value=blank_page(side), label="Sketch pad: black pen on white paper", type="numpy",
                            image_mode="RGBA", canvas_size=(side, side), fixed_canvas=True, layers=False,
                            transforms=(), height=side * 3 // 4 + 90,
                            brush=gr.Brush(colors=["#000000"], default_color="#000000", color_mode="fixed",
                                           default_size=brush_px),
                            eraser=gr.Eraser(default_size=brush_px * 3), elem_id="sf-pad")
                        live = gr.Checkbox(True, label="Update the face after each stroke", elem_id="sf-live")
                    with gr.Tab("Upload a drawing", id="upload") as tab_upload:
                        upload = InputImage(label="Sketch or line drawing", type="filepath", image_mode=None,
                                            sources=["upload", "clipboard"], height=320, elem_id="sf-upload")
                        upload_kind = gr.Radio(["auto", "sketch", "lines", "photo"], value="auto", label="It is a",
                                               info="auto: decided from the image; the result says what it read")
                        drawings = example_files("strokes") + example_files("lines") + example_files("pencil")
                        if drawings:
                            gr.Examples(drawings, inputs=[upload], label="Examples (made by the project)",
                                        examples_per_page=12)
                    with gr.Tab("Photo", id="photo") as tab_photo:
                        photo = InputImage(label="Photo of a face (front view)", type="filepath", image_mode=None,
                                           sources=["upload", "webcam", "clipboard"], height=320,
                                           elem_id="sf-photo")
                        photo_textured = gr.Button("Textured head from this photo", variant="secondary",
                                                   elem_id="sf-photo-textured")
                        gr.Markdown("**Reconstruct** gives the face's shape; **Textured head** gives a whole head "
                                    "wearing the photo (the second paper's sparse face model, shown further down).")
                        photos = example_files("photo")
                        if photos:
                            gr.Examples(photos, inputs=[photo], label="Examples (rendered by the project)")
                run = gr.Button("Reconstruct", variant="primary", elem_id="sf-run")
                with gr.Row():
                    lam = gr.Slider(0, 1, value=0.85, step=0.01, label="Keep my lines (λ_line)", scale=3,
                                    elem_id="sf-lambda",
                                    info="0: a smooth face · 1: every line carved into the face")
                    lam_dis = gr.Number(0.15, label="λ_dis = 1 − λ_line", interactive=False, scale=1,
                                        elem_id="sf-lambda-dis")
                model = gr.Dropdown(bank.labels, value=bank.default_label, label="Model", elem_id="sf-model")
                with gr.Accordion("Advanced", open=False):
                    gr.Markdown(ABOUT)
                    gr.Markdown("XDoG line extraction for l (Winnemöller et al. 2012). Photos, until you move "
                                "τ: τ 0.95, and specks under 16 pixels dropped.")
                    with gr.Row():
                        sigma = gr.Slider(0.3, 3.0, XDOG_DEFAULTS["sigma"], step=0.05, label="σ (line width)")
                        k = gr.Slider(1.1, 3.0, XDOG_DEFAULTS["k"], step=0.05, label="k (outer / inner)")
                    with gr.Row():
                        tau = gr.Slider(0.8, 1.0, XDOG_DEFAULTS["tau"], step=0.005, label="τ (edge weight)")
                        eps = gr.Slider(-0.1, 0.1, XDOG_DEFAULTS["epsilon"], step=0.005, label="ε (threshold)")
                        phi = gr.Slider(1, 500, XDOG_DEFAULTS["phi"], step=1, label="φ (sharpness)")
                    relief = gr.Slider(0.25, 4.0, 1.0, step=0.05, label="Depth exaggeration (surface and meshes)")
                    resolution = gr.Radio(list(RESOLUTIONS), value=next(iter(RESOLUTIONS)),
                                          label="Mesh resolution of the downloads")
            # ------------------------------------------------------------------------------------ outputs
            with gr.Column(scale=7, min_width=420):
                info = gr.Markdown("", elem_id="sf-info")
                show = gr.Radio(list(SHOW), value="fine", label="Surface", elem_id="sf-show")
                plot = gr.Plot(figures.empty_figure(), label="3-D surface (drag to turn)", elem_id="sf-plot")
                # JPEG: 1 ms to encode a 256-px picture against 5-6 ms for gradio's WebP or PNG (docs/APP.md)
                with gr.Row():
                    img_lines = gr.Image(label="Lines l (XDoG)", interactive=False, height=200, elem_id="sf-l",
                                         format="jpeg")
                    img_pred = gr.Image(label="Lines l′ of the fine face", interactive=False, height=200,
                                        elem_id="sf-lp", format="jpeg")
                    img_heat = gr.Image(label="Displacement (red: out, blue: in)", interactive=False, height=200,
                                        elem_id="sf-heat", format="jpeg")
                    img_input = gr.Image(label="Model input (photo: + CycleGAN sketch)", interactive=False,
                                         height=200, elem_id="sf-input", format="jpeg")

        with gr.Tabs(selected="model3d"):
            with gr.Tab("3-D model and downloads", id="model3d"):
                with gr.Row():
                    model3d = gr.Model3D(label="Mesh (GLB)", height=420, clear_color=(0.95, 0.95, 0.95, 1.0),
                                         camera_position=(90, 90, None), elem_id="sf-model3d")
                    files = gr.File(label="Downloads: GLB, OBJ, PLY (vertex colours), 16-bit depth PNG, .npy",
                                    file_count="multiple", interactive=False, elem_id="sf-files")
            with gr.Tab("λ sweep", id="sweep"):
                gr.Markdown("The current face at five values of λ_line (the paper's Figure 12): shaded depth above, "
                            "displacement below, with the line recall of l′ against l and the mean displacement.")
                sweep_run = gr.Button("Run the sweep", elem_id="sf-sweep-run")
                sweep_gallery = gr.Image(label="λ_line = 0, 0.25, 0.5, 0.75, 1", interactive=False,
                                         elem_id="sf-sweep")
                sweep_table = gr.Dataframe(headers=["λ_line", "λ_dis", "line recall", "mean |d| (mm)"],
                                           interactive=False, elem_id="sf-sweep-table")
            with gr.Tab("Edit lines", id="edit") as tab_edit:
                gr.Markdown("Add lines (a wrinkle, a scar) with the black pen, remove lines with the white pen, "
                            "then press **Refine**: FineNet re-runs on your lines (3-D face editing, §4.4.4).")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=360):
                        editor = gr.ImageEditor(
                            label="Lines l", type="numpy", image_mode="RGB", canvas_size=(side, side),
                            fixed_canvas=True, layers=False, transforms=(), sources=(), height=side + 110,
                            brush=gr.Brush(colors=["#000000", "#ffffff"], default_color="#000000",
                                           color_mode="fixed", default_size=brush_px),
                            eraser=gr.Eraser(default_size=brush_px * 3), elem_id="sf-editor")
                        with gr.Row():
                            refine = gr.Button("Refine", variant="primary", elem_id="sf-refine")
                            reset = gr.Button("Back to the extracted lines", elem_id="sf-reset")
                    with gr.Column(scale=1, min_width=360):
                        compare = gr.Plot(figures.empty_figure("Edit the lines and press Refine"),
                                          label="Original vs edited", elem_id="sf-compare")

        # ------------------------------------------------------------------------ the sparse face model
        with gr.Accordion("Photo → textured 3-D head (sparse face model)", open=False,
                          elem_id="sf-sparse") as sparse_box:
            gr.Markdown(SPARSE_INTRO)
            with gr.Row(equal_height=False):
                with gr.Column(scale=5, min_width=360):
                    sparse_photo = InputImage(label="Photo of a face (front view)", type="filepath", image_mode=None,
                                              sources=["upload", "webcam", "clipboard"], height=320,
                                              elem_id="sf-sparse-photo")
                    sparse_kind = gr.Radio(list(SPARSE_KINDS), value="photo", label="It is a",
                                           info="auto: decided from the image; drawings use the sketch model of "
                                                "the feature points and grey shading")
                    sparse_examples = [p for p in example_files("photo") if finds_face(p)]
                    if sparse_examples:
                        gr.Examples(sparse_examples, inputs=[sparse_photo], label="Examples (rendered by the project)")
                    sparse_run = gr.Button("Reconstruct with the sparse face model", variant="primary",
                                           elem_id="sf-sparse-run")
                    sparse_points = gr.Image(label="Detected face and its 68 feature points", interactive=False,
                                             height=320, elem_id="sf-sparse-points")
                with gr.Column(scale=7, min_width=420):
                    sparse_info = gr.Markdown("", elem_id="sf-sparse-info")
                    sparse_plot = gr.Plot(figures.empty_figure("Upload a photo and press Reconstruct"),
                                          label="3-D face (drag to turn)", elem_id="sf-sparse-plot")
                    sparse_similar = gr.Gallery(label="Most similar faces of the 3-D database (number · similarity; "
                                                      "their mean is the statistical face)", columns=5, height="auto",
                                                allow_preview=False, elem_id="sf-sparse-similar")
            with gr.Row():
                sparse_model3d = gr.Model3D(label="Mesh (GLB, the photo as vertex colours)", height=420,
                                            clear_color=(0.95, 0.95, 0.95, 1.0), elem_id="sf-sparse-model3d")
                sparse_files = gr.File(label="Downloads: GLB, OBJ (vertex colours), feature points (JSON)",
                                       file_count="multiple", interactive=False, elem_id="sf-sparse-files")

        # ---------------------------------------------------------------------------------------- events
        view_outputs = [plot, img_lines, img_pred, img_heat, img_input, info, state]
        run_inputs = [source, pad, upload, photo, model, lam, upload_kind, sigma, k, tau, eps, phi, relief, show]
        export_io = dict(fn=logic.export, inputs=[state, relief, resolution], outputs=[model3d, files])

        for tab, name in ((tab_draw, "draw"), (tab_upload, "upload"), (tab_photo, "photo")):
            tab.select(lambda n=name: n, None, source, queue=False, api_visibility="private")
        lam.change(None, lam, lam_dis, js="(x) => Math.round((1 - x) * 100) / 100", queue=False)

        run_event = run.click(logic.reconstruct, run_inputs, view_outputs, api_name="reconstruct",
                              concurrency_id="model")
        run_event.success(None, js=SCROLL_TO_FACE_JS, queue=False, api_visibility="private")
        run_event.success(**export_io, api_name="export", concurrency_id="export")
        # .input, not .change: the Sketchpad drops its first change event (meant for loading its starting page),
        # which is the first stroke when the pad starts on a white page; .input fires from the first stroke on
        live_event = pad.input(logic.reconstruct_live, [live] + run_inputs, view_outputs, trigger_mode="always_last",
                               show_progress="minimal", concurrency_id="model", api_visibility="private")
        live_event.success(**export_io, concurrency_id="export", api_visibility="private")
        for event in (run_event, live_event):       # a refusal or an error leaves no old face under its message
            event.failure(logic.cleared, None, view_outputs + [model3d, files], queue=False,
                          api_visibility="private")
        lam.release(logic.set_lambda, [state, lam, relief, show], view_outputs, api_name="set_lambda",
                    trigger_mode="always_last", show_progress="minimal", concurrency_id="model"
                    ).success(**export_io, concurrency_id="export", api_visibility="private")
        for control in (show, relief):
            control.change(logic.redraw, [state, relief, show], plot, queue=False, api_visibility="private")
        relief.release(**export_io, concurrency_id="export", api_visibility="private")
        resolution.change(**export_io, concurrency_id="export", api_visibility="private")
        sweep_run.click(logic.sweep, [state, relief], [sweep_gallery, sweep_table], api_name="sweep",
                        concurrency_id="model")
        tab_edit.select(logic.lines_for_editor, state, editor, api_visibility="private")
        refine.click(logic.refine_lines, [state, editor, lam, relief, show], view_outputs + [compare],
                     api_name="refine_lines", concurrency_id="model"
                     ).success(**export_io, concurrency_id="export", api_visibility="private")
        reset.click(logic.reset_lines, [state, lam, relief, show], view_outputs + [editor], api_name="reset_lines",
                    concurrency_id="model").success(**export_io, concurrency_id="export", api_visibility="private")
        sparse_outputs = [sparse_plot, sparse_points, sparse_similar, sparse_model3d, sparse_files, sparse_info]
        sparse_run.click(sparse.reconstruct, [sparse_photo, sparse_kind], sparse_outputs,
                         api_name="reconstruct_sparse", concurrency_id="sparse")
        # from the Photo tab: the same photo, the section opened and scrolled into view
        photo_textured.click(lambda p: (p, "photo", gr.Accordion(open=True)), photo,
                             [sparse_photo, sparse_kind, sparse_box], queue=False, api_visibility="private"
                             ).then(sparse.reconstruct, [sparse_photo, sparse_kind], sparse_outputs,
                                    scroll_to_output=True, concurrency_id="sparse", api_visibility="private")
    return demo
