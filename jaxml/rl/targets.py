"""Bootstrapped TD targets and target networks, shared by the agents that learn a value of the
next state (DQN, DDPG / TD3, tabular Q-learning)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def one_step_target(reward: jax.Array, terminated: jax.Array, next_value: jax.Array,
                    gamma: float | jax.Array) -> jax.Array:
    """r + gamma * (1 - terminated) * V(s'), float32, no gradient through V(s').

    `next_value` is the value of the TRUE next observation, so only `terminated` cuts the
    bootstrap: a time-limit truncation bootstraps. `gamma` may be an array (an n-step discount)."""
    not_term = 1.0 - jnp.asarray(terminated, jnp.float32)
    return jnp.asarray(reward, jnp.float32) + gamma * not_term * jax.lax.stop_gradient(next_value)


def polyak(online: Any, target: Any, tau: float) -> Any:
    """target <- tau * online + (1 - tau) * target, leaf by leaf (tau = 1: a hard copy)."""
    return jax.tree.map(lambda o, t: tau * o + (1.0 - tau) * t, online, target)
