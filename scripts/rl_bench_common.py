"""Shared helpers of the RL benchmark scripts (scripts/bench_rl_*.py, scripts/bench_per.py).

Not a benchmark itself. Every jaxml run is compiled ahead of time (`jit(...).lower().compile()`),
so the compile time is reported separately and the timed call is the whole training run only.
Importing it applies jaxml's XLA workarounds (the scripts vmap whole RL runs, as `jaxml train` does);
every script imports it before it computes anything.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable

from jaxml.core.platform import apply_xla_workarounds

apply_xla_workarounds()  # before jax creates its backend

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

def header(title: str) -> str:
    """The title, versions, devices and the 1-minute load average at the start (a busy machine
    shows here: these scripts time one job at a time)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{title}\n  jax {jax.__version__}, backend {jax.default_backend()} x{jax.device_count()}, "
            f"{os.cpu_count()} cpu cores, python {platform.python_version()}; load average {load:.2f} at start")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds to run `fn()` and block on its result, and the result."""
    t = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t, out


def ratio_summary(num: list[float], den: list[float]) -> str:
    """'median R.RRx (rounds a-b x)' of the per-round ratios num[i] / den[i]."""
    ratios = [a / b for a, b in zip(num, den)]
    return (f"median {statistics.median(ratios):.2f}x "
            f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x)")


def last_fraction_mean(x: Any, fraction: float = 0.1, axis: int = -1) -> np.ndarray:
    """Mean of the last `fraction` of `x` along `axis` (the per-iteration training returns)."""
    x = np.asarray(x, np.float64)
    n = x.shape[axis]
    k = max(1, int(round(n * fraction)))
    return np.take(x, np.arange(n - k, n), axis=axis).mean(axis=axis)


def jaxml_agent(name: str):
    """The jaxml agent module (`dqn`, `ppo`) and its env steps per `train_chunk` iteration."""
    import importlib

    mod = importlib.import_module(f"jaxml.rl.{name}")
    per_iter = getattr(mod, "steps_per_iteration", lambda c: int(c.num_envs))
    return mod, per_iter


class JaxmlRun:
    """A compiled whole training run of a jaxml agent: `init(key)` + `train_chunk` over all
    iterations, optionally vmapped over `num_seeds` keys. `run(seed)` returns (seconds, state,
    metrics); env steps per call = `env_steps` (all seeds together)."""

    def __init__(self, agent: str, config, num_seeds: int = 1, seed_devices: int = 1):
        from jaxml.rl.runner import over_seeds, place_seeds, seed_mesh

        self.mod, per_iter = jaxml_agent(agent)
        self.config = config
        self.num_seeds = num_seeds
        init, chunk = self.mod.make_train(config)
        iters = int(config.total_env_steps) // per_iter(config)
        self.env_steps = iters * per_iter(config) * num_seeds
        one = lambda k: chunk(init(k), iters)
        key = self._keys(0)
        t = time.perf_counter()
        if seed_devices > 1:  # the runner's seed mesh: a one-device init (see over_seeds), then each device
            mesh = seed_mesh(seed_devices)  # runs the vmap of its block of the seeds
            init_all = jax.jit(jax.vmap(init)).lower(key).compile()
            chunk_all = over_seeds(lambda s: chunk(s, iters), mesh).lower(place_seeds(init_all(key), mesh)).compile()
            self.compiled = lambda keys: chunk_all(place_seeds(init_all(keys), mesh))
        else:
            fn = jax.vmap(one) if num_seeds > 1 else one
            self.compiled = jax.jit(fn).lower(key).compile()
        self.compile_s = time.perf_counter() - t

    def _keys(self, seed: int):
        key = jax.random.key(seed)  # typed keys, as jaxml's runner uses
        return jax.random.split(key, self.num_seeds) if self.num_seeds > 1 else key

    def run(self, seed: int):
        dt, (state, metrics) = timed(lambda: self.compiled(self._keys(seed)))
        return dt, state, metrics

    def greedy_return(self, state, seed: int = 123) -> np.ndarray:
        """Greedy eval return per seed (`eval_episodes` fresh envs each)."""
        key = jax.random.key(seed)
        if self.num_seeds > 1:
            f = jax.vmap(lambda s: self.mod.greedy_eval(self.config, s, key)["return_mean"])
            return np.asarray(jax.jit(f)(state))
        return np.asarray([self.mod.greedy_eval(self.config, state, key)["return_mean"]])


def greedy_eval_fn(apply_greedy: Callable[[jax.Array], jax.Array], env_id: str = "CartPole-v1",
                   episodes: int = 10, seed: int = 123) -> float:
    """Mean greedy return of `apply_greedy(obs_batch) -> actions` with jaxml's `envs.evaluate`."""
    from jaxml.rl.envs import evaluate, make_env

    env, params = make_env(env_id)
    out = evaluate(jax.random.PRNGKey(seed), lambda obs, _k: apply_greedy(obs).astype(jnp.int32),
                   env, params, episodes)
    return float(out["return_mean"])
