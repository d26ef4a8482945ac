"""Calibration of a classifier's predicted probabilities: expected calibration error (ECE) over
equal-width confidence bins and the negative log-likelihood, both in JAX.

ECE (Naeini, Cooper & Hauskrecht 2015; the form of Guo, Pleiss, Sun & Weinberger 2017, "On Calibration
of Modern Neural Networks", docs/references.md#classic-learners): each example's confidence is its
largest predicted probability; examples fall into `num_bins` bins of equal width on [0, 1] (bin b is
(b / B, (b + 1) / B], a confidence of exactly 0 in the first), and

    ECE = sum_b (n_b / n) |accuracy_b - mean confidence_b|

over the non-empty bins. `reliability` returns the per-bin counts, accuracies and confidences behind it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxml.core.config import check_int


class Reliability(NamedTuple):
    count: jax.Array       # [B] examples per bin
    accuracy: jax.Array    # [B] mean correctness per bin (0 where empty)
    confidence: jax.Array  # [B] mean confidence per bin (0 where empty)


def reliability(probs: jax.Array, labels: jax.Array, num_bins: int = 15) -> Reliability:
    """Per-bin statistics of probabilities [n, K] against integer labels [n]."""
    check_int(num_bins, "num_bins", 1)
    confidence = jnp.max(probs, axis=-1)
    correct = (jnp.argmax(probs, axis=-1) == labels).astype(probs.dtype)
    # bin b holds (b / B, (b + 1) / B]: ceil(conf * B) - 1, with 0 in the first bin
    index = jnp.clip(jnp.ceil(confidence * num_bins).astype(jnp.int32) - 1, 0, num_bins - 1)
    count = jax.ops.segment_sum(jnp.ones_like(confidence), index, num_bins)
    safe = jnp.where(count > 0, count, 1.0)
    return Reliability(count, jax.ops.segment_sum(correct, index, num_bins) / safe,
                       jax.ops.segment_sum(confidence, index, num_bins) / safe)


def expected_calibration_error(probs: jax.Array, labels: jax.Array, num_bins: int = 15) -> jax.Array:
    r = reliability(probs, labels, num_bins)
    return jnp.sum(r.count * jnp.abs(r.accuracy - r.confidence)) / probs.shape[0]


def negative_log_likelihood(probs: jax.Array, labels: jax.Array, eps: float = 1e-12) -> jax.Array:
    """Mean -log p(label) (probabilities floored at `eps`)."""
    picked = jnp.take_along_axis(probs, labels[:, None].astype(jnp.int32), axis=-1)[:, 0]
    return -jnp.mean(jnp.log(jnp.maximum(picked, eps)))
