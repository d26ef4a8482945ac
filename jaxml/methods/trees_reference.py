"""The scikit-learn REFERENCE fits of the tree experiments, recorded beside jaxml's numbers as
`sklearn_*` (for the record and the comparison only: nothing of jaxml's fits comes from here)."""

from __future__ import annotations

from typing import Any

import numpy as np


def scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Test accuracy (argmax / p > 0.5) and, for two classes, ROC-AUC of P(y = 1)."""
    from sklearn import metrics

    out = {"accuracy": float(np.mean(proba.argmax(1) == y))}
    if proba.shape[1] == 2:
        out["auc"] = float(metrics.roc_auc_score(y, proba[:, 1]))
    return out


def hist_gbdt(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, x_test: np.ndarray,
              y_test: np.ndarray, *, max_iter: int, learning_rate: float, max_depth: int, l2: float,
              min_samples_leaf: int, max_bins: int, early_stopping: bool, n_iter_no_change: int, tol: float,
              seed: int) -> dict[str, Any]:
    """`HistGradientBoostingClassifier` with the same settings, grown to max_depth (no leaf-count limit),
    early-stopped on the same validation split (X_val / y_val)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    m = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=learning_rate, max_depth=max_depth,
                                       max_leaf_nodes=None, l2_regularization=l2, min_samples_leaf=min_samples_leaf,
                                       max_bins=max_bins, early_stopping=early_stopping,
                                       n_iter_no_change=n_iter_no_change, tol=tol, random_state=seed)
    m.fit(x_train, y_train, X_val=x_val, y_val=y_val) if early_stopping else m.fit(x_train, y_train)
    return {**scores(y_test, m.predict_proba(x_test)), "n_trees": int(m.n_iter_)}


def random_forest(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
                  num_trees: int, max_depth: int | None, min_samples_leaf: int, seed: int) -> dict[str, Any]:
    """`RandomForestClassifier` (Gini, bootstrap, max_features="sqrt") with the same number of trees."""
    from sklearn.ensemble import RandomForestClassifier

    m = RandomForestClassifier(n_estimators=num_trees, max_depth=max_depth, min_samples_leaf=min_samples_leaf,
                               random_state=seed).fit(x_train, y_train)
    return scores(y_test, m.predict_proba(x_test))
