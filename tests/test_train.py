"""Trainers: every stage runs, resume is exact, bad keys and non-finite losses stop cleanly, DDP on gloo."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from sketchface.cli import main
from sketchface.errors import UserError
from sketchface.data.make_data import make_data
from sketchface.train.config import dump_config, load_config
from sketchface.train.loop import Trainer, batch_indices
from sketchface.train.stages import get_stage

TINY = ["net={image_size: 32, dim: 4, n_res: 1}", "log_every=1", "sample_every=2", "threads=1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory, tiny_model_path):
    out = tmp_path_factory.mktemp("traindata")
    make_data(out, n=32, size=32, variants=2, seed=1, workers=1, face_model=str(tiny_model_path), progress=False)
    return out


def run(stage, data, out, *extra):
    cfg = load_config(None, [f"data={data}", f"out={out}", *TINY, *extra], stage=stage)
    t = Trainer(get_stage(stage), cfg, progress=False)
    return t, t.fit()


def test_unknown_and_mistyped_keys_are_refused():
    with pytest.raises(UserError, match="unknown key 'stpes'"):
        load_config(None, ["stpes=3"], stage="coarse")
    with pytest.raises(UserError, match="must be int"):
        load_config(None, ["steps=many"], stage="coarse")
    with pytest.raises(UserError, match="variant"):
        load_config(None, ["variant=xx"], stage="coarse")


def test_config_yaml_round_trip(tmp_path):
    cfg = load_config(None, ["steps=7", "variant=sp"], stage="coarse")
    p = tmp_path / "c.yaml"
    p.write_text(dump_config(cfg))
    assert "# optimizer steps" in p.read_text()
    assert load_config(p) == cfg


def test_batches_are_a_function_of_the_step():
    a = batch_indices(10, 3, 4, seed=0)
    assert (a == batch_indices(10, 3, 4, seed=0)).all()
    epoch0 = [i for s in range(5) for i in batch_indices(10, s, 2, 0)]
    assert sorted(epoch0) == list(range(10))  # every sample once per epoch


@pytest.mark.parametrize("variant", ["sp-", "sp", "dp", "dnet"])
def test_coarse_variants_train_and_export(data, tmp_path, variant):
    extra = ["net={image_size: 32, dim: 4, n_res: 1, n_downsample: 3}"] if variant == "dnet" else []
    if variant == "dnet":
        extra = ["net={image_size: 32, dim: 4, n_downsample: 5}"]
    t, last = run("coarse", data, tmp_path, f"variant={variant}", "steps=2", *extra)
    assert "total" in last and all(torch.isfinite(torch.tensor(v)) for v in last.values())
    assert (tmp_path / "final" / "model.safetensors").is_file()
    assert (tmp_path / "samples" / "step_000002.png").is_file()
    assert (tmp_path / "metrics.csv").read_text().count("\n") == 3


def test_cosine_schedule_warms_up_decays_to_zero_and_is_refused_when_unknown():
    cfg = load_config(None, ["steps=100", "lr=1e-3", "lr_schedule=cosine", "warmup_steps=10"], stage="coarse")
    lrs = [cfg.lr_at(s) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)      # linear warm-up
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))                       # then only down
    assert lrs[54] == pytest.approx(5e-4, rel=0.05) and lrs[99] < 1e-6           # half way: half; end: ~0
    assert load_config(None, ["lr=2e-4"], stage="coarse").lr_at(5000) == 2e-4   # constant: the paper's
    with pytest.raises(UserError, match="lr_schedule"):
        load_config(None, ["lr_schedule=step"], stage="coarse")
    with pytest.raises(UserError, match="warmup_steps"):
        load_config(None, ["steps=100", "warmup_steps=100"], stage="coarse")


def test_the_loop_sets_the_scheduled_lr_on_every_optimizer(data, tmp_path):
    t, _ = run("cyclegan", data, tmp_path, "steps=3", "lr=1e-3", "lr_schedule=cosine",
             "net={image_size: 32, ngf: 4, ndf: 4, n_blocks: 1}")
    expected = t.cfg.lr_at(2)
    assert 0 < expected < 1e-3
    assert [g["lr"] for o in t.opts.values() for g in o.param_groups] == [expected] * sum(
        len(o.param_groups) for o in t.opts.values())


def test_depth_loss_decreases_on_a_fixed_batch(data, tmp_path):
    cfg = load_config(None, [f"data={data}", f"out={tmp_path}", *TINY, "variant=sp", "lr=1e-3"], stage="coarse")
    t = Trainer(get_stage("coarse"), cfg, progress=False)
    batch = t.local_batch(0)
    def gen():
        return torch.Generator().manual_seed(0)
    first = t.update(batch, gen())["3d_s"]
    for _ in range(15):
        last = t.update(batch, gen())["3d_s"]
    assert last < 0.7 * first


def test_resume_continues_exactly(data, tmp_path):
    a, _ = run("lines", data, tmp_path / "a", "steps=4", "ckpt_every=2")
    # an interrupted run: 2 steps, then a new process-like Trainer resumes to 4
    run("lines", data, tmp_path / "b", "steps=2", "ckpt_every=2")
    cfg = load_config(None, [f"data={data}", f"out={tmp_path / 'b'}", *TINY, "steps=4", "ckpt_every=2"], stage="lines")
    b = Trainer(get_stage("lines"), cfg, progress=False)
    b.fit(resume=True)
    wa = load_file(tmp_path / "a" / "final" / "model.safetensors")
    wb = load_file(tmp_path / "b" / "final" / "model.safetensors")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_damaged_checkpoint_is_refused(data, tmp_path):
    run("lines", data, tmp_path, "steps=2", "ckpt_every=1")
    ck = tmp_path / "ckpt.pt"
    ck.write_bytes(ck.read_bytes()[: ck.stat().st_size // 2])
    cfg = load_config(None, [f"data={data}", f"out={tmp_path}", *TINY, "steps=3"], stage="lines")
    with pytest.raises(UserError, match="damaged or truncated"):
        Trainer(get_stage("lines"), cfg, progress=False).fit(resume=True)


def test_nan_loss_stops_and_keeps_last_checkpoint(data, tmp_path):
    cfg = load_config(None, [f"data={data}", f"out={tmp_path}", *TINY, "steps=5", "ckpt_every=1"], stage="lines")
    t = Trainer(get_stage("lines"), cfg, progress=False)
    real_losses = t.stage.losses
    calls = []

    def poisoned(*a):
        calls.append(1)
        out = real_losses(*a)
        if len(calls) == 3:
            out.backward["net"] = out.backward["net"] * float("nan")
        return out
    t.stage.losses = poisoned
    with pytest.raises(UserError, match="non-finite at step 2.*before changing the weights"):
        t.fit()
    ck = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert ck["step"] == 2
    assert all(torch.equal(v, ck["models"]["net"][k]) for k, v in t.models["net"].state_dict().items())


def test_fine_stage_with_fixed_coarse_and_lines(data, tmp_path):
    run("coarse", data, tmp_path / "c", "variant=sp", "steps=1")
    run("lines", data, tmp_path / "l", "steps=1")
    ck = [f"coarse_ckpt={tmp_path / 'c' / 'final'}", f"lines_ckpt={tmp_path / 'l' / 'final'}"]
    t, last = run("fine", data, tmp_path / "f", "steps=2", *ck)
    assert {"line", "dis", "total"} <= set(last) and "extra" not in last
    _, last = run("fine", data, tmp_path / "f3", "steps=1", "lambda_extra=1.0", *ck)
    assert "extra" in last and last["extra"] >= 0
    _, last = run("fine", data, tmp_path / "f4", "steps=1", "line_loss=logit", *ck)
    assert last["line"] > 0 and math.isfinite(last["total"])
    with pytest.raises(UserError, match="line_loss must be l1 or logit"):
        load_config(None, [f"data={data}", "line_loss=bce", *ck], stage="fine")
    with pytest.raises(UserError, match="line_tolerance"):
        load_config(None, [f"data={data}", "line_tolerance=1", *ck], stage="fine")
    coarse_before = load_file(tmp_path / "c" / "final" / "model.safetensors")
    assert all(torch.equal(coarse_before[k], v.to(coarse_before[k].dtype))
               for k, v in t.models["coarse"].state_dict().items() if k in coarse_before)
    _, last = run("fine", data, tmp_path / "f2", "steps=1", "loss=dis+3d", "lambda_conditioned=false", *ck)
    assert "3d" in last


def test_dressed_sketches_keep_their_depth(data, tmp_path):
    import torch

    from sketchface.train.stages import dress_sketches

    cfg = load_config(None, [f"data={data}", "dress_share=1.0"], stage="coarse")
    t = Trainer(get_stage("coarse"), load_config(None, [f"data={data}", f"out={tmp_path}", *TINY, "dress_share=1",
                                                       "steps=1"],
                                                 stage="coarse"), progress=False)
    batch = t.local_batch(0)
    s = batch["sketch_pencil"]
    dressed = dress_sketches(s, batch, cfg.coarse.dress_share, torch.Generator().manual_seed(0))
    assert dressed.shape == s.shape and dressed.mean() < s.mean() and (dressed < s - 0.1).any()    # more ink
    again = dress_sketches(s, batch, cfg.coarse.dress_share, torch.Generator().manual_seed(0))
    assert torch.equal(dressed, again)                                                  # reproducible per step
    assert "3d_s" in t.fit()                                               # a dressed training run
    with pytest.raises(UserError, match="dress_share"):
        load_config(None, ["dress_share=2"], stage="coarse")


def test_finenet_learns_not_to_carve_what_is_worn(data, tmp_path):
    """dress_lines: FineNet's input is the dressed drawing's lines, L_line asks only for the face's own visible ones."""
    import torch

    from sketchface.train.stages import pick_sketch
    from sketchface.xdog import xdog_torch

    run("coarse", data, tmp_path / "c", "steps=1")
    run("lines", data, tmp_path / "l", "steps=1")
    ck = [f"coarse_ckpt={tmp_path / 'c' / 'final'}", f"lines_ckpt={tmp_path / 'l' / 'final'}"]
    t, last = run("fine", data, tmp_path / "f", "steps=2", "dress_lines=1", *ck)
    assert math.isfinite(last["total"]) and last["worn"] >= 0          # the worn strokes' displacement is a term
    _, last = run("fine", data, tmp_path / "f0", "steps=1", "dress_lines=1", "worn_weight=0", *ck)
    assert "worn" not in last
    batch = t.local_batch(0)
    s, coarse, l, mask, target = t.stage._inputs(t.models, batch, t.cfg, torch.Generator().manual_seed(1))
    assert (l < 0.5).sum() > (target < 0.5).sum()                      # the worn strokes are in the input only
    assert ((target < 0.5) <= (l < 0.5)).all()                         # every asked-for line is drawn in the input
    clean = xdog_torch(pick_sketch(batch, t.cfg, torch.Generator().manual_seed(1), s.shape[-1]))
    assert ((target < 0.5) <= (clean < 0.5)).all()                     # and is a line of the undressed drawing
    undressed = load_config(None, [f"data={data}", *ck], stage="fine")
    _, _, l2, _, same = t.stage._inputs(t.models, batch, undressed, torch.Generator().manual_seed(1))
    assert torch.equal(l2, same)                                       # undressed: L_line asks for l itself
    with pytest.raises(UserError, match="dress_lines"):
        load_config(None, ["dress_lines=2", *ck], stage="fine")
    with pytest.raises(UserError, match="worn_weight"):
        load_config(None, ["worn_weight=-1", *ck], stage="fine")


