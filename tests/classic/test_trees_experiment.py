"""The tree experiments: bad config values are one error line naming the key, and
small end-to-end runs of gbdt_credit (2000 applicants, one split) and forest_cancer (8
shallow trees on 32 bins) record jaxml's numbers beside scikit-learn's."""

import json

import pytest

from conftest import one_error_line
from jaxml import cli

pytestmark = pytest.mark.xdist_group("classic_experiment")


@pytest.mark.parametrize("experiment, override, needle", [
    ("gbdt_credit", "--config.datasets=credit,iris", "config.datasets='iris' is not valid; choose one of credit, cancer, digits"),
    ("gbdt_credit", "--config.datasets=digits", "config.datasets has 'digits' with 10 classes; config.algorithm='gbdt' is binary"),
    ("gbdt_credit", "--config.gbdt.max_depth=0", "config.gbdt.max_depth must be an int >= 1"),
    ("gbdt_credit", "--config.gbdt.learning_rate=-0.1", "config.gbdt.learning_rate=-0.1 is out of range"),
    ("gbdt_credit", "--config.max_bins=300", "config.max_bins must be in [2, 256]"),
    ("gbdt_credit", "--config.algorithm=xgboost", "config.algorithm='xgboost' is not valid; choose one of gbdt, forest"),
    ("forest_cancer", "--config.forest.num_trees=0", "config.forest.num_trees must be an int >= 1"),
    ("forest_cancer", "--config.forest.max_features=31", "config.forest.max_features must be in [0, 30]"),
])
def test_bad_config_values_are_one_line_naming_the_key(capsys, tmp_path, experiment, override, needle):
    assert cli.main(["train", experiment, "--workdir", str(tmp_path / "w"), override]) == 2
    assert needle in one_error_line(capsys)


def train(tmp_path, experiment, *overrides):
    workdir = tmp_path / experiment
    assert cli.main(["train", experiment, "--workdir", str(workdir), "--config.num_splits=1", *overrides]) == 0
    return json.loads((workdir / "result.json").read_text())


def test_gbdt_experiment_end_to_end(tmp_path):
    result = train(tmp_path, "gbdt_credit", "--config.datasets=credit", "--config.num_points=2000",
                   "--config.gbdt.max_iter=15", "--config.gbdt.max_depth=3")
    assert result["credit_n_train"] == 1500 and result["credit_n_test"] == 500 and result["credit_n_val"] == 150
    for metric in ("accuracy", "auc", "n_trees"):
        assert f"sklearn_credit_{metric}" in result and f"credit_{metric}" in result
    assert result["credit_accuracy_abs_diff"] <= 0.01 and result["credit_accuracy"] > 0.8
    assert result["credit_accuracy_per_split"] == [result["credit_accuracy"]]


def test_forest_experiment_end_to_end(tmp_path):
    result = train(tmp_path, "forest_cancer", "--config.datasets=cancer", "--config.forest.num_trees=8",
                   "--config.forest.max_depth=4", "--config.forest.chunk=4", "--config.max_bins=32")
    assert result["cancer_n_test"] == 143 and result["cancer_features_per_node"] == 5
    assert "sklearn_cancer_accuracy" in result and "cancer_auc" in result
    assert result["cancer_accuracy"] > 0.9 and result["sklearn_cancer_accuracy"] > 0.9
