"""evaluate on tiny data with tiny random networks: the report's structure, the baselines, the identity split."""
import json

import numpy as np
import pytest

from sketchface.errors import UserError
from sketchface.data.make_data import make_data
from sketchface.evaluate import EvalConfig, check_disjoint, check_targets, depth_row, evaluate


@pytest.fixture(scope="module")
def data(tmp_path_factory, tiny_model_path):
    out = tmp_path_factory.mktemp("evaldata")
    make_data(out, n=40, size=64, variants=2, seed=3, workers=1, bases_per_shard=4,
              face_model=str(tiny_model_path), progress=False)
    return out


def test_depth_row_of_the_truth_is_zero_error():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 1, (5, 16, 16))
    r = depth_row("truth", gt, gt > 0.5, gt)
    assert r["err"] == 0 and r["err_face"] == 0 and r["var"] > 0
    r2 = depth_row("shifted", gt, gt > 0.5, gt + 0.1)
    assert r2["err"] == pytest.approx(25.5 ** 2, rel=1e-6)
    rim = np.zeros((2, 16, 16), bool)
    rim[:, 2:14, 2:14] = True
    off = np.where(rim & ~np.pad(np.ones((2, 4, 4), bool), ((0, 0), (6, 6), (6, 6))), 0.2, 0.0)  # wrong on the rim
    off[1] *= 2
    r3 = depth_row("rim", np.zeros((2, 16, 16)), rim, off)
    assert r3["err_face"] > 0 and r3["err_inner"] == 0


def test_evaluate_writes_tables_json_and_plot(data, tiny_bundle, tmp_path):
    out = tmp_path / "RESULTS.md"
    res = evaluate(EvalConfig(checkpoints=str(tiny_bundle), data=str(data), out=str(out),
                              plots=str(tmp_path / "img"), batch=4))
    text = out.read_text()
    for needle in ("CoarseNet from sketches", "mean face", "DP-CoarseNet", "SP-CoarseNet", "FineNet λ sweep",
                   "Targets", "finenet_lambda_sweep.png"):
        assert needle in text, needle
    assert (tmp_path / "img" / "finenet_lambda_sweep.png").is_file()
    j = json.loads(out.with_suffix(".json").read_text())
    assert j["n_test"] == res["n_test"] > 0
    n_tr, n_te = check_disjoint(data)
    assert j["test_identities"] == n_te and n_tr > n_te > 0
    rows = j["coarse"]["rows"]["lines"]
    assert rows[0]["model"].startswith("mean face") and rows[0]["err"] > 0
    sweep = j["finenet"]["lines"]
    assert [r["lambda_line"] for r in sweep] == [None, 0.0, 0.25, 0.5, 0.75, 0.85, 1.0]
    assert all(0 <= r["recall_face"] <= 1 for r in sweep) and 0 <= sweep[0]["ink_in_face"] <= 1
    assert "recall in face" in text
    assert 0 <= sweep[0]["recall_gt"] <= 1 and "on the ground-truth depth itself recalls" in text
    # without --runs the report says which sections it leaves out and what they need
    assert "Not in this report" in text and "loss ablation" in text and "L_dis + L_3d ablation" in text
    assert len(j["not_run"]) == 3 and "no `--runs` folder" in j["not_run"][0]


def test_finenet_sweep_reference_is_the_line_extractor_on_the_true_depth(data, tiny_bundle, monkeypatch):
    """A CoarseNet that returned the exact depth would score the ground-truth reference exactly."""
    from sketchface import evaluate as ev
    from sketchface.nets import load_network

    test = ev.load_split(str(data), "test", ("depth", "mask", "sketch_lines"), 6)
    nets = {k: load_network(tiny_bundle / k).eval() for k in ("dp_coarse", "line_extractor", "finenet")}
    size = nets["finenet"].config.image_size
    cfg = EvalConfig(batch=4, lambdas=(0.85,))
    real = ev.finenet_sweep(nets["dp_coarse"], nets["line_extractor"], nets["finenet"], test, cfg, "lines")[0]
    truth = ev._resize(ev._chw(test["depth"]), size)[:, 0]
    monkeypatch.setattr(ev, "predict", lambda *a, **k: truth.copy())
    oracle = ev.finenet_sweep(nets["dp_coarse"], nets["line_extractor"], nets["finenet"], test, cfg, "lines")[0]
    assert oracle["err"] == 0
    assert oracle["recall"] == pytest.approx(oracle["recall_gt"])          # the coarse depth *is* the truth
    assert oracle["recall_gt"] == pytest.approx(real["recall_gt"])          # the reference ignores the CoarseNet


