"""Clustering metrics in JAX: inertia, silhouette (euclidean), adjusted Rand index, normalised mutual
information (arithmetic-mean normalisation) -- the definitions of `sklearn.metrics` (docs/references.md).

Labels are ints in [0, num_labels) with `num_labels` static (a label id with no point is allowed and
counts as absent). Every function is jittable; `weights` (0 for padding) select the points that count.

Precision. Pair counts sum_ij C(n_ij, 2) are integers below 2^24 for n <= 5792 and so exact in
float32; for larger n, or under `jax.enable_x64`, the float dtype of the inputs is used. The silhouette
takes euclidean distances from the squared-distance expansion, whose float32 error is about
1e-7 ||x||^2 per pair; the self-distance is set to 0 exactly (a tiny positive value would cost
sqrt(1e-7 ||x||^2) in every intra-cluster mean).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxml.classic.distances import dot, sq_dists, sq_norms


def _float(*arrays) -> jnp.dtype:
    return jnp.result_type(float, *[a.dtype for a in arrays if jnp.issubdtype(a.dtype, jnp.floating)])


def inertia(x: jax.Array, centers: jax.Array, labels: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    """sum_i w_i ||x_i - c_{label_i}||^2."""
    w = jnp.ones(x.shape[0], x.dtype) if weights is None else weights
    return jnp.sum(w * jnp.sum((x - centers[labels]) ** 2, axis=1))


def contingency(a: jax.Array, b: jax.Array, num_a: int, num_b: int, weights: jax.Array | None = None) -> jax.Array:
    """[num_a, num_b] counts n_ij of points with label a = i and b = j (weighted)."""
    dtype = _float(*(() if weights is None else (weights,)))
    w = jnp.ones(a.shape[0], dtype) if weights is None else weights.astype(dtype)
    onehot_a = (a[:, None] == jnp.arange(num_a)[None, :]).astype(dtype) * w[:, None]
    onehot_b = (b[:, None] == jnp.arange(num_b)[None, :]).astype(dtype)
    return dot(onehot_a.T, onehot_b)


def _pairs(n: jax.Array) -> jax.Array:
    return n * (n - 1) / 2


@functools.partial(jax.jit, static_argnames=("num_a", "num_b"))
def adjusted_rand_index(a: jax.Array, b: jax.Array, num_a: int, num_b: int, weights: jax.Array | None = None):
    """Hubert & Arabie's ARI: (index - expected) / (max - expected) over pair counts; 1.0 when both
    labelings are the same trivial partition (scikit-learn's special case, where the ratio is 0 / 0)."""
    table = contingency(a, b, num_a, num_b, weights)
    n = jnp.sum(table)
    index = jnp.sum(_pairs(table))
    sum_a, sum_b = jnp.sum(_pairs(jnp.sum(table, axis=1))), jnp.sum(_pairs(jnp.sum(table, axis=0)))
    expected = sum_a * sum_b / _pairs(n)
    top = 0.5 * (sum_a + sum_b)
    denominator = top - expected
    return jnp.where(denominator == 0, 1.0, (index - expected) / jnp.where(denominator == 0, 1.0, denominator))


def _entropy(counts: jax.Array) -> jax.Array:
    p = counts / jnp.sum(counts)
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0))


@functools.partial(jax.jit, static_argnames=("num_a", "num_b"))
def normalized_mutual_info(a: jax.Array, b: jax.Array, num_a: int, num_b: int, weights: jax.Array | None = None):
    """I(a; b) / ((H(a) + H(b)) / 2), natural logs. As scikit-learn: 1.0 when both labelings have a
    single cluster, 0.0 when the mutual information is 0 otherwise."""
    table = contingency(a, b, num_a, num_b, weights)
    n = jnp.sum(table)
    row, col = jnp.sum(table, axis=1), jnp.sum(table, axis=0)
    outer = row[:, None] * col[None, :]
    safe = jnp.where(table > 0, table, 1.0)
    mi = jnp.sum(jnp.where(table > 0, table / n * (jnp.log(safe * n) - jnp.log(jnp.where(table > 0, outer, 1.0))), 0.0))
    mi = jnp.maximum(mi, 0.0)
    h = 0.5 * (_entropy(row) + _entropy(col))
    both_single = (jnp.sum(row > 0) == 1) & (jnp.sum(col > 0) == 1)
    return jnp.where(both_single, 1.0, jnp.where(mi == 0, 0.0, mi / jnp.where(h > 0, h, 1.0)))


@functools.partial(jax.jit, static_argnames=("num_labels", "block"))
def silhouette_samples(x: jax.Array, labels: jax.Array, num_labels: int, weights: jax.Array | None = None,
                       block: int = 512) -> jax.Array:
    """[n] silhouette s_i = (b_i - a_i) / max(a_i, b_i), a_i the mean euclidean distance to the other
    points of i's cluster, b_i the smallest mean distance to another (non-empty) cluster; 0 for a point
    alone in its cluster. Points with weight 0 are ignored (and get 0). Rows go in blocks of `block`
    ([block, n] distances at a time)."""
    n = x.shape[0]
    dtype = x.dtype
    member = jnp.ones(n, dtype) if weights is None else (weights > 0).astype(dtype)
    onehot = (labels[:, None] == jnp.arange(num_labels)[None, :]).astype(dtype) * member[:, None]  # [n, L]
    sizes = jnp.sum(onehot, axis=0)
    x_sq = sq_norms(x)
    pad = -n % block
    rows = jnp.pad(jnp.arange(n), (0, pad)).reshape(-1, block)

    def per_block(idx):
        d = jnp.sqrt(sq_dists(x[idx], x, x_sq[idx], x_sq))
        d = jnp.where(idx[:, None] == jnp.arange(n)[None, :], 0.0, d)
        return dot(d, onehot)  # [block, L] distance sums to every cluster

    sums = jax.lax.map(per_block, rows).reshape(-1, num_labels)[:n]
    own = jax.nn.one_hot(labels, num_labels, dtype=dtype)
    own_size = dot(own, sizes)
    a = jnp.sum(sums * own, axis=1) / jnp.maximum(own_size - 1, 1.0)
    means = sums / jnp.where(sizes > 0, sizes, 1.0)[None, :]
    b = jnp.min(jnp.where((own > 0) | (sizes[None, :] == 0), jnp.inf, means), axis=1)
    s = (b - a) / jnp.maximum(jnp.maximum(a, b), jnp.finfo(dtype).tiny)
    return jnp.where((own_size > 1) & (member > 0) & jnp.isfinite(b), s, 0.0)


def silhouette_score(x: jax.Array, labels: jax.Array, num_labels: int, weights: jax.Array | None = None,
                     block: int = 512) -> jax.Array:
    """The mean silhouette over the points (with weight > 0); needs 2 <= clusters <= n - 1, as scikit-learn."""
    s = silhouette_samples(x, labels, num_labels, weights, block)
    member = jnp.ones(x.shape[0], x.dtype) if weights is None else (weights > 0).astype(x.dtype)
    return jnp.sum(s * member) / jnp.sum(member)
