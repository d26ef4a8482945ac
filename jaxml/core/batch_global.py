"""Losses that contrast each example with the whole global batch, on a batch split over devices.

A contrastive loss (SimCLR's NT-Xent, CLIP's symmetric InfoNCE) scores every anchor against the
candidates of the *global* batch. Written on global arrays, XLA would have to materialise the
[N, N] logits on every device; instead the loss is written once as a per-device body that takes
an optional `axis_name`:

- `gather_rows(x, axis_name)`: (candidates, offset): this device's rows all-gathered over the
  batch axes (tiled, so row i of the global batch is candidate i) and the global index of this
  device's first row; without `axis_name` the array itself and 0;
- `sum_over_devices(total, axis_name)`: a per-device partial sum reduced over the batch axes;

and `batch_global(loss, mesh, sharded)` runs it under `jax.shard_map` with its first `sharded`
arguments split over the batch axes of `mesh` and the rest (a temperature, a learned scale)
replicated. On one device it is `loss` itself, so the value on any device count equals the
one-device loss on the same global batch (up to float reassociation).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from jaxml.core import parallel


def l2_normalise(z: jax.Array) -> jax.Array:
    """Rows scaled to unit length (the cosine similarities of contrastive losses are their dot products)."""
    return z / jnp.sqrt(jnp.sum(jnp.square(z), axis=-1, keepdims=True) + 1e-12)


def gather_rows(x: jax.Array, axis_name: Any = None) -> tuple[jax.Array, Any]:
    """(all rows of the global batch, global index of this device's first row)."""
    if axis_name is None:
        return x, 0
    return jax.lax.all_gather(x, axis_name, tiled=True), jax.lax.axis_index(axis_name) * x.shape[0]


def sum_over_devices(total: jax.Array, axis_name: Any = None) -> jax.Array:
    """A per-device partial sum added over the batch axes (unchanged without `axis_name`)."""
    return total if axis_name is None else jax.lax.psum(total, axis_name)


def batch_axes_of(mesh) -> tuple[str, ...]:
    """The batch axes of `mesh` that split the batch (size > 1)."""
    return tuple(a for a in parallel.BATCH_AXES if mesh.shape.get(a, 1) > 1)


def batch_global(loss: Callable[..., jax.Array], mesh, sharded: int) -> Callable[..., jax.Array]:
    """`loss(*args, axis_name=...)` on global arrays: its first `sharded` arguments split over the
    batch axes of `mesh`, the others replicated, the (scalar) result replicated. With no batch axis
    of size > 1 it is `loss` itself."""
    axes = batch_axes_of(mesh)
    if not axes:
        return loss
    body = functools.partial(loss, axis_name=axes)

    def global_loss(*args):
        specs = tuple(P(axes) if i < sharded else P() for i in range(len(args)))
        return jax.shard_map(body, mesh=mesh, in_specs=specs, out_specs=P(), check_vma=True)(*args)

    return global_loss
