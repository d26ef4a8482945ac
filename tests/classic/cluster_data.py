"""Shared small data sets for the classic-learner tests (one shape each, so that the jitted fits
compile once for the whole directory)."""

import functools

import numpy as np


@functools.cache
def blobs(n: int = 301, centers: int = 4, dim: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` float64 points around `centers` well-separated centres, and their true labels."""
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=n, centers=centers, n_features=dim, random_state=seed)
    x.setflags(write=False)
    return x, y