def test_seed_spread_table(data, tiny_bundle, tmp_path):
    import shutil
    runs = tmp_path / "runs"
    for name, seed in (("sp_coarse", 2), ("sp_coarse", 1), ("finenet", 1)):
        shutil.copytree(tiny_bundle / name, runs / "seeds" / f"{name}-s{seed}" / "final")
    out = tmp_path / "RESULTS.md"
    res = evaluate(EvalConfig(checkpoints=str(tiny_bundle), data=str(data), runs=str(runs), out=str(out),
                              plots="", batch=4, styles=("lines",)))
    by = {r["model"]: r for r in res["seeds"] if r["metric"] != "Err_inner"}
    assert set(by) == {"SP-CoarseNet", "FineNet"}                   # only what has seed runs
    inner = [r for r in res["seeds"] if r["metric"] == "Err_inner"]
    assert [r["model"] for r in inner] == ["SP-CoarseNet"] and inner[0]["std"] == pytest.approx(0, abs=1e-6)
    dnet = by["SP-CoarseNet"]
    assert dnet["seeds"] == [0, 1, 2] and len(dnet["values"]) == 3
    # copies of one network: the same Err for every seed, so no spread
    assert dnet["values"][0] == pytest.approx(dnet["values"][2]) and dnet["std"] == pytest.approx(0, abs=1e-6)
    assert by["FineNet"]["seeds"] == [0, 1]
    text = out.read_text()
    assert "Spread over seeds" in text
    assert [t.split(":")[0] for t in res["not_run"]] == ["DP-CoarseNet loss ablation (Table 4/5)",
                                                         "FineNet L_dis + L_3d ablation"]


def test_targets_pass_and_fail_on_numbers():
    res = {"coarse": {"gt_var": 10.0, "gt_var_top": 20.0, "rows": {"lines": [
        {"model": "mean face (train mean)", "err": 100.0, "var": 0.0, "var_top": 0.0},
        {"model": "DP-CoarseNet", "err": 40.0, "var": 90.0, "var_top": 12.0}]}},
        "finenet": {"lines": [{"model": "coarse", "lambda_line": None, "recall": 0.3},
                              {"model": "L_line + L_dis", "lambda_line": 0.0, "recall": 0.3},
                              {"model": "L_line + L_dis", "lambda_line": 0.85, "recall": 0.4}]}}
    t = {x["target"]: x["ok"] for x in check_targets(res)}
    assert t["DP Err ≤ ½ mean-face Err (lines)"]
    assert not t["DP Var_20 ≥ 0.8 Var_20(GT) (lines)"]      # 12 / 20: noise raising eq. 13 does not count
    assert t["FineNet line recall rises with λ_line (lines)"]
    assert not t["recall at λ=0.85 ≥ coarse + 0.15 (lines)"]


def test_ordering_is_checked_over_the_image_and_inside_the_face():
    def row(model, err, err_face):
        return {"model": model, "err": err, "err_face": err_face, "var": 1.0, "var_top": 1.0}
    res = {"coarse": {"gt_var": 1.0, "gt_var_top": 1.0, "rows": {"lines": [
        row("mean face (train mean)", 900.0, 900.0), row("D-Net", 600.0, 800.0), row("SP-CoarseNet−", 470.0, 420.0),
        row("SP-CoarseNet", 490.0, 400.0), row("DP-CoarseNet", 350.0, 380.0)]}}}
    t = {x["target"]: x for x in check_targets(res)}
    whole, face = t["paper ordering DP < SP < SP− < D-Net in Err (lines)"], t[
        "paper ordering DP < SP < SP− < D-Net in Err_face (lines)"]
    assert not whole["ok"] and whole["value"] == "350.0 < 490.0 < 470.0 < 600.0"
    assert face["ok"] and face["value"] == "380.0 < 400.0 < 420.0 < 800.0"


def test_missing_inputs_are_one_sentence(tmp_path, tiny_bundle):
    with pytest.raises(UserError, match="not a make-data folder"):
        evaluate(EvalConfig(checkpoints=str(tiny_bundle), data=str(tmp_path), out=str(tmp_path / "r.md")))
    with pytest.raises(UserError, match="not found"):
        evaluate(EvalConfig(checkpoints=str(tmp_path / "none"), data=str(tmp_path), out=str(tmp_path / "r.md")))


