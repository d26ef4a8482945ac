"""`jaxml reproduce`: a plain suite run writes into its own run directory and leaves the tracked records
alone; `--record` rewrites them; the summary table; the quick suite is a tour with at least one experiment
per family."""

import json
import shutil
import subprocess

import pytest

from conftest import REPO
from jaxml import cli, experiments
from jaxml.core import reproduce

TINY = ["--only", "mlp_digits", "--config.steps=200", "--config.parallel.num_devices=1", "--config.log_every=50",
        "--config.eval_every=200", "--config.checkpoint_every=200"]

# The tour: each family of methods and the method names that belong to it.
FAMILIES = {
    "supervised": ("classify",),
    "RL": ("qlearning", "dqn", "ppo"),
    "transformers": ("lm",),
    "crf": ("sequence_labeling",),
    "gan": ("gan",),
    "compression": ("distill", "prune", "quantize"),
    "adversarial": ("adversarial",),
    "multitask": ("multitask",),
    "maml": ("maml",),
    "clustering": ("cluster",),
    "attributions": ("interpret",),
    "few labels": ("label_spreading", "pseudo_label", "active"),
    "self-supervised": ("ssl",),
    "graphs": ("gnn",),
    "bandits": ("bandits",),
    "multimodal": ("contrastive", "zeroshot"),
    "speech": ("speech",),
}


def git_status(repo) -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


def tracked_repo(path):
    """A git repository holding a committed RESULTS.md and one docs/results record, runs/ ignored."""
    (path / "docs" / "results").mkdir(parents=True)
    (path / "RESULTS.md").write_text("# Results\n")
    (path / "docs" / "results" / "mlp_digits.json").write_text("{}\n")
    (path / ".gitignore").write_text("runs/\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    subprocess.run(git + ["add", "."], cwd=path, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "records"], cwd=path, check=True)
    return path


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_plain_run_leaves_the_repo_clean_and_writes_its_own_run_directory(tmp_path, monkeypatch, capsys):
    repo = tracked_repo(tmp_path / "repo")
    own = git_status(REPO) if (REPO / ".git").exists() else None
    monkeypatch.chdir(repo)
    assert cli.main(["reproduce", "--suite", "quick", *TINY]) == 0
    printed = capsys.readouterr().out
    assert git_status(repo) == ""
    assert (repo / "RESULTS.md").read_text() == "# Results\n"
    if own is not None:
        assert git_status(REPO) == own
    (run_dir,) = (repo / "runs").iterdir()
    assert run_dir.name.startswith("demo-")
    assert f"results: {run_dir.relative_to(repo)}/" in printed
    summary = (run_dir / "summary.txt").read_text()
    assert summary in printed
    header, rule, row, total = summary.splitlines()
    assert header.split() == ["experiment", "metric", "value", "target", "status", "wall", "s"]
    record = json.loads((run_dir / "results" / "mlp_digits.json").read_text())
    assert row.split()[:5] == ["mlp_digits", "test_accuracy", f"{record['test_accuracy']:.4g}", ">=", "0.97"]
    assert row.split()[5] == record["status"] and total.startswith(f"{record['status'] == 'met':d}/1 met")
    results = (run_dir / "RESULTS.md").read_text()
    assert "| mlp_digits | test_accuracy |" in results and "[plots/mlp_digits.png](plots/mlp_digits.png)" in results
    assert (run_dir / "plots" / "mlp_digits.png").exists()
    assert (run_dir / "workdirs" / "mlp_digits" / "result.json").exists()


def test_record_rewrites_the_records_and_record_only_implies_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out, runs = tmp_path / "records" / "RESULTS.md", tmp_path / "train"
    out.parent.mkdir()
    where = ["--out", str(out), "--runs-dir", str(runs)]
    assert cli.main(["reproduce", "--record", *where, *TINY]) == 0
    assert "recorded: " in capsys.readouterr().out
    record_file = tmp_path / "records" / "docs" / "results" / "mlp_digits.json"
    record = json.loads(record_file.read_text())
    assert record["command"].startswith("jaxml train mlp_digits --config.steps=200")
    assert "| mlp_digits | test_accuracy |" in out.read_text()
    assert (tmp_path / "records" / "docs" / "plots" / "mlp_digits.png").exists()
    assert not (tmp_path / "runs").exists()  # no run directory, no summary.txt
    record_file.unlink()
    assert cli.main(["reproduce", "--record-only", *where, *TINY]) == 0  # no training: the finished run
    assert json.loads(record_file.read_text())["test_accuracy"] == record["test_accuracy"]


def test_destination_layouts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recorded = reproduce.destination("full", record=True)
    assert (recorded.results_md, recorded.results_dir, recorded.plots_dir, recorded.runs_dir, recorded.run_dir) == (
        reproduce.Path("RESULTS.md"), reproduce.Path("docs/results"), reproduce.Path("docs/plots"),
        reproduce.Path("runs/reproduce"), None)
    first, second = (reproduce.destination("full", record=False) for _ in range(2))
    assert first.run_dir.name.startswith("reproduce-full-") and first.run_dir != second.run_dir
    assert (first.results_md, first.plots_dir, first.runs_dir) == (
        first.run_dir / "RESULTS.md", first.run_dir / "plots", first.run_dir / "workdirs")
    chosen = reproduce.destination("quick", record=False, out=tmp_path / "mine", runs_dir="w")
    assert (chosen.run_dir, chosen.results_dir, chosen.runs_dir) == (
        tmp_path / "mine", tmp_path / "mine" / "results", reproduce.Path("w"))
    (tmp_path / "file").write_text("")
    with pytest.raises(reproduce.JaxmlError, match="--out .* is a directory"):
        reproduce.destination("quick", record=False, out=tmp_path / "file")


def test_summary_table_counts_and_totals():
    records = [{"experiment": "a", "wall_s": 12.4, "status": "met", "acc": 0.91234,
                "expected": {"metric": "acc", "at_least": 0.9}},
               {"experiment": "bb", "wall_s": 3.0, "status": "missed", "loss": 2.5,
                "expected": {"metric": "loss", "at_most": 2.0, "max_wall_s": 60}}]
    lines = reproduce.summary_table(records, skipped=["c"]).splitlines()
    assert lines[2].split() == ["a", "acc", "0.9123", ">=", "0.9", "met", "12"]
    assert lines[3].split() == ["bb", "loss", "2.5", "<=", "2.0", "in", "<=", "60", "s", "missed", "3"]
    assert lines[4].split() == ["c", "skipped", "(see", "log)"]
    assert lines[-1] == "1/3 met; total wall time 15 s"


def test_the_quick_suite_tours_every_family():
    quick = experiments.suite("quick")
    family_of = {method: family for family, methods in FAMILIES.items() for method in methods}
    assert {i.method for i in quick} <= set(family_of), "a quick experiment's method has no family in FAMILIES"
    for family, methods in FAMILIES.items():
        assert [i.name for i in quick if i.method in methods], f"no quick experiment for the {family} family"
    for method in ("qlearning", "dqn", "ppo", "distill", "prune", "quantize"):  # each of these is its own stop
        assert [i.name for i in quick if i.method == method], f"no quick experiment of {method}"
    for i in quick:  # each row states its target and source, and runs without the Debian data packages
        assert i.expected.get("metric") and i.expected.get("reference"), i.name
        assert i.dataset != "fashion_mnist", i.name
