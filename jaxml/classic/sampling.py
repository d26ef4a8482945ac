"""Weighted index sampling that does not depend on padding or on the device count.

`weighted_index` draws uniforms of the *output's* shape and inverts the cumulative weights, so padded
(zero-weight) points are never drawn and the same key gives the same indices whether the points sit
on 1 device or are padded and split over 8 (drawing Gumbel noise of the points' own shape would not).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def pick(cumulative: jax.Array, u: jax.Array) -> jax.Array:
    """Indices i with cum[i-1] <= u * cum[-1] < cum[i] for uniforms u in [0, 1): index i has
    probability w_i / sum(w). Zero-weight indices are never returned (clipped to the last positive one
    should rounding put u * cum[-1] on the total)."""
    total = cumulative[-1]
    idx = jnp.searchsorted(cumulative, u * total, side="right")
    last = jnp.argmax(cumulative)  # the first index reaching the total: the last positive weight
    return jnp.minimum(idx, last).astype(jnp.int32)


def weighted_index(key: jax.Array, weights: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
    """Indices drawn with replacement with probability weights / sum(weights)."""
    return pick(jnp.cumsum(weights), jax.random.uniform(key, shape, dtype=weights.dtype))


def weighted_without_replacement(key: jax.Array, weights: jax.Array, size: int) -> jax.Array:
    """`size` distinct indices, drawn one after another with probability proportional to the weights
    of those not yet drawn (numpy's `choice(replace=False, p=...)` in distribution)."""
    def draw(i, carry):
        w, out = carry
        idx = weighted_index(jax.random.fold_in(key, i), w)
        return w.at[idx].set(0.0), out.at[i].set(idx)

    _, out = jax.lax.fori_loop(0, size, draw, (weights, jnp.zeros((size,), jnp.int32)))
    return out
