"""An exponential moving average of the weights, kept inside the optimizer state and used for
evaluation (Polyak averaging; FixMatch and Mean Teacher evaluate with it).

`config.ema_decay` = d > 0 wraps the optimizer: after every update, with θ_t the new parameters,

    m_t = d · m_{t-1} + (1 − d) · θ_t,   m_0 = 0,   θ̄_t = m_t / (1 − d^t)

(debiased as Adam's moments are, so the average does not lean towards the initialisation or zero in
a short run). It lives in the optimizer state, so checkpoints, resume and the sharding of the state
carry it with no other change; `eval_params(state)` is θ̄ when the optimizer keeps an average and the
parameters themselves otherwise. Training (and anything the step computes from the current model,
such as FixMatch's pseudo-labels) still uses θ. d = 0 (the default) leaves the optimizer as it is.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxml.core import config as config_lib
from jaxml.errors import JaxmlError


class WeightEmaState(NamedTuple):
    inner: Any
    average: Any  # m_t, not yet debiased
    weight: jax.Array  # 1 − d^t: the same average of the constant 1, which debiases m_t


def decay_of(config: ml_collections.ConfigDict) -> float:
    """`config.ema_decay` checked: in [0, 1); 0 = no average."""
    decay = config_lib.check_number(config.get("ema_decay", 0.0), "config.ema_decay", lo=0.0, hi=1.0)
    if decay == 1.0:
        raise JaxmlError("config.ema_decay=1.0 would never move the average; choose d in [0, 1) (0: no average)")
    return decay


def with_weight_ema(tx: optax.GradientTransformation, decay: float) -> optax.GradientTransformation:
    """`tx` that also keeps the debiased EMA of the parameters it produces."""

    def init(params):
        return WeightEmaState(tx.init(params), jax.tree.map(jnp.zeros_like, params), jnp.zeros((), jnp.float32))

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("the weight EMA needs the parameters: call update(grads, state, params)")
        updates, inner = tx.update(updates, state.inner, params)
        new = optax.apply_updates(params, updates)
        average = jax.tree.map(lambda m, p: (decay * m + (1.0 - decay) * p.astype(m.dtype)).astype(m.dtype),
                               state.average, new)
        return updates, WeightEmaState(inner, average, decay * state.weight + (1.0 - decay))

    return optax.GradientTransformation(init, update)


def wrap(tx: optax.GradientTransformation, config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """`tx` with the weight EMA when `config.ema_decay` > 0, else `tx`."""
    decay = decay_of(config)
    return with_weight_ema(tx, decay) if decay > 0 else tx


def _is_state(x: Any) -> bool:
    return isinstance(x, WeightEmaState)


def find(opt_state: Any) -> WeightEmaState | None:
    """The weight-EMA state inside an optimizer state (None: the optimizer keeps no average)."""
    if opt_state is None:
        return None
    found = [x for x in jax.tree.leaves(opt_state, is_leaf=_is_state) if _is_state(x)]
    return found[0] if found else None


def eval_params(state: Any) -> Any:
    """The parameters to evaluate `state` (a `TrainState`) with: the debiased average θ̄ when its
    optimizer keeps one and has taken a step, else `state.params`."""
    ema = find(state.opt_state)
    if ema is None:
        return state.params
    weight = ema.weight
    return jax.tree.map(lambda m, p: jnp.where(weight > 0, m / jnp.maximum(weight, 1e-30), p).astype(p.dtype),
                        ema.average, state.params)