def test_cyclegan_stage(data, tmp_path):
    _, last = run("cyclegan", data, tmp_path, "steps=2", "net={image_size: 32, ngf: 4, ndf: 4, n_blocks: 1}")
    assert {"g", "d"} <= set(last)


def test_cli_train(data, tmp_path):
    assert main(["train", "lines", "--no-progress", f"data={data}", f"out={tmp_path}", *TINY, "steps=1"]) == 0
    assert main(["train", "lines", f"data={data}", "bogus=1"]) == 2


@pytest.mark.skipif(sys.platform != "linux", reason="torchrun test on Linux only")
def test_ddp_two_gloo_processes(data, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
           "-m", "sketchface", "train", "lines", "--no-progress", f"data={data}", f"out={tmp_path}",
           *TINY, "steps=2", "batch_size=4"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "final" / "model.safetensors").is_file()


def test_full_disk_while_saving_keeps_the_previous_checkpoint(data, tmp_path, monkeypatch):
    import errno

    import sketchface.train.loop as loop
    t, _ = run("lines", data, tmp_path, "steps=2", "ckpt_every=1")
    before = (tmp_path / "ckpt.pt").read_bytes()
    real_save = torch.save

    def full_disk(obj, f, *a, **k):
        f.write(b"partial bytes")                      # half a file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(loop.torch, "save", full_disk)
    cfg = load_config(None, [f"data={data}", f"out={tmp_path}", *TINY, "steps=3", "ckpt_every=1"], stage="lines")
    with pytest.raises(UserError, match="No space left on device.*previous checkpoint .* is intact"):
        Trainer(get_stage("lines"), cfg, progress=False).fit(resume=True)
    monkeypatch.setattr(loop.torch, "save", real_save)
    assert (tmp_path / "ckpt.pt").read_bytes() == before
    assert not (tmp_path / "ckpt.pt.tmp").exists()
    assert loop.load_checkpoint(tmp_path / "ckpt.pt")["step"] == 2


