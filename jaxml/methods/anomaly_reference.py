"""The scikit-learn REFERENCE runs of the anomaly-detection experiments, recorded beside jaxml's
numbers as `sklearn_*` (for the record and the comparison only: nothing of jaxml's detector comes
from here)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def iforest_scores(fit_x: np.ndarray, test_x: np.ndarray, n_trees: int, subsample: int,
                   seeds: Sequence[int]) -> list[np.ndarray]:
    """`IsolationForest(n_estimators, max_samples).fit(fit_x)` once per random_state in `seeds`; the
    anomaly scores of test_x (minus `score_samples`: higher = more anomalous, in (0, 1])."""
    from sklearn.ensemble import IsolationForest

    forests = (IsolationForest(n_estimators=n_trees, max_samples=subsample, random_state=int(s)) for s in seeds)
    return [-forest.fit(fit_x).score_samples(test_x) for forest in forests]


def ranking_scores(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """`sklearn.metrics` ROC-AUC and average precision."""
    from sklearn import metrics

    return {"roc_auc": float(metrics.roc_auc_score(labels, scores)),
            "average_precision": float(metrics.average_precision_score(labels, scores))}
