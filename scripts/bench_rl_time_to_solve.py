#!/usr/bin/env python
"""Time to solve CartPole-v1: wall-clock seconds, compile included, until the greedy return of
every one of 5 seeds is >= 475, jaxml's default experiment configs against PureJaxRL's.

jaxml (`dqn_cartpole`, `ppo_cartpole`, their configs as `jaxml train` runs them, 5 seeds vmapped
on one device): the runner's loop without its files (init, then `eval_every` env steps per
compiled chunk, then the greedy evaluation of every seed); the clock stops at the first evaluation
where all 5 seeds reach 475, else at the end of the run ("not solved").

PureJaxRL (its `dqn.py` / `ppo.py` from a local copy, `--purejaxrl-dir`, patched as
bench_rl_vs_purejaxrl.py describes; its CartPole hyper-parameters, which are jaxml's
`dqn.default_config()` / `ppo.default_config()`; 5 seeds vmapped): it trains for its whole
configured run and reports no evaluation on the way, so its time to solve is compile + the whole
run + one greedy evaluation of every seed (jaxml's `envs.evaluate`, 10 episodes), solved or not.

Rounds alternate the two sides, round r with seed r.

    python scripts/bench_rl_time_to_solve.py --purejaxrl-dir /tmp/purejaxrl --extra-path /tmp/fbx --rounds 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rl_bench_common import greedy_eval_fn, header  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

SOLVED = 475.0
SEEDS = 5


def jaxml_time_to_solve(experiment: str, seed: int) -> tuple[float, int, list[float]]:
    """(seconds, env steps at the solving evaluation or the end, that evaluation's per-seed returns)."""
    from jaxml import experiments
    from jaxml.rl import runner

    t0 = time.perf_counter()
    _, config = experiments.load_experiment_config(experiment, [f"--config.seed={seed}"])
    agent = runner._agent(config.method)
    per_iter = runner.steps_per_iteration(config)
    every, total = int(config.eval_every), int(config.total_env_steps)
    cfg = agent.Config.from_config(config)
    init, chunk = agent.make_train(cfg)
    keys = jax.random.split(jax.random.key(seed), SEEDS)
    state = jax.jit(jax.vmap(init))(keys)
    step_all = jax.jit(jax.vmap(lambda s: chunk(s, every // per_iter)), donate_argnums=0)
    eval_all = jax.jit(jax.vmap(lambda s, k: agent.greedy_eval(cfg, s, k)["return_mean"]))
    eval_key = jax.random.fold_in(jax.random.key(seed), 1)
    steps = 0
    while steps < total:
        state, _ = step_all(state)
        steps += every
        returns = np.asarray(eval_all(state, jax.random.split(jax.random.fold_in(eval_key, steps), SEEDS)))
        if (returns >= SOLVED).all():
            break
    return time.perf_counter() - t0, steps, returns.tolist()


def purejaxrl_time_to_solve(module, config: dict, seed: int, greedy) -> tuple[float, int, list[float]]:
    t0 = time.perf_counter()
    fn = jax.jit(jax.vmap(module.make_train(dict(config))))
    out = jax.block_until_ready(fn(jax.random.split(jax.random.PRNGKey(seed), SEEDS)))
    returns = [float(greedy(jax.tree.map(lambda x: x[i], out["runner_state"][0].params))) for i in range(SEEDS)]
    return time.perf_counter() - t0, int(config["TOTAL_TIMESTEPS"]), returns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--purejaxrl-dir", required=True)
    ap.add_argument("--extra-path", default="")
    ap.add_argument("--algos", default="dqn,ppo")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.purejaxrl_dir))
    if args.extra_path:
        sys.path.insert(0, os.path.abspath(args.extra_path))
    from bench_rl_vs_purejaxrl import purejaxrl_dqn_config, purejaxrl_ppo_config

    print(header(f"time to solve CartPole-v1 (all {SEEDS} seeds greedy >= {SOLVED:g}), compile included, "
                 f"{args.rounds} interleaved rounds"))
    for algo in [a.strip() for a in args.algos.split(",") if a.strip()]:
        if algo == "dqn":
            import dqn as pj
            from jaxml.defaults.rl import dqn as defaults
            pj_config = purejaxrl_dqn_config(defaults.default_config())
            net = pj.QNetwork(action_dim=2)
            greedy = lambda p: greedy_eval_fn(lambda o: jnp.argmax(net.apply(p, o), -1))
        else:
            import ppo as pj
            from jaxml.defaults.rl import ppo as defaults
            c = defaults.default_config()
            pj_config = purejaxrl_ppo_config(c)
            net = pj.ActorCritic(2, activation=c.activation)
            greedy = lambda p: greedy_eval_fn(lambda o: jnp.argmax(net.apply(p, o)[0].logits, -1))
        ratios = []
        for r in range(args.rounds):
            jx = jaxml_time_to_solve(f"{algo}_cartpole", r)
            pjr = purejaxrl_time_to_solve(pj, pj_config, r, greedy)
            for who, (dt, steps, rets) in (("jaxml", jx), ("PureJaxRL", pjr)):
                solved = "solved" if min(rets) >= SOLVED else "not solved"
                print(f"  {algo} round {r} {who:<10} {dt:7.1f} s  {solved:<10} at {steps:>7} env steps/seed  "
                      f"greedy per seed {[round(x, 1) for x in rets]}", flush=True)
            ratios.append(pjr[0] / jx[0])
        print(f"  {algo}: PureJaxRL seconds / jaxml seconds: median {statistics.median(ratios):.2f}x "
              f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x)", flush=True)


if __name__ == "__main__":
    main()
