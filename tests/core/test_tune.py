"""`jaxml tune` (jaxml/tune/): the search space's checks, and two worker processes on one SQLite
study that finish exactly N trials when one of them is killed mid-trial and restarted; the best
trial's `jaxml train` command reproduces its value."""

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import cli_env, jaxml_cmd
from jaxml import experiments
from jaxml.tune import space as tune_space, study as tune_study, workers as tune_workers
from jaxml.errors import JaxmlError

SPACE = """
def space(trial):
    return {"learning_rate": trial.suggest_categorical("learning_rate", [3e-3, 1e-2]),
            "model.hidden": (trial.suggest_categorical("width", [8, 16]),)}
"""
# The same space, but a worker started with JAXML_TEST_TUNE_HOLD=FILE, once its first trial of the
# study is RUNNING (parameters suggested, heartbeat beating), writes its pid to FILE and hangs in that
# trial until it is killed, so the test kills it mid-trial however fast or slow the machine is. (The
# check of the space before the study opens runs it on a throw-away in-memory study: no hold there.)
HOLDING_SPACE = SPACE + """
import os, time
def space(trial, _space=space):
    values = _space(trial)
    hold = os.environ.get("JAXML_TEST_TUNE_HOLD")
    if hold and trial.study.study_name == "mlp_digits":
        with open(hold + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(hold + ".tmp", hold)
        while True:
            time.sleep(1)
    return values
"""
BASE = ("--config.validation_fraction=0.2", "--config.steps=10", "--config.log_every=10", "--config.eval_every=10",
        "--config.checkpoint_every=0", "--config.batch_size=16", "--config.parallel.num_devices=1",
        "--config.tensorboard=false")


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("body, message", [
    ("def space(trial):\n    return {'learning_rat': 0.1}\n",
     "unknown config key 'learning_rat'; did you mean learning_rate"),
    ("def space(trial):\n    return {'steps': 0.5}\n", "config.steps holds a int .*0.5"),
    ("def space(trial):\n    return {'model.hidden': 'wide'}\n", "config.model.hidden holds a tuple"),
    ("def space(trial):\n    return {'learning_rate': -1.0}\n", "learning_rate=-1.0 is out of range"),
    ("def space(trial):\n    return [1]\n", "must return a dict"),
    ("def space(trial):\n    return {'model': 1}\n", "is a group"),
    ("def spaces(trial):\n    return {}\n", "defines no space"),
    ("def space(trial):\n    return 1 / 0\n", "raised ZeroDivisionError"),
    ("def space(trial) return\n", "could not load search space .*SyntaxError"),
])
def test_a_bad_space_is_one_clear_error_before_anything_is_written(tmp_path, body, message):
    spec = tune_study.TuneSpec(experiment="mlp_digits", space=write(tmp_path / "space.py", body), trials=2,
                         workdir=tmp_path / "study")
    with pytest.raises(JaxmlError, match=message):
        tune_study.prepare(spec)
    assert not (tmp_path / "study").exists()
    with pytest.raises(JaxmlError, match="search space file not found"):
        tune_space.load_space(tmp_path / "missing.py")


def test_override_text_parses_back():
    _, config = experiments.load_experiment_config("mlp_digits", [])
    values = {"learning_rate": 0.0031622776601683794, "model.hidden": (64,), "steps": 7, "augment.flip": True}
    args = tune_space.space_overrides(config, values, "space")
    _, parsed = experiments.load_experiment_config("mlp_digits", args)
    assert (parsed.learning_rate, tuple(parsed.model.hidden), parsed.steps, parsed.augment.flip) == \
        (0.0031622776601683794, (64,), 7, True)


def study_trials(storage):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name="mlp_digits", storage=storage).get_trials(deepcopy=False)


