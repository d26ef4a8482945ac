"""Default configs of the clustering experiments (`jaxml/methods/cluster.py`). Imports only
ml_collections, so config files can build on it without importing jax."""

from __future__ import annotations

import ml_collections


def cluster_config(algorithm: str) -> ml_collections.ConfigDict:
    """Standardised sklearn digits (1797 x 64, StandardScaler), k = 10, seed 0, and the group of
    `algorithm` ("kmeans", "gmm" or "spectral")."""
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
