"""The CLI: list, show, help, typed overrides end to end, and bad input ending in one clear line."""

import argparse
import json
import re
import subprocess

import pytest

from conftest import REPO, cli_env, jaxml_cmd, one_error_line
from jaxml import cli, experiments
from jaxml.data import datasets


def test_list_shows_every_experiment(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # stdout is no terminal: the table is not cut
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("mlp_digits", "cnn_fashion", "resnet_fashion", "cv_digits"):
        assert name in out
    assert "test_accuracy >= 0.97" in out


def list_table(capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0], lines[1:]
    starts = [header.index(h) for h, _, _ in cli.LIST_COLUMNS]
    return header, rows, starts


@pytest.mark.parametrize("columns", [100, 140, 1000])
def test_list_is_an_aligned_table_that_fits_the_terminal(capsys, monkeypatch, columns):
    header, rows, starts = list_table(capsys, monkeypatch, columns)
    assert len(rows) == len(experiments.experiment_names()) and starts[0] == 0
    for line in [header, *rows]:
        assert len(line) <= columns, line
        for s in starts[1:]:  # every column starts at the same place, after a gap, with a non-empty cell
            assert line[s - 2:s] == "  " and line[s] != " ", (s, line)
    assert all(len(r) > starts[-1] for r in rows)
    cells = {r.split()[0]: r for r in rows}
    assert cells["gpt_kjv"][starts[2]:starts[3]].strip() == "kjv"  # a text corpus is its data
    if columns >= 140:  # the natural width of the table today: 134
        assert "robust_accuracy >= 0.65 and clean_accuracy_drop <= 0.08" in cells["pgd_at_fashion"]
    else:
        assert "robust_accuracy" in cells["pgd_at_fashion"] and "..." in cells["pgd_at_fashion"]


def test_list_on_a_narrow_terminal_cuts_the_expected_column_first(capsys, monkeypatch):
    header, rows, starts = list_table(capsys, monkeypatch, 80)
    assert all(len(line) <= 80 for line in [header, *rows])
    name, method = (max(len(r[a:b].strip()) for r in rows) for a, b in zip(starts[:2], starts[1:3]))
    assert name == max(map(len, experiments.experiment_names())) and method == len("sequence_labeling")


def parsers(parser, prog="jaxml"):
    """(prog, parser) for the command and every subcommand, recursively."""
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{prog} {name}")


def test_every_argument_of_every_command_has_a_help_string():
    seen = 0
    for prog, parser in parsers(cli.build_parser()):
        for action in parser._actions:
            assert isinstance(action.help, str) and action.help.strip(), f"{prog}: {action.option_strings or action.dest}"
            seen += 1
            if isinstance(action, argparse._SubParsersAction):
                assert set(action.choices) == set(cli.COMMANDS)
                for choice in action._choices_actions:
                    assert choice.help and choice.help.strip(), f"{prog} {choice.dest}"
    assert seen >= 20


def test_train_help_explains_overrides(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for needle in ("--config.KEY=VALUE", "jaxml show EXPERIMENT", "--config.model.hidden=128,64",
                   "--config.learning_rate=1e-3", "--workdir DIR"):
        assert needle in out, needle


def test_the_help_examples_are_valid_overrides(capsys):
    """Every `jaxml train ...` example line of the overrides help parses (through `jaxml show`)."""
    examples = [l.split()[2:] for l in cli.OVERRIDES_HELP.splitlines() if l.strip().startswith("jaxml train ")]
    assert len(examples) >= 3
    for words in examples:
        overrides = [w.replace("'", "") for w in words[1:] if w.startswith("--config.")]
        assert cli.main(["show", words[0], *overrides]) == 0, words
    out = capsys.readouterr().out
    assert re.search(r"^  model\.features +\(8, 16\)$", out, re.M)


def test_show_prints_the_config_with_overrides_expected_and_suites(capsys):
    assert cli.main(["show", "mlp_digits", "--config.steps=7", "--config.model.hidden=(32,)"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  steps +7$", out, re.M) and re.search(r"^  model\.hidden +\(32,\)$", out, re.M)
    assert re.search(r"^  learning_rate +0\.003$", out, re.M) and re.search(r"^  dataset +'digits'$", out, re.M)
    assert re.search(r"^EXPECTED +test_accuracy >= 0\.97$", out, re.M)
    assert re.search(r"^SUITES +quick, full$", out, re.M)
    assert "reference: sklearn on the same split" in out


def test_show_refuses_a_bad_override(capsys):
    assert cli.main(["show", "mlp_digits", "--config.stepz=7"]) == 2
    assert "did you mean steps" in one_error_line(capsys)


def test_unknown_experiment_names_close_matches(capsys):
    assert cli.main(["train", "mlp_digit"]) == 2
    assert "did you mean mlp_digits" in one_error_line(capsys)


@pytest.mark.parametrize("override,needle", [
    ("--config.learning_rat=0.1", "did you mean learning_rate"),
    ("--config.steps=many", "expected an int"),
    ("--config.model.name=transformer", "choose one of mlp, cnn, resnet"),
    ("--config.dtype=float64", "choose one of float32, bfloat16"),
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


def test_table_cells_are_cut_with_an_ellipsis_and_minimums_hold():
    from jaxml.text_table import clip, fit_widths, render
    assert clip("abcdefgh", 6) == "abc..." and clip("abc", 6) == "abc"
    assert fit_widths([10, 30], [10, 5], 30) == [10, 18]  # 30 columns: 2 for the gap
    assert fit_widths([10, 30], [10, 25], 20) == [10, 25]  # cannot fit: never below the minimums
    lines = render(["a", "long"], [["x", "y" * 40]], width=20, minimum=[None, 6])
    assert lines == ["a  long", "x  " + "y" * 14 + "..."]
