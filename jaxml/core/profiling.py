"""Profiling: compile time, step time, examples/s, FLOPs from XLA cost analysis, MFU, traces.

`bench_experiment` times the experiment's real training chunk (the scanned, data-parallel function
the loop runs) after warm-up, and reads FLOPs per step from the compiled single-step program.
MFU = achieved FLOP/s / (peak dense bf16 FLOP/s per device x devices), reported only for devices
in `PEAK_FLOPS`. Memory: the parameter and optimizer-state bytes one device holds, measured from the
state's shards as the recipe's sharding placed them, beside what data parallelism (everything
replicated) holds per device; with `config.parallel.fsdp=N` the ratio is about 1/N.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from jaxml.core import loop, parallel, sharding
from jaxml.data.batching import train_batches
from jaxml.errors import JaxmlError

# Dense bf16 peak FLOP/s per device (vendor figures; see docs/references.md#throughput-and-hardware).
PEAK_FLOPS: dict[str, float] = {
    "H200": 989e12, "H100": 989e12, "A100": 312e12,
    "TPU v6": 918e12, "TPU v5p": 459e12, "TPU v5 lite": 197e12, "TPU v5e": 197e12, "TPU v4": 275e12,
}


def peak_flops(device: Any) -> float | None:
    kind = getattr(device, "device_kind", "")
    for name, peak in PEAK_FLOPS.items():
        if name.lower() in kind.lower():
            return peak
    return None


def compiled_flops(compiled: Any) -> float | None:
    """FLOPs of one call of a compiled program (per device for SPMD programs), or None."""
    try:
        cost = compiled.cost_analysis()
    except Exception:  # some backends do not implement it
        return None
    if isinstance(cost, (list, tuple)):
        cost = cost[0] if cost else None
    if not cost or "flops" not in cost:
        return None
    return float(cost["flops"])


def time_calls(fn, args_fn, n: int) -> list[float]:
    """Wall time of `n` calls, each synchronised with block_until_ready (timing only)."""
    times = []
    for _ in range(n):
        args = args_fn()
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return times


def state_memory(state: Any) -> dict[str, int]:
    """Bytes per device of the parameters and the optimizer state (the whole state when it has no
    `params`/`opt_state`), as placed, and what data parallelism would hold per device."""
    parts = {"param": state.params, "opt_state": state.opt_state} if hasattr(state, "opt_state") else {"state": state}
    out: dict[str, int] = {}
    for name, tree in parts.items():
        out[f"{name}_bytes_per_device"] = sharding.bytes_per_device(tree)
        out[f"{name}_bytes_per_device_data_parallel"] = sharding.replicated_bytes(tree)
    return out


class StepTimer:
    """The loop's real training chunk for a recipe, compiled once and timed on demand.

    `steps_per_call` steps run per call inside one `lax.scan` (the loop uses `config.log_every`).
    """

    def __init__(self, recipe: loop.Recipe, config: ml_collections.ConfigDict, steps_per_call: int | None = None):
        self.mesh = recipe.sharding.make_mesh(config.parallel)
        self.global_batch = int(config.batch_size)
        self.steps_per_call = max(1, int(steps_per_call or config.log_every))
        self.key = parallel.on_mesh(lambda: loop.train_key(config.seed), self.mesh)
        self.chunk = loop.make_train_chunk(recipe, self.mesh)

        def batches(num):
            host = train_batches(recipe.train_split, start_step=0, num_steps=num, global_batch=self.global_batch,
                                 seed=int(config.seed), process_index=jax.process_index(),
                                 process_count=jax.process_count())
            return recipe.sharding.shard_batch(host, self.mesh, batch_axis=1)

        self.state = recipe.sharding.place_state(lambda: recipe.init(loop.init_key(config.seed)), self.mesh)
        self.memory = state_memory(self.state)
        self.batches = batches(self.steps_per_call)
        one = batches(1)
        t = time.perf_counter()
        self.compiled_one = self.chunk.lower(self.state, one, self.key, jnp.int32(0)).compile() \
            if hasattr(self.chunk, "lower") else None
        self.compile_s = time.perf_counter() - t
        flops = compiled_flops(self.compiled_one) if self.compiled_one is not None else None
        self.flops_per_step = flops * self.mesh.devices.size if flops is not None else None
        t = time.perf_counter()
        jax.block_until_ready(self._call())
        self.first_call_s = time.perf_counter() - t

    def _call(self):
        self.state, metrics = self.chunk(self.state, self.batches, self.key, jnp.int32(0))
        return metrics

    def step_times(self, calls: int) -> list[float]:
        """Seconds per step of each of `calls` calls."""
        return [t / self.steps_per_call for t in time_calls(self._call, lambda: (), calls)]


def bench_recipe(recipe: loop.Recipe, config: ml_collections.ConfigDict, *, steps: int = 20, warmup: int = 3,
                 trace_dir: str | None = None) -> dict[str, Any]:
    timer = StepTimer(recipe, config)
    timer.step_times(max(warmup - 1, 0))
    n_calls = max(1, -(-steps // timer.steps_per_call))
    trace = jax.profiler.trace(trace_dir) if trace_dir else contextlib.nullcontext()
    with trace:
        step_s = statistics.median(timer.step_times(n_calls))
    mesh, flops = timer.mesh, timer.flops_per_step
    report: dict[str, Any] = {
        "devices": parallel.describe_devices(mesh), "mesh": " x ".join(f"{k}={v}" for k, v in mesh.shape.items()),
        "dtype": config.get("dtype", "float32"), "global_batch": timer.global_batch,
        "steps_per_call": timer.steps_per_call, "timed_steps": n_calls * timer.steps_per_call,
        "compile_s": round(timer.compile_s, 3), "first_chunk_s": round(timer.first_call_s, 3),
        "step_ms": round(step_s * 1e3, 3), "examples_per_s": round(timer.global_batch / step_s, 1),
        "flops_per_step": flops, "achieved_flops_per_s": (flops / step_s) if flops else None,
        "jax_version": jax.__version__,
        **timer.memory,
    }
    held = sum(v for k, v in timer.memory.items() if k.endswith("_bytes_per_device"))
    replicated = sum(v for k, v in timer.memory.items() if k.endswith("_data_parallel"))
    report["state_bytes_vs_data_parallel"] = held / replicated if replicated else None
    peak = peak_flops(mesh.devices.flat[0])
    report["peak_flops_per_s"] = peak * mesh.devices.size if peak else None
    report["mfu"] = (report["achieved_flops_per_s"] / report["peak_flops_per_s"]) if (peak and flops) else None
    if trace_dir:
        report["trace_dir"] = trace_dir
    return report


def bench_experiment(name: str, config: ml_collections.ConfigDict, *, steps: int = 20, warmup: int = 3,
                     trace_dir: str | None = None) -> dict[str, Any]:
    from jaxml import experiments
    module = experiments.method_module(config.method)
    if not hasattr(module, "recipe_for"):
        raise JaxmlError(f"jaxml bench times supervised training steps; method {config.method!r} has no step "
                         f"recipe yet (RL throughput: env steps/s in its metrics.jsonl)")
    report = bench_recipe(module.recipe_for(config), config, steps=steps, warmup=warmup, trace_dir=trace_dir)
    return {"experiment": name, **report}


def format_report(report: dict[str, Any]) -> str:
    def fmt(v):
        if v is None:
            return "n/a (unknown device peak)" if v is None else ""
        if isinstance(v, float):
            if abs(v) >= 1e6:
                return f"{v:.3e}"
            return f"{v:.4g}"
        return str(v)
    width = max(len(k) for k in report)
    return "\n".join(f"{k:<{width}}  {fmt(v)}" for k, v in report.items())
