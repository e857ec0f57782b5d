"""The shipped lite checkpoints on a drawing made of pad strokes (scripts/pad_wrinkles.py): the wrinkles a person
draws deepen as λ_line rises, and adding them changes the face on them, not elsewhere. Skipped without the
checkpoints (they are in the repository)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "checkpoints"

pytestmark = pytest.mark.skipif(not (BUNDLE / "finenet" / "config.json").is_file(), reason="no checkpoints/finenet")


def test_drawn_wrinkles_deepen_with_lambda_and_stay_local():
    sys.path.insert(0, str(ROOT / "scripts"))
    import pad_wrinkles

    from sketchface import SketchFace

    rows, sweep, _ = pad_wrinkles.measure(SketchFace.from_pretrained(BUNDLE, backend="torch"),
                                          lambdas=(0.0, 0.5, 0.85))
    on = np.array([r["d_wrinkles"] for r in rows])
    assert np.all(np.diff(on) > 0), on                          # the λ dial deepens what was drawn
    at = rows[-1]
    assert at["d_wrinkles"] > 3 * at["d_away"], at              # ... more than the surface nobody drew on
    assert at["edit_wrinkles"] > 3 * at["edit_away"], at        # the edit changes the face where it was made
    assert [r.lambda_line for r in sweep] == [0.0, 0.5, 0.85]
