"""The scikit-learn REFERENCE runs of the label-spreading experiment, recorded beside jaxml's numbers as
`sklearn_*` (for the record and the comparison only: nothing of jaxml's fits comes from here)."""

from __future__ import annotations

from typing import Any

import numpy as np

ESTIMATORS = {"spreading": "LabelSpreading", "propagation": "LabelPropagation"}


def knn_indices(x: np.ndarray, n_neighbors: int) -> np.ndarray:
    """[n, n_neighbors] the neighbour lists of scikit-learn's kernel="knn" graph (the fitted points'
    `kneighbors`, each point among its own neighbours)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=n_neighbors).fit(x)
    return nn.kneighbors(nn._fit_X, n_neighbors, return_distance=False)


def transduction(variant: str, x: np.ndarray, labels: np.ndarray, n_neighbors: int, alpha: float, max_iter: int,
                 tol: float) -> dict[str, Any]:
    """`LabelSpreading` / `LabelPropagation(kernel="knn")` fitted on all points, labels -1 where
    unlabelled: the transduced labels and the iterations run."""
    import warnings

    from sklearn import semi_supervised
    from sklearn.exceptions import ConvergenceWarning

    kwargs = {"alpha": alpha} if variant == "spreading" else {}
    estimator = getattr(semi_supervised, ESTIMATORS[variant])(kernel="knn", n_neighbors=n_neighbors,
                                                                 max_iter=max_iter, tol=tol, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # propagation runs to max_iter, as jaxml's does
        estimator.fit(x, labels)
    return {"labels": np.asarray(estimator.transduction_), "n_iter": int(estimator.n_iter_)}
