"""Ranking metrics of a detector's scores in JAX: ROC-AUC and average precision, with the definitions
of `sklearn.metrics.roc_auc_score` and `average_precision_score` (docs/references.md#anomaly-detection).

`labels` are 0/1 (1 = positive, e.g. an outlier), `scores` higher for "more positive"; both need at
least one positive and (ROC-AUC) one negative. Tied scores form one threshold, as in scikit-learn:

- ROC-AUC is the Mann-Whitney statistic with average ranks, (sum of the positives' ranks - P(P+1)/2)
  / (P N): the probability that a random positive outscores a random negative, a tie counting 1/2 --
  the same number as the trapezoidal area under scikit-learn's ROC curve.
- Average precision is sum_t (R_t - R_{t-1}) P_t over the distinct score thresholds t (scikit-learn's
  step-wise sum, no interpolation), which is the mean over the positives of the precision at their
  own score: every positive at threshold t adds 1/P to the recall there.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _sorted_counts(scores: jax.Array):
    """(sorted scores, for each point how many scores are < and <= its own)."""
    order = jnp.sort(scores)
    below = jnp.searchsorted(order, scores, side="left")
    upto = jnp.searchsorted(order, scores, side="right")
    return order, below, upto


@jax.jit
def roc_auc(labels: jax.Array, scores: jax.Array) -> jax.Array:
    """Area under the ROC curve of `scores` for the 0/1 `labels` (ties: average ranks)."""
    dtype = jnp.result_type(float, scores.dtype)
    positive = labels.astype(dtype)
    _, below, upto = _sorted_counts(scores)
    ranks = (below + upto + 1).astype(dtype) / 2.0  # 1-based average rank
    p = jnp.sum(positive)
    n = positive.shape[0] - p
    return (jnp.sum(ranks * positive) - p * (p + 1) / 2.0) / (p * n)


@jax.jit
def average_precision(labels: jax.Array, scores: jax.Array) -> jax.Array:
    """scikit-learn's average precision of `scores` for the 0/1 `labels`."""
    dtype = jnp.result_type(float, scores.dtype)
    positive = labels.astype(dtype)
    order = jnp.argsort(scores)
    _, below, _ = _sorted_counts(scores)
    # positives among the first k sorted scores, k = 0..n
    positives_before = jnp.concatenate([jnp.zeros(1, dtype), jnp.cumsum(positive[order])])
    p = jnp.sum(positive)
    at_least = scores.shape[0] - below                  # points scoring >= s_i
    true_at_least = p - positives_before[below]         # positives scoring >= s_i
    precision = true_at_least / at_least.astype(dtype)
    return jnp.sum(precision * positive) / p
