"""Squared euclidean distances as ||x||^2 - 2 x.y + ||y||^2 (one matrix product), at full float32
precision.

Every product here asks for `Precision.HIGHEST`: on GPUs the default float32 matmul is TF32 (10
mantissa bits), which moves k-means labels and GMM log-likelihoods well past the tolerances the tests
hold them to against scikit-learn (float64).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

HIGHEST = jax.lax.Precision.HIGHEST


def dot(a: jax.Array, b: jax.Array) -> jax.Array:
    """`a @ b` at full precision."""
    return jnp.matmul(a, b, precision=HIGHEST)


def sq_norms(x: jax.Array) -> jax.Array:
    """||x_i||^2 per row."""
    return jnp.sum(x * x, axis=-1)


def sq_dists(x: jax.Array, y: jax.Array, x_sq: jax.Array | None = None, y_sq: jax.Array | None = None) -> jax.Array:
    """[n, m] squared distances between the rows of x [n, d] and y [m, d], clamped at 0 (the expansion
    can go slightly negative for near-identical rows). Pass precomputed squared norms to save work."""
    x_sq = sq_norms(x) if x_sq is None else x_sq
    y_sq = sq_norms(y) if y_sq is None else y_sq
    return jnp.maximum(x_sq[:, None] - 2.0 * dot(x, y.T) + y_sq[None, :], 0.0)
