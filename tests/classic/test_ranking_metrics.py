"""ROC-AUC and average precision in JAX against sklearn.metrics on random scores with many ties."""

import numpy as np
import pytest
from sklearn import metrics

from jaxml.classic import ranking_metrics


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("levels", [3, 20, 10_000])  # few distinct scores (heavy ties) .. almost none
def test_metrics_match_sklearn_with_ties(seed, levels):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=257) < rng.uniform(0.02, 0.5)).astype(np.int32)
    y[:2] = [0, 1]  # at least one of each
    s = (rng.integers(0, levels, size=257) + 0.3 * y * rng.integers(0, 2, size=257)).astype(np.float32)
    assert ranking_metrics.roc_auc(y, s) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-6)
    assert ranking_metrics.average_precision(y, s) == pytest.approx(metrics.average_precision_score(y, s), abs=1e-6)


def test_edge_cases():
    y = np.array([0, 0, 1, 1, 0, 1], np.int32)
    perfect = y.astype(np.float32)
    assert float(ranking_metrics.roc_auc(y, perfect)) == 1.0 and float(ranking_metrics.average_precision(y, perfect)) == 1.0
    assert float(ranking_metrics.roc_auc(y, -perfect)) == 0.0
    tied = np.zeros(6, np.float32)
    assert float(ranking_metrics.roc_auc(y, tied)) == 0.5
    assert float(ranking_metrics.average_precision(y, tied)) == pytest.approx(0.5)  # the positive rate
    assert float(ranking_metrics.average_precision(y, -perfect)) == pytest.approx(
        metrics.average_precision_score(y, -perfect))
