"""Gradient-boosted decision trees for binary classification (logistic loss) on binned features, as
scikit-learn's `HistGradientBoostingClassifier` boosts (Friedman 2001; docs/references.md#classic-learners).

- The raw prediction starts at the log-odds of the training positives' share. Each iteration takes
  the logistic loss's gradient g = p - y and hessian h = p (1 - p) at the current raw predictions,
  grows one `trees.grow_tree` (level-wise to `max_depth`, L2 leaf penalty `l2`, `min_samples_leaf`,
  `min_hessian`) and adds `learning_rate` times its leaf values (Newton steps -G / (H + l2)).
- Early stopping on a validation split, scikit-learn's rule: the score is minus the mean validation
  log loss after each iteration (the baseline's first); stop when none of the last
  `n_iter_no_change` scores beats the one before them by more than `tol`.
- The whole fit is one jitted `lax.while_loop` over iterations; the trees are stacked in arrays of
  `max_iter` trees, of which the first `n_trees` are used.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from jaxml.classic import trees
from jaxml.core.config import check_int, check_number


@dataclasses.dataclass(frozen=True)
class BoostingSettings:
    max_iter: int = 100
    learning_rate: float = 0.1
    max_depth: int = 5
    l2: float = 0.0
    min_samples_leaf: int = 20
    min_hessian: float = 1e-3
    early_stopping: bool = True
    n_iter_no_change: int = 10
    tol: float = 1e-7

    def check(self, prefix: str = "") -> None:
        check_int(self.max_iter, f"{prefix}max_iter", 1)
        check_number(self.learning_rate, f"{prefix}learning_rate", 1e-12)
        check_number(check_int(self.max_depth, f"{prefix}max_depth", 1), f"{prefix}max_depth", 1, 16)
        check_number(self.l2, f"{prefix}l2", 0.0)
        check_int(self.min_samples_leaf, f"{prefix}min_samples_leaf", 1)
        check_number(self.min_hessian, f"{prefix}min_hessian", 0.0)
        check_int(self.n_iter_no_change, f"{prefix}n_iter_no_change", 1)
        check_number(self.tol, f"{prefix}tol", 0.0)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Boosted:
    trees: trees.Tree       # stacked over [max_iter]; leaf values already scaled by the learning rate
    n_trees: jax.Array      # trees in use
    baseline: jax.Array     # the initial raw prediction (log-odds)
    val_scores: jax.Array   # [max_iter + 1] minus the validation log loss (nan after the stop)


def log_loss(raw: jax.Array, y: jax.Array) -> jax.Array:
    """Mean logistic loss of raw predictions (log-odds) against labels y in {0, 1}."""
    return jnp.mean(jax.nn.softplus(raw) - y * raw)


def should_stop(scores: jax.Array, count: jax.Array, patience: int, tol: float) -> jax.Array:
    """scikit-learn's rule on the first `count` scores: stop when none of the last `patience` beats the
    one `patience + 1` back by more than tol."""
    idx = count - 1 - jnp.arange(patience)
    recent = scores[jnp.maximum(idx, 0)]
    reference = scores[jnp.maximum(count - 1 - patience, 0)] + tol
    return (count > patience) & ~jnp.any(recent > reference)


@functools.partial(jax.jit, static_argnames=("settings", "num_bins"))
def fit(xb: jax.Array, y: jax.Array, xb_val: jax.Array, y_val: jax.Array, *, settings: BoostingSettings,
        num_bins: int) -> Boosted:
    """Boosting on binned training points xb [n, F] with labels y [n] in {0, 1}, validated on
    (xb_val, y_val) (module docstring)."""
    s = settings
    dtype = jnp.result_type(float)  # float32, or float64 under jax.enable_x64
    y = y.astype(dtype)
    y_val = y_val.astype(dtype)
    share = jnp.clip(jnp.mean(y), 1e-7, 1 - 1e-7)
    baseline = jnp.log(share / (1 - share))
    ones = jnp.ones_like(y)
    grow = functools.partial(trees.grow_tree, depth=s.max_depth, num_bins=num_bins, l2=s.l2,
                             min_samples_leaf=float(s.min_samples_leaf), min_hessian=s.min_hessian)
    leaves = 1 << s.max_depth
    empty = trees.Tree(jnp.zeros((s.max_iter, leaves - 1), jnp.int32), jnp.zeros((s.max_iter, leaves - 1), jnp.int32),
                       jnp.zeros((s.max_iter, leaves, 1), dtype))
    raw, raw_val = jnp.full(y.shape, baseline), jnp.full(y_val.shape, baseline)
    scores = jnp.full((s.max_iter + 1,), jnp.nan, dtype).at[0].set(-log_loss(raw_val, y_val))

    def cond(c):
        return (c["i"] < s.max_iter) & ~c["done"]

    def body(c):
        p = jax.nn.sigmoid(c["raw"])
        tree = grow(xb, (p - y)[:, None], p * (1 - p), ones)
        tree = dataclasses.replace(tree, value=tree.value * s.learning_rate)
        raw = c["raw"] + trees.predict(tree, xb)[:, 0]
        raw_val = c["raw_val"] + trees.predict(tree, xb_val)[:, 0]
        scores = c["scores"].at[c["i"] + 1].set(-log_loss(raw_val, y_val))
        stacked = jax.tree.map(lambda all_, one: all_.at[c["i"]].set(one), c["trees"], tree)
        done = s.early_stopping & should_stop(scores, c["i"] + 2, s.n_iter_no_change, s.tol)
        return dict(i=c["i"] + 1, raw=raw, raw_val=raw_val, scores=scores, trees=stacked, done=done)

    c = jax.lax.while_loop(cond, body, dict(i=jnp.int32(0), raw=raw, raw_val=raw_val, scores=scores, trees=empty,
                                            done=jnp.bool_(False)))
    return Boosted(c["trees"], c["i"], baseline, c["scores"])


@jax.jit
def decision_function(model: Boosted, xb: jax.Array) -> jax.Array:
    """[n] raw predictions (log-odds): the baseline plus the first n_trees trees."""
    per_tree = jax.vmap(lambda t: trees.predict(t, xb)[:, 0])(model.trees)     # [max_iter, n]
    used = jnp.arange(per_tree.shape[0]) < model.n_trees
    return model.baseline + jnp.sum(jnp.where(used[:, None], per_tree, 0.0), axis=0)


def predict_proba(model: Boosted, xb: jax.Array) -> jax.Array:
    """[n] P(y = 1)."""
    return jax.nn.sigmoid(decision_function(model, xb))
