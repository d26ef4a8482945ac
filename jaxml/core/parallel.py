"""Data parallelism over a 1-D device mesh with axis "data".

Params are replicated (`P()`), batches are sharded on their batch axis (`P(..., "data")`). A step is
written per device, like a pmap body, and averages gradients and metrics with
`jax.lax.pmean(x, "data")`. `data_parallel` runs it with `jax.shard_map` (default) or `jax.pmap`
(kept for comparison; single process only). Multi-host: `initialize_distributed()` joins a
`jax.distributed` job; each process loads its own slice of every global batch and
`shard_batch` assembles the global array with `jax.make_array_from_process_local_data`.

`PER_DEVICE` is this path as a `loop.Recipe.sharding` strategy (the default); steps written on global
arrays and sharded by rules use `core.sharding.GlobalArrays` instead.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxml.core.distributed_env import distributed_requested
from jaxml.errors import JaxmlError

AXIS = "data"
BACKENDS = ("shard_map", "pmap")
# The mesh axes a batch is split over (a "tensor" axis holds model shards and sees the whole batch).
BATCH_AXES = ("data", "fsdp")


def initialize_distributed() -> bool:
    """Joins a multi-process job when JAXML_DISTRIBUTED=1 or on a multi-worker TPU VM.

    Explicit settings (used by the loopback test and by clusters without auto-detection):
    JAXML_COORDINATOR_ADDRESS, JAXML_NUM_PROCESSES, JAXML_PROCESS_ID. On CPU the collectives use gloo.
    Returns True when a distributed job was initialised.
    """
    if not distributed_requested():
        return False
    if jax.distributed.is_initialized():
        return True
    kwargs: dict[str, Any] = {}
    if os.environ.get("JAXML_COORDINATOR_ADDRESS"):
        kwargs = dict(
            coordinator_address=os.environ["JAXML_COORDINATOR_ADDRESS"],
            num_processes=int(os.environ["JAXML_NUM_PROCESSES"]),
            process_id=int(os.environ["JAXML_PROCESS_ID"]),
        )
    # Only affects CPU devices; harmless on TPU/GPU.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(**kwargs)
    return True


def make_mesh(num_devices: int = 0) -> Mesh:
    """A 1-D mesh over the first `num_devices` devices (0: all) of every process."""
    devices = jax.devices()
    if num_devices:
        if num_devices > len(devices):
            raise JaxmlError(f"parallel.num_devices={num_devices} but only {len(devices)} devices are visible")
        if jax.process_count() > 1 and num_devices != len(devices):
            raise JaxmlError("parallel.num_devices must be 0 (all devices) in a multi-process run")
        devices = devices[:num_devices]
    return Mesh(np.asarray(devices), (AXIS,))


def describe_devices(mesh: Mesh) -> str:
    """E.g. 'cpu x8' or 'NVIDIA H100 80GB HBM3 x1'."""
    d = mesh.devices.flat[0]
    kind = d.platform if d.platform == "cpu" else getattr(d, "device_kind", d.platform)
    return f"{kind} x{mesh.devices.size}"


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_spec(batch_axis: int = 0, axes: str | tuple[str, ...] | None = AXIS) -> P:
    return P(*([None] * batch_axis), axes)


def batch_shards(mesh: Mesh) -> int:
    """How many pieces a batch is split into on `mesh`: the product of its `BATCH_AXES` sizes."""
    return math.prod(mesh.shape[a] for a in BATCH_AXES if a in mesh.shape)


def on_mesh(fn: Callable[[], Any], mesh: Mesh) -> Any:
    """Evaluates `fn()` straight into replicated global arrays (valid on every process; no transfer)."""
    return jax.jit(fn, out_shardings=replicated(mesh))()


def shard_batch(local_batch: Any, mesh: Mesh, batch_axis: int = 0, axes: str | tuple[str, ...] | None = AXIS) -> Any:
    """Builds global arrays from this process's slice, sharded over `axes` (default "data") on `batch_axis`."""
    sharding = NamedSharding(mesh, batch_spec(batch_axis, axes))
    named = () if axes is None else (axes,) if isinstance(axes, str) else tuple(axes)
    devices = math.prod(mesh.shape[a] for a in named)

    def put(x):
        x = np.asarray(x)
        global_shape = list(x.shape)
        global_shape[batch_axis] *= jax.process_count()
        if global_shape[batch_axis] % devices:
            raise JaxmlError(f"global batch {global_shape[batch_axis]} is not divisible by {devices} devices")
        return jax.make_array_from_process_local_data(sharding, x, tuple(global_shape))

    return jax.tree.map(put, local_batch)