def test_two_workers_one_killed_mid_trial_and_restarted_finish_exactly_n_trials(tmp_path):
    import optuna

    n = 2
    workdir = tmp_path / "study"
    url = f"sqlite:///{workdir / 'study.db'}"
    space = write(tmp_path / "space.py", HOLDING_SPACE)
    cmd = jaxml_cmd("tune", "mlp_digits", "--space", space, "--trials", str(n), "--workdir", str(workdir),
                    "--metric", "val_accuracy", "--heartbeat", "1", *BASE)
    env = cli_env(1)
    workdir.mkdir()
    hold = tmp_path / "first_worker_in_a_trial"
    first = subprocess.Popen(cmd + ["--no-summary"], env={**env, "JAXML_TEST_TUNE_HOLD": str(hold)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 300
        while not hold.exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        if not hold.exists():
            why = first.stderr.read().decode()[-3000:] if first.poll() is not None else "still running"
            pytest.fail(f"the first worker never started a trial ({why})")
        assert int(hold.read_text()) == first.pid
        storage = optuna.storages.RDBStorage(url)
        running = [t for t in study_trials(storage) if t.state.name == "RUNNING"]
        assert len(running) == 1, running  # the first worker's trial, its parameters suggested
        victim = running[0]
        second = subprocess.Popen(cmd + ["--no-summary"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        restarted = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert restarted.returncode == 0, restarted.stderr[-3000:]
        assert second.wait(timeout=300) == 0, second.stderr.read().decode()[-3000:]
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()
    trials = study_trials(storage)
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == n, [(t.number, t.state.name) for t in trials]  # none lost, none extra
    killed = trials[victim.number]
    assert killed.state.name == "FAIL" and "heartbeat" in killed.user_attrs["failed"]
    retries = [t for t in trials if t.user_attrs.get("retry_of") == victim.number]
    assert len(retries) == 1 and retries[0] in finished and retries[0].params == victim.params  # retried once
    for t in trials:
        assert t.state.name != "FAIL" or t.number == victim.number or t.user_attrs.get("surplus"), t
        assert t.state.name != "RUNNING"
    assert len({t.user_attrs["workdir"] for t in finished}) == n  # each trial its own workdir
    summary = json.loads(restarted.stdout.strip().splitlines()[-1])
    assert summary["trials_complete"] + summary["trials_pruned"] == n
    assert (workdir / "plots" / "optimization_history.png").exists() and (workdir / "summary.txt").exists()

    # the best trial's command, run as `jaxml train`, gives its value again
    from jaxml import cli
    args = shlex.split(summary["best_command"])[2:]
    assert cli.main(["train", "--workdir", str(tmp_path / "again"), *args]) == 0
    again = experiments.read_result(tmp_path / "again")
    assert again["val_accuracy"] == summary["best_value"]


def test_a_study_resumes_only_the_search_it_began(tmp_path):
    spec = tune_study.TuneSpec(experiment="mlp_digits", space="s.py", trials=2, workdir=tmp_path, metric="val_accuracy",
                         overrides=("--config.steps=10",))
    tune_study.open_study(spec)
    tune_study.open_study(spec)  # the same search: resumed
    other = tune_study.TuneSpec(**{**spec.__dict__, "overrides": ("--config.steps=20",)})
    with pytest.raises(JaxmlError, match="was begun with .*steps=10.*give another --study or --workdir"):
        tune_study.open_study(other)


def test_a_stale_trial_is_failed_once_and_requeued_and_its_late_outcome_dropped(tmp_path):
    spec = tune_study.TuneSpec(experiment="mlp_digits", space="s.py", trials=2, workdir=tmp_path, metric="val_accuracy")
    study = tune_study.open_study(spec)
    live, stale = study.ask(), study.ask()
    live.suggest_float("learning_rate", 1e-3, 1e-2)
    stale.suggest_float("learning_rate", 1e-3, 1e-2)
    live.set_user_attr("heartbeat", time.time())
    stale.set_user_attr("heartbeat", time.time() - 10)
    tune_workers.fail_stale_trials(study, interval=1.0)
    tune_workers.fail_stale_trials(study, interval=1.0)  # a second look changes nothing
    states = [t.state.name for t in study.get_trials()]
    assert states == ["RUNNING", "FAIL", "WAITING"], states
    retry = study.get_trials()[2]
    assert retry.user_attrs["retry_of"] == stale.number and retry.system_attrs["fixed_params"] == stale.params
    assert "no heartbeat" in study.get_trials()[1].user_attrs["failed"]
    assert not tune_workers.tell(study, stale, 0.5)  # its worker comes back late: the retry counts instead
    assert tune_workers.tell(study, live, 0.7) and study.get_trials()[0].state.name == "COMPLETE"
