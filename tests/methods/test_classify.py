"""Classification method: learns digits, k-fold CV reports mean +- std, bench and reproduce run it."""

import json

import numpy as np
import pytest

from jaxml import cli
from jaxml.core import profiling, reproduce
from jaxml.defaults import classify as classify_defaults
from jaxml.methods import classify


def tiny(**kw):
    c = classify_defaults.base_config()
    c.model.hidden = (64,)
    c.steps = 300
    c.batch_size = 64
    c.eval_batch_size = 120
    c.log_every = 50
    c.eval_every = 300
    c.checkpoint_every = 0
    c.tensorboard = False
    c.parallel.num_devices = 1
    c.learning_rate = 3e-3
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_mlp_learns_digits(tmp_path):
    result = classify.train(tiny(), tmp_path)
    assert result["test_accuracy"] > 0.93
    assert result["params"] == 64 * 64 + 64 + 64 * 10 + 10


def test_label_smoothing_mixup_and_bfloat16_still_learn(tmp_path):
    c = tiny(label_smoothing=0.1, dtype="bfloat16")
    c.augment.mixup_alpha = 0.2
    assert classify.train(c, tmp_path)["test_accuracy"] > 0.9


def test_cross_validation_reports_each_fold(tmp_path):
    result = classify.train(tiny(cv_folds=3, steps=100), tmp_path)
    assert len(result["cv_accuracy_per_fold"]) == 3
    assert result["cv_accuracy"] == pytest.approx(np.mean(result["cv_accuracy_per_fold"]))
    assert result["cv_accuracy_std"] == pytest.approx(np.std(result["cv_accuracy_per_fold"]))
    assert 0.8 < result["cv_accuracy"] <= 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fold_0", "fold_1", "fold_2"]


def test_bench_reports_timing_and_flops(tmp_path):
    c = tiny(log_every=5)
    report = profiling.bench_recipe(classify.recipe_for(c), c, steps=10, warmup=1, trace_dir=str(tmp_path / "trace"))
    assert list((tmp_path / "trace").rglob("*.xplane.pb"))  # a jax.profiler trace was written
    assert report["step_ms"] > 0 and report["examples_per_s"] > 0 and report["compile_s"] > 0
    # forward + weight gradients of the 64-64-10 MLP: >= 4 flops per weight per example, and not absurdly more
    weights_x_batch = (64 * 64 + 64 * 10) * 64
    assert 4 * weights_x_batch <= report["flops_per_step"] <= 10 * weights_x_batch
    assert report["mfu"] is None  # no known peak for CPUs
    assert "step_ms" in profiling.format_report(report)


def test_bench_cli_prints_table_and_json(capsys):
    assert cli.main(["bench", "mlp_digits", "--steps", "4", "--warmup", "1", "--config.log_every=2",
                     "--config.parallel.num_devices=1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    report = json.loads(out[-1])
    assert report["experiment"] == "mlp_digits" and report["flops_per_step"] > 0
    assert any(l.startswith("compile_s") for l in out)


def test_reproduce_writes_results_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "RESULTS.md"
    overrides = ["--config.steps=200", "--config.parallel.num_devices=1", "--config.log_every=50",
                 "--config.eval_every=200", "--config.checkpoint_every=200"]
    reproduce.run_suite("quick", runs_dir=tmp_path / "runs", out=out, overrides=overrides, only=["mlp_digits"])
    text = out.read_text()
    row = next(l for l in text.splitlines() if l.startswith("| mlp_digits"))
    assert "test_accuracy" in row and ("met" in row or "missed" in row) and "cpu x1" in row
    record = json.loads((tmp_path / "docs" / "results" / "mlp_digits.json").read_text())
    assert record["status"] == reproduce.judge(record, record["expected"])
    assert (tmp_path / "docs" / "plots" / "mlp_digits.png").exists()
    # --record-only records the finished run again without training; a different config is refused
    (tmp_path / "docs" / "results" / "mlp_digits.json").unlink()
    done = reproduce.run_suite("quick", runs_dir=tmp_path / "runs", out=out, overrides=overrides,
                               only=["mlp_digits"], record_only=True)
    assert [r["test_accuracy"] for r in done] == [record["test_accuracy"]]
    assert reproduce.run_suite("quick", runs_dir=tmp_path / "runs", out=out, only=["mlp_digits"],
                               overrides=overrides[:-1] + ["--config.checkpoint_every=100"], record_only=True) == []


def test_judge():
    e = {"metric": "test_accuracy", "at_least": 0.9, "max_wall_s": 10}
    assert reproduce.judge({"test_accuracy": 0.95, "wall_s": 5}, e) == "met"
    assert reproduce.judge({"test_accuracy": 0.95, "wall_s": 50}, e) == "missed"
    assert reproduce.judge({"test_accuracy": 0.85, "wall_s": 5}, e) == "missed"
    assert reproduce.judge({}, e) == "missing"
    both = {"metric": "robust_accuracy", "at_least": 0.65, "also": ({"metric": "clean_accuracy_drop", "at_most": 0.08},)}
    assert reproduce.judge({"robust_accuracy": 0.69, "clean_accuracy_drop": 0.07}, both) == "met"
    assert reproduce.judge({"robust_accuracy": 0.69, "clean_accuracy_drop": 0.0835}, both) == "missed"
    assert reproduce.judge({"robust_accuracy": 0.69}, both) == "missing"
    from jaxml.experiments import expectation_text
    assert expectation_text(both, with_metric=False) == "≥ 0.65 and clean_accuracy_drop ≤ 0.08"
