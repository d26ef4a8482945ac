"""Devices and batches: the device list of a mesh (`make_mesh`, a 1-D "data" mesh, which
`core.sharding.make_mesh` reshapes into (data, fsdp, tensor) and code with hand-written collectives --
the Anakin PPO rollouts of `rl/ppo.py` -- uses under `jax.shard_map` with axis `AXIS`), global batches
from each process's slice (`shard_batch`, `jax.make_array_from_process_local_data`) and the
multi-process job (`initialize_distributed`). Steps themselves are written on global arrays
(`core/sharding.py`); nothing here is a per-device step.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxml.core.distributed_env import distributed_requested
from jaxml.errors import JaxmlError

AXIS = "data"
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
