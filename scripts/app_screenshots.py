"""docs/img/app.jpg (desktop, 1280x900) and docs/img/app_phone.jpg (390x844): the app with the shipped checkpoints,
a drawing drawn stroke by stroke on the pad (the face updates after each), seen at the app's three-quarter view.

    python scripts/app_screenshots.py [--out docs/img]

Needs chromium and playwright (tests/test_app_browser.py says how); the face model makes the default the fitted head.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from conftest import free_port
    from test_app_browser import CHROMIUM, FLAGS, SURFACE_JS, browser_strokes, draw_on

    from sketchface.webapp import LAUNCH_KWARGS, QUEUE_KWARGS, build_demo

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    a = p.parse_args()
    demo = build_demo()
    port = free_port()
    demo.queue(**QUEUE_KWARGS).launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                                      quiet=True, **LAUNCH_KWARGS)
    url = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for name, view in (("app.jpg", dict(width=1280, height=900)),
                               ("app_phone.jpg", dict(width=390, height=844))):
                page = browser.new_page(viewport=view, is_mobile=view["width"] < 500)
                page.set_default_timeout(180_000)
                page.goto(url, wait_until="load")
                page.wait_for_selector("#sf-pad canvas")
                page.locator("#sf-pad canvas").first.scroll_into_view_if_needed()
                draw_on(page, "#sf-pad", browser_strokes())
                page.wait_for_function(SURFACE_JS)
                if view["width"] < 500:
                    page.locator("#sf-plot").scroll_into_view_if_needed()
                else:
                    page.evaluate("window.scrollTo(0, 0)")
                page.wait_for_timeout(3000)
                shot = Image.open(io.BytesIO(page.screenshot()))
                shot.convert("RGB").save(a.out / name, quality=85)
                print(f"wrote {a.out / name}")
                page.close()
            browser.close()
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
