"""Decision trees on binned features, grown level by level to a fixed depth with a vectorised split
search over every feature and bin at once (the histogram method of LightGBM and scikit-learn's
`HistGradientBoosting*`; docs/references.md#classic-learners).

One builder serves boosting and random forests. Every point carries weighted statistics: C gradient
channels g, a hessian h and a count w. For a node's candidate split (feature f, bin b: bins <= b go
left) with left / right sums (G_L, H_L, N_L), (G_R, H_R, N_R) and totals (G, H) the gain is

    sum_c  G_L,c^2 / (H_L + lambda) + G_R,c^2 / (H_R + lambda) - G_c^2 / (H + lambda)

(twice the second-order loss decrease of Chen & Guestrin's XGBoost with L2 leaf penalty lambda),
and a leaf's value is -G / (H + lambda). With g = -(one-hot class) * w, h = w and lambda = 0 the gain
is exactly the decrease in the weighted Gini impurity N_L gini_L + N_R gini_R - N gini, and the leaf
value the class proportions: a CART classification tree (`forest.py`).

- Per level l (2^l nodes) one scatter-add builds the [nodes, F, bins, C + 2] histograms of all points;
  cumulative sums over the bins give every candidate's left sums, the totals minus them the right
  sums, so the whole search is one vectorised gain array and an argmax per node.
- A candidate is valid when both sides hold at least `min_samples_leaf` (count) and `min_hessian`;
  a node splits if its best valid gain is > 0 (beyond rounding: `rounding_floor`), and otherwise sends all its points left (threshold =
  num_bins), so the tree stays complete: internal nodes in level order, 2^depth leaves, empty leaves
  valued 0.
- `feature_mask` [depth][nodes, F] optionally restricts the features each node may split on (random
  forests' max_features).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Tree:
    feature: jax.Array    # [2^depth - 1] int32, internal nodes in level order
    threshold: jax.Array  # [2^depth - 1] int32 bin: x_bin <= threshold goes left (num_bins: all left)
    value: jax.Array      # [2^depth, C] leaf values


def depth_of(tree: Tree) -> int:
    return (tree.value.shape[-2]).bit_length() - 1


def leaf_index(tree: Tree, xb: jax.Array) -> jax.Array:
    """[n] the leaf (0 .. 2^depth - 1) each binned point xb [n, F] falls into."""
    node = jnp.zeros(xb.shape[0], jnp.int32)
    rows = jnp.arange(xb.shape[0])
    for level in range(depth_of(tree)):
        idx = (1 << level) - 1 + node
        right = xb[rows, tree.feature[idx]] > tree.threshold[idx]
        node = 2 * node + right.astype(jnp.int32)
    return node


def predict(tree: Tree, xb: jax.Array) -> jax.Array:
    """[n, C] the leaf values of binned points xb [n, F]."""
    return tree.value[leaf_index(tree, xb)]


def histograms(xb: jax.Array, node: jax.Array, stats: jax.Array, num_nodes: int, num_bins: int) -> jax.Array:
    """[num_nodes, F, num_bins, S] sums of stats [n, S] per (node, feature, bin) -- one scatter-add."""
    n, num_features = xb.shape
    idx = node[:, None] * num_bins + xb                                   # [n, F]
    hist = jnp.zeros((num_features, num_nodes * num_bins, stats.shape[1]), stats.dtype)
    hist = hist.at[jnp.arange(num_features)[None, :], idx].add(
        jnp.broadcast_to(stats[:, None, :], (n, num_features, stats.shape[1])))
    return hist.reshape(num_features, num_nodes, num_bins, -1).transpose(1, 0, 2, 3)


def node_score(sums: jax.Array, l2: float) -> jax.Array:
    """sum_c G_c^2 / (H + lambda) of sums [..., C + 2] = (G_1 .. G_C, H, N); 0 where H + lambda is 0."""
    denom = sums[..., -2] + l2
    return jnp.where(denom > 0, jnp.sum(sums[..., :-2] ** 2, axis=-1) / jnp.where(denom > 0, denom, 1.0), 0.0)


def rounding_floor(hist: jax.Array, l2: float) -> jax.Array:
    """[nodes] the smallest gain that counts as one: 256 float epsilons of the node's own score. A node
    whose points all carry the same gradient and hessian (pure, in a forest) has gain 0 for every
    split in exact arithmetic, which the bin sums' rounding would otherwise turn into tiny splits."""
    total = jnp.sum(hist[:, 0], axis=1)                                   # [nodes, S] (feature 0's bins)
    return 256 * jnp.finfo(hist.dtype).eps * node_score(total, l2)


