"""The outer loop of an RL experiment: seeds vmapped, chunks of the agent's scanned run, greedy
evaluation, metrics, checkpoints, resume and preemption.

The agent contract (every module in AGENTS follows it):

- its default config, `jaxml.defaults.rl.<agent>.default_config() -> ConfigDict` (kept apart so
  config files load without jax), with at least `env`, `num_envs`, `total_env_steps`, `seed`,
  `eval_episodes`, to which `jaxml.defaults.rl.runner.with_runner_keys` adds the runner's keys;
- `Config`: its typed hyper-parameters (a frozen `agent_config.AgentConfig`); `Config.from_config`
  checks them once, and `make_train` / `greedy_eval` take that or the ConfigDict;
- `make_train(config) -> (init, train_chunk)`: `init(key) -> state` and
  `train_chunk(state, num_iterations) -> (state, metrics)`, pure and unjitted, `num_iterations` a
  static int, `metrics` a dict of per-iteration arrays [T] that holds `return`, `length`,
  `episodes` (`envs.episode_metrics` of the training envs) and at least one `*loss*` entry;
- `steps_per_iteration(config) -> int` (optional; default `num_envs`): env steps per iteration;
- `greedy_eval(config, state, key) -> dict` with `return_mean` (plus any other scalars to log).

This runner `vmap`s init, train_chunk and greedy_eval over `config.num_seeds` seeds (with
`config.seed_loop`, train_chunk runs the seeds one after another instead, see `seeds_in_turn`;
with `config.parallel.seed_devices = S > 1` the seeds are spread over a 1-D mesh of S devices, axis
"seed", each device running the vmap of its `num_seeds // S` seeds, see `over_seeds`; the mesh may
span several processes, whose metrics and evaluations are gathered by `to_host`), runs
`eval_every // steps_per_iteration` iterations per compiled call, then evaluates every seed on
separate eval envs, logs (process 0), saves a checkpoint (keyed by env steps) and honours
SIGTERM. Re-running on the same workdir resumes; the result equals an uninterrupted run (tested).
Train logs: every `*loss*` entry is checked for non-finite values; scalar float metrics are
averaged over seeds and the chunk; `return` is the seed-mean of the last finished episode.

result.json: `eval_return` (mean over seeds of the final greedy return), `eval_return_per_seed`,
`eval_return_std`, `eval_auc` (mean over evaluations of the seed-mean greedy return: the area under
the eval curve, normalised by its length — the sample-efficiency number), `env_steps`; for envs
whose episodes succeed or fail (`envs.SUCCESS_RETURN`) also `eval_success_rate` and
`eval_length_mean` (seed means of the final evaluation); where the agent also evaluates its
sampling policy (PPO / recurrent PPO with `eval_sampled`), `eval_sampled_success_rate` and
`eval_sampled_return_mean`.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np

from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxml.core.metrics import read_metrics
from jaxml.core.run import Run
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

AGENTS = {"dqn": "jaxml.rl.dqn", "qlearning": "jaxml.rl.qlearning", "reinforce": "jaxml.rl.reinforce",
          "ppo": "jaxml.rl.ppo", "ddpg": "jaxml.rl.ddpg", "td3": "jaxml.rl.ddpg",
          "sac": "jaxml.rl.sac", "rppo": "jaxml.rl.rppo"}
EPISODE_KEYS = ("return", "length", "episodes", "env_steps")
SEED_AXIS = "seed"


def steps_per_iteration(config: ml_collections.ConfigDict) -> int:
    """Env steps one iteration of the agent's scan takes (the agent's `steps_per_iteration`, else num_envs)."""
    agent = _agent(config.method)
    fn = getattr(agent, "steps_per_iteration", None)
    return int(fn(config)) if fn is not None else int(config.num_envs)


def train_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """One train log row from a chunk's metrics [seeds, iterations]: float metrics averaged over
    seeds and iterations, `return` / `length` the seed-mean of the last finished episode (None before
    any episode finished)."""
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        v = np.asarray(v)
        if k not in EPISODE_KEYS and v.ndim == 2 and np.issubdtype(v.dtype, np.floating):
            out[k] = float(v.mean())
    finished = np.asarray(metrics["episodes"])[:, -1] > 0
    for k in ("return", "length"):
        out[k] = float(np.asarray(metrics[k])[finished, -1].mean()) if finished.any() else None
    return out


def eval_summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    """One eval log row from `greedy_eval` vmapped over seeds: `return_mean` (seed mean), `return_std`
    (spread over SEEDS), `return_per_seed`, and every other per-seed scalar averaged over seeds; an
    agent's own `return_std` (spread over episodes) is logged as `episode_return_std`, never over the
    seed spread."""
    returns = np.asarray(evaluation["return_mean"])
    out: dict[str, Any] = {}
    for k, v in evaluation.items():
        if k != "return_mean" and np.ndim(v) == 1:  # one scalar per seed
            out[f"episode_{k}" if k in ("return_std", "return_per_seed") else k] = float(np.mean(v))
    out.update(return_mean=float(returns.mean()), return_std=float(returns.std()), return_per_seed=returns.tolist())
    return out


def seeds_in_turn(fn, num_seeds: int):
    """`fn` (one seed's state -> (state, metrics)) applied to each seed of a stacked state in turn,
    through one compiled unbatched program; returns the outputs stacked like `jax.vmap(fn)` would.
    Under `vmap` an agent's `lax.cond`s become selects that run both branches, and an env step with
    branches (MinAtar) or a gather-heavy minibatch loop can cost more batched than looped; on a CPU
    with few cores looping the seeds can then be faster (`config.seed_loop`)."""
    one = jax.jit(fn, donate_argnums=0)

    def run(state):
        outs = [one(jax.tree.map(lambda x: x[i], state)) for i in range(num_seeds)]
        return jax.tree.map(lambda *xs: jax.numpy.stack(xs), *outs)

    return run


def seed_devices(config: ml_collections.ConfigDict) -> int:
    """`config.parallel.seed_devices` (1 when absent), checked against the seeds and the other switches."""
    n = int(config.get("parallel", {}).get("seed_devices", 1))
    num_seeds = int(config.num_seeds)
    if n < 1:
        raise JaxmlError(f"config.parallel.seed_devices={n} must be >= 1")
    if n > 1:
        if num_seeds % n:
            raise JaxmlError(f"config.parallel.seed_devices={n} must divide config.num_seeds={num_seeds} "
                             "(every device runs the same number of seeds)")
        if config.get("seed_loop", False):
            raise JaxmlError("config.seed_loop=True runs the seeds in turn on one device; "
                             "it cannot be combined with config.parallel.seed_devices > 1")
        anakin = int(config.get("parallel", {}).get("num_devices", 1))
        if anakin > 1:
            raise JaxmlError(f"config.parallel.seed_devices={n} and config.parallel.num_devices={anakin}: "
                             "spread either the seeds or one seed's envs over devices, not both")
    return n


def seed_mesh(n: int) -> Mesh | None:
    """The 1-D "seed" mesh over the first `n` devices (None for one device)."""
    if n == 1:
        return None
    devices = jax.devices()
    if n > len(devices):
        raise JaxmlError(f"config.parallel.seed_devices={n} but only {len(devices)} devices are visible; on a CPU "
                         f"`jaxml train` makes them (or set XLA_FLAGS=--xla_force_host_platform_device_count={n})")
    return Mesh(np.asarray(devices[:n]), (SEED_AXIS,))


def over_seeds(fn, mesh: Mesh | None, donate: bool = False):
    """`jax.jit(jax.vmap(fn))`; over a "seed" mesh, each device vmaps `fn` over its own block of the
    seeds (every argument and output carries the seed axis first), with no communication.

    Not for `init`: a batched LAPACK call (the QR of an orthogonal initialiser) splits its batch
    over XLA:CPU's shared thread pool and waits for it, and two host devices doing that at once can
    each hold the threads the other waits for (seen: PPO's init over 2 CPU devices sleeping at 0 %
    CPU for good, jax 0.10.2). `place_seeds` puts a one-device init on the mesh instead."""
    batched = jax.vmap(fn)
    if mesh is not None:
        batched = jax.shard_map(batched, mesh=mesh, in_specs=P(SEED_AXIS), out_specs=P(SEED_AXIS),
                                check_vma=False)
    return jax.jit(batched, donate_argnums=0 if donate else ())


def place_seeds(state: Any, mesh: Mesh | None) -> Any:
    """`state` (seed axis first, the same on every process) spread over the "seed" mesh, each device
    holding its block of seeds; over several processes each builds the blocks of its own devices."""
    if mesh is None:
        return state
    sharding = NamedSharding(mesh, P(SEED_AXIS))
    if jax.process_count() == 1:
        return jax.device_put(state, sharding)

    def put(x):
        typed = jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)
        host = np.asarray(jax.random.key_data(x) if typed else x)
        out = jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
        return jax.random.wrap_key_data(out, impl=jax.random.key_impl(x)) if typed else out

    return jax.tree.map(put, state)


def to_host(tree: Any) -> Any:
    """Every seed's values as numpy (over several processes, every process's blocks gathered)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)


