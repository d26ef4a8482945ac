"""The SVM experiment: bad config values are one error line naming the key, the
split is stratified and fixed, and a small end-to-end run of svm_digits (200 random Fourier /
Nystroem features) records jaxml's numbers beside scikit-learn's LinearSVC and SVC."""

import json

import numpy as np
import pytest

from conftest import one_error_line
from jaxml import cli

pytestmark = pytest.mark.xdist_group("classic_experiment")


@pytest.mark.parametrize("override, needle", [
    ("--config.C=0.0", "config.C must be > 0, got 0.0"),
    ("--config.C=-1.0", "config.C must be > 0, got -1.0"),
    ("--config.kernel_gamma=0.0", "config.kernel_gamma must be > 0, got 0.0"),
    ("--config.kernel_gamma=auto", "config.kernel_gamma='auto' is not valid; use \"scale\" or a number > 0"),
    ("--config.kernel_gamma=-2", "config.kernel_gamma must be > 0, got -2.0"),
    ("--config.num_features=0", "config.num_features must be an int >= 1"),
    ("--config.kernels=linear,poly", "config.kernels='poly' is not valid; choose one of linear, rbf, nystroem"),
    ("--config.kernels=nystroem",
     "config.num_features=2000 must be <= the number of training points (1347) for kernel 'nystroem'"),
    ("--config.tol=-1e-3", "config.tol must be > 0"),
    ("--config.test_fraction=1.5", "config.test_fraction must be in [0.01, 0.99]"),
])
def test_bad_config_values_are_one_line_naming_the_key(capsys, tmp_path, override, needle):
    assert cli.main(["train", "svm_digits", "--workdir", str(tmp_path / "w"), override]) == 2
    assert needle in one_error_line(capsys)


def test_split_is_stratified_fixed_and_standardised_on_train():
    from jaxml.methods import svm as method

    y = np.repeat(np.arange(4), [40, 20, 8, 12])
    train, test = method.stratified_split(y, 0.25, 0)
    assert np.array_equal(np.bincount(y[test]), [10, 5, 2, 3]) and len(np.intersect1d(train, test)) == 0
    assert len(train) + len(test) == len(y)
    again = method.stratified_split(y, 0.25, 0)
    assert np.array_equal(again[1], test) and not np.array_equal(method.stratified_split(y, 0.25, 1)[1], test)
    split = method.digits_split(0.25, 0)
    assert (len(split.y_train), len(split.y_test)) == (1347, 450)
    np.testing.assert_allclose(split.x_train.mean(0), 0, atol=1e-12)
    assert set(np.round(split.x_train.std(0), 12)) <= {0.0, 1.0}


def test_svm_experiment_end_to_end(tmp_path):
    workdir = tmp_path / "svm"
    assert cli.main(["train", "svm_digits", "--workdir", str(workdir), "--config.num_features=200",
                     "--config.kernels=linear,rbf,nystroem"]) == 0
    result = json.loads((workdir / "result.json").read_text())
    assert result["n_train"] == 1347 and result["n_test"] == 450 and result["float64"] is True
    # "scale": 1 / (64 * var), var = 61 / 64 once standardised (61 of the 64 pixels vary in the training set)
    assert result["gamma"] == pytest.approx(1 / 61, rel=1e-12)
    for kernel in ("linear", "rbf", "nystroem"):
        for metric in ("accuracy", "objective"):
            assert f"sklearn_{kernel}_{metric}" in result and f"{kernel}_{metric}" in result
        # jaxml's solution is at least as good as LinearSVC's (tol 1e-4) on the same features, by jaxml's f
        assert result[f"{kernel}_objective_excess"] <= 1e-9, result[f"{kernel}_objective_excess"]
        assert result[f"{kernel}_grad_ratio_max"] <= 1e-8
    assert result["linear_accuracy_abs_diff"] <= 0.01
    assert result["sklearn_rbf_accuracy"] > 0.97 and result["rbf_accuracy"] > 0.9  # D = 200 only
    assert result["sklearn_nystroem_accuracy"] == result["sklearn_rbf_accuracy"] and result["nystroem_accuracy"] > 0.95
    assert result["rbf_accuracy"] == pytest.approx(result["sklearn_rbf_features_linear_svc_accuracy"], abs=0.005)


def test_kernel_gamma_is_scale_or_a_number():
    from jaxml.methods import svm as method

    assert method.parse_gamma("scale") == "scale" and method.parse_gamma(0.1) == 0.1
    assert method.parse_gamma("0.5") == 0.5  # an override of the "scale" default arrives as a string
    x = np.random.default_rng(0).normal(size=(50, 4)) * 2.0
    assert method.resolve_gamma("scale", x) == pytest.approx(1 / (4 * x.var())) and method.resolve_gamma(0.3, x) == 0.3


def genre_verses():
    """One book of each of the six genres, 6 chapters of 6 verses: genre words mixed with shared ones."""
    rng = np.random.default_rng(0)
    own = {"Genesis": ["statute", "offering", "tabernacle"], "Joshua": ["battle", "captain", "city"],
           "Psalms": ["praise", "song", "harp"], "Isaiah": ["vision", "woe", "prophet"],
           "Matthew": ["disciples", "parable", "multitude"], "Romans": ["grace", "faith", "brethren"]}
    shared = ["lord", "unto", "shall", "people", "came", "said", "great", "house"]
    return tuple((b, c, v, " ".join(rng.choice(own[b] * 2 + shared, 8)))
                 for b in own for c in range(1, 7) for v in range(1, 7))


def test_svm_text_end_to_end_on_a_small_corpus(tmp_path, monkeypatch):
    """svm_text's pipeline on a made-up corpus: KJV-style verses of six genres -> passages of 3
    verses, whole chapters held out, our TF-IDF, the linear and RFF SVMs beside LinearSVC (sparse)."""
    from jaxml.data import genre_passages
    from jaxml.defaults.svm import text_config
    from jaxml.methods import svm as method

    monkeypatch.setattr(genre_passages.text_lib, "kjv_verses", genre_verses)
    config = text_config()
    # 26 random features, as many as terms: the RFF fit reuses the linear fit's compiled solver
    config.kernels, config.num_features, config.text.verses_per_passage = ("linear", "rbf"), 26, 3
    config.text.max_features, config.text.min_df = None, 1
    result = method.train(config, tmp_path)
    assert result["corpus"] == "kjv" and result["n_passages"] == 6 * 6 * 2
    assert (result["n_train"], result["n_test"], result["n_test_chapters"]) == (48, 24, 12)  # 2 of 6 chapters per book
    assert result["vocabulary"] == 26  # 6 x 3 genre words + 8 shared ones
    assert result["linear_accuracy_abs_diff"] <= 0.01 and result["linear_accuracy"] > 0.9
    assert result["rbf_features_accuracy_abs_diff"] <= 0.01 and result["linear_objective_excess"] <= 1e-9
    assert "sklearn_rbf_accuracy" in result  # the exact-kernel SVC on the sparse TF-IDF matrix
