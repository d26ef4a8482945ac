"""Isolation forest (Liu, Ting & Zhou 2008; docs/references.md#anomaly-detection) on fixed-size arrays.

Each tree is a complete binary tree of depth D = ceil(log2 psi) stored breadth-first: node i has
children 2i + 1 and 2i + 2, so a tree is three arrays over its 2^(D+1) - 1 nodes -- `feature` and
`threshold` (meaningful where `split`), `split` (an internal node that was split) and `size` (how
many of the tree's psi subsampled points reached the node). A node that is not split is an external
node (a leaf): it sits at depth D, or fewer than 2 points reached it, or every feature is constant
over its points.

Building is one function of (key, x): the psi points of each tree are drawn without replacement, and
the tree grows level by level (a Python loop of D steps, unrolled under jit) -- at each level every
node draws one feature uniformly among those not constant over its points and a threshold uniformly
in [min, max) of that feature there, and its points go left (x_q < threshold) or right. The trees are
`vmap`ped over their keys.

A point's path length in a tree is the number of edges from the root to its leaf plus c(size), the
average path length of an unsuccessful binary-search-tree search over the leaf's points (the part of
the tree that was not grown); its anomaly score is 2^(-E[h] / c(psi)), E over the trees.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.errors import JaxmlError

EULER_GAMMA = 0.5772156649015329


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Forest:
    feature: jax.Array    # [trees, nodes] int32; the split feature of each split node (0 elsewhere)
    threshold: jax.Array  # [trees, nodes]; x_feature < threshold goes left
    split: jax.Array      # [trees, nodes] bool; True for internal (split) nodes
    size: jax.Array       # [trees, nodes] int32; subsampled points that reached the node
    subsample: int = dataclasses.field(metadata=dict(static=True))  # psi
    depth: int = dataclasses.field(metadata=dict(static=True))      # D: leaves sit at depth <= D


def max_depth(subsample: int) -> int:
    """ceil(log2 psi): the height limit of Liu et al. (the average height of a random tree on psi points)."""
    return int(math.ceil(math.log2(max(subsample, 2))))


def num_nodes(depth: int) -> int:
    return 2 ** (depth + 1) - 1


def average_path_length(n: jax.Array) -> jax.Array:
    """c(n) = 2 H(n - 1) - 2 (n - 1) / n with H(i) = ln i + Euler's gamma, for n > 2; 1 for n = 2;
    0 for n <= 1."""
    n = jnp.asarray(n, jnp.result_type(float))
    safe = jnp.maximum(n, 3.0)
    c = 2.0 * (jnp.log(safe - 1.0) + EULER_GAMMA) - 2.0 * (safe - 1.0) / safe
    return jnp.where(n > 2, c, jnp.where(n == 2, 1.0, 0.0))


def check_args(n: int, num_trees, subsample, prefix: str = "") -> None:
    """One JaxmlError naming the key for a bad tree count or subsample size."""
    if isinstance(num_trees, bool) or not isinstance(num_trees, (int, np.integer)) or num_trees < 1:
        raise JaxmlError(f"{prefix}n_trees must be an int >= 1, got {num_trees!r}")
    if isinstance(subsample, bool) or not isinstance(subsample, (int, np.integer)) or subsample < 2:
        raise JaxmlError(f"{prefix}subsample must be an int >= 2, got {subsample!r}")
    if subsample > n:
        raise JaxmlError(f"{prefix}subsample={subsample} must be <= the number of points ({n})")


def _grow(key: jax.Array, x: jax.Array, depth: int):
    """One tree on the points x [psi, d]: (feature, threshold, split, size), each [nodes]."""
    psi, d = x.shape
    nodes = num_nodes(depth)
    level_of = jnp.asarray([(i + 1).bit_length() - 1 for i in range(nodes)], jnp.int32)  # node i's depth
    feature = jnp.zeros(nodes, jnp.int32)
    threshold = jnp.zeros(nodes, x.dtype)
    split = jnp.zeros(nodes, bool)
    size = jnp.zeros(nodes, jnp.int32)
    node = jnp.zeros(psi, jnp.int32)  # the node each point sits in
    for level in range(depth + 1):
        here = level_of == level
        count = jax.ops.segment_sum(jnp.ones(psi, jnp.int32), node, nodes)
        size = jnp.where(here, count, size)
        if level == depth:
            break
        lo = jax.ops.segment_min(x, node, nodes)  # [nodes, d]; +inf for empty nodes
        hi = jax.ops.segment_max(x, node, nodes)
        varies = hi > lo
        k_feature, k_threshold = jax.random.split(jax.random.fold_in(key, level))
        f = jax.random.categorical(k_feature, jnp.where(varies, 0.0, -jnp.inf), axis=-1)  # [nodes]
        f = jnp.where(jnp.any(varies, axis=1), f, 0).astype(jnp.int32)
        lo_f = jnp.take_along_axis(lo, f[:, None], axis=1)[:, 0]
        hi_f = jnp.take_along_axis(hi, f[:, None], axis=1)[:, 0]
        u = jax.random.uniform(k_threshold, (nodes,), x.dtype)
        t = lo_f + u * (hi_f - lo_f)
        t = jnp.where(t > lo_f, t, hi_f)  # u = 0 (or rounding) would send every point right
        grows = here & (count >= 2) & jnp.any(varies, axis=1)
        feature = jnp.where(grows, f, feature)
        threshold = jnp.where(grows, t, threshold)
        split = split | grows
        goes_left = jnp.take_along_axis(x, feature[node][:, None], axis=1)[:, 0] < threshold[node]
        child = 2 * node + jnp.where(goes_left, 1, 2)
        node = jnp.where(split[node] & (level_of[node] == level), child, node)
    return feature, threshold, split, size


def fit(key: jax.Array, x, num_trees: int = 100, subsample: int = 256) -> Forest:
    """An isolation forest of `num_trees` trees on x [n, d], each grown on `subsample` points drawn
    without replacement (psi = subsample <= n)."""
    x = jnp.asarray(x)
    check_args(x.shape[0], num_trees, subsample)
    return _fit(key, x, int(num_trees), int(subsample))


@functools.partial(jax.jit, static_argnames=("num_trees", "subsample"))
def _fit(key: jax.Array, x: jax.Array, num_trees: int, subsample: int) -> Forest:
    depth = max_depth(subsample)

    def tree(k):
        k_rows, k_grow = jax.random.split(k)
        rows = jax.random.permutation(k_rows, x.shape[0])[:subsample]
        return _grow(k_grow, x[rows], depth)

    feature, threshold, split, size = jax.vmap(tree)(jax.random.split(key, num_trees))
    return Forest(feature, threshold, split, size, subsample, depth)


@jax.jit
def path_lengths(forest: Forest, x: jax.Array) -> jax.Array:
    """[n, trees] h(x) in every tree: edges from the root to x's leaf plus c(size of the leaf)."""
    def one_tree(feature, threshold, split, size):
        node = jnp.zeros(x.shape[0], jnp.int32)
        edges = jnp.zeros(x.shape[0], jnp.int32)
        for _ in range(forest.depth):
            inner = split[node]
            left = jnp.take_along_axis(x, feature[node][:, None], axis=1)[:, 0] < threshold[node]
            node = jnp.where(inner, 2 * node + jnp.where(left, 1, 2), node)
            edges = edges + inner.astype(jnp.int32)
        return edges + average_path_length(size[node])

    return jax.vmap(one_tree, out_axes=1)(forest.feature, forest.threshold, forest.split, forest.size)


@jax.jit
def score(forest: Forest, x: jax.Array) -> jax.Array:
    """[n] anomaly scores s(x) = 2^(-E[h(x)] / c(psi)) in (0, 1]: near 1 for points isolated early."""
    mean_h = jnp.mean(path_lengths(forest, jnp.asarray(x, forest.threshold.dtype)), axis=1)
    return jnp.exp2(-mean_h / average_path_length(forest.subsample))
