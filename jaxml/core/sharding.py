"""Sharding by rules: one named mesh (`data`, `fsdp`, `tensor`), one table from logical axis names to
mesh axes, and steps written on global arrays that `jax.jit` compiles with the shardings it gives.

Mesh. `make_mesh(config.parallel)`: `parallel.fsdp` x `parallel.tensor` devices per data replica
(both default 1), `data` = the rest of `parallel.num_devices` (0 = all devices of every process).
The default is data parallelism over all devices. Sizes that do not divide are one `JaxmlError`
naming the key and its valid values; `check_divides` does the same for model widths.

Rules. `RULES` is the one table from logical names to mesh axes (the idea of MaxText's
`logical_axis_rules`): parameter axes (`embed`, `heads`, `mlp`, `vocab`, `positions`, `norm`) and
activation axes (`batch`, `length`, `act_embed`, `act_heads`, `act_mlp`, `act_vocab`). Per
dimension, a spec takes the mesh axes the dimension's name maps to, minus axes absent from the mesh
or of size 1, axes an earlier dimension took, and all of them when their size does not divide the
dimension (that dimension stays replicated). So data parallelism replicates everything; FSDP
(ZeRO stage 3, Rajbhandari et al. 2020; docs/references.md#parallelism) puts the `embed` dimension of every matrix and of every
width-E bias over `fsdp` -- for a Transformer the large dimension of each parameter -- and tensor
parallelism (Megatron-LM, Shoeybi et al. 2019) puts attention heads and the MLP hidden width over
`tensor`; LayerNorm parameters stay replicated. `vocab` maps to nothing: character vocabularies
(63 symbols for the KJV) seldom divide a mesh axis and the tables are small. Optimizer state
mirrors the parameters: a state leaf takes the spec of the parameter whose path ends its own path
(optax's `mu`/`nu` hold the parameter tree), scalars (step counts) are replicated.

Parameter names. A model exposes a table from parameter-path patterns to logical names
(`models.transformer.PARAM_AXES`) rather than wrapping its parameters with
`flax.linen.with_logical_partitioning`: those boxes would make every `init` return
`LogicallyPartitioned` leaves that each user of the model (mlm, seq2seq, export, sampling) must unbox,
and checkpoint paths would gain a `/value` level, so existing checkpoints would no longer resume. A path
table keeps parameters plain arrays, places the optimizer moments by the same paths and is tested
by itself; a parameter no pattern matches is an error, so a renamed layer cannot silently stay
replicated. Activations are named in the modules with `nn.with_logical_constraint`, which does nothing
unless a step of this path is being traced (it sets `nn.logical_axis_rules` and the mesh).

Steps. `GlobalArrays(param_axes)` is the `loop.Recipe.sharding` strategy of this path: the step sees
the whole global batch and has no pmean, psum or axis_index (dropout keys come from the step's key, so
results do not depend on the device count; BatchNorm's batch statistics are the global batch's); it is `jax.jit`-ed with in/out shardings -- state by the
rules and donated, batches over (`data`, `fsdp`), keys and metrics replicated -- and XLA's SPMD
partitioner (GSPMD, Xu et al. 2021) inserts the collectives. Orbax saves and restores the sharded state
as it is (restoring into the abstract state keeps each leaf's sharding). `DATA_PARALLEL` =
`GlobalArrays()` is the strategy of models without a parameter-axis table (the default of
`loop.Recipe.sharding`): every state leaf replicated, batches split over (`data`, `fsdp`).

Why there is no pmap: pmap-style data parallelism is what the default mesh does -- with
fsdp = tensor = 1 the rules replicate every parameter and split the batch over `data`, and XLA inserts
the gradient all-reduce a per-device step would write as `pmean`. A global-array step has no
per-device body to pmap, and pmap cannot shard parameters, so no pmap backend is kept.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
import re
from typing import Any, Callable, Mapping, Sequence

import flax.linen as nn
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxml.core import parallel
from jaxml.core.param_paths import map_named
from jaxml.errors import JaxmlError

MESH_AXES = ("data", "fsdp", "tensor")
BATCH_AXES = parallel.BATCH_AXES

MeshAxes = str | tuple[str, ...] | None
# logical axis name -> mesh axes (see the module docstring)
RULES: tuple[tuple[str, MeshAxes], ...] = (
    # activations
    ("batch", BATCH_AXES),
    ("length", None),
    ("act_embed", None),
    ("act_heads", "tensor"),
    ("act_mlp", "tensor"),
    ("act_vocab", None),
    # parameters
    ("embed", "fsdp"),
    ("heads", "tensor"),
    ("mlp", "tensor"),
    ("vocab", None),
    ("positions", None),
    ("norm", None),
)

# (parameter-path pattern, one logical name per dimension); the pattern matches the end of the path
ParamAxes = Sequence[tuple[str, tuple[str | None, ...]]]


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _size(parallel_config: Any, key: str) -> int:
    value = parallel_config.get(key, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise JaxmlError(f"config.parallel.{key} must be an int >= 1, got {value!r}")
    return value


def mesh_shape(parallel_config: Any) -> dict[str, int]:
    """{"data": ..., "fsdp": ..., "tensor": ...} for `config.parallel` on the visible devices."""
    n = int(parallel_config.get("num_devices", 0)) or jax.device_count()
    fsdp, tensor = _size(parallel_config, "fsdp"), _size(parallel_config, "tensor")
    if n % tensor:
        raise JaxmlError(f"config.parallel.tensor={tensor} must divide the {n} devices; valid: "
                         f"{', '.join(map(str, _divisors(n)))}")
    if (n // tensor) % fsdp:
        raise JaxmlError(f"config.parallel.fsdp={fsdp} must divide the {n // tensor} devices per tensor group "
                         f"({n} devices / config.parallel.tensor={tensor}); valid: "
                         f"{', '.join(map(str, _divisors(n // tensor)))}")
    return {"data": n // (fsdp * tensor), "fsdp": fsdp, "tensor": tensor}


def make_mesh(parallel_config: Any) -> Mesh:
    """The (data, fsdp, tensor) mesh of `config.parallel` (devices chosen as `parallel.make_mesh` does)."""
    shape = mesh_shape(parallel_config)
    devices = parallel.make_mesh(int(parallel_config.get("num_devices", 0))).devices
    return Mesh(devices.reshape(tuple(shape[a] for a in MESH_AXES)), MESH_AXES)


def check_divides(parallel_config: Any, dims: Mapping[str, Mapping[str, int]]) -> None:
    """`dims` = {mesh axis: {what: width}} (what: e.g. "config.model.embed_dim"): each
    `config.parallel.<axis>` must divide its widths."""
    for axis, widths in dims.items():
        size = _size(parallel_config, axis)
        for key, width in widths.items():
            if width % size:
                valid = _divisors(math.gcd(*widths.values()))
                raise JaxmlError(f"config.parallel.{axis}={size} must divide {key}={width}; valid "
                                 f"config.parallel.{axis} for this model: {', '.join(map(str, valid))}")


def _entry(axes: tuple[str, ...]) -> MeshAxes:
    return None if not axes else axes[0] if len(axes) == 1 else axes


def mesh_axes(name: str | None, mesh: Mesh, rules: Sequence[tuple[str, MeshAxes]] = RULES) -> tuple[str, ...]:
    """The axes of `mesh` (present, size > 1) that logical axis `name` maps to."""
    if name is None:
        return ()
    table = dict(rules)
    if name not in table:
        raise JaxmlError(f"logical axis {name!r} has no sharding rule; known: {', '.join(table)}")
    target = table[name]
    target = () if target is None else (target,) if isinstance(target, str) else tuple(target)
    return tuple(a for a in target if mesh.shape.get(a, 1) > 1)


def logical_spec(names: Sequence[str | None], shape: Sequence[int], mesh: Mesh,
                 rules: Sequence[tuple[str, MeshAxes]] = RULES) -> P:
    """The PartitionSpec of an array with logical axis `names` and `shape` (one entry per dimension)."""
    used: set[str] = set()
    spec = []
    for name, dim in zip(names, shape, strict=True):
        axes = tuple(a for a in mesh_axes(name, mesh, rules) if a not in used)
        if axes and dim % math.prod(mesh.shape[a] for a in axes):
            axes = ()  # an odd-sized dimension stays replicated
        used.update(axes)
        spec.append(_entry(axes))
    return P(*spec)


def param_names(path: str, ndim: int, param_axes: ParamAxes) -> tuple[str | None, ...]:
    """The logical names of the parameter (or optimizer moment) at `path`: the first matching pattern."""
    for pattern, names in param_axes:
        if re.search(rf"(^|/){pattern}$", path):
            if len(names) != ndim:
                raise JaxmlError(f"parameter {path} has {ndim} dimensions but pattern {pattern!r} names {len(names)}: "
                                 f"{names}")
            return tuple(names)
    raise JaxmlError(f"parameter {path!r} matches no pattern of the model's parameter-axis table; add one "
                     f"(patterns: {', '.join(p for p, _ in param_axes)})")


def state_shardings(state: Any, mesh: Mesh, param_axes: ParamAxes,
                    rules: Sequence[tuple[str, MeshAxes]] = RULES) -> Any:
    """A NamedSharding per leaf of `state` (arrays or ShapeDtypeStructs): scalars replicated, every other
    leaf (parameters, optimizer moments) by the logical names `param_axes` gives its path."""
    def sharding(name: str, leaf: Any) -> NamedSharding:
        if not leaf.ndim:
            return NamedSharding(mesh, P())
        return NamedSharding(mesh, logical_spec(param_names(name, leaf.ndim, param_axes), leaf.shape, mesh, rules))

    return map_named(sharding, state)


def batch_axes(mesh: Mesh) -> MeshAxes:
    """The mesh axes a batch dimension is split over: (data, fsdp), those present with size > 1."""
    return _entry(tuple(a for a in BATCH_AXES if mesh.shape.get(a, 1) > 1))


def batch_sharding(mesh: Mesh, batch_axis: int = 0) -> NamedSharding:
    return NamedSharding(mesh, parallel.batch_spec(batch_axis, batch_axes(mesh)))


def activation_rules(mesh: Mesh, rules: Sequence[tuple[str, MeshAxes]] = RULES) -> tuple[tuple[str, MeshAxes], ...]:
    """`rules` restricted to `mesh` (absent and size-1 axes dropped), for `nn.logical_axis_rules`."""
    return tuple((name, _entry(mesh_axes(name, mesh, rules))) for name, _ in rules)


def bytes_per_device(tree: Any) -> int:
    """The most bytes of `tree`'s arrays that one device holds (summed over its addressable shards)."""
    held: collections.Counter = collections.Counter()
    for x in jax.tree.leaves(tree):
        for shard in x.addressable_shards:
            held[shard.device] += shard.data.nbytes
    return max(held.values(), default=0)


