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


def squashed_gaussian(mean: jax.Array, log_std: jax.Array, noise: jax.Array, low: jax.Array,
                      high: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A reparameterised draw of SAC's tanh-squashed Gaussian and its log-density.

    u = mean + exp(log_std) * noise (noise ~ N(0, I), all [..., A]); the action is
    a = center + half * tanh(u) with center, half = (high + low) / 2, (high - low) / 2. By the change
    of variables, log pi(a) = log N(u; mean, std) - sum_i log(half_i * (1 - tanh(u_i)^2)), where
    log(1 - tanh(u)^2) is computed as 2 * (log 2 - u - softplus(-2u)) (finite for any u).
    Returns (action [..., A], log pi(action) [...])."""
    u = mean + jnp.exp(log_std) * noise
    log_u = jnp.sum(-0.5 * noise ** 2 - log_std - 0.5 * math.log(2 * math.pi), -1)
    half = (high - low) / 2.0
    log_det = jnp.sum(jnp.log(half) + 2.0 * (math.log(2.0) - u - jax.nn.softplus(-2.0 * u)), -1)
    return (high + low) / 2.0 + half * jnp.tanh(u), log_u - log_det
