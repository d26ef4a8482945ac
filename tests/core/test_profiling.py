import types

import jax
import jax.numpy as jnp
import pytest

from jaxml.core import profiling


@pytest.mark.parametrize("kind,peak", [("NVIDIA H100 80GB HBM3", 989e12), ("NVIDIA H200", 989e12),
                                       ("TPU v5 lite", 197e12), ("TPU v4", 275e12), ("TPU v6 lite", 918e12),
                                       ("cpu", None)])
def test_peak_flops_table(kind, peak):
    assert profiling.peak_flops(types.SimpleNamespace(device_kind=kind)) == peak


def test_compiled_flops_of_a_matmul():
    compiled = jax.jit(lambda a, b: a @ b).lower(jnp.ones((64, 32)), jnp.ones((32, 16))).compile()
    assert profiling.compiled_flops(compiled) == pytest.approx(2 * 64 * 32 * 16, rel=0.05)


def test_format_report_marks_unknown_peak():
    text = profiling.format_report({"step_ms": 1.5, "mfu": None, "flops_per_step": 3.2e9})
    assert "n/a" in text and "3.200e+09" in text


def test_state_memory_per_device_beside_data_parallel():
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

    from jaxml.core.train_state import TrainState

    mesh = Mesh(np.array(jax.devices()), ("fsdp",))
    n = mesh.devices.size
    sharded = jax.device_put(jnp.zeros((n, 4)), NamedSharding(mesh, P("fsdp")))
    replicated = jax.device_put(jnp.zeros((3,)), NamedSharding(mesh, P()))
    state = TrainState(params={"w": sharded, "b": replicated}, model_state={}, opt_state=(sharded,))
    assert profiling.state_memory(state) == {
        "param_bytes_per_device": 4 * 4 + 3 * 4, "param_bytes_per_device_data_parallel": n * 4 * 4 + 3 * 4,
        "opt_state_bytes_per_device": 4 * 4, "opt_state_bytes_per_device_data_parallel": n * 4 * 4}
