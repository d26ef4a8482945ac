"""Default configs of the anomaly-detection experiments (`jaxml/methods/anomaly.py`). Imports only
ml_collections, so config files can build on it without importing jax."""

from __future__ import annotations

import ml_collections


def anomaly_config(dataset: str = "breast_cancer") -> ml_collections.ConfigDict:
    """An isolation forest of Liu et al.'s defaults (100 trees, psi = 256, depth ceil(log2 psi)) on
    `dataset` ("breast_cancer" or "fraud"), 5 seeds, scikit-learn's IsolationForest beside it; for
    "fraud" also the reconstruction-error autoencoder and Deep SVDD."""
    c = ml_collections.ConfigDict()
    c.method = "anomaly"
    c.dataset = dataset
    c.seed = 0            # the runs use seeds seed .. seed + num_seeds - 1 (jaxml keys, sklearn random_state)
    c.num_seeds = 5
    c.reference = True    # also run scikit-learn's IsolationForest (recorded as sklearn_*)
    c.iforest = ml_collections.ConfigDict(dict(n_trees=100, subsample=256))
    if dataset == "breast_cancer":
        c.num_outliers = 20   # malignant cases kept as the outliers (all benign cases are the inliers)
        c.outlier_seed = 0    # numpy default_rng(outlier_seed) picks which malignant cases
    elif dataset == "fraud":
        c.fraud = ml_collections.ConfigDict(dict(num_transactions=20_000, fraud_rate=0.01, test_fraction=0.3,
                                                 data_seed=0))
        # an MLP 6-16-3-16-6 on standardised features, Adam, trained on the normal training transactions
        c.autoencoder = ml_collections.ConfigDict(dict(hidden=(16, 3, 16), steps=3000, batch_size=256,
                                                       learning_rate=3e-3))
        # one-class Deep SVDD: a bias-free MLP 6-16-8 (leaky ReLU) to a fixed centre, AdamW (weight decay
        # 1e-4 decoupled, the paper's L2 term), trained on the normal training transactions
        c.deep_svdd = ml_collections.ConfigDict(dict(hidden=(16, 8), steps=3000, batch_size=256,
                                                     learning_rate=1e-3, weight_decay=1e-4))
    return c