def split_gains(hist: jax.Array, l2: float, min_samples_leaf: float, min_hessian: float,
                feature_mask: jax.Array | None = None) -> jax.Array:
    """[nodes, F, bins] the gain of every candidate split (bins <= b left), -inf where not valid."""
    left = jnp.cumsum(hist, axis=2)
    total = left[:, :, -1:, :]
    right = total - left
    gain = node_score(left, l2) + node_score(right, l2) - node_score(total, l2)
    valid = ((left[..., -1] >= min_samples_leaf) & (right[..., -1] >= min_samples_leaf)
             & (left[..., -2] >= min_hessian) & (right[..., -2] >= min_hessian))
    if feature_mask is not None:
        valid &= feature_mask[:, :, None]
    return jnp.where(valid, gain, -jnp.inf)


def best_splits(gains: jax.Array, min_gain: jax.Array | float = 0.0) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per node the (feature, bin, gain) of the largest gain (the first in feature-major, bin order on
    ties); feature 0 and bin num_bins (all left) where no gain is > min_gain [nodes]."""
    nodes, num_features, num_bins = gains.shape
    flat = gains.reshape(nodes, -1)
    best = jnp.argmax(flat, axis=1)
    gain = jnp.take_along_axis(flat, best[:, None], axis=1)[:, 0]
    split = gain > min_gain
    feature = jnp.where(split, best // num_bins, 0).astype(jnp.int32)
    threshold = jnp.where(split, best % num_bins, num_bins).astype(jnp.int32)
    return feature, threshold, gain


def grow_tree(xb: jax.Array, g: jax.Array, h: jax.Array, w: jax.Array, *, depth: int, num_bins: int,
              l2: float = 0.0, min_samples_leaf: float = 1.0, min_hessian: float = 0.0,
              feature_mask: list | None = None) -> Tree:
    """A complete tree of `depth` levels on binned points xb [n, F] with gradients g [n, C], hessians
    h [n] and weights w [n] (0 for padding; bootstrap counts for forests); module docstring."""
    stats = jnp.concatenate([g * w[:, None], (h * w)[:, None], w[:, None]], axis=1)
    node = jnp.zeros(xb.shape[0], jnp.int32)
    rows = jnp.arange(xb.shape[0])
    features, thresholds = [], []
    for level in range(depth):
        hist = histograms(xb, node, stats, 1 << level, num_bins)
        mask = None if feature_mask is None else feature_mask[level]
        feature, threshold, _ = best_splits(split_gains(hist, l2, min_samples_leaf, min_hessian, mask),
                                            rounding_floor(hist, l2))
        features.append(feature)
        thresholds.append(threshold)
        node = 2 * node + (xb[rows, feature[node]] > threshold[node]).astype(jnp.int32)
    leaves = jax.ops.segment_sum(stats, node, 1 << depth)
    denom = leaves[:, -2] + l2
    value = jnp.where((denom > 0)[:, None], -leaves[:, :-2] / jnp.where(denom > 0, denom, 1.0)[:, None], 0.0)
    if depth == 0:
        return Tree(jnp.zeros((0,), jnp.int32), jnp.zeros((0,), jnp.int32), value)
    return Tree(jnp.concatenate(features), jnp.concatenate(thresholds), value)
