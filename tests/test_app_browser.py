"""The app in a real browser: Debian chromium driven by Playwright (see DESIGN notes: never `playwright install`).

Draws a face on the sketch pad with the mouse, reconstructs, waits for the Plotly surface, moves the λ slider,
checks that the surface changed, downloads the GLB, and saves screenshots. Skipped with the reason when chromium
or playwright is missing (`.ci/run` installs both).

SKETCHFACE_APP_URL=http://host:port runs it against a server already running (e.g. with real checkpoints);
SKETCHFACE_SCREENSHOTS=folder keeps the screenshots.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sketchface.local_server import free_port

CHROMIUM = next((p for p in (os.environ.get("SKETCHFACE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p and Path(p).is_file()), None)
try:
    import playwright.sync_api  # noqa: F401
    HAVE_PLAYWRIGHT = True
except ImportError:
    HAVE_PLAYWRIGHT = False

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium browser (apt-get install chromium; .ci/run does it)"),
    pytest.mark.skipif(not HAVE_PLAYWRIGHT, reason="playwright is not installed (pip install playwright)"),
]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]     # software WebGL: 3-D plots draw and turn
TIMEOUT_MS = 120_000

# a hash of the 3-D face the page shows, its name (which holds λ_line) and depths; null until a face is there
SURFACE_JS = """() => {
  const g = document.querySelector('#sf-plot .js-plotly-plot');
  if (!g || !g.data || !g.data.length || g.data[0].type !== 'mesh3d') return null;
  const s = g.data[0].name + JSON.stringify(Array.from(g.data[0].z || [])); let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h + ':' + s.length;
}"""
# the camera's eye of the main plot as the visitor sees it now
EYE_JS = """() => {
  const g = document.querySelector('#sf-plot .js-plotly-plot');
  const sc = g && g._fullLayout && g._fullLayout.scene;
  const cam = sc && sc._scene && sc._scene.getCamera ? sc._scene.getCamera() : null;
  return cam ? [cam.eye.x, cam.eye.y, cam.eye.z] : null;
}"""


SHIPPED_FACECHECK = Path(__file__).resolve().parents[1] / "checkpoints" / "facecheck"


@pytest.fixture(scope="module")
def app_url(tiny_bundle, tmp_path_factory):
    url = os.environ.get("SKETCHFACE_APP_URL")
    if url:
        yield url.rstrip("/") + "/"
        return
    from sketchface.webapp import LAUNCH_KWARGS, QUEUE_KWARGS, build_demo

    bundle = tmp_path_factory.mktemp("app") / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    if (SHIPPED_FACECHECK / "config.json").is_file():      # the shipped check, so that noise is refused
        shutil.copytree(SHIPPED_FACECHECK, bundle / "facecheck")
    demo = build_demo(checkpoints=bundle, device="cpu")
    port = free_port()
    demo.queue(**QUEUE_KWARGS).launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                                      quiet=True, **LAUNCH_KWARGS)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("SKETCHFACE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def draw_on(page, selector: str, strokes, side: int = 512, every: int = 12) -> None:
    """Draw polylines (canvas fractions) on the image editor ``selector`` with real mouse events."""
    box = page.locator(f"{selector} canvas").first.bounding_box()
    zoom = int(re.search(r"(\d+)%", page.locator(selector).inner_text()).group(1)) / 100
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    half = side * zoom / 2
    for stroke in strokes:
        pts = [(cx + (x - 0.5) * 2 * half, cy + (y - 0.5) * 2 * half) for x, y in stroke]
        pts = pts[::every] + [pts[-1]]
        page.mouse.move(*pts[0])
        page.mouse.down()
        for q in pts[1:]:
            page.mouse.move(*q)
        page.mouse.up()


def browser_strokes():
    """The stroke face, lighter: outline, brows, eyes, nose, mouth, two forehead wrinkles."""
    from sketchface.webapp.strokes import face_strokes

    s = face_strokes(wrinkles=True)
    return [s[i] for i in (0, 1, 4, 5, 6, 7, 10, 12, 13, 15, 16)]


def test_draw_reconstruct_slide_download(app_url, shots, tmp_path):
    from playwright.sync_api import sync_playwright

    t0 = time.time()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(app_url, wait_until="load", timeout=TIMEOUT_MS)
            page.wait_for_selector("#sf-pad canvas")
            page.locator("#sf-live input[type=checkbox]").uncheck()      # one run, from the button
            draw_on(page, "#sf-pad", browser_strokes())
            page.screenshot(path=str(shots / "01_drawn.png"))

            page.click("#sf-run")
            page.wait_for_function(SURFACE_JS)
            page.wait_for_selector("#sf-lp img")
            first = page.evaluate(SURFACE_JS)
            info = page.locator("#sf-info").inner_text()
            assert "λ_line 0.85" in info and "recall" in info
            page.wait_for_selector("#sf-files a")
            page.screenshot(path=str(shots / "02_reconstructed.png"), full_page=True)

            # the visitor turns the face: the view must survive the λ move below
            page.locator("#sf-plot .js-plotly-plot").scroll_into_view_if_needed()
            plot = page.locator("#sf-plot .js-plotly-plot").bounding_box()
            px, py = plot["x"] + plot["width"] / 2, plot["y"] + plot["height"] / 2
            eye0 = page.evaluate(EYE_JS)
            page.mouse.move(px, py)
            page.mouse.down()
            for i in range(1, 21):
                page.mouse.move(px - 9 * i, py + 2 * i)
                page.wait_for_timeout(30)
            page.mouse.up()
            page.wait_for_timeout(1500)
            turned = page.evaluate(EYE_JS)
            assert max(abs(a - b) for a, b in zip(turned, eye0)) > 0.1          # the drag turned the face

            # move λ_line to about 0.1: FineNet re-runs, the surface is redrawn
            page.locator("#sf-lambda input[type=range]").scroll_into_view_if_needed()
            track = page.locator("#sf-lambda input[type=range]").bounding_box()
            page.mouse.click(track["x"] + track["width"] * 0.1, track["y"] + track["height"] / 2)
            page.wait_for_function("() => /λ_line 0\\.[01]\\d/.test(document.querySelector('#sf-info').innerText)")
            page.wait_for_function(f"() => {{ const h = ({SURFACE_JS})(); return h !== null && h !== '{first}'; }}")
            assert float(page.locator("#sf-lambda-dis input").input_value()) > 0.8   # λ_dis = 1 - λ_line
            page.wait_for_timeout(1500)
            kept = page.evaluate(EYE_JS)
            assert max(abs(a - b) for a, b in zip(kept, turned)) < 0.02, (eye0, turned, kept)   # view kept
            # the file list shows stem and extension in separate cells: match the links' download names
            page.wait_for_function("() => [...document.querySelectorAll('#sf-files a[download]')]"
                                   ".some(a => /lambda0p[01]\\d\\.glb$/.test(a.getAttribute('download')))")

            with page.expect_download() as download:        # the file list's row of the GLB: its download link
                page.locator("#sf-files tr", has_text=".glb").locator("a").first.click()
            glb = tmp_path / download.value.suggested_filename
            download.value.save_as(glb)
            page.screenshot(path=str(shots / "03_lambda_low.png"), full_page=True)
        finally:
            browser.close()

    import trimesh

    assert glb.suffix == ".glb"
    mesh = trimesh.load(glb, force="mesh")
    assert len(mesh.faces) > 0 and mesh.visual.vertex_colors is not None
    from sketchface.mesh import spiky_triangles
    assert not spiky_triangles(mesh).any()          # no triangle of the download reads as a spike
    assert time.time() - t0 < 600


def test_first_stroke_updates_the_face_and_a_phone_scrolls_to_it(app_url, shots, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            # a phone: the drawing's face appears after the first stroke, scrolled into view
            page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(app_url, wait_until="load", timeout=TIMEOUT_MS)
            page.wait_for_selector("#sf-pad canvas")
            page.locator("#sf-pad canvas").first.scroll_into_view_if_needed()
            assert page.locator("#sf-live input[type=checkbox]").is_checked()
            draw_on(page, "#sf-pad", browser_strokes()[:1])              # one stroke: the face's outline
            page.wait_for_function(SURFACE_JS)
            page.screenshot(path=str(shots / "phone_01_first_stroke.png"))
            draw_on(page, "#sf-pad", browser_strokes()[1:4])
            before = page.locator("#sf-info").inner_text()
            page.click("#sf-run")
            page.wait_for_function(f"() => document.querySelector('#sf-info').innerText !== {before!r}")
            # the scroll follows the Run's end, which may wait behind the live update of the last strokes (one
            # at a time on the queue): on a loaded machine that is more than a few seconds, so the default timeout
            page.wait_for_function("() => { const r = document.querySelector('#sf-plot').getBoundingClientRect();"
                                   " return r.top < window.innerHeight && r.bottom > 0; }")
            box = page.locator("#sf-plot").bounding_box()
            width = page.evaluate("window.innerWidth")
            assert box["y"] < 844 and box["y"] + box["height"] > 0, (box, width)   # the face is on the screen
            page.screenshot(path=str(shots / "phone_02_reconstructed.png"))
            # a file that is no image: one sentence, no exception's name, no old face left under it
            bad = tmp_path / "notes.png"
            bad.write_text("not an image")
            page.locator("button[role=tab]", has_text="Upload a drawing").click()
            page.locator("#sf-upload input[type=file]").set_input_files(str(bad))
            page.wait_for_timeout(1000)
            page.click("#sf-run")
            page.wait_for_selector("text=is not an image that can be read")
            page.wait_for_function("() => /Nothing to show/.test(document.querySelector('#sf-plot').innerText)")
            text = page.locator("body").inner_text()
            assert "UnidentifiedImageError" not in text and "Traceback" not in text
            assert "The file is not an image that can be read: use a PNG" in text   # read by the handler
            # an image too small to hold a face, a blank page and noise: each one sentence, and still no face shown
            noise = (np.random.default_rng(0).random((200, 200, 3)) * 255).astype(np.uint8)
            refusals = [("tiny.png", np.zeros((8, 8, 3), np.uint8), "needs at least 32 pixels"),
                        ("blank.png", np.full((200, 160, 3), 255, np.uint8), "the drawing is blank")]
            if (SHIPPED_FACECHECK / "config.json").is_file():
                refusals.append(("noise.png", noise, "does not look like a face"))
            for name, picture, words in refusals:
                Image.fromarray(picture).save(tmp_path / name)
                page.locator("#sf-upload input[type=file]").set_input_files(str(tmp_path / name))
                page.wait_for_timeout(1000)
                page.click("#sf-run")
                page.wait_for_selector(f"text={words}")
                page.wait_for_function("() => /Nothing to show/.test(document.querySelector('#sf-plot').innerText)")
            page.screenshot(path=str(shots / "phone_03_refused.png"))
        finally:
            browser.close()