def replicated_bytes(tree: Any) -> int:
    """What each device holds of `tree` when everything is replicated (data parallelism)."""
    return int(sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(tree)))


@dataclasses.dataclass(frozen=True)
class GlobalArrays:
    """The `loop.Recipe.sharding` strategy of steps written on global arrays (see the module docstring).
    `param_axes` None: no parameter-axis table, every state leaf replicated (data parallelism)."""

    param_axes: ParamAxes | None = None
    rules: tuple[tuple[str, MeshAxes], ...] = RULES

    def make_mesh(self, parallel_config: Any) -> Mesh:
        return make_mesh(parallel_config)

    def state_shardings(self, state: Any, mesh: Mesh) -> Any:
        if self.param_axes is None:
            return jax.tree.map(lambda _: NamedSharding(mesh, P()), state)
        return state_shardings(state, mesh, self.param_axes, self.rules)

    def place_state(self, init: Callable[[], Any], mesh: Mesh) -> Any:
        """`init()` evaluated straight into the rules' shardings (each device computes its own shards)."""
        return jax.jit(init, out_shardings=self.state_shardings(jax.eval_shape(init), mesh))()

    def shard_batch(self, local_batch: Any, mesh: Mesh, batch_axis: int = 0) -> Any:
        return parallel.shard_batch(local_batch, mesh, batch_axis, axes=batch_axes(mesh))

    def _traced_with_rules(self, fn: Callable, mesh: Mesh) -> Callable:
        rules = activation_rules(mesh, self.rules)

        @functools.wraps(fn)
        def traced(*args):
            with jax.sharding.use_abstract_mesh(mesh.abstract_mesh), nn.logical_axis_rules(rules):
                return fn(*args)

        return traced

    def _state(self, init: Callable, mesh: Mesh) -> Any:
        return self.state_shardings(jax.eval_shape(init, jax.random.key(0)), mesh)

    def compile_train(self, chunk: Callable, mesh: Mesh, init: Callable,
                      compiler_options: Mapping[str, Any] | None = None) -> Callable:
        """(state, batches [K, B, ...], key, start_step) -> (state, metrics); the state is donated;
        `compiler_options` go to `jax.jit` (XLA's defaults when empty)."""
        state = self._state(init, mesh)
        replicated = NamedSharding(mesh, P())
        return jax.jit(self._traced_with_rules(chunk, mesh),
                       in_shardings=(state, batch_sharding(mesh, 1), replicated, replicated),
                       out_shardings=(state, replicated), donate_argnums=(0,),
                       compiler_options=dict(compiler_options) if compiler_options else None)

    def compile_eval(self, evaluate: Callable, mesh: Mesh, init: Callable) -> Callable:
        """(state, batches [N, B, ...]) -> `evaluate`'s sums over the global batches, replicated."""
        state = self._state(init, mesh)
        return jax.jit(self._traced_with_rules(evaluate, mesh), in_shardings=(state, batch_sharding(mesh, 1)),
                       out_shardings=NamedSharding(mesh, P()))


# Data parallelism for models without a parameter-axis table: the default `loop.Recipe.sharding`.
DATA_PARALLEL = GlobalArrays()
