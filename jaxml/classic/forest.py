"""Random forests (Breiman 2001) of CART classification trees from `trees.grow_tree`, one tree per
bootstrap sample, the trees `vmap`ped (docs/references.md#classic-learners).

- Each tree draws a bootstrap sample (n points with replacement: the weights w are the draw counts)
  and, at every node, the subset of `max_features` features it may split on (scikit-learn's
  `max_features="sqrt"`: int(sqrt(F))); g = -(one-hot class), h = 1, lambda = 0, so the split gain is
  the weighted Gini decrease and the leaves hold the class proportions of their bootstrap points
  (`trees` module docstring).
- The trees are grown in chunks of `chunk` trees, each chunk one `vmap` (`lax.map(batch_size=)`),
  so the histograms of a chunk fit in memory.
- The forest's probabilities are the mean of its trees' leaf proportions; the class the argmax.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp

from jaxml.classic import trees
from jaxml.core.config import check_int, check_number


@dataclasses.dataclass(frozen=True)
class ForestSettings:
    num_trees: int = 100
    max_depth: int = 8
    max_features: int = 0       # features each node may split on; 0: int(sqrt(F))
    min_samples_leaf: int = 1
    chunk: int = 10

    def check(self, num_features: int, prefix: str = "") -> None:
        check_int(self.num_trees, f"{prefix}num_trees", 1)
        check_number(check_int(self.max_depth, f"{prefix}max_depth", 1), f"{prefix}max_depth", 1, 16)
        check_number(check_int(self.max_features, f"{prefix}max_features", 0), f"{prefix}max_features", 0, num_features)
        check_int(self.min_samples_leaf, f"{prefix}min_samples_leaf", 1)
        check_int(self.chunk, f"{prefix}chunk", 1)

    def features_per_node(self, num_features: int) -> int:
        return self.max_features or max(1, int(math.sqrt(num_features)))


def node_feature_masks(key: jax.Array, depth: int, num_features: int, m: int) -> list[jax.Array]:
    """Per level [2^level, F] masks with m random features set per node."""
    masks = []
    for level in range(depth):
        u = jax.random.uniform(jax.random.fold_in(key, level), (1 << level, num_features))
        rank = jnp.argsort(jnp.argsort(u, axis=1), axis=1)
        masks.append(rank < m)
    return masks


@functools.partial(jax.jit, static_argnames=("settings", "num_bins", "num_classes"))
def fit(key: jax.Array, xb: jax.Array, y: jax.Array, *, settings: ForestSettings, num_bins: int,
        num_classes: int) -> trees.Tree:
    """The forest's trees stacked over [num_trees] (module docstring)."""
    s = settings
    n, num_features = xb.shape
    m = s.features_per_node(num_features)
    dtype = jnp.result_type(float)  # float32, or float64 under jax.enable_x64
    g = -jax.nn.one_hot(y, num_classes, dtype=dtype)
    h = jnp.ones((n,), dtype)

    def one(key):
        boot_key, mask_key = jax.random.split(key)
        draws = jax.random.randint(boot_key, (n,), 0, n)
        w = jax.ops.segment_sum(jnp.ones((n,), dtype), draws, n)
        return trees.grow_tree(xb, g, h, w, depth=s.max_depth, num_bins=num_bins, l2=0.0,
                               min_samples_leaf=float(s.min_samples_leaf), min_hessian=0.0,
                               feature_mask=node_feature_masks(mask_key, s.max_depth, num_features, m))

    return jax.lax.map(one, jax.random.split(key, s.num_trees), batch_size=s.chunk)


@jax.jit
def predict_proba(forest: trees.Tree, xb: jax.Array) -> jax.Array:
    """[n, C] the mean over the trees of their leaf class proportions."""
    return jnp.mean(jax.vmap(lambda t: trees.predict(t, xb))(forest), axis=0)
