"""Every case of the hostile-input corpus through the Python API: a clear error or a result, never a crash,
and nothing written outside temporary folders."""
import os

import numpy as np
import pytest

from hostile_corpus import corpus
from sketchface import SketchFace
from sketchface.errors import InputError

CASES = corpus()


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30 and sum(e == "error" for _, _, e in CASES) >= 25


@pytest.fixture(scope="module")
def sf(tiny_bundle):
    return SketchFace.from_pretrained(tiny_bundle)


@pytest.mark.parametrize("name,payload,expect", CASES, ids=[c[0] for c in CASES])
def test_hostile_input(sf, name, payload, expect, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path))
    if expect == "error":
        with pytest.raises(InputError) as e:
            sf(payload)
        msg = str(e.value)
        assert msg and "\n" not in msg and len(msg) < 300 and "Traceback" not in msg
    else:
        r = sf(payload)
        assert r.fine.shape == (32, 32) and np.isfinite(r.fine).all()
    assert set(os.listdir(tmp_path)) == before        # nothing written where the user runs it
