"""The reconstruction-error autoencoder: trained on points near a 2-D plane in 6-D, it reconstructs
them better than points off the plane, and its scores are one row per seed."""

import numpy as np

from jaxml.classic import ranking_metrics
from jaxml.methods import anomaly_autoencoder


def test_points_off_the_normal_manifold_reconstruct_worse():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(2, 6))
    normal = rng.normal(size=(2000, 2)) @ basis + 0.05 * rng.normal(size=(2000, 6))
    inliers = rng.normal(size=(200, 2)) @ basis + 0.05 * rng.normal(size=(200, 6))
    outliers = rng.normal(size=(20, 2)) @ basis + 1.5 * rng.normal(size=(20, 6))
    test = np.concatenate([inliers, outliers])
    errors = anomaly_autoencoder.fit_and_score([0, 1], normal, test, hidden=(16, 2, 16), steps=400, batch_size=128,
                                               learning_rate=3e-3)
    assert errors.shape == (2, 220) and np.all(errors >= 0)
    labels = np.r_[np.zeros(200, np.int32), np.ones(20, np.int32)]
    for row in errors:
        assert float(ranking_metrics.roc_auc(labels, row)) > 0.95
    assert not np.allclose(errors[0], errors[1])  # the seeds differ


def test_standardiser_keeps_constant_columns():
    mean, std = anomaly_autoencoder.standardiser(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_array_equal(mean, [2.0, 5.0])
    np.testing.assert_array_equal(std, [1.0, 1.0])
