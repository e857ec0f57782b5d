"""The load test of scripts/load_app.py, small: a few concurrent gradio_client users on the tiny app, every
answer checked (no timing assertions)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import load_app  # noqa: E402

from sketchface.webapp.strokes import draw_strokes, face_strokes  # noqa: E402


def test_answers_are_checked():
    surface = '{"data": [{"type": "surface"}]}'
    good = (surface, None, None, None, None, "**m** · λ_line 0.30 / λ_dis 0.70 · line recall 0.5")
    assert load_app.check_answer(good, 0.3) is None
    assert "λ_line 0.40" in load_app.check_answer(good, 0.4)                # another session's λ
    assert "surface" in load_app.check_answer(("{}",) + good[1:], 0.3)
    assert load_app.check_answer(None, 0.3)
    lams = [load_app.lambda_for(u, i) for u in range(20) for i in range(10)]
    assert all(0.05 <= x <= 0.95 for x in lams)
    assert all(load_app.lambda_for(u, i) != load_app.lambda_for(u, i + 1) for u in range(20) for i in range(9))


def test_concurrent_users_all_get_their_own_correct_answers(app_server, tmp_path):
    faces = []
    for i, wrinkles in enumerate((True, False)):
        path = tmp_path / f"face{i}.png"
        Image.fromarray(draw_strokes(face_strokes(wrinkles), 256, 2)).save(path)
        faces.append(str(path))
    report = load_app.run_load(app_server, users=4, per_user=3, requests=14, pid=os.getpid(), inputs=faces)
    assert len(report.calls) == 14 and not report.wrong, [c.error for c in report.wrong]
    apis = {c.api for c in report.calls}
    assert apis == {"/reconstruct", "/set_lambda"}
    assert all(c.api == "/reconstruct" for c in report.calls if c.index == 0)   # a session starts with a face
    assert report.rss_early and report.rss_end and report.early_at == 14
    table = load_app.markdown(report)
    assert "| 1: 4 users × 3 requests at once | 12 |" in table and "within 10 %" in table


def test_malloc_arena_cap_respects_an_explicit_setting(monkeypatch):
    from sketchface.webapp import limit_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False                   # the user's own setting wins
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert limit_malloc_arenas() is sys.platform.startswith("linux")