def test_synthesize_sketches_adds_a_style_that_training_picks(data, tiny_bundle, tmp_path):
    import shutil

    import torch

    from sketchface.data.synthesize import synthesize_sketches
    from sketchface.data.synthetic import SyntheticShards
    from sketchface.train.config import make_config
    from sketchface.train.stages import pick_sketch, training_dataset
    d = tmp_path / "d"
    shutil.copytree(data, d)
    n = synthesize_sketches(d, tiny_bundle / "cyclegan", batch=8, progress=False)
    assert n == len(SyntheticShards(d, "train")) + len(SyntheticShards(d, "test"))
    cfg = make_config({"stage": "coarse", "data": str(d), "sketch_styles": ["cyclegan"]})
    ds = training_dataset(cfg, "train", ("sketch_cyclegan", "depth"))
    s = ds[0]["sketch_cyclegan"]
    assert s.shape == (1, 64, 64) and 0 <= float(s.min()) and float(s.max()) <= 1 and float(s.std()) > 0
    batch = {"sketch_cyclegan": torch.stack([ds[i]["sketch_cyclegan"] for i in range(3)])}
    picked = pick_sketch(batch, cfg, torch.Generator().manual_seed(0), 64)
    torch.testing.assert_close(picked, batch["sketch_cyclegan"])