def _agent(method: str):
    if method not in AGENTS:
        raise JaxmlError(f"config.method={method!r} is not an RL agent; choose one of {', '.join(AGENTS)}")
    return importlib.import_module(AGENTS[method])


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    agent = _agent(config.method)
    per_iter = steps_per_iteration(config)
    total, every, num_seeds = int(config.total_env_steps), int(config.eval_every), int(config.num_seeds)
    if num_seeds < 1:
        raise JaxmlError(f"config.num_seeds={num_seeds} must be >= 1")
    if every <= 0 or every % per_iter or total % every:
        raise JaxmlError(f"config.eval_every={every} must be a positive multiple of the env steps per "
                         f"iteration ({per_iter}) that divides total_env_steps={total}")
    mesh = seed_mesh(seed_devices(config))
    agent_config = agent.Config.from_config(config)
    init, train_chunk = agent.make_train(agent_config)
    seed_keys = jax.random.split(jax.random.key(int(config.seed)), num_seeds)
    eval_key = jax.random.fold_in(jax.random.key(int(config.seed)), 1)
    init_all = lambda keys: place_seeds(jax.jit(jax.vmap(init))(keys), mesh)  # see over_seeds
    chunk_all = seeds_in_turn(lambda s: train_chunk(s, every // per_iter), num_seeds) \
        if config.get("seed_loop", False) else \
        over_seeds(lambda s: train_chunk(s, every // per_iter), mesh, donate=True)
    eval_all = over_seeds(lambda s, k: agent.greedy_eval(agent_config, s, k), mesh)

    with Run(workdir, total=total, config=config, desc=f"{config.get('name', config.method)} env steps",
             unit="env step", checkpoint=bool(config.checkpoint), keep=int(config.keep_checkpoints),
             tensorboard=bool(config.tensorboard)) as run:
        state = run.restore(init_all(seed_keys))
        run.stop(None)  # a stop requested during set-up: nothing new to save
        while run.step < total:
            state, metrics = chunk_all(state)
            metrics = to_host(metrics)
            run.check_finite({k: np.asarray(v).T for k, v in metrics.items() if "loss" in k},  # [iterations, seeds]
                             per_row=per_iter)
            run.advance(every)
            evaluation = to_host(eval_all(state, place_seeds(
                jax.random.split(jax.random.fold_in(eval_key, run.step), num_seeds), mesh)))
            returns = np.asarray(evaluation["return_mean"])
            run.log("train", train_summary(metrics))
            run.log("eval", eval_summary(evaluation))
            run.bar.set_postfix({"eval_return": f"{returns.mean():.1f}"})
            run.save(state)
            if run.step < total:
                run.stop(state)
    steps = run.step
    evals = [r for r in read_metrics(workdir) if r.get("split") == "eval"]
    if not evals:
        raise JaxmlError(f"{workdir} has no evaluation logged; delete it or use a new --workdir")
    final = evals[-1]
    extras = {f"eval_{k}": final[k] for k in ("success_rate", "length_mean") if "success_rate" in final}
    extras.update({f"eval_{k}": final[k] for k in ("sampled_success_rate", "sampled_return_mean") if k in final})
    return {**extras, "steps": steps, "env_steps": steps, "eval_return": final["return_mean"],
            "eval_return_std": final["return_std"], "eval_return_per_seed": final["return_per_seed"],
            "eval_auc": float(np.mean([r["return_mean"] for r in evals])), "num_seeds": num_seeds}
