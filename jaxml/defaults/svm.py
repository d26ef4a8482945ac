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


def text_config() -> ml_collections.ConfigDict:
    """`svm_config` on TF-IDF features of KJV passages of 5 verses labelled by genre (6 classes), a
    quarter of each genre's chapters held out; TF-IDF fitted on the training passages (terms in >= 2
    of them, the 4000 most frequent, sublinear tf, smooth idf, l2 rows, as scikit-learn's
    TfidfVectorizer with those options); the linear, random-Fourier (3000 features) and Nystroem
    (3000 landmarks) SVMs at C = 1, gamma = "scale"."""
    c = svm_config()
    c.dataset = "kjv_genre"
    c.corpus_fallback = True  # without Debian's bible-kjv: Python's stdlib sources by package (a warning line)
    c.kernels = ("linear", "rbf", "nystroem")
    c.num_features = 3000
    c.text = ml_collections.ConfigDict({
        "verses_per_passage": 5,
        "lowercase": True,
        "min_df": 2,          # int: passages; float in [0, 1]: a fraction of them
        "max_df": 1.0,
        "max_features": 4000,
        "sublinear_tf": True,
        "smooth_idf": True,
        "norm": "l2",         # l2, l1 or none
    })
    return c
