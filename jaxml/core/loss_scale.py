"""Dynamic loss scaling for float16 compute (`config.loss_scale`; see docs/training_levers.md).

float16 has 5 exponent bits: gradients of activations below ~6e-8 flush to zero and above 65504
overflow. Multiplying the loss by a large power of two S before differentiation moves the small
gradients into range; the float32 master gradients are divided by S again (exact: S is a power of
two). When a scaled gradient overflows (any inf or NaN), the step is skipped -- parameters and
optimizer state unchanged -- and S is halved; after `period` finite steps in a row S is doubled.
bfloat16 has float32's exponent range and needs none of this.

The scale lives in the optimizer state (`LossScaleState`, the outermost wrapper of the optimizer
`train_state.make_optimizer` builds), so it is checkpointed and resumed with it, and a run without
loss scaling keeps exactly the optimizer state it had. `core.gradients.value_and_grad` reads it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxml.core.registry import choose

INIT_SCALE = 2.0 ** 15
PERIOD = 2000  # finite steps in a row before the scale doubles
FACTOR = 2.0


class LossScaleState(NamedTuple):
    scale: jax.Array  # float32, a power of two
    good_steps: jax.Array  # int32, finite steps since the scale last changed
    inner: optax.OptState


def all_finite(tree: Any) -> jax.Array:
    leaves = jax.tree.leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else jnp.bool_(True)


def dynamic(inner: optax.GradientTransformation, *, init_scale: float = INIT_SCALE, period: int = PERIOD,
            factor: float = FACTOR) -> optax.GradientTransformation:
    """`inner` behind dynamic loss scaling: non-finite gradients skip the update (zero updates, the
    inner state kept) and divide the scale by `factor` (never below 1); `period` finite steps in a
    row multiply it by `factor`."""

    def init(params):
        return LossScaleState(jnp.float32(init_scale), jnp.int32(0), inner.init(params))

    def update(grads, state, params=None):
        finite = all_finite(grads)
        safe = jax.tree.map(lambda g: jnp.where(finite, g, jnp.zeros_like(g)), grads)
        updates, new_inner = inner.update(safe, state.inner, params)
        updates = jax.tree.map(lambda u: jnp.where(finite, u, jnp.zeros_like(u)), updates)
        new_inner = jax.tree.map(lambda n, o: jnp.where(finite, n, o), new_inner, state.inner)
        good = jnp.where(finite, state.good_steps + 1, 0)
        grow = good >= period
        scale = jnp.where(finite, jnp.where(grow, state.scale * factor, state.scale),
                          jnp.maximum(state.scale / factor, 1.0))
        return updates, LossScaleState(scale, jnp.where(grow, 0, good).astype(jnp.int32), new_inner)

    return optax.GradientTransformation(init, update)


def _is_state(x: Any) -> bool:
    return isinstance(x, LossScaleState)


def find(opt_state: Any) -> LossScaleState | None:
    """The loss-scale state inside an optimizer state (None: the optimizer does not scale)."""
    if opt_state is None:
        return None
    found = [x for x in jax.tree.leaves(opt_state, is_leaf=_is_state) if _is_state(x)]
    return found[0] if found else None


def current(opt_state: Any) -> jax.Array | None:
    """The current loss scale of an optimizer state, or None."""
    state = find(opt_state)
    return None if state is None else state.scale


# config.loss_scale -> whether it scales, given the compute dtype
MODES = {
    "auto": lambda dtype: dtype == "float16",  # where it matters: float16's narrow exponent range
    "dynamic": lambda dtype: True,
    "none": lambda dtype: False,
}


def enabled(config: ml_collections.ConfigDict) -> bool:
    """Whether `config.loss_scale` turns scaling on: "dynamic", or "auto" with float16 compute."""
    rule = choose(MODES, config.get("loss_scale", "auto"), "config.loss_scale")
    return rule(str(config.get("dtype", "float32")))


def wrap(tx: optax.GradientTransformation, config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """`tx` behind dynamic loss scaling when the config asks for it (`enabled`), else `tx` itself."""
    return dynamic(tx) if enabled(config) else tx
