"""The anomaly-detection experiments: bad config values are one error line naming the key, both run
the anomaly method, and small end-to-end runs of iforest_cancer and anomaly_fraud record jaxml's and
scikit-learn's numbers."""

import json

import pytest

from conftest import one_error_line
from jaxml import cli
from jaxml.experiments import info

pytestmark = pytest.mark.xdist_group("classic_experiment")


@pytest.mark.parametrize("override, needle", [
    ("--config.iforest.n_trees=0", "config.iforest.n_trees must be an int >= 1"),
    ("--config.iforest.subsample=1", "config.iforest.subsample must be an int >= 2"),
    ("--config.iforest.subsample=1000", "config.iforest.subsample=1000 must be <= the number of points (377)"),
    ("--config.num_seeds=0", "config.num_seeds=0 is out of range"),
    ("--config.num_outliers=0", "config.num_outliers must be an int >= 1"),
    ("--config.num_outliers=300", "config.num_outliers=300 must be <= the number of malignant cases (212)"),
    ("--config.dataset=kddcup", "config.dataset='kddcup' is not valid; choose one of breast_cancer, fraud"),
])
def test_bad_config_values_are_one_line_naming_the_key(capsys, tmp_path, override, needle):
    assert cli.main(["train", "iforest_cancer", "--workdir", str(tmp_path / "w"), override]) == 2
    assert needle in one_error_line(capsys)


@pytest.mark.parametrize("override, needle", [
    ("--config.fraud.fraud_rate=0.00001", "config.fraud.fraud_rate=1e-05 gives no fraud case in 20000 transactions"),
    ("--config.fraud.test_fraction=1.0", "config.fraud.test_fraction must be in [0.05, 0.95]"),
    ("--config.fraud.num_transactions=10", "config.fraud.num_transactions must be an int >= 100"),
    ("--config.autoencoder.steps=0", "config.autoencoder.steps=0 is out of range"),
    ("--config.autoencoder.hidden=(16,0)", "config.autoencoder.hidden=(16, 0) is out of range"),
])
def test_bad_fraud_config_values_are_one_line_naming_the_key(capsys, tmp_path, override, needle):
    assert cli.main(["train", "anomaly_fraud", "--workdir", str(tmp_path / "w"), override]) == 2
    assert needle in one_error_line(capsys)


def test_both_anomaly_configs_run_the_anomaly_method():
    assert info('iforest_cancer').method == info('anomaly_fraud').method == 'anomaly'


def test_iforest_cancer_end_to_end(tmp_path):
    """Two seeds of 30 trees: the data set, the per-seed and mean numbers of both, the metric check."""
    workdir = tmp_path / "iforest_cancer"
    assert cli.main(["train", "iforest_cancer", "--workdir", str(workdir), "--config.num_seeds=2",
                     "--config.iforest.n_trees=30"]) == 0
    result = json.loads((workdir / "result.json").read_text())
    assert result["num_points"] == 377 and result["num_outliers"] == 20 and result["max_depth"] == 8
    assert result["seeds"] == [0, 1] and len(result["sklearn_roc_auc_per_seed"]) == 2
    assert 0 < result["score_min"] <= result["score_max"] <= 1
    assert result["metrics_check_max_abs_diff"] < 1e-5
    for metric in ("roc_auc", "average_precision"):
        assert f"{metric}_mean" in result and f"sklearn_{metric}_std" in result
    assert result["roc_auc_mean"] > 0.85 and result["roc_auc_mean_abs_diff"] < 0.04


def test_anomaly_fraud_end_to_end(tmp_path):
    """3000 transactions (30 frauds; 900 scored), one seed of 30 trees, a 50-step autoencoder and Deep SVDD."""
    workdir = tmp_path / "anomaly_fraud"
    assert cli.main(["train", "anomaly_fraud", "--workdir", str(workdir), "--config.num_seeds=1",
                     "--config.iforest.n_trees=30", "--config.fraud.num_transactions=3000",
                     "--config.autoencoder.steps=50", "--config.deep_svdd.steps=50"]) == 0
    result = json.loads((workdir / "result.json").read_text())
    assert result["num_points"] == 3000 and result["num_fit"] == 2100 and result["num_scored"] == 900
    assert result["metrics_check_max_abs_diff"] < 1e-5
    assert result["roc_auc_mean"] > 0.8 and "sklearn_roc_auc_mean" in result
    for kind in ("autoencoder", "deep_svdd"):
        assert 0.0 <= result[f"{kind}_roc_auc_mean"] <= 1.0 and len(result[f"{kind}_roc_auc_per_seed"]) == 1
