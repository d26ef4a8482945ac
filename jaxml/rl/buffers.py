"""On-device replay buffers: uniform and proportional prioritised replay, as pure functions.

Every buffer is a `flax.struct.dataclass` whose array fields live on the device, and every function
takes a buffer and returns a new one. Nothing branches in Python on a traced value, so the functions
can be `jax.jit`-ed, put inside `lax.scan`, and `jax.vmap`-ed (e.g. a whole RL run over seeds).
Shapes (capacity, batch sizes) and the PER hyper-parameters `alpha`/`eps` are static; mistakes in
them raise `JaxmlError` at trace time. Mistakes that depend on traced values (sampling an empty
buffer, updating an index that holds no item) cannot raise: they are documented per function.

Storage is a ring: item `k` (counting from 0 over the buffer's lifetime) lives in slot
`k % capacity`; once full, each add overwrites the oldest items.

Prioritised replay follows Schaul et al. 2016, "Prioritized Experience Replay", proportional
variant: P(i) = p_i / sum_k p_k over the stored items, with stratified sampling over a sum-tree and
importance-sampling weights w_i = (N * P(i))^(-beta), N the number of stored items.
"""

from __future__ import annotations

from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax

from jaxml.core.config import check_int, check_number
from jaxml.errors import JaxmlError

__all__ = [
    "UniformBuffer", "uniform_init", "uniform_add", "uniform_sample", "can_sample",
    "PrioritizedBuffer", "per_init", "per_add", "per_sample", "per_update", "beta_schedule",
    "leaf_priorities", "total_priority",
]


# ----------------------------------------------------------------------------------------------
# Static (Python-level) checks.
# ----------------------------------------------------------------------------------------------

def _capacity_of(data: Any) -> int:
    leaves = jax.tree.leaves(data)
    return int(leaves[0].shape[0])


def _storage(example: Any, capacity: int) -> Any:
    leaves = jax.tree.leaves(example)
    if not leaves:
        raise JaxmlError("example transition has no array leaves: nothing to store")
    return jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example)


def _check_items(data: Any, items: Any) -> tuple[Any, int]:
    """Checks `items` matches the stored structure with one leading batch dim; returns (items, N)."""
    data_def, items_def = jax.tree.structure(data), jax.tree.structure(items)
    if data_def != items_def:
        raise JaxmlError(f"items structure {items_def} does not match the buffer's {data_def}")
    capacity = _capacity_of(data)
    sizes = set()
    for d, x in zip(jax.tree.leaves(data), jax.tree.leaves(items)):
        shape = jnp.shape(x)
        if len(shape) != d.ndim or tuple(shape[1:]) != tuple(d.shape[1:]):
            raise JaxmlError(f"items leaf shape {tuple(shape)} must be (N, *{tuple(d.shape[1:])}): "
                             "one leading batch dim over the example's shape")
        sizes.add(int(shape[0]))
    if len(sizes) != 1:
        raise JaxmlError(f"items leaves disagree on the batch size N: {sorted(sizes)}")
    n = sizes.pop()
    if n > capacity:
        raise JaxmlError(f"cannot add a batch of {n} items to a buffer of capacity {capacity}")
    items = jax.tree.map(lambda d, x: jnp.asarray(x, d.dtype), data, items)
    return items, n


def _write(data: Any, slots: jax.Array, items: Any) -> Any:
    # `slots` are distinct (N <= capacity), so the scatter is deterministic.
    return jax.tree.map(lambda d, x: d.at[slots].set(x), data, items)


def _gather(data: Any, indices: jax.Array) -> Any:
    return jax.tree.map(lambda d: d[indices], data)


def _advance(position: jax.Array, size: jax.Array, n: int, capacity: int):
    slots = (position + jnp.arange(n, dtype=jnp.int32)) % capacity
    return slots, (position + n) % capacity, jnp.minimum(size + n, capacity).astype(jnp.int32)


# ----------------------------------------------------------------------------------------------
# Uniform replay.
# ----------------------------------------------------------------------------------------------