def test_kill_9_mid_run_then_resume_matches_an_uninterrupted_run(data, tmp_path):
    """A real process killed with SIGKILL loses at most the steps since its last checkpoint."""
    import signal
    import time

    args = [sys.executable, "-m", "sketchface", "train", "lines", f"data={data}", *TINY, "steps=30",
            "ckpt_every=3", "sample_every=100"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run(args + [f"out={tmp_path / 'ref'}"], check=True, env=env, capture_output=True, timeout=300)
    p = subprocess.Popen(args + [f"out={tmp_path / 'cut'}"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    ck, metrics = tmp_path / "cut" / "ckpt.pt", tmp_path / "cut" / "metrics.csv"
    deadline = time.time() + 240
    while time.time() < deadline and p.poll() is None:
        if ck.exists() and metrics.exists() and len(metrics.read_text().splitlines()) >= 8:
            break
        time.sleep(0.05)
    if p.poll() is not None:
        pytest.skip("the run finished before it could be killed (machine too fast for this test)")
    p.send_signal(signal.SIGKILL)
    p.wait()
    from sketchface.train.loop import load_checkpoint
    step = load_checkpoint(ck)["step"]                  # the checkpoint survived the kill intact
    done = len(metrics.read_text().splitlines()) - 1
    assert 3 <= step <= 30 and done - step <= 3 + 1     # lost at most the steps since the last checkpoint
    r = subprocess.run(args + [f"out={tmp_path / 'cut'}", "--resume"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-500:]
    assert f"resumed {tmp_path / 'cut'} at step {step}" in r.stdout
    wa = load_file(tmp_path / "ref" / "final" / "model.safetensors")
    wb = load_file(tmp_path / "cut" / "final" / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_trained_runs_export_to_a_bundle_the_pipeline_loads(data, tmp_path):
    """train -> export-checkpoints -> SketchFace: the whole path from runs to a working pipeline."""
    import numpy as np

    from sketchface import SketchFace
    runs = tmp_path / "runs"
    run("coarse", data, runs / "coarse-dp-full", "variant=dp", "steps=2")
    run("lines", data, runs / "lines", "steps=1")
    ck = [f"coarse_ckpt={runs / 'coarse-dp-full' / 'final'}", f"lines_ckpt={runs / 'lines' / 'final'}"]
    run("fine", data, runs / "fine-line+dis", "steps=1", *ck)
    assert main(["train-locator", "--data", str(data), "--out", str(runs / "locator" / "final"), "--steps", "2",
                 "--no-progress"]) == 0
    # a role trained by a command of its own (train-mouth) writes its weights and a report, no Trainer run
    from sketchface.nets.mouth import Mouth, MouthConfig
    Mouth(MouthConfig()).save_pretrained(runs / "mouth" / "final")
    (runs / "mouth" / "final" / "training.json").write_text('{"steps": 7}')
    assert main(["export-checkpoints", "--runs", str(runs), "--out", str(tmp_path / "bundle")]) == 0
    table = (tmp_path / "bundle" / "TRAINING.md").read_text()
    assert "| dp_coarse |" in table and "| finenet |" in table and "| cyclegan |" not in table
    assert "| locator |" in table and "| mouth | " in table and " | 7 | " in table.split("| mouth |")[1]
    assert (tmp_path / "bundle" / "mouth" / "training.json").read_text() == '{"steps": 7}'
    assert not (tmp_path / "bundle" / "facecheck").exists()          # not trained: left out
    sizes = [(tmp_path / "bundle" / n / "model.safetensors").stat().st_size for n in ("dp_coarse", "finenet")]
    assert all(s > 0 for s in sizes)
    sf = SketchFace.from_pretrained(tmp_path / "bundle")
    assert sf.locator is not None
    r = sf(np.pad(np.eye(40, dtype=np.float32)[::-1] * -1 + 1, 10, constant_values=1.0))
    assert r.fine.shape == (32, 32) and np.isfinite(r.fine).all() and r.framing_method == "ink+locator"


def test_run_summary_adds_up_resumed_segments(tmp_path):
    from sketchface.train.export import run_summary
    (tmp_path / "metrics.csv").write_text("step,time,images_per_s,total\n1,10,2,5\n2,20,2,4\n3,5,4,3\n4,15,4,2\n")
    s = run_summary(tmp_path)
    assert s["trained_steps"] == 4 and s["hours"] == round(35 / 3600, 2) and s["last"] == {"total": 2.0}


def test_bench_train_times_each_stage_from_its_config(data, tmp_path):
    from sketchface.train.throughput import run_all, write_report
    net = "net: {image_size: 32, dim: 4, n_res: 1}\n"
    cfg = tmp_path / "configs" / "lite"
    cfg.mkdir(parents=True)
    (cfg / "lines.yaml").write_text("stage: lines\nbatch_size: 3\n" + net)
    (cfg / "coarse_dp.yaml").write_text("stage: coarse\nvariant: dp\n" + net)
    (cfg / "fine.yaml").write_text("stage: fine\n" + net)
    rows = run_all("lite", str(data), steps=2, warmup=1, configs=tmp_path / "configs", device="cpu", threads=1,
                   stages=["lines", "fine"], progress=False)
    assert [r["stage"] for r in rows] == ["line extractor", "FineNet (L_line + L_dis)"]
    assert [r["batch"] for r in rows] == [3, 4] and all(r["image_size"] == 32 for r in rows)
    assert all(r["images_per_s"] > 0 and r["ms"] > 0 and r["peak_mb"] > 0 for r in rows)
    assert rows[0]["config_steps"] == 20000 and rows[0]["config_hours"] == pytest.approx(20000 * rows[0]["ms"] / 3.6e6)
    write_report(rows, tmp_path / "T.md")
    assert (tmp_path / "T.md").read_text().count("| lite |") == 2
    assert len(json.loads((tmp_path / "T.json").read_text())) == 2
    with pytest.raises(UserError, match="no config folder"):
        run_all("paper", str(data), 1, 0, tmp_path / "configs", "cpu", 1)
    with pytest.raises(UserError, match="unknown stage"):
        run_all("lite", str(data), 1, 0, tmp_path / "configs", "cpu", 1, stages=["finenet"])


def test_shipped_training_configs_load_and_never_share_a_run_folder():
    """A typo in configs/*/*.yaml is caught here, not an hour into training; two configs writing one folder would
    resume each other's checkpoints."""
    root = Path(__file__).resolve().parents[1] / "configs"
    for preset in ("lite", "paper"):
        files = sorted((root / preset).glob("*.yaml"))
        assert len(files) >= 5, files
        cfgs = {p.name: load_config(p) for p in files}
        assert all(c.preset == preset for c in cfgs.values())
        folders = [str(c.run_dir()) for c in cfgs.values()]
        assert len(set(folders)) == len(folders), folders
    hour = load_config(root / "lite" / "coarse_dp_1h.yaml")
    assert hour.lr_schedule == "cosine" and hour.lr_at(hour.steps - 1) < 0.01 * hour.lr


def test_jitter_frame_crops_sketch_photo_and_depth_alike():
    from sketchface.train.config import make_config
    from sketchface.train.stages import jitter_frame

    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    disc = (((yy - 15.5) ** 2 + (xx - 15.5) ** 2) < 64).float()[None, None].repeat(6, 1, 1, 1)
    images = {"white": 1.0 - disc, "zeros": disc * 0.8, "border": disc.repeat(1, 3, 1, 1) * 0.5 + 0.25}
    none = jitter_frame(images, make_config({"jitter_share": 0.0}), torch.Generator().manual_seed(0))
    assert all(torch.allclose(none[k], images[k], atol=1e-5) for k in images)
    cfg = make_config({"jitter_share": 1.0, "jitter_scale": 1.3, "jitter_shift": 0.2})
    j = jitter_frame(images, cfg, torch.Generator().manual_seed(0))
    ink, depth, photo = 1.0 - j["white"], j["zeros"] / 0.8, (j["border"][:, :1] - 0.25) / 0.5
    assert not torch.allclose(ink, disc, atol=0.05)                  # the disc moved or changed size
    assert torch.allclose(ink, depth, atol=1e-5) and torch.allclose(ink, photo, atol=1e-5)
    assert j["white"][:, :, 0, 0].min() > 0.99 and j["zeros"][:, :, 0, 0].max() < 0.01   # paper white, depth 0
    again = jitter_frame(images, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(again["white"], j["white"])                    # a function of the generator
    with pytest.raises(UserError, match="jitter"):
        make_config({"jitter_share": 1.5})


def test_coarse_stage_with_jitter_trains_and_resumes_exactly(data, tmp_path):
    _, plain = run("coarse", data, tmp_path / "p", "variant=dp", "steps=1")
    _, jittered = run("coarse", data, tmp_path / "j", "variant=dp", "steps=1", "jitter_share=1.0")
    assert math.isfinite(jittered["total"]) and jittered["total"] != plain["total"]   # same weights, other inputs
    # with a starting checkpoint and jitter on half the examples, a resumed run equals an uninterrupted one
    extra = ["variant=dp", "jitter_share=0.5", f"init_from={tmp_path / 'p' / 'final'}", "ckpt_every=2"]
    run("coarse", data, tmp_path / "a", "steps=4", *extra)
    run("coarse", data, tmp_path / "b", "steps=2", *extra)
    cfg = load_config(None, [f"data={data}", f"out={tmp_path / 'b'}", *TINY, "steps=4", *extra], stage="coarse")
    Trainer(get_stage("coarse"), cfg, progress=False).fit(resume=True)
    wa = load_file(tmp_path / "a" / "final" / "model.safetensors")
    wb = load_file(tmp_path / "b" / "final" / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # resuming that run with another network (twice as wide) is one sentence, not a traceback
    other = load_config(None, [f"data={data}", f"out={tmp_path / 'b'}", *TINY, "steps=5", "variant=dp",
                               "net={image_size: 32, dim: 8, n_res: 1}"], stage="coarse")
    with pytest.raises(UserError, match="does not fit the network 'net'"):
        Trainer(get_stage("coarse"), other, progress=False).fit(resume=True)


def test_init_from_starts_at_the_checkpoint_weights(data, tmp_path):
    run("coarse", data, tmp_path / "a", "variant=sp", "steps=2")
    start = load_file(tmp_path / "a" / "final" / "model.safetensors")
    cfg = load_config(None, [f"data={data}", f"out={tmp_path / 'b'}", *TINY, "variant=sp", "steps=1",
                             f"init_from={tmp_path / 'a' / 'final'}"], stage="coarse")
    t = Trainer(get_stage("coarse"), cfg, progress=False)
    now = t.models["net"].state_dict()
    assert all(torch.equal(now[k].float(), v.float()) for k, v in start.items())
    fresh = Trainer(get_stage("coarse"), load_config(None, [f"data={data}", f"out={tmp_path / 'c'}", *TINY,
                                                            "variant=sp", "steps=1"], stage="coarse"), progress=False)
    assert not all(torch.equal(fresh.models["net"].state_dict()[k].float(), v.float()) for k, v in start.items())
    wrong = load_config(None, [f"data={data}", f"out={tmp_path / 'd'}", *TINY, "variant=dp", "steps=1",
                               f"init_from={tmp_path / 'a' / 'final'}"], stage="coarse")
    with pytest.raises(UserError, match="sp_coarse"):
        Trainer(get_stage("coarse"), wrong, progress=False)
    missing = load_config(None, [f"data={data}", f"out={tmp_path / 'e'}", *TINY, "variant=sp", "steps=1",
                                 f"init_from={tmp_path / 'nowhere'}"], stage="coarse")
    with pytest.raises(UserError, match="init_from="):
        Trainer(get_stage("coarse"), missing, progress=False)


def test_init_from_a_finenet_must_agree_on_lambda_conditioning(data, tmp_path):
    run("coarse", data, tmp_path / "c", "variant=sp", "steps=1")
    run("lines", data, tmp_path / "l", "steps=1")
    ck = [f"coarse_ckpt={tmp_path / 'c' / 'final'}", f"lines_ckpt={tmp_path / 'l' / 'final'}"]
    run("fine", data, tmp_path / "fixed", "steps=1", "lambda_conditioned=false", *ck)
    start = f"init_from={tmp_path / 'fixed' / 'final'}"
    t, _ = run("fine", data, tmp_path / "again", "steps=1", "lambda_conditioned=false", start, *ck)
    assert not t.models["net"].config.lambda_conditioned
    cfg = load_config(None, [f"data={data}", f"out={tmp_path / 'f'}", *TINY, "steps=1", start, *ck], stage="fine")
    with pytest.raises(UserError, match="lambda_conditioned=False"):
        Trainer(get_stage("fine"), cfg, progress=False)
    bad = load_config(None, [f"data={data}", f"out={tmp_path / 'g'}", *TINY, "steps=1", *ck[:1],
                             f"lines_ckpt={tmp_path / 'nowhere'}"], stage="fine")
    with pytest.raises(UserError, match="lines_ckpt="):
        Trainer(get_stage("fine"), bad, progress=False)


def test_accumulated_slices_make_the_same_step_as_the_whole_batch(data, tmp_path):
    """Gradients of 2 slices added up = the gradient of the batch: the weights after one (SGD) step agree."""
    outs = []
    for acc in (1, 2):
        cfg = load_config(None, [f"data={data}", f"out={tmp_path / str(acc)}", *TINY, "batch_size=4",
                                 f"accumulate={acc}", "lr=0.1"], stage="lines")
        t = Trainer(get_stage("lines"), cfg, progress=False)
        start = {k: v.clone() for k, v in t.models["net"].state_dict().items()}
        t.opts["net"] = torch.optim.SGD(t.models["net"].parameters(), lr=0.1)
        logged = t.optimizer_step(0)[1]
        outs.append(({k: v - start[k] for k, v in t.models["net"].state_dict().items()}, logged["total"]))
    (a, la), (b, lb) = outs
    assert la == pytest.approx(lb, rel=1e-4)
    assert all(torch.allclose(a[k], b[k], rtol=1e-3, atol=1e-7) for k in a)
    assert max(float(v.abs().max()) for v in a.values()) > 1e-4          # the step moved the weights


def test_clipping_logs_the_norm_and_bounds_the_step(data, tmp_path):
    def first_step(clip):
        cfg = load_config(None, [f"data={data}", f"out={tmp_path / str(clip)}", *TINY, f"grad_clip={clip}",
                                 "lr=1.0", "beta1=0.0"], stage="lines")
        t = Trainer(get_stage("lines"), cfg, progress=False)
        t.opts["net"] = torch.optim.SGD(t.models["net"].parameters(), lr=1.0)     # the step is the gradient
        before = {k: v.clone() for k, v in t.models["net"].state_dict().items()}
        logged = t.optimizer_step(0)[1]
        moved = torch.sqrt(sum(((v - before[k]) ** 2).sum() for k, v in t.models["net"].state_dict().items()
                               if v.dtype.is_floating_point and "running" not in k))
        return logged, float(moved)
    free, moved_free = first_step(0.0)
    clipped, moved = first_step(1e-3)
    assert "grad_norm_net" not in free and clipped["grad_norm_net"] > 1e-3
    assert moved == pytest.approx(1e-3, rel=0.05) and moved_free > 10 * moved


def test_validation_losses_join_the_log_and_workers_build_the_same_batches(data, tmp_path):
    import csv

    t, _ = run("lines", data, tmp_path / "v", "steps=4", "val_every=2", "val_batches=2", "log_every=3")
    rows = list(csv.DictReader(open(tmp_path / "v" / "metrics.csv")))
    assert [r["step"] for r in rows] == ["2", "3", "4"]
    assert rows[0]["val_total"] and not rows[1]["val_total"] and float(rows[2]["val_total"]) > 0
    assert t.validate() == t.validate()                                 # fixed batches and choices
    a, _ = run("lines", data, tmp_path / "w0", "steps=3")
    b, _ = run("lines", data, tmp_path / "w1", "steps=3", "workers=1")
    wa = load_file(tmp_path / "w0" / "final" / "model.safetensors")
    wb = load_file(tmp_path / "w1" / "final" / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_the_locator_trains_as_a_stage_and_resumes_exactly(data, tmp_path):
    extra = ["net={view: 16, width: 4, n_layers: 2}", "batch_size=8"]
    run("locator", data, tmp_path / "a", "steps=4", "ckpt_every=2", *extra)
    run("locator", data, tmp_path / "b", "steps=2", "ckpt_every=2", *extra)
    cfg = load_config(None, [f"data={data}", f"out={tmp_path / 'b'}", *TINY, "steps=4", "ckpt_every=2", *extra],
                      stage="locator")
    Trainer(get_stage("locator"), cfg, progress=False).fit(resume=True)
    wa = load_file(tmp_path / "a" / "final" / "model.safetensors")
    wb = load_file(tmp_path / "b" / "final" / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa) and wa[next(iter(wa))].dtype == torch.float16
    assert (tmp_path / "a" / "samples" / "step_000004.png").is_file()
    assert json.loads((tmp_path / "a" / "final" / "config.json").read_text())["view"] == 16


def test_stage_sections_take_flat_dotted_and_nested_keys(tmp_path):
    """One config mechanism (sketchface.config): the training config's per-stage sections read their keys flat
    (older run folders, short overrides), dotted or nested, refuse unknown ones, and write commented YAML."""
    from sketchface.config import Config
    from sketchface.errors import ConfigError
    from sketchface.evaluate import EvalConfig
    from sketchface.nets.config import NetConfig

    flat = load_config(None, ["dress_share=0.5", "lambda_3d=0.01"], stage="coarse")
    dotted = load_config(None, ["coarse.dress_share=0.5", "coarse.lambda_3d=1e-2"], stage="coarse")
    p = tmp_path / "nested.yaml"
    p.write_text("stage: coarse\ncoarse:\n  dress_share: 0.5\n  lambda_3d: 0.01\n")
    assert flat == dotted == load_config(p) and flat.coarse.dress_share == 0.5
    old = tmp_path / "old.yaml"          # a run folder's config.yaml from before the sections
    old.write_text("stage: fine\nloss: line+dis\nlambda_conditioned: false\nline_loss: logit\ndis_scale: 3.0\n")
    cfg = load_config(old)
    assert cfg.fine.line_loss == "logit" and not cfg.fine.lambda_conditioned and cfg.fine.dis_scale == 3.0
    text = dump_config(cfg)
    assert "\nfine:  # the fine stage" in text and "  dis_scale: 3.0" in text and "# weight of L_rec" in text
    p.write_text(text)
    assert load_config(p) == cfg
    with pytest.raises(UserError, match="coarse.dress_share"):        # the allowed keys are listed, dotted
        load_config(None, ["dress_shar=1"], stage="coarse")
    with pytest.raises(UserError, match="line_loss must be l1 or logit"):
        load_config(None, ["fine.line_loss=bce"], stage="fine")
    assert issubclass(NetConfig, Config) and issubclass(EvalConfig, Config)
    assert EvalConfig(styles=["lines"]).styles == ("lines",)
    with pytest.raises(ConfigError, match="EvalConfig.n must be int"):
        EvalConfig(n="all")