def check_batch_size(global_batch: int, mesh: Mesh, name: str = "batch_size") -> None:
    n = batch_shards(mesh)
    if global_batch % n or global_batch % jax.process_count():
        what = f"{n} devices" if n == mesh.devices.size else f"{n} batch shards (data x fsdp)"
        raise JaxmlError(f"config.{name}={global_batch} must be divisible by the {what} of the mesh")


def local_example_keys(key: jax.Array, local_batch: int) -> jax.Array:
    """Per-example keys for this device's slice of the global batch (inside `data_parallel`).

    Example i of the global batch always gets `split(key, global_batch)[i]`, so augmentation is the
    same whatever the number of devices.
    """
    n = jax.lax.axis_size(AXIS)
    index = jax.lax.axis_index(AXIS)
    all_keys = jax.random.split(key, local_batch * n)
    return jax.lax.dynamic_slice_in_dim(all_keys, index * local_batch, local_batch)


def data_mean(tree: Any) -> Any:
    """The mean of `tree` over the devices of the "data" axis inside `data_parallel`; `tree` itself in a
    step written on global arrays (no "data" axis is bound there: the batch is already the whole one)."""
    try:
        jax.lax.axis_size(AXIS)
    except NameError:
        return tree
    return jax.lax.pmean(tree, AXIS)


def device_key(key: jax.Array) -> jax.Array:
    """A key that differs per device (dropout); results then depend on the device count."""
    return jax.random.fold_in(key, jax.lax.axis_index(AXIS))


def data_parallel(
    fn: Callable[..., Any],
    mesh: Mesh,
    *,
    backend: str = "shard_map",
    batch_argnums: Sequence[int] = (1,),
    batch_axis: int = 0,
    donate_argnums: Sequence[int] = (),
) -> Callable[..., Any]:
    """Runs a per-device `fn` over the mesh; returns a function of global arrays.

    Arguments in `batch_argnums` are sharded on `batch_axis`; all other arguments and all outputs are
    replicated (the body must `pmean`/`psum` what it returns).
    """
    if backend not in BACKENDS:
        raise JaxmlError(f"parallel.backend={backend!r} is not valid; choose one of {', '.join(BACKENDS)}")
    batch_argnums = tuple(batch_argnums)

    if backend == "shard_map":
        def call(*args):
            in_specs = tuple(batch_spec(batch_axis) if i in batch_argnums else P() for i in range(len(args)))
            mapped = jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=P(), check_vma=False)
            return mapped(*args)

        return jax.jit(call, donate_argnums=tuple(donate_argnums))

    if jax.process_count() > 1:
        raise JaxmlError("parallel.backend=pmap supports one process only; use shard_map for multi-host runs")
    n = mesh.devices.size

    @functools.lru_cache(maxsize=None)
    def pmapped(num_args: int):
        in_axes = tuple(0 if i in batch_argnums else None for i in range(num_args))
        return jax.pmap(fn, axis_name=AXIS, in_axes=in_axes, devices=list(mesh.devices.flat))

    def split_devices(x):
        x = jnp.moveaxis(x, batch_axis, 0)
        x = x.reshape((n, x.shape[0] // n) + x.shape[1:])
        return jnp.moveaxis(x, 1, batch_axis + 1)

    def call(*args):
        args = tuple(jax.tree.map(split_devices, a) if i in batch_argnums else a for i, a in enumerate(args))
        out = pmapped(len(args))(*args)
        return jax.tree.map(lambda x: x[0], out)

    return call


@dataclasses.dataclass(frozen=True)
class PerDevice:
    """The `loop.Recipe.sharding` strategy of per-device steps (a pmap body that `pmean`s over "data"):
    a 1-D mesh, the state replicated, batches split over "data", run by `data_parallel`."""

    def make_mesh(self, parallel_config: Any) -> Mesh:
        return make_mesh(int(parallel_config.num_devices))

    def place_state(self, init: Callable[[], Any], mesh: Mesh) -> Any:
        return on_mesh(init, mesh)

    def shard_batch(self, local_batch: Any, mesh: Mesh, batch_axis: int = 0) -> Any:
        return shard_batch(local_batch, mesh, batch_axis)

    def compile_train(self, chunk: Callable, mesh: Mesh, backend: str, init: Callable) -> Callable:
        """(state, batches [K, B, ...], key, start_step) -> (state, metrics); the state is donated."""
        return data_parallel(chunk, mesh, backend=backend, batch_argnums=(1,), batch_axis=1, donate_argnums=(0,))

    def compile_eval(self, evaluate: Callable, mesh: Mesh, backend: str, init: Callable) -> Callable:
        """(state, batches [N, B, ...]) -> `evaluate`'s per-device sums added over the devices."""
        return data_parallel(lambda state, batches: jax.lax.psum(evaluate(state, batches), AXIS), mesh,
                             backend=backend, batch_argnums=(1,), batch_axis=1)


PER_DEVICE = PerDevice()