@flax.struct.dataclass
class UniformBuffer:
    """A ring buffer of transitions sampled uniformly.

    `data` is the transition pytree with a leading `capacity` dim on every leaf; `position` is the
    next slot to write; `size` the number of stored items (`<= capacity`). Under `jax.vmap` the
    `capacity` property is read inside the mapped function (leaves without the vmapped dim).
    """

    data: Any
    position: jax.Array
    size: jax.Array

    @property
    def capacity(self) -> int:
        return _capacity_of(self.data)


def uniform_init(example: Any, capacity: int) -> UniformBuffer:
    """An empty buffer holding `capacity` copies of `example`'s structure (zeros, same dtypes)."""
    capacity = check_int(capacity, "capacity")
    return UniformBuffer(data=_storage(example, capacity), position=jnp.zeros((), jnp.int32),
                         size=jnp.zeros((), jnp.int32))


def uniform_add(buf: UniformBuffer, items: Any) -> UniformBuffer:
    """Writes a batch of `N <= capacity` items (leading dim N) at `position`, wrapping around."""
    items, n = _check_items(buf.data, items)
    slots, position, size = _advance(buf.position, buf.size, n, buf.capacity)
    return buf.replace(data=_write(buf.data, slots, items), position=position, size=size)


def uniform_sample(buf: UniformBuffer, key: jax.Array, batch_size: int) -> tuple[Any, jax.Array]:
    """Samples `batch_size` items uniformly, with replacement, from the `size` stored ones.

    Returns `(batch, indices)` with `indices` int32 slots in `[0, size)`. `batch_size` may exceed
    `size` or `capacity` (sampling is with replacement). Sampling an empty buffer cannot raise under
    `jit`; it returns slot 0 (zeros): guard with `can_sample`.
    """
    batch_size = check_int(batch_size, "batch_size")
    indices = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buf.size, 1), dtype=jnp.int32)
    return _gather(buf.data, indices), indices


def can_sample(buf: UniformBuffer | PrioritizedBuffer, min_size: int) -> jax.Array:
    """Whether the buffer holds at least `min_size` items (a bool array; works for both buffers)."""
    min_size = check_int(min_size, "min_size")
    if min_size > buf.capacity:
        raise JaxmlError(f"min_size {min_size} exceeds the buffer capacity {buf.capacity}: "
                         "the buffer could never be sampled")
    return buf.size >= min_size


# ----------------------------------------------------------------------------------------------
# Proportional prioritised replay.
# ----------------------------------------------------------------------------------------------

@flax.struct.dataclass
class PrioritizedBuffer:
    """A ring buffer with proportional priorities kept in a sum-tree of fan-out `fanout` (F).

    `levels[0]` holds the leaves: slot `i`'s priority is `levels[0][i]` (length: capacity rounded up
    to a multiple of F; unused and empty slots hold 0). Viewed as rows of F, row `r` of level `k`
    sums to `levels[k + 1][r]`; the last level is a single row, and the total priority is its sum.
    A wide node (F = 16 by default) makes the tree shallow: 5 levels for up to a million items
    instead of a binary tree's 20, so sampling and updating touch few, contiguous rows. Every node
    is recomputed as the float32 sum of its children's row (never by adding deltas), so the
    invariant holds exactly and nothing drifts over a long run.

    Priority space: the leaves and `max_priority` both hold priorities *after* the exponent,
    p_i = (|td_i| + eps)^alpha, so P(i) = levels[0][i] / total. `max_priority` (initially 1.0) is
    the largest p_i ever written by `per_update`; `per_add` gives new items exactly that value.
    """

    data: Any
    levels: tuple
    max_priority: jax.Array
    position: jax.Array
    size: jax.Array
    alpha: float = flax.struct.field(pytree_node=False)
    eps: float = flax.struct.field(pytree_node=False)
    fanout: int = flax.struct.field(pytree_node=False, default=16)

    @property
    def capacity(self) -> int:
        return _capacity_of(self.data)


def leaf_priorities(buf: PrioritizedBuffer) -> jax.Array:
    """The priority of every slot, [capacity] (0 for empty slots)."""
    return buf.levels[0][..., :buf.capacity]


def total_priority(buf: PrioritizedBuffer) -> jax.Array:
    """The sum of all priorities (the root of the sum-tree)."""
    return jnp.sum(buf.levels[-1], axis=-1)


