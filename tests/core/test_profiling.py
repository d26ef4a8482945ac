import json
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


def test_split_steps_is_exact_and_longest_first():
    assert profiling.split_steps(25, [1, 10, 5]) == [(10, 2), (5, 1)]
    assert profiling.split_steps(12, [10, 3, 1]) == [(10, 1), (1, 2)]
    assert profiling.split_steps(0, [10, 1]) == []
    with pytest.raises(ValueError, match="1 steps are left over"):
        profiling.split_steps(3, [2])
    assert profiling.describe_calls([(10, 2), (3, 1)]) == "2 calls of 10 steps + 1 call of 3 steps"


def _optimizer_counts(state) -> set[int]:
    """The step counters optax keeps in the optimizer state (Adam's, the schedule's)."""
    return {int(v) for path, v in jax.tree_util.tree_leaves_with_path(state.opt_state)
            if "count" in jax.tree_util.keystr(path)}


@pytest.mark.parametrize("steps,warmup,calls", [
    (1, 0, "1 call of 1 step"), (7, 3, "1 call of 7 steps"), (20, 12, "2 calls of 10 steps"),
    (23, 1, "2 calls of 10 steps + 1 call of 3 steps")])
def test_bench_times_exactly_the_requested_steps(steps, warmup, calls, monkeypatch, capsys):
    """`jaxml bench --steps N --warmup W` with log_every=10 on 8 devices: N timed steps, the state W + N
    steps further on (optax's own counters), whatever N and W are modulo the chunk length."""
    from jaxml import cli

    timers = []

    class Recorded(profiling.StepTimer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            timers.append(self)

    monkeypatch.setattr(profiling, "StepTimer", Recorded)
    assert cli.main(["bench", "mlp_digits", "--steps", str(steps), "--warmup", str(warmup), "--config.log_every=10",
                     "--config.model.hidden=(16,)", "--config.batch_size=32"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    report = json.loads(out[-1])
    assert report["timed_steps"] == steps and report["warmup_steps"] == warmup
    assert report["steps_per_call"] == min(10, steps) and report["timed_calls"] == calls
    assert report["steps_run"] == warmup + steps and report["devices"] == "cpu x8"
    (timer,) = timers
    assert timer.steps_run == warmup + steps
    assert _optimizer_counts(timer.state) == {warmup + steps}
    assert out[0].startswith(f"timed {steps} steps ({calls}) after {warmup} warm-up steps; compile ")


def test_bench_rejects_non_positive_steps_from_python():
    from jaxml.errors import JaxmlError
    with pytest.raises(JaxmlError, match="steps >= 1 and warmup >= 0, got steps=0"):
        profiling.bench_recipe(None, None, steps=0, warmup=1)