def test_line_misses_script_splits_the_drawn_lines(data, tiny_bundle, tmp_path, capsys):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts" / "experiments"))
    import line_misses

    out = tmp_path / "misses.png"
    assert line_misses.main(["--checkpoints", str(tiny_bundle), "--data", str(data), "--n", "6", "--show", "2",
                             "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rows = [r for r in text.splitlines() if r.startswith("| coarse") or r.startswith("| finenet")]
    assert len(rows) == 2 and out.is_file()
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")[1:]]
        assert 0 <= float(cells[0]) <= 1                 # recall: the fixture's sketches have lines
        face = cells[2:6]                                # recalled + 2 px + 3-4 px + farther = all the face's lines
        assert sum(map(float, face)) == pytest.approx(1, abs=2e-3)


def test_line_oracle_script_fits_a_displacement_per_sample(data, tiny_bundle, tmp_path, capsys):
    import sys
    from pathlib import Path

    import torch
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts" / "experiments"))
    import line_oracle

    x = torch.rand(1, 1, 20, 20)
    torch.testing.assert_close(line_oracle.gaussian_blur(torch.full((1, 1, 9, 9), 0.3), 1.5),
                               torch.full((1, 1, 9, 9), 0.3))           # a constant stays constant
    assert line_oracle.gaussian_blur(x, 1.0).std() < x.std() and line_oracle.gaussian_blur(x, 0) is x
    out = tmp_path / "oracle.png"
    assert line_oracle.main(["--checkpoints", str(tiny_bundle), "--data", str(data), "--n", "4", "--steps", "3",
                             "--dis-scale", "3", "--blur", "0", "1", "--show", "2", "--out", str(out)]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("| optimised") or r.startswith("| shipped")]
    assert len(rows) == 1 + 2 * 2 and out.is_file()                  # shipped + 2 gates x 1 dis_scale x 2 blurs
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        on, off = map(float, cells[4].split("/"))
        assert 0 <= float(cells[3]) <= 1 and on >= 0 and off >= 0
    ungated = [r for r in rows if "gate r = 0" in r]
    assert len(ungated) == 2


def test_photo_lines_script_scores_each_xdog_setting(data, tiny_bundle, tmp_path, capsys):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts" / "experiments"))
    import photo_lines

    out = tmp_path / "photo_lines.png"
    assert photo_lines.main(["--checkpoints", str(tiny_bundle), "--data", str(data), "--n", "3", "--skip", "1",
                             "--variants", "0.98:0", "0.95:8", "--show", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 test photos (from #1)" in text and out.is_file()
    rows = [[c.strip() for c in r.strip("|").split("|")] for r in text.splitlines()
            if r.startswith("| coarse") or r.startswith("| tau")]
    assert [r[0] for r in rows] == ["coarse (no FineNet)", "tau 0.98", "tau 0.95, strokes < 8 px dropped"]
    assert float(rows[2][1]) <= float(rows[1][1])             # a lower tau and no specks: less ink
    for r in rows:
        assert float(r[2]) >= 0 and 0 <= float(r[3]) <= 1 and 0 <= float(r[4]) <= 1


def test_paper_inputs_script_guesses_kinds_and_scores_both_readings(data, tiny_bundle, tmp_path, capsys):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts" / "experiments"))
    import paper_inputs

    rng = np.random.default_rng(0)
    g = np.ones((40, 40), np.float32)
    g[10:30, 20] = 0.0
    on_paper = paper_inputs.phone_photo(g, rng)
    assert on_paper.shape == (40, 40, 3) and on_paper[0, 0, 2] < on_paper[0, 0, 0]        # cream, not white
    assert paper_inputs.saturation_rule(np.repeat(g[..., None], 3, -1)) == "lines"
    out = tmp_path / "paper.png"
    assert paper_inputs.main(["--checkpoints", str(tiny_bundle), "--data", str(data), "--n", "2", "--show", "1",
                              "--out", str(out)]) == 0
    text = capsys.readouterr().out
    kinds = {r.split("|")[1].strip(): r.split("|")[2:4] for r in text.splitlines() if r.count("%") >= 6}
    assert set(kinds) == {"photo", "pencil sketch", "line drawing", "pencil sketch on paper",
                          "line drawing on paper"}
    for cells in kinds.values():                                        # photo / sketch / lines shares sum to 1
        for c in cells:
            assert sum(float(v.strip(" %")) for v in c.split("/")) == pytest.approx(100, abs=0.2)
    errs = [r for r in text.splitlines() if r.startswith("| ") and r.count("/") == 2 and "%" not in r]
    assert len(errs) == 4 and out.is_file()


def test_framing_error_script_reports_each_framing(data, tiny_bundle, capsys, tmp_path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts" / "experiments"))
    import framing_error

    assert framing_error.main(["--checkpoints", str(tiny_bundle), "--data", str(data), "--n", "2"]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("| line") or r.startswith("| pencil")]
    assert [r.split("|")[2].strip() for r in rows] == ["ink box", "ink box"]      # no locator in this bundle
    for r in rows:
        coarse, fine = map(float, r.split("|")[3].split("/"))
        assert coarse > 0 and fine > 0
    # the drawing's own frame given as the crop box: crop side exactly the drawing's, no box offset; a locator
    # checkpoint named on the command line is compared next to the ink box
    from sketchface.nets.locator import FaceLocator, LocatorConfig

    loc = tmp_path / "other-locator"
    FaceLocator(LocatorConfig(view=16, width=4, n_layers=2)).save_pretrained(loc)
    assert framing_error.main(["--checkpoints", str(tiny_bundle), "--data", str(data), "--n", "2", "--coarse-only",
                               "--scales", "1", "1.1", "--locators", str(loc)]) == 0
    rows = [r.split("|") for r in capsys.readouterr().out.splitlines() if r.startswith("| line")]
    assert [r[2].strip() for r in rows] == ["own frame × 1", "own frame × 1.1", "ink box", f"ink box + {loc}"]
    side = float(rows[0][4].split("±")[0])
    assert side > 0 and rows[0][4].split("±")[1].strip() == "0.0" and float(rows[0][5]) == 0.0
    assert float(rows[1][4].split("±")[0]) == pytest.approx(1.1 * side, abs=1)
    assert all("/" not in r[3] and float(r[3]) > 0 and "left out" in r[6] for r in rows)


def test_framing_picture_script_draws_every_crop(data, tiny_bundle, tmp_path):
    import sys
    from pathlib import Path

    from PIL import Image
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts" / "experiments"))
    import framing_picture

    out = tmp_path / "framing.png"
    assert framing_picture.main(["--checkpoints", str(tiny_bundle), "--data", str(data), "--skip", "0",
                                 "--show", "2", "--margin", "4", "--out", str(out)]) == 0
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    side = img.shape[0] // 2
    assert img.shape[1] == 2 * side                               # two rows, two tiles each
    red = (img[..., 0] > 180) & (img[..., 1] < 90) & (img[..., 2] < 90)
    grey = (abs(img - 150) < 8).all(-1)
    assert red.sum() > 0 and grey.sum() > 0                        # ink-box crops and the own frames are drawn