def _rows(level: jax.Array, fanout: int) -> jax.Array:
    return level.reshape(level.shape[:-1] + (level.shape[-1] // fanout, fanout))


def _level_sizes(capacity: int, fanout: int) -> list[int]:
    """Lengths of the levels, leaves first: each a multiple of `fanout`; the last is one row."""
    sizes, n = [], capacity
    while True:
        rows = -(-n // fanout)
        sizes.append(rows * fanout)
        if rows == 1:
            return sizes
        n = rows


def _set_leaves(levels: tuple, slots: jax.Array, values: jax.Array, keep: jax.Array,
                fanout: int) -> tuple:
    """Sets leaves `slots[keep]` to `values[keep]` and recomputes their ancestors bottom-up.

    The kept slots must be distinct (callers de-duplicate). Each ancestor is set to the sum of its
    children's row; an ancestor shared by several slots receives the same value from every writer,
    so the scatter is deterministic. Cost O(N * F * depth), independent of capacity.
    """
    leaves = levels[0]
    dropped = jnp.full_like(slots, leaves.shape[0])  # out of bounds: `mode="drop"` skips the write
    out = [leaves.at[jnp.where(keep, slots, dropped)].set(values, mode="drop")]
    node = jnp.where(keep, slots, 0)
    for level in levels[1:]:
        node = node // fanout
        sums = jnp.sum(_rows(out[-1], fanout)[node], axis=-1)
        out.append(level.at[node].set(sums))
    return tuple(out)


def per_init(example: Any, capacity: int, alpha: float = 0.6, eps: float = 1e-6,
             fanout: int = 16) -> PrioritizedBuffer:
    """An empty prioritised buffer. `alpha >= 0` (0 = uniform), `eps > 0` keeps every P(i) > 0;
    `fanout >= 2` is the sum-tree's node width (a speed knob: sampling is exact for any value)."""
    capacity = check_int(capacity, "capacity")
    alpha = check_number(alpha, "alpha", lo=0.0)
    if check_number(eps, "eps", lo=0.0) == 0.0:
        raise JaxmlError("eps must be > 0 (it keeps every item's probability above zero), got 0")
    fanout = check_int(fanout, "fanout", 2)
    levels = tuple(jnp.zeros((n,), jnp.float32) for n in _level_sizes(capacity, fanout))
    return PrioritizedBuffer(
        data=_storage(example, capacity), levels=levels,
        max_priority=jnp.ones((), jnp.float32), position=jnp.zeros((), jnp.int32),
        size=jnp.zeros((), jnp.int32), alpha=float(alpha), eps=float(eps), fanout=fanout)


def per_add(buf: PrioritizedBuffer, items: Any) -> PrioritizedBuffer:
    """Writes a batch of `N <= capacity` items, each with priority `max_priority` (alpha-space).

    Overwritten slots (once the ring is full) lose their old priority. Cost O(N F depth).
    """
    items, n = _check_items(buf.data, items)
    slots, position, size = _advance(buf.position, buf.size, n, buf.capacity)
    values = jnp.broadcast_to(buf.max_priority, (n,))
    levels = _set_leaves(buf.levels, slots, values, jnp.ones((n,), bool), buf.fanout)
    return buf.replace(data=_write(buf.data, slots, items), levels=levels, position=position, size=size)


def per_sample(buf: PrioritizedBuffer, key: jax.Array, batch_size: int,
               beta: float | jax.Array) -> tuple[Any, jax.Array, jax.Array]:
    """Stratified proportional sampling; returns `(batch, indices, weights)`.

    `[0, total)` is split into `batch_size` equal segments and one value is drawn uniformly in each,
    then located in the sum-tree: at each level, from the root row down, the child whose cumulative
    range holds the value (a vectorised descent, one row gather per level). The descent never steps
    into a zero-sum child, so a float32 round-off that puts a value at or past a row's sum lands on
    the row's last non-empty child rather than an empty leaf; indices are also clipped to `[0, size)`.

    Importance weights w_i = (size * P(i))^(-beta) are normalised by the maximum weight *in this
    batch*, so the largest is exactly 1 (computed as (min_batch p / p_i)^beta, which is the same
    quantity without overflow). OpenAI baselines instead divides by the maximum weight over the
    whole buffer (from the minimum priority via a min-tree), which makes weights a little smaller
    and not batch-dependent; the batch max needs no second tree and is what many implementations use.

    Sampling an empty buffer cannot raise under `jit`; it returns slot 0 with weight 1: guard with
    `can_sample`.
    """
    batch_size = check_int(batch_size, "batch_size")
    check_number(beta, "beta", lo=0.0, allow_arrays=True)
    fanout = buf.fanout
    segment = total_priority(buf) / batch_size
    offsets = jax.random.uniform(key, (batch_size,), jnp.float32)
    values = (jnp.arange(batch_size, dtype=jnp.float32) + offsets) * segment

    node = jnp.zeros((batch_size,), jnp.int32)     # row index within the current level
    last_child = jnp.arange(fanout, dtype=jnp.int32)
    for level in reversed(buf.levels):
        children = _rows(level, fanout)[node]                                     # [B, F]
        upto = jnp.cumsum(children, axis=-1)                                      # inclusive
        child = jnp.sum(upto <= values[:, None], axis=-1, dtype=jnp.int32)        # first upto > v
        nonempty = jnp.max(jnp.where(children > 0, last_child, 0), axis=-1)
        child = jnp.minimum(child, nonempty)
        before = jnp.take_along_axis(upto - children, child[:, None], axis=-1)[:, 0]
        values = values - before
        node = node * fanout + child
    indices = jnp.clip(node, 0, jnp.maximum(buf.size - 1, 0)).astype(jnp.int32)

    priorities = jnp.maximum(buf.levels[0][indices], jnp.finfo(jnp.float32).tiny)
    weights = (jnp.min(priorities) / priorities) ** jnp.asarray(beta, jnp.float32)
    return _gather(buf.data, indices), indices, weights


def per_update(buf: PrioritizedBuffer, indices: jax.Array, td_errors: jax.Array) -> PrioritizedBuffer:
    """Sets p_i = (|td_i| + eps)^alpha for each `indices[k]` and raises `max_priority` to match.

    Duplicate indices are resolved deterministically: the *last* occurrence wins, and only the
    values actually written count towards `max_priority`. Indices outside `[0, size)` (no stored
    item there) are ignored. Only the touched leaves and their ancestors are recomputed, each
    ancestor as the exact sum of its children: cost O(B F depth) for B indices (plus an O(B log B)
    sort for the de-duplication), never O(capacity), and no float32 drift from incremental deltas.
    """
    indices = jnp.asarray(indices)
    td_errors = jnp.asarray(td_errors)
    if indices.ndim != 1:
        raise JaxmlError(f"indices must be 1-D, got shape {indices.shape}")
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        raise JaxmlError(f"indices must be integers, got dtype {indices.dtype}")
    if td_errors.shape != indices.shape:
        raise JaxmlError(f"td_errors shape {td_errors.shape} must match indices shape {indices.shape}")
    if indices.shape[0] == 0:
        return buf
    indices = indices.astype(jnp.int32)
    priorities = (jnp.abs(td_errors.astype(jnp.float32)) + buf.eps) ** buf.alpha

    # Last occurrence of each index wins: in a stable sort, equal indices keep their input order.
    order = jnp.argsort(indices, stable=True)
    ordered = indices[order]
    last_of_run = jnp.concatenate([ordered[1:] != ordered[:-1], jnp.ones((1,), bool)])
    last = jnp.zeros(indices.shape, bool).at[order].set(last_of_run)
    keep = last & (indices >= 0) & (indices < buf.size)

    levels = _set_leaves(buf.levels, jnp.where(keep, indices, 0), priorities, keep, buf.fanout)
    max_priority = jnp.maximum(buf.max_priority, jnp.max(jnp.where(keep, priorities, 0.0)))
    return buf.replace(levels=levels, max_priority=max_priority)


def beta_schedule(start: float, end: float, steps: int) -> Callable[[jax.Array], jax.Array]:
    """Linear anneal of the IS exponent beta from `start` (step 0) to `end` (step >= `steps`)."""
    check_int(steps, "steps")
    for name, value in (("start", start), ("end", end)):
        check_number(value, f"beta {name}", lo=0.0)
    schedule = optax.linear_schedule(float(start), float(end), int(steps))
    return lambda step: jnp.asarray(schedule(step), jnp.float32)

