"""Gaussian mixture by EM: monotone lower bound, the same fit as scikit-learn's GaussianMixture from
its own default initialisation (the labels of KMeans(n_init=1, random_state)), full and diagonal, and
argument errors."""

import jax
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from cluster_data import blobs
from jaxml.classic import mixture
from jaxml.classic.points import make_points
from jaxml.errors import JaxmlError

pytestmark = pytest.mark.xdist_group("classic_mixture")


def overlapping():
    """The blobs stretched and noised so that EM takes a few tens of iterations."""
    x, _ = blobs()
    rng = np.random.default_rng(0)
    return x * np.array([1.0, 0.4, 2.0]) + rng.normal(size=x.shape) * 1.5


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_em_matches_sklearn_from_its_default_initialisation_and_is_monotone(covariance_type):
    """float64: scikit-learn initialises from KMeans(n_init=1, random_state=0).labels_; EM from the same
    labels gives the same iterations, mean log-likelihood (score) and labels. The lower bound never
    decreases (up to float64 rounding)."""
    x = overlapping()
    ref = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(x)
    labels = KMeans(4, n_init=1, random_state=0).fit(x).labels_
    with jax.enable_x64(True):
        result = mixture.gaussian_mixture(make_points(x), np.asarray(labels, np.int32), 4,
                                          covariance_type=covariance_type)
        assert result.log_likelihood.dtype == np.float64
    assert int(result.n_iter) == ref.n_iter_ and bool(result.converged) == ref.converged_
    np.testing.assert_allclose(float(result.log_likelihood), ref.score(x), rtol=1e-9)
    np.testing.assert_array_equal(np.asarray(result.labels), ref.predict(x))
    np.testing.assert_allclose(np.asarray(result.gaussians.means), ref.means_, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(np.asarray(result.gaussians.weights), ref.weights_, rtol=1e-7)
    bounds = np.asarray(result.lower_bounds)
    n = int(result.n_iter)
    assert n > 3 and np.all(np.isfinite(bounds[:n])) and np.all(np.isnan(bounds[n:]))
    assert np.all(np.diff(bounds[:n]) >= -1e-10 * np.abs(bounds[:n - 1]))
    np.testing.assert_allclose(bounds[n - 1], ref.lower_bound_, rtol=1e-9)


def test_float32_diag_em_close_to_float64():
    """float32 (the default dtype): the same fit as float64 to float32 accuracy; the two-pass variances
    and difference-form densities keep it from the cancellation an E[x^2] - mu^2 form suffers."""
    x = overlapping()
    labels = np.asarray(KMeans(4, n_init=1, random_state=0).fit(x).labels_, np.int32)
    f32 = mixture.gaussian_mixture(make_points(x.astype(np.float32)), labels, 4, covariance_type="diag")
    with jax.enable_x64(True):
        f64 = mixture.gaussian_mixture(make_points(x), labels, 4, covariance_type="diag")
    np.testing.assert_allclose(float(f32.log_likelihood), float(f64.log_likelihood), rtol=1e-5)


@pytest.mark.parametrize("kwargs, key", [
    (dict(covariance_type="tied"), "covariance_type"), (dict(k=0), "k"), (dict(max_iter=0), "max_iter"),
    (dict(reg_covar=-1.0), "reg_covar"), (dict(tol=float("nan")), "tol"),
])
def test_bad_arguments_are_one_error_naming_the_argument(kwargs, key):
    p = make_points(blobs()[0])
    args = dict(k=4) | kwargs
    with pytest.raises(JaxmlError, match=rf"^{key}\b") as err:
        mixture.gaussian_mixture(p, np.zeros(301, np.int32), args.pop("k"), **args)
    assert "\n" not in str(err.value)
    if key == "covariance_type":
        assert "full, diag" in str(err.value)
