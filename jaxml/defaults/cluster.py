"""Default configs of the clustering experiments (`jaxml/methods/cluster.py`). Imports only
ml_collections, so config files can build on it without importing jax."""

from __future__ import annotations

import ml_collections


def cluster_config(algorithm: str) -> ml_collections.ConfigDict:
    """Standardised sklearn digits (1797 x 64, StandardScaler), k = 10, seed 0, and the group of
    `algorithm` ("kmeans", "gmm" or "spectral"; "segment": see `segment_config`)."""
    c = ml_collections.ConfigDict()
    c.method = "cluster"
    c.algorithm = algorithm
    c.dataset = "digits"
    c.num_points = 0      # 0: all 1797 digits; else the first num_points (tests)
    c.seed = 0
    c.k = 10
    c.float64 = False     # run the JAX fit under jax.enable_x64 with float64 data
    c.reference = True    # also run the scikit-learn reference on the same data (recorded as sklearn_*)
    c.parallel = ml_collections.ConfigDict({"num_devices": 0})  # points split over all devices
    if algorithm == "kmeans":
        # the sklearn example "A demo of K-Means clustering on the handwritten digits data"
        # block_size: points per block of the blocked Lloyd step (0: about 1M floats of distances a block)
        c.kmeans = ml_collections.ConfigDict(dict(inits=("k-means++", "random"), n_init=4, max_iter=300, tol=1e-4,
                                                  num_seeds=30, block_size=0))
        c.minibatch = ml_collections.ConfigDict(dict(batch_size=256, max_iter=100, n_init=3))
        c.choose_k = ml_collections.ConfigDict(dict(ks=tuple(range(2, 17)), n_init=4))
    elif algorithm == "gmm":
        c.gmm = ml_collections.ConfigDict(dict(covariance_type="full", max_iter=100, tol=1e-3, reg_covar=1e-6))
    elif algorithm == "spectral":
        c.spectral = ml_collections.ConfigDict(dict(n_neighbors=10, n_init=10))
    return c


def segment_config() -> ml_collections.ConfigDict:
    """k-means segmentation (k = 7: the six planted segments and the outliers) of 5000 generated customers
    (`jaxml.data.customers`, data seed 0, 3 % outliers), log1p of the skewed features, standardised;
    20 seeds of n_init = 20 k-means++ restarts (a single restart reaches the best minimum about 1 time
    in 5 on this data, docs/clustering.md)."""
    c = cluster_config("segment")
    c.dataset = "customers"
    c.num_points = 5000   # customers generated
    c.k = 7               # six planted segments + one group for the 3 % outliers
    c.segment = ml_collections.ConfigDict(dict(
        data_seed=0, outlier_fraction=0.03,
        log_features=("recency_days", "frequency", "monetary", "basket_items", "tenure_months"),
        init="k-means++", n_init=20, max_iter=300, tol=1e-4, num_seeds=20, block_size=0))
    return c
