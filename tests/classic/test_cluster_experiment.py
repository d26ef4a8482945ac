"""The clustering experiments: bad config values are one error line naming the key, and
tiny end-to-end runs of kmeans_digits, gmm_digits and spectral_digits (the first
301 digits) write their results beside the scikit-learn reference's."""

import json

import pytest

from conftest import one_error_line
from jaxml import cli

pytestmark = pytest.mark.xdist_group("classic_experiment")


@pytest.mark.parametrize("experiment, override, needle", [
    ("kmeans_digits", "--config.k=0", "config.k must be an int >= 1"),
    ("kmeans_digits", "--config.k=5000", "config.k=5000 must be <= the number of points (1797)"),
    ("kmeans_digits", "--config.kmeans.n_init=0", "config.kmeans.n_init must be an int >= 1"),
    ("kmeans_digits", "--config.kmeans.inits=k-means++,kmeans||", "config.kmeans.inits='kmeans||' is not valid; choose one of k-means++, random"),
    ("kmeans_digits", "--config.choose_k.ks=(2,0)", "config.choose_k.ks must be an int >= 1"),
    ("kmeans_digits", "--config.algorithm=dbscan", "config.algorithm='dbscan' is not valid; choose one of kmeans, gmm, spectral"),
    ("gmm_digits", "--config.gmm.covariance_type=tied", "config.gmm.covariance_type='tied' is not valid; choose one of full, diag"),
    ("gmm_digits", "--config.gmm.reg_covar=-1.0", "config.gmm.reg_covar must be in [0.0, inf]"),
    ("spectral_digits", "--config.spectral.n_neighbors=0", "config.spectral.n_neighbors must be an int >= 1"),
])
def test_bad_config_values_are_one_line_naming_the_key(capsys, tmp_path, experiment, override, needle):
    assert cli.main(["train", experiment, "--workdir", str(tmp_path / "w"), override]) == 2
    assert needle in one_error_line(capsys)


def train(tmp_path, experiment, *overrides):
    workdir = tmp_path / experiment
    assert cli.main(["train", experiment, "--workdir", str(workdir), "--config.num_points=301", *overrides]) == 0
    return json.loads((workdir / "result.json").read_text()), workdir


def test_kmeans_experiment_end_to_end(tmp_path):
    """On all 8 devices (301 points padded to 304): one seeding scheme, 2 seeds of 2 restarts, k = 2, 3."""
    result, workdir = train(tmp_path, "kmeans_digits", "--config.kmeans.inits=random", "--config.kmeans.num_seeds=2",
                            "--config.kmeans.n_init=2", "--config.choose_k.ks=(2,3)", "--config.choose_k.n_init=2",
                            "--config.minibatch.n_init=1")
    assert result["num_points"] == 301 and result["num_seeds"] == 2 and result["devices"] == "cpu x8"
    for metric in ("inertia", "ari", "nmi", "silhouette", "inertia_mean", "ari_mean"):
        assert f"sklearn_random_{metric}" in result and f"random_{metric}" in result
    assert result["random_inertia_mean_rel_diff"] < 0.05
    assert result["random_same_init_inertia_rel_diff"] < 1e-5 and result["random_same_init_label_ari"] == 1.0
    assert "minibatch_inertia_rel_diff" in result and result["choose_k_best_silhouette_k"] in (2, 3)
    assert (workdir / "plots" / "choose_k.png").stat().st_size > 1000


def test_gmm_experiment_end_to_end(tmp_path):
    result, _ = train(tmp_path, "gmm_digits", "--config.gmm.covariance_type=diag", "--config.k=4")
    assert result["float64"] is True and result["log_likelihood_rel_diff"] < 1e-8
    assert result["n_iter"] == result["sklearn_n_iter"] and result["label_agreement_ari"] == 1.0
    assert result["lower_bound_min_increase"] > -1e-9


@pytest.mark.filterwarnings("ignore:Graph is not fully connected")
def test_spectral_experiment_end_to_end(tmp_path):
    """k = 4 on 301 points: the embedding's k-means compiles as test_spectral's does."""
    result, _ = train(tmp_path, "spectral_digits", "--config.k=4", "--config.parallel.num_devices=1")
    assert result["graph_entries_differing"] == 0 and result["ari_abs_diff"] <= 0.03
