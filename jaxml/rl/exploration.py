"""Exploration and annealing shared by the value-based agents (DQN, tabular Q-learning): a linear
schedule over env steps and the per-env epsilon-greedy choice."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def linear_schedule(start: float, end: float, duration: float) -> Callable[[jax.Array], jax.Array]:
    """value(step) linear from `start` (step 0) to `end` (step >= `duration`; a duration below 1
    counts as 1), float32: epsilon over env steps, DQN's annealed learning rate over updates."""
    duration = max(float(duration), 1.0)

    def value(step):
        frac = jnp.clip(jnp.asarray(step, jnp.float32) / duration, 0.0, 1.0)
        return jnp.asarray(start + (end - start) * frac, jnp.float32)

    return value


def epsilon_greedy(k_coin: jax.Array, k_rand: jax.Array, greedy: jax.Array, num_actions: int,
                   eps: jax.Array) -> jax.Array:
    """Per env: with probability `eps` a uniform random action (`k_rand`), else `greedy` [num_envs]
    int32; every env draws its own explore coin (`k_coin`)."""
    num_envs = greedy.shape[0]
    random_a = jax.random.randint(k_rand, (num_envs,), 0, num_actions, dtype=jnp.int32)
    explore = jax.random.uniform(k_coin, (num_envs,)) < eps
    return jnp.where(explore, random_a, greedy)
