"""The deep detectors: trained on points near a 2-D plane in 6-D, the autoencoder reconstructs them
better than points off the plane and Deep SVDD maps them nearer its centre; scores are one row per
seed."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.classic import ranking_metrics
from jaxml.methods import anomaly_deep


def plane_data():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(2, 6))
    normal = rng.normal(size=(2000, 2)) @ basis + 0.05 * rng.normal(size=(2000, 6))
    inliers = rng.normal(size=(200, 2)) @ basis + 0.05 * rng.normal(size=(200, 6))
    outliers = rng.normal(size=(20, 2)) @ basis + 1.5 * rng.normal(size=(20, 6))
    return normal, np.concatenate([inliers, outliers]), np.r_[np.zeros(200, np.int32), np.ones(20, np.int32)]


@pytest.mark.parametrize("kind,hidden", [("autoencoder", (16, 2, 16)), ("deep_svdd", (32, 8))])
def test_points_off_the_normal_manifold_score_higher(kind, hidden):
    normal, test, labels = plane_data()
    errors = anomaly_deep.fit_and_score(kind, [0, 1], normal, test, hidden=hidden, steps=400, batch_size=128,
                                               learning_rate=3e-3)
    assert errors.shape == (2, 220) and np.all(errors >= 0)
    for row in errors:
        assert float(ranking_metrics.roc_auc(labels, row)) > 0.95
    assert not np.allclose(errors[0], errors[1])  # the seeds differ


def test_standardiser_keeps_constant_columns():
    mean, std = anomaly_deep.standardiser(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_array_equal(mean, [2.0, 5.0])
    np.testing.assert_array_equal(std, [1.0, 1.0])


def test_deep_svdd_has_no_bias_and_its_centre_is_the_initial_mean_pushed_off_zero():
    normal, _, _ = plane_data()
    detector = anomaly_deep.deep_svdd((16, 4), 6)
    x = jnp.asarray(normal[:64], jnp.float32)
    params, c = detector.init(jax.random.key(0), x)
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    assert leaves and all("bias" not in jax.tree_util.keystr(path) for path, _ in leaves)
    mean = np.asarray(anomaly_deep.MLP(num_classes=4, hidden=(16,), use_bias=False, activation="leaky_relu")
                      .apply(params, x, train=False)).mean(0)
    expected = np.where(np.abs(mean) < anomaly_deep.SVDD_EPS, np.where(mean < 0, -1, 1) * anomaly_deep.SVDD_EPS, mean)
    np.testing.assert_allclose(np.asarray(c), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(detector.score(params, c, x)),
                               ((np.asarray(anomaly_deep.MLP(num_classes=4, hidden=(16,), use_bias=False,
                                                             activation="leaky_relu").apply(params, x, train=False))
                                 - expected) ** 2).sum(1), rtol=1e-5)
