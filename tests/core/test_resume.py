"""Checkpoints: SIGKILL + resume == uninterrupted (bitwise), SIGTERM saves and exits 0, corrupt newest
checkpoint falls back to the previous one, NaN stops without touching good checkpoints."""

import json
import signal
import subprocess
import time
from pathlib import Path

import chex
import pytest

from conftest import REPO, cli_env, jaxml_cmd
from jaxml.core.checkpoint import Checkpointer

pytestmark = pytest.mark.xdist_group("resume")

LONG = ["--config.steps=3000", "--config.log_every=50", "--config.eval_every=1500", "--config.checkpoint_every=100",
        "--config.keep_checkpoints=50", "--config.tensorboard=false"]


def run(workdir, *extra, check=True, timeout=240):
    out = subprocess.run(jaxml_cmd("train", "mlp_digits", "--workdir", str(workdir), *LONG, *extra), cwd=REPO,
                         env=cli_env(1), capture_output=True, text=True, timeout=timeout)
    if check:
        assert out.returncode == 0, out.stderr[-3000:]
    return out


def start(workdir, *extra):
    return subprocess.Popen(jaxml_cmd("train", "mlp_digits", "--workdir", str(workdir), *LONG, *extra), cwd=REPO,
                            env=cli_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def checkpoint_steps(workdir):
    d = Path(workdir) / "checkpoints"
    return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit()) if d.exists() else []


def wait_for_checkpoints(proc, workdir, count, timeout=120):
    t0 = time.time()
    while len(checkpoint_steps(workdir)) < count:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.time() - t0 < timeout
        time.sleep(0.02)


def final_params(workdir):
    ckpt = Checkpointer(workdir)
    step = ckpt.latest_step()
    restored = ckpt.manager.restore(step)
    ckpt.close()
    return step, restored


def test_sigkill_then_resume_is_bitwise_identical(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run(straight)
    proc = start(killed)
    wait_for_checkpoints(proc, killed, 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "result.json").exists(), "the run finished before it was killed"
    assert checkpoint_steps(killed)[-1] < 3000
    out = run(killed)
    assert "resumed from" in out.stderr
    s1, a = final_params(straight)
    s2, b = final_params(killed)
    assert s1 == s2 == 3000
    chex.assert_trees_all_equal(a, b, strict=True)  # same tree, shapes, dtypes and bits
    # the metrics log of the resumed run has no duplicated or missing steps
    steps = [r["step"] for r in map(json.loads, (killed / "metrics.jsonl").read_text().splitlines()) if r["split"] == "train"]
    assert steps == list(range(50, 3001, 50))


def test_sigterm_saves_and_exits_zero_then_resumes(tmp_path):
    workdir = tmp_path / "term"
    proc = start(workdir)
    wait_for_checkpoints(proc, workdir, 1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert "SIGTERM: saved a checkpoint at step" in err
    saved = checkpoint_steps(workdir)[-1]
    assert 0 < saved < 3000 and saved % 50 == 0
    assert not (workdir / "result.json").exists()
    out = run(workdir)
    assert f"at step {saved}" in out.stderr
    assert json.loads((workdir / "result.json").read_text())["steps"] == 3000


def test_corrupt_newest_checkpoint_falls_back_with_a_warning(tmp_path):
    workdir = tmp_path / "corrupt"
    run(workdir, "--config.steps=300")
    steps = checkpoint_steps(workdir)
    assert steps[-2:] == [200, 300]
    for f in (workdir / "checkpoints" / "300").rglob("*"):
        if f.is_file():
            f.write_bytes(b"garbage")
    out = run(workdir, "--config.steps=400")
    assert "checkpoint at step 300 is unreadable" in out.stderr and "resumed from step 200" in out.stderr
    assert (workdir / "checkpoints_unreadable" / "300").is_dir()  # moved aside, not deleted
    assert 400 in checkpoint_steps(workdir) and 200 in checkpoint_steps(workdir)


def test_nan_loss_stops_with_one_line_and_keeps_the_good_checkpoint(tmp_path):
    workdir = tmp_path / "nan"
    run(workdir, "--config.steps=200")
    before = {p: p.read_bytes() for p in (workdir / "checkpoints").rglob("*") if p.is_file()}
    out = run(workdir, "--config.steps=400", "--config.learning_rate=1e30",
              "--config.warmup_steps=0", "--config.schedule=constant", check=False)
    assert out.returncode != 0
    lines = [l for l in out.stderr.splitlines() if l.strip() and not l.startswith("[jaxml]")]
    assert len(lines) == 1 and lines[0].startswith("jaxml: error: non-finite loss at step"), out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert "last good checkpoint (step 200) is intact" in lines[0]
    after = {p: p.read_bytes() for p in (workdir / "checkpoints").rglob("*") if p.is_file()}
    assert before == after
