"""Action distributions of the policy-gradient agents (PPO, REINFORCE): log-probabilities and
entropies from a network's outputs."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def categorical_log_prob_entropy(logits: jax.Array, action: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(log pi(action), entropy) of softmax(logits) [..., A] at integer `action` [...]."""
    logp_all = jax.nn.log_softmax(logits, axis=-1)
    logp = jnp.take_along_axis(logp_all, action[..., None].astype(jnp.int32), -1)[..., 0]
    ent = -jnp.sum(jnp.exp(logp_all) * logp_all, -1)
    return logp, ent


def gaussian_log_prob_entropy(mean: jax.Array, log_std: jax.Array,
                              action: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(log pi(action), entropy) of a diagonal Gaussian N(mean [..., A], exp(log_std) [A])."""
    std = jnp.exp(log_std)
    logp = jnp.sum(-0.5 * ((action - mean) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi), -1)
    ent = jnp.sum(log_std + 0.5 * (1.0 + math.log(2 * math.pi))) * jnp.ones(mean.shape[:-1])
    return logp, ent
