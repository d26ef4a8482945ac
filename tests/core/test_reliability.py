"""Nothing lost, nothing noisy: each test is a user's command line against a workdir, asserting the
exit code, one clear line (no traceback), the key or path named, and checkpoints / config.json
byte-identical before and after. Subprocesses only where the process boundary is the point
(signals, locks, interpreter exit)."""

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from conftest import REPO, cli_env, jaxml_cmd, one_error_line, workdir_snapshot as snapshot
from jaxml import cli
from jaxml.core import run as run_lib
from jaxml.core.checkpoint import Checkpointer

pytestmark = pytest.mark.xdist_group("reliability")

TINY = ["--config.steps=100", "--config.log_every=50", "--config.eval_every=50", "--config.checkpoint_every=50",
        "--config.model.hidden=(16,)", "--config.parallel.num_devices=1", "--config.tensorboard=false"]
LONG = ["--config.steps=4000", "--config.log_every=50", "--config.eval_every=2000", "--config.checkpoint_every=100",
        "--config.keep_checkpoints=100", "--config.model.hidden=(16,)", "--config.tensorboard=false"]


def train(workdir, *extra, experiment="mlp_digits"):
    tiny = TINY if experiment == "mlp_digits" else [a for a in TINY if "hidden" not in a]
    return cli.main(["train", experiment, "--workdir", str(workdir), *tiny, *extra])


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished mlp_digits workdir (checkpoints at 50 and 100)."""
    workdir = tmp_path_factory.mktemp("finished") / "w"
    assert train(workdir) == 0
    return workdir


@pytest.fixture
def workdir(finished, tmp_path) -> Path:
    copy = tmp_path / "w"
    shutil.copytree(finished, copy)
    return copy


# ------------------------------------------------------------------- 1. rejected runs keep config.json

@pytest.mark.parametrize("extra,needle", [
    (["--config.learning_rat=0.1"], "learning_rate"),
    (["--config.steps=200", "--config.learning_rate=1e30", "--config.warmup_steps=0", "--config.schedule=constant"],
     "config.learning_rate"),
])
def test_a_rejected_or_failed_run_leaves_the_workdir_as_it_was(workdir, capsys, extra, needle):
    before = snapshot(workdir)
    assert train(workdir, *extra) == 2
    assert needle in one_error_line(capsys)
    assert snapshot(workdir) == before


def test_another_experiment_on_the_workdir_is_refused_before_anything_changes(workdir, capsys):
    before = snapshot(workdir)
    assert train(workdir, experiment="cnn_digits") == 2
    line = one_error_line(capsys)
    assert "holds a run of mlp_digits" in line and str(workdir) in line
    assert snapshot(workdir) == before


def test_a_changed_config_on_resume_is_recorded_and_the_previous_kept(workdir, capsys):
    old = (workdir / "config.json").read_bytes()
    assert train(workdir, "--config.steps=150") == 0
    assert "this run changed the workdir's config (steps)" in capsys.readouterr().err
    assert (workdir / "config_history" / "config-0.json").read_bytes() == old
    assert json.loads((workdir / "config.json").read_text())["steps"] == 150


# ------------------------------------------------------------------- 2. one workdir, one run

def _start(workdir, *args):
    return subprocess.Popen(jaxml_cmd("train", "mlp_digits", "--workdir", str(workdir), *LONG, *args), cwd=REPO,
                            env=cli_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _checkpoints(workdir) -> list[int]:
    d = Path(workdir) / "checkpoints"
    return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit()) if d.exists() else []


def _wait(proc, condition, timeout=180):
    t0 = time.time()
    while not condition():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.time() - t0 < timeout, "timed out"
        time.sleep(0.02)


def test_a_second_run_on_a_busy_workdir_stops_at_once_and_a_killed_holder_never_blocks(tmp_path):
    workdir = tmp_path / "busy"
    first = _start(workdir)
    _wait(first, lambda: (workdir / run_lib.LOCK_NAME).exists() and (workdir / run_lib.LOCK_NAME).read_text())
    t0 = time.time()
    second = subprocess.run(jaxml_cmd("train", "mlp_digits", "--workdir", str(workdir), *LONG), cwd=REPO,
                            env=cli_env(1), capture_output=True, text=True, timeout=60)
    elapsed = time.time() - t0
    assert second.returncode == 2 and elapsed < 5, (elapsed, second.stderr[-2000:])
    assert "Traceback" not in second.stderr
    assert f"is in use by pid {first.pid} on host" in second.stderr.strip().splitlines()[-1]
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-3000:]
    rows = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
    keys = [(r["step"], r["split"]) for r in rows]
    assert len(keys) == len(set(keys))

    # kill -9 of a holder: its lock goes with it, and the next run resumes
    killed = tmp_path / "killed"
    holder = _start(killed)
    _wait(holder, lambda: len(_checkpoints(killed)) >= 1)
    holder.kill()
    holder.communicate()
    resumed = subprocess.run(jaxml_cmd("train", "mlp_digits", "--workdir", str(killed), *LONG), cwd=REPO,
                             env=cli_env(1), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr


# ------------------------------------------------------------------- 3. the file system says no

def test_a_workdir_that_is_a_file_or_cannot_be_created(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("mine")
    assert train(path) == 2
    assert "is a file" in one_error_line(capsys) and path.read_text() == "mine"
    assert train("/proc/no/such/place") == 2
    assert "cannot create the workdir /proc/no/such/place" in one_error_line(capsys)


def test_a_corrupt_config_json_is_one_line_for_train_and_eval(workdir, capsys):
    (workdir / "config.json").write_text("{not json")
    before = snapshot(workdir)
    assert train(workdir) == 2
    assert "config.json is not valid JSON" in one_error_line(capsys)
    assert cli.main(["eval", str(workdir)]) == 2
    assert "config.json is not valid JSON" in one_error_line(capsys)
    assert snapshot(workdir) == before


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size: str):
    """A small tmpfs at `path` (root only: the tests of a full or read-only disk need one)."""
    path.mkdir(parents=True)
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_read_only_workdir_parent_and_export(finished, tmp_path, capsys):
    with mounted_tmpfs(tmp_path / "ro", "20m") as ro:
        shutil.copytree(finished, ro / "w")
        before = snapshot(ro / "w")
        assert subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True).returncode == 0
        assert train(ro / "w", "--config.steps=150") == 2
        assert f"cannot write to the workdir {ro / 'w'}" in one_error_line(capsys)
        assert train(ro / "new") == 2
        assert f"cannot create the workdir {ro / 'new'}" in one_error_line(capsys)
        assert cli.main(["export", str(ro / "w")]) == 2
        assert str(ro / "w" / "export") in one_error_line(capsys)
        assert cli.main(["eval", str(ro / "w")]) == 0  # reading still works
        assert snapshot(ro / "w") == before


def test_disk_full_during_a_save_keeps_the_previous_checkpoint(tmp_path, capsys):
    with mounted_tmpfs(tmp_path / "full", "3m") as full:
        workdir = full / "w"
        assert train(workdir, "--config.steps=50", "--config.model.hidden=(256,)") == 0
        before = {k: v for k, v in snapshot(workdir).items() if k.startswith("checkpoints")}
        free = os.statvfs(full).f_bavail * os.statvfs(full).f_frsize
        (full / "fill").write_bytes(b"\0" * max(free - 40_000, 0))
        capsys.readouterr()
        assert train(workdir, "--config.steps=100", "--config.model.hidden=(256,)") == 2
        line = one_error_line(capsys)
        assert "could not save the checkpoint at step 100" in line or "No space left" in line, line
        (full / "fill").unlink()
        after = {k: v for k, v in snapshot(workdir).items() if k.startswith("checkpoints")}
        assert after == before
        assert cli.main(["eval", str(workdir)]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 50


# ------------------------------------------------------------------- 4. unreadable checkpoints, quietly

def _garble(step_dir: Path) -> None:
    for f in step_dir.rglob("*"):
        if f.is_file() and f.parent.name == "d":
            f.write_bytes(b"garbage")


def test_an_unreadable_checkpoint_is_one_warning_line(workdir, capsys):
    _garble(workdir / "checkpoints" / "100")
    assert train(workdir, "--config.steps=150") == 0
    err = capsys.readouterr().err
    assert "Exception ignored" not in err and "Traceback" not in err and "tensorstore_spec" not in err
    assert len([l for l in err.splitlines() if "is unreadable" in l]) == 1
    assert len(err.splitlines()) < 12, err
    assert (workdir / "checkpoints_unreadable" / "100").is_dir()


def test_when_every_checkpoint_is_bad_the_error_is_the_last_line(workdir, capsys):
    for step in (50, 100):
        _garble(workdir / "checkpoints" / str(step))
    before = snapshot(workdir)
    assert train(workdir, "--config.steps=150") == 2
    captured = capsys.readouterr()
    assert "Exception ignored" not in captured.err and "Traceback" not in captured.err
    lines = [l for l in captured.err.splitlines() if l.strip()]
    assert lines[-1].startswith("jaxml: error: no checkpoint in") and len(lines) < 8, captured.err
    assert snapshot(workdir) == before


# ------------------------------------------------------------------- 5. values validated once

@pytest.mark.parametrize("override,needle", [
    ("--config.model.hidden=(64,'wide')", "config.model.hidden"),
    ("--config.model.hidden=(64,-3)", "config.model.hidden"),
    ("--config.model.hidden=()", "config.model.hidden"),
    ("--config.model.hidden=(100000,)", "config.model.hidden"),
    ("--config.steps=0", "config.steps"),
    ("--config.steps=-5", "config.steps"),
    ("--config.steps=100000000000", "config.steps"),
    ("--config.log_every=0", "config.log_every"),
    ("--config.seed=-1", "config.seed"),
    ("--config.eval_batch_size=100000000", "config.eval_batch_size"),
    ("--config.batch_size=100000", "config.batch_size"),
])
def test_values_that_parse_but_are_invalid_name_the_key_and_range(tmp_path, capsys, override, needle):
    workdir = tmp_path / "v"
    assert train(workdir, override) == 2
    line = one_error_line(capsys)
    assert needle in line
    assert not workdir.exists()  # a rejected run leaves nothing behind


def test_memory_sized_rl_values_are_range_checked(tmp_path, capsys):
    assert cli.main(["train", "dqn_cartpole", "--workdir", str(tmp_path / "rl"), "--config.buffer_size=10000000000"]) == 2
    assert "config.buffer_size" in one_error_line(capsys)
    assert not (tmp_path / "rl").exists()


def test_a_rejected_run_with_the_default_workdir_leaves_no_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "mlp_digits", *TINY, "--config.batch_size=100000"]) == 2
    assert "config.batch_size" in one_error_line(capsys)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("steps", ["0", "-5"])
def test_bench_steps_must_be_positive(capsys, steps):
    with pytest.raises(SystemExit) as e:
        cli.main(["bench", "mlp_digits", "--steps", steps])
    assert e.value.code != 0
    err = capsys.readouterr().err
    assert "--steps" in err
    # argparse's usage, then one line naming the option and its range; exit code 2
    assert e.value.code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"jaxml bench: error: argument --steps: expected an int in [1, 100000], got {steps}"


# ------------------------------------------------------------------- 6. signals

def _params(workdir):
    ckpt = Checkpointer(workdir)
    try:
        return ckpt.latest_step(), ckpt.manager.restore(ckpt.latest_step())
    finally:
        ckpt.close()


def test_ctrl_c_saves_at_the_next_chunk_boundary_and_the_resume_is_bitwise(tmp_path):
    straight, interrupted = tmp_path / "straight", tmp_path / "ctrl_c"
    done = subprocess.run(jaxml_cmd("train", "mlp_digits", "--workdir", str(straight), *LONG), cwd=REPO,
                          env=cli_env(1), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    proc = _start(interrupted)
    _wait(proc, lambda: len(_checkpoints(interrupted)) >= 1)
    time.sleep(random.uniform(0.0, 0.5))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "SIGINT: saved a checkpoint at step" in err
    saved = _checkpoints(interrupted)[-1]
    assert saved % 50 == 0 and saved < 4000 and not (interrupted / "result.json").exists()
    resumed = subprocess.run(jaxml_cmd("train", "mlp_digits", "--workdir", str(interrupted), *LONG), cwd=REPO,
                             env=cli_env(1), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0 and f"at step {saved}" in resumed.stderr, resumed.stderr[-3000:]
    (s1, a), (s2, b) = _params(straight), _params(interrupted)
    assert s1 == s2 == 4000
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_a_second_ctrl_c_stops_at_once_and_sigterm_during_set_up_is_honoured(tmp_path):
    twice = tmp_path / "twice"
    proc = _start(twice)
    _wait(proc, lambda: len(_checkpoints(twice)) >= 1)
    proc.send_signal(signal.SIGINT)
    seen = []
    while not any("Ctrl-C again" in l for l in seen):  # the first one was handled: now the second
        seen.append(proc.stderr.readline())
        assert seen[-1] or proc.poll() is None, "".join(seen)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = "".join(seen) + err
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err[-3000:]

    early = tmp_path / "early"
    proc = _start(early)
    time.sleep(0.3)  # inside the imports
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "SIGTERM" in err and "Traceback" not in err, err[-3000:]


# ------------------------------------------------------------------- 7. messages

def test_the_nonfinite_message_names_every_learning_rate_of_the_config():
    import ml_collections
    config = ml_collections.ConfigDict({"gen_lr": 2e-4, "disc_lr": 2e-4, "steps": 10,
                                        "inner": {"learning_rate": 0.1}, "lr_end": 0.01})
    assert run_lib.learning_rate_keys(config) == {"gen_lr": 2e-4, "disc_lr": 2e-4, "inner.learning_rate": 0.1}


# ------------------------------------------------------------------- 8. eval without a checkpoint

def test_eval_on_a_workdir_without_a_checkpoint_is_one_line_at_exit_too(finished, tmp_path):
    workdir = tmp_path / "empty"
    workdir.mkdir()
    shutil.copy(finished / "config.json", workdir / "config.json")
    out = subprocess.run(jaxml_cmd("eval", str(workdir)), cwd=REPO, env=cli_env(1), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    lines = [l for l in out.stderr.splitlines() if l.strip() and not l.startswith("[jaxml]")]
    assert lines == [f"jaxml: error: no checkpoint in {workdir / 'checkpoints'}; train first with `jaxml train`"]


# ------------------------------------------------------------------- 9. re-runs and results

def test_re_running_a_finished_run_repeats_no_rows_and_results_are_reproducible(workdir, tmp_path, capsys):
    result = (workdir / "result.json").read_bytes()
    for _ in range(3):
        assert train(workdir) == 0
    rows = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
    keys = [(r["step"], r["split"]) for r in rows]
    assert len(keys) == len(set(keys)) and (100, "test") in keys
    assert (workdir / "result.json").read_bytes() == result  # timings live in timing.json
    assert "wall_s" in json.loads((workdir / "timing.json").read_text())
    fresh = tmp_path / "fresh"
    assert train(fresh) == 0
    assert (fresh / "result.json").read_bytes() == result


def test_sighup_saves_like_sigterm_and_reproduce_never_deletes_a_busy_workdir(tmp_path, capsys):
    hup = tmp_path / "hup"
    proc = _start(hup)
    _wait(proc, lambda: len(_checkpoints(hup)) >= 1)
    with pytest.raises(Exception, match="is in use by pid"):  # what `jaxml reproduce` checks before deleting
        run_lib.check_not_busy(hup)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 129 and "SIGHUP: saved a checkpoint at step" in err, err[-3000:]
    run_lib.check_not_busy(hup)  # the holder is gone: no error


def test_a_damaged_workdir_is_one_line_or_read_past(workdir, tmp_path, capsys):
    with (workdir / "metrics.jsonl").open("ab") as f:  # a number and undecodable bytes: skipped, not fatal
        f.write(b"5\n\xff\xfe garbage\n")
    assert train(workdir) == 0
    capsys.readouterr()
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "checkpoints").write_text("not a directory")
    assert train(blocked) == 2
    assert "checkpoints is a file" in one_error_line(capsys)
    assert (blocked / "checkpoints").read_text() == "not a directory"
