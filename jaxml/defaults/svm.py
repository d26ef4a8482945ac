"""Default config of the support vector machine experiments (`jaxml/methods/svm.py`). Imports only
ml_collections, so config files can build on it without importing jax."""

from __future__ import annotations

import ml_collections


def svm_config() -> ml_collections.ConfigDict:
    """sklearn digits, a stratified 75 / 25 train / test split (seed 0), standardised on the training
    set; a linear SVM and an RBF SVM through 2000 random Fourier features at C = 1, gamma = "scale"."""
    c = ml_collections.ConfigDict()
    c.method = "svm"
    c.dataset = "digits"
    c.seed = 0            # the split's permutation and the random features' draw
    c.test_fraction = 0.25
    c.kernels = ("linear", "rbf")  # each fitted and compared with its scikit-learn reference; or "nystroem"
    c.C = 1.0
    # the rbf kernel's gamma ("gamma" is a discount factor wherever it appears in a config): a number > 0,
    # or "scale" = 1 / (n_features * X_train.var()), sklearn SVC's default
    c.kernel_gamma = "scale"
    c.num_features = 2000  # random Fourier features of the rbf kernel (Nystroem: landmarks, <= n_train)
    c.fit_intercept = True
    c.intercept_scaling = 1.0  # the constant feature, as LinearSVC's (its weight is regularised)
    c.tol = 1e-8          # stop at ||grad f|| <= tol * ||grad f(0)||
    c.max_iter = 2000     # L-BFGS iterations
    c.memory_size = 20
    c.float64 = True      # solve under jax.enable_x64 (liblinear works in float64 too)
    c.reference = True    # also run scikit-learn's LinearSVC / SVC (recorded as sklearn_*)
    return c
