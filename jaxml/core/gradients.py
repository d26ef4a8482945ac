"""The gradient of a step's loss on the global batch, with the levers every loop-based method shares:
gradient accumulation over micro-batches (`config.grad_accum`) and dynamic loss scaling
(`config.loss_scale`, `core/loss_scale.py`).

A method writes its objective once, as `loss_fn(params, batch, key, carry) -> (loss, (metrics,
carry))` on any batch of examples (`loss` the (weighted) mean over that batch, `metrics` scalar
means, `carry` what the step threads through, e.g. BatchNorm statistics), and calls
`value_and_grad`. With `accum > 1` the global batch is split into `accum` micro-batches (rows i,
i + accum, i + 2 accum, ...: every batch shard keeps its own rows, so no data moves between devices)
and one `lax.scan` adds their gradients, so only one micro-batch's activations are alive at a time.
The result is the gradient of the big batch's mean: each micro-batch counts by its `weight` (its
number of real examples, or the sum of its example weights; equal when `weight` is None), so
masked or weighted objectives are mean-equivalent too. Micro-batch i draws from `fold_in(key, i)`
(dropout masks differ from the big batch's); the carry is threaded through the micro-batches in
order (BatchNorm sees micro-batch statistics, as it does in every framework that accumulates).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections

from jaxml.core import loss_scale
from jaxml.errors import JaxmlError

LossFn = Callable[[Any, Any, jax.Array, Any], tuple[jax.Array, tuple[dict, Any]]]


def accum_steps(config: ml_collections.ConfigDict, batch_shards: int = 1) -> int:
    """`config.grad_accum` (1 when absent), checked: >= 1, and the global batch divisible by
    batch_shards x grad_accum (each shard's rows split evenly into the micro-batches)."""
    accum = config.get("grad_accum", 1)
    if isinstance(accum, bool) or not isinstance(accum, int) or accum < 1:
        raise JaxmlError(f"config.grad_accum={accum!r} must be an int >= 1 (1 = no accumulation)")
    if int(config.batch_size) % (batch_shards * accum):
        raise JaxmlError(f"config.batch_size={config.batch_size} must be divisible by batch shards (data x fsdp) x "
                         f"grad_accum = {batch_shards} x {accum}")
    return accum


def micro_batches(batch: Any, accum: int) -> Any:
    """[B, ...] leaves -> [accum, B / accum, ...]: micro-batch i holds rows i, i + accum, ..."""
    def split(x):
        return jnp.swapaxes(x.reshape(x.shape[0] // accum, accum, *x.shape[1:]), 0, 1)
    return jax.tree.map(split, batch)


def value_and_grad(loss_fn: LossFn, params: Any, batch: Any, key: jax.Array, *, accum: int = 1, carry: Any = None,
                   opt_state: Any = None, weight: Callable[[Any], jax.Array] | None = None
                   ) -> tuple[jax.Array, dict, Any, Any]:
    """(loss, metrics, carry, grads) of `loss_fn` on `batch`, accumulated over `accum` micro-batches.

    `opt_state`: when it holds a `loss_scale` state, the loss is multiplied by its scale before
    differentiation and the gradients divided by it (the reported loss is unscaled); the optimizer
    wrapper skips the update when they are not finite. `weight(micro_batch)`: that micro-batch's
    share of the mean (None: equal shares)."""
    scale = loss_scale.current(opt_state)
    grad_fn = jax.value_and_grad(scaled(loss_fn, scale), has_aux=True)
    if accum == 1:
        (_, (loss, metrics, carry)), grads = grad_fn(params, batch, key, carry)
    else:
        def body(acc, xs):
            i, micro = xs
            totals, c = acc
            (_, (loss, metrics, c)), grads = grad_fn(params, micro, jax.random.fold_in(key, i), c)
            w = None if weight is None else weight(micro).astype(jnp.float32)
            term = (loss, metrics, grads, jnp.float32(1.0) if w is None else w)
            add = (lambda a, x: a + x) if w is None else (lambda a, x: a + w * x)
            sums = jax.tree.map(add, totals[:3], term[:3])
            return (sums + (totals[3] + term[3],), c), None

        micro = micro_batches(batch, accum)
        first = jax.tree.map(lambda x: x[0], micro)
        shapes = jax.eval_shape(lambda: grad_fn(params, first, key, carry))
        (_, (loss0, metrics0, _)), grads0 = shapes
        zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), (loss0, metrics0, grads0))
        ((loss, metrics, grads, total), carry), _ = jax.lax.scan(
            body, (zeros + (jnp.float32(0.0),), carry), (jnp.arange(accum), micro))
        loss, metrics, grads = jax.tree.map(lambda s: s / total, (loss, metrics, grads))
    if scale is not None:
        grads = jax.tree.map(lambda g: g / scale.astype(g.dtype), grads)
    return loss, {"loss": loss, **metrics}, carry, grads


def scaled(loss_fn: LossFn, scale: jax.Array | None) -> Callable:
    """`loss_fn` as (params, batch, key, carry) -> (scaled loss, (loss, metrics, carry)): the value
    differentiated is the loss times `scale` (the loss itself when None)."""
    def fn(params, batch, key, carry):
        loss, (metrics, carry) = loss_fn(params, batch, key, carry)
        value = loss if scale is None else loss * scale.astype(loss.dtype)
        return value, (loss, metrics, carry)
    return fn
