"""The scikit-learn REFERENCE fits of the SVM experiments, recorded beside jaxml's numbers as
`sklearn_*` (for the record and the comparison only: nothing of jaxml's fits comes from here)."""

from __future__ import annotations

from typing import Any

import numpy as np


def linear_svc(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, C: float,
               fit_intercept: bool, intercept_scaling: float, seed: int) -> dict[str, Any]:
    """`LinearSVC(loss="squared_hinge", penalty="l2")` (one-vs-rest, liblinear's primal solver): its
    weights (the intercept back as the weight of the constant feature) and test accuracy."""
    from sklearn.svm import LinearSVC

    m = LinearSVC(C=C, loss="squared_hinge", penalty="l2", dual=False, fit_intercept=fit_intercept,
                  intercept_scaling=intercept_scaling, random_state=seed).fit(x_train, y_train)
    w = m.coef_
    if fit_intercept:
        w = np.concatenate([w, (m.intercept_ / intercept_scaling)[:, None]], axis=1)
    return {"weights": w, "accuracy": float(m.score(x_test, y_test))}


def rbf_svc(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, C: float,
            gamma: float) -> dict[str, Any]:
    """`SVC(kernel="rbf")`: the exact kernel and the hinge loss (libsvm's dual, one-vs-one)."""
    from sklearn.svm import SVC

    m = SVC(C=C, kernel="rbf", gamma=gamma).fit(x_train, y_train)
    return {"accuracy": float(m.score(x_test, y_test)), "n_support": int(m.n_support_.sum())}
