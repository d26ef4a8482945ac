"""Critic ensembles shared by the actor-critic replay agents (DDPG / TD3, SAC): the parameters of
`n` copies of one Flax module stacked on a leading axis [n] and applied with `vmap`."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


def ensemble_init(module: nn.Module, key: jax.Array, x: jax.Array, n: int) -> Any:
    """Parameters of `n` independently initialised copies of `module` (copy i from
    `split(key, n)[i]`), stacked on a leading axis [n]."""
    return jax.vmap(lambda k: module.init(k, x, train=False))(jax.random.split(key, n))


def ensemble_apply(module: nn.Module, params: Any, x: jax.Array) -> jax.Array:
    """Every copy of the ensemble on the same input: [n, B, outputs]."""
    return jax.vmap(lambda p: module.apply(p, x, train=False))(params)


def state_action(obs: jax.Array, action: jax.Array) -> jax.Array:
    """A Q(s, a) network's input: the flattened observation and action, concatenated [B, S + A]."""
    return jnp.concatenate([obs.reshape(obs.shape[0], -1), action.reshape(action.shape[0], -1)], -1)
