"""Default configs of the tree-ensemble experiments (`jaxml/methods/trees.py`). Imports only
ml_collections, so config files can build on it without importing jax."""

from __future__ import annotations

import ml_collections


def trees_config(algorithm: str) -> ml_collections.ConfigDict:
    """Five stratified 75 / 25 train / test splits (seeds 0..4) of each data set, features binned on the
    training points into at most 255 bins, and the group of `algorithm` ("gbdt" or "forest")."""
    c = ml_collections.ConfigDict()
    c.method = "trees"
    c.algorithm = algorithm
    c.datasets = ("credit", "cancer") if algorithm == "gbdt" else ("cancer", "digits")
    c.num_points = 20000  # generated credit applicants
    c.data_seed = 0       # the credit applicants' draw
    c.seed = 0            # the splits, bootstraps and feature draws
    c.test_fraction = 0.25
    c.num_splits = 5      # results are means over this many splits (split seeds seed, seed + 1, ...)
    c.max_bins = 255
    c.float64 = False     # fit under jax.enable_x64 (scikit-learn sums gradients in float64)
    c.reference = True    # also fit scikit-learn's estimator on the same split (recorded as sklearn_*)
    if algorithm == "gbdt":
        # HistGradientBoostingClassifier's defaults, but level-wise to depth 5 (both sides) and early
        # stopping always on, on a stratified 10 % of the training split
        c.gbdt = ml_collections.ConfigDict(dict(
            max_iter=100, learning_rate=0.1, max_depth=5, l2=0.0, min_samples_leaf=20, min_hessian=1e-3,
            early_stopping=True, validation_fraction=0.1, n_iter_no_change=10, tol=1e-7))
    else:
        # RandomForestClassifier's defaults (100 trees, Gini, bootstrap, sqrt(F) features a node), the
        # trees grown to a fixed depth of 10; the reference grows full trees (sklearn_max_depth 0 = None)
        c.forest = ml_collections.ConfigDict(dict(num_trees=100, max_depth=10, max_features=0, min_samples_leaf=1,
                                                  chunk=4, sklearn_max_depth=0))
    return c
