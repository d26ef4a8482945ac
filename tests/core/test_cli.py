"""The CLI: list, typed overrides end to end, and bad input ending in one clear line."""

import json
import subprocess

import pytest

from conftest import REPO, cli_env, jaxml_cmd
from jaxml import cli
from jaxml.data import datasets


def one_error_line(capsys):
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith("[jaxml]")]
    assert len(lines) == 1, err
    assert lines[0].startswith("jaxml: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_list_shows_every_experiment(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("mlp_digits", "cnn_fashion", "resnet_fashion", "cv_digits"):
        assert name in out
    assert "test_accuracy >= 0.97" in out


def test_unknown_experiment_names_close_matches(capsys):
    assert cli.main(["train", "mlp_digit"]) == 2
    assert "did you mean mlp_digits" in one_error_line(capsys)


@pytest.mark.parametrize("override,needle", [
    ("--config.learning_rat=0.1", "did you mean learning_rate"),
    ("--config.steps=many", "expected an int"),
    ("--config.model.name=transformer", "choose one of mlp, cnn, resnet"),
    ("--config.dtype=float16", "choose one of float32, bfloat16"),
])
def test_bad_overrides(capsys, tmp_path, override, needle):
    assert cli.main(["train", "mlp_digits", "--workdir", str(tmp_path), override, "--config.steps=1"]) == 2
    assert needle in one_error_line(capsys)


def test_missing_dataset_says_how_to_get_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "SYSTEM_FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("JAXML_DATA_DIR", str(tmp_path / "empty"))
    assert cli.main(["train", "cnn_fashion", "--workdir", str(tmp_path / "w")]) == 2
    line = one_error_line(capsys)
    assert "apt-get install dataset-fashion-mnist" in line and "JAXML_DATA_DIR" in line and "digits" in line


def test_eval_on_a_non_workdir(capsys, tmp_path):
    assert cli.main(["eval", str(tmp_path)]) == 2
    assert "no config.json" in one_error_line(capsys)


def test_train_then_eval_in_a_subprocess(tmp_path):
    """A real process: exit codes, result.json schema, resume of a finished run, `jaxml eval`."""
    workdir = tmp_path / "run"
    args = ["train", "mlp_digits", "--workdir", str(workdir), "--config.steps=200", "--config.log_every=50",
            "--config.eval_every=100", "--config.checkpoint_every=100", "--config.model.hidden=(64,)"]
    out = subprocess.run(jaxml_cmd(*args), cwd=REPO, env=cli_env(1), capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((workdir / "result.json").read_text())
    for key in ("experiment", "method", "steps", "devices", "jax_version", "test_accuracy", "test_loss"):
        assert key in result
    assert "wall_s" not in result and json.loads((workdir / "timing.json").read_text())["wall_s"] > 0
    assert result["experiment"] == "mlp_digits" and result["steps"] == 200 and result["devices"] == "cpu x1"
    assert 0.8 < result["test_accuracy"] <= 1.0
    assert json.loads((workdir / "config.json").read_text())["model"]["hidden"] == [64]
    assert (workdir / "plots" / "learning_curve.png").stat().st_size > 1000
    assert list((workdir / "tensorboard").glob("events.out.tfevents.*"))
    ev = subprocess.run(jaxml_cmd("eval", str(workdir)), cwd=REPO, env=cli_env(1), capture_output=True, text=True,
                        timeout=180)
    assert ev.returncode == 0, ev.stderr[-2000:]
    metrics = json.loads(ev.stdout.strip().splitlines()[-1])
    assert metrics["step"] == 200 and metrics["test_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-6)
    bad = subprocess.run(jaxml_cmd("train", "nope"), cwd=REPO, env=cli_env(1), capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("jaxml: error: unknown experiment")
    assert "Traceback" not in bad.stderr


def test_default_workdir_is_runs_experiment_timestamp(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "mlp_digits", "--config.steps=10", "--config.log_every=10", "--config.eval_every=10",
                     "--config.checkpoint_every=10", "--config.parallel.num_devices=1"]) == 0
    (workdir,) = (tmp_path / "runs").iterdir()
    assert workdir.name.startswith("mlp_digits-") and len(workdir.name) == len("mlp_digits-20261122-123456")
    assert json.loads((workdir / "result.json").read_text())["steps"] == 10
