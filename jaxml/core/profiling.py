"""Profiling: compile time, step time, examples/s, FLOPs from XLA cost analysis, MFU, traces.

`bench_experiment` times exactly the requested number of training steps of the experiment's real
training chunk (the scanned, data-parallel function the loop runs) after exactly the requested warm-up
steps, every chunk length compiled beforehand, and reads FLOPs per step from the compiled single-step
program.
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

from jaxml.core import loop, parallel, sharding, xla_schedule
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


def split_steps(steps: int, lengths: list[int]) -> list[tuple[int, int]]:
    """`steps` as [(length, calls)] of the given chunk lengths, longest first, exactly (a length 1 or the
    remainder must be among `lengths`)."""
    out = []
    for length in sorted(set(lengths), reverse=True):
        calls, steps = divmod(steps, length)
        if calls:
            out.append((length, calls))
    if steps:
        raise ValueError(f"{steps} steps are left over by chunk lengths {sorted(set(lengths))}")
    return out


def describe_calls(split: list[tuple[int, int]]) -> str:
    """The calls of a `split_steps` result in words, e.g. 2 calls of 10 steps + 1 call of 5 steps."""
    def plural(n, word):
        return f"{n} {word}{'' if n == 1 else 's'}"
    return " + ".join(f"{plural(calls, 'call')} of {plural(length, 'step')}" for length, calls in split)


class StepTimer:
    """The loop's real training chunk for a recipe, compiled ahead of time and timed on demand.

    `steps_per_call` steps run per call inside one `lax.scan` (the loop uses `config.log_every`). Each
    chunk length is compiled once (`program`), so no call ever includes compilation; `steps_run` counts
    the training steps the state has taken.
    """

    def __init__(self, recipe: loop.Recipe, config: ml_collections.ConfigDict, steps_per_call: int | None = None):
        self.mesh = recipe.sharding.make_mesh(config.parallel)
        self.global_batch = int(config.batch_size)
        self.seed = int(config.seed)
        self.recipe = recipe
        self.steps_per_call = max(1, int(steps_per_call or config.log_every))
        self.key = parallel.on_mesh(lambda: loop.train_key(config.seed), self.mesh)
        self.chunk = loop.make_train_chunk(recipe, self.mesh, xla_schedule.compiler_options(config))
        self.state = recipe.sharding.place_state(lambda: recipe.init(loop.init_key(config.seed)), self.mesh)
        self.memory = state_memory(self.state)
        self.steps_run = 0
        self._programs: dict[int, tuple[Any, Any]] = {}  # chunk length -> (compiled chunk, its batches)
        self.compile_s_by_length: dict[int, float] = {}
        flops = compiled_flops(self.program(1))  # the single-step program: FLOPs per step
        self.flops_per_step = flops * self.mesh.devices.size if flops is not None else None
        self.program(self.steps_per_call)

    @property
    def compile_s(self) -> float:
        """Seconds spent compiling the `steps_per_call` chunk."""
        return self.compile_s_by_length[self.steps_per_call]

    def _batches(self, num: int):
        host = train_batches(self.recipe.train_split, start_step=0, num_steps=num, global_batch=self.global_batch,
                             seed=self.seed, process_index=jax.process_index(), process_count=jax.process_count())
        return self.recipe.sharding.shard_batch(host, self.mesh, batch_axis=1)

    def program(self, length: int) -> Any:
        """The chunk compiled for `length` steps per call (compiled on first request only)."""
        if length not in self._programs:
            batches = self._batches(length)
            t = time.perf_counter()
            compiled = self.chunk.lower(self.state, batches, self.key, jnp.int32(0)).compile()
            self.compile_s_by_length[length] = time.perf_counter() - t
            self._programs[length] = (compiled, batches)
        return self._programs[length][0]

    def run(self, length: int) -> float:
        """Wall seconds of one call of `length` steps (compiled beforehand), synchronised."""
        compiled, batches = self.program(length), self._programs[length][1]

        def call():
            self.state, metrics = compiled(self.state, batches, self.key, jnp.int32(0))
            return metrics

        (seconds,) = time_calls(call, lambda: (), 1)
        self.steps_run += length
        return seconds

    def advance(self, steps: int) -> list[tuple[int, float]]:
        """Runs exactly `steps` steps with the programs compiled so far (1 step is always compiled):
        [(steps of the call, wall seconds)] per call."""
        return [(length, self.run(length)) for length, calls in split_steps(steps, list(self._programs))
                for _ in range(calls)]

    def step_times(self, calls: int) -> list[float]:
        """Seconds per step of each of `calls` calls of `steps_per_call` steps."""
        return [self.run(self.steps_per_call) / self.steps_per_call for _ in range(calls)]


def bench_recipe(recipe: loop.Recipe, config: ml_collections.ConfigDict, *, steps: int = 20, warmup: int = 3,
                 trace_dir: str | None = None) -> dict[str, Any]:
    """Times exactly `steps` training steps after exactly `warmup` untimed ones: calls of
    min(config.log_every, steps) steps plus, when that does not divide `steps`, one call of the
    remainder; every program is compiled before the warm-up."""
    steps, warmup = int(steps), int(warmup)
    if steps < 1 or warmup < 0:
        raise JaxmlError(f"bench needs steps >= 1 and warmup >= 0, got steps={steps}, warmup={warmup}")
    timer = StepTimer(recipe, config, steps_per_call=min(int(config.log_every), steps))
    per_call = timer.steps_per_call
    timed_split = [(per_call, steps // per_call)] + ([(steps % per_call, 1)] if steps % per_call else [])
    for length, _ in timed_split:
        timer.program(length)
    compile_s = sum(timer.compile_s_by_length[length] for length, _ in timed_split)
    timer.advance(warmup)
    trace = jax.profiler.trace(trace_dir) if trace_dir else contextlib.nullcontext()
    with trace:
        calls = [(length, timer.run(length)) for length, n in timed_split for _ in range(n)]
    step_s = statistics.median(seconds / length for length, seconds in calls)
    mesh, flops = timer.mesh, timer.flops_per_step
    report: dict[str, Any] = {
        "devices": parallel.describe_devices(mesh), "mesh": " x ".join(f"{k}={v}" for k, v in mesh.shape.items()),
        "dtype": config.get("dtype", "float32"), "global_batch": timer.global_batch,
        "timed_steps": sum(length for length, _ in calls), "warmup_steps": warmup, "steps_per_call": per_call,
        "timed_calls": describe_calls(timed_split), "steps_run": timer.steps_run,
        "compile_s": round(compile_s, 3), "timed_s": round(sum(seconds for _, seconds in calls), 3),
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


def timing_summary(report: dict[str, Any]) -> str:
    """One line saying what was timed, e.g. timed 25 steps (2 calls of 10 steps + 1 call of 5 steps) after 3
    warm-up steps; compile 1.2 s."""
    return (f"timed {report['timed_steps']} steps ({report['timed_calls']}) after {report['warmup_steps']} "
            f"warm-up steps; compile {report['compile_s']:.4g} s")


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
    table = "\n".join(f"{k:<{width}}  {fmt(v)}" for k, v in report.items())
    timed = all(k in report for k in ("timed_steps", "timed_calls", "warmup_steps", "compile_s"))
    return f"{timing_summary(report)}\n{table}" if timed else table
