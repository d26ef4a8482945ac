#!/usr/bin/env python
"""Env-steps/s of jaxml's DQN (and PPO) against num_envs and against vmapped num_seeds.

Each point is one short whole training run (`init` + `train_chunk` over all iterations, one jitted
call, vmapped over seeds where num_seeds > 1), compiled ahead of time (compile time reported
separately) and timed `--repeats` times (the median is reported). Hyper-parameters are the agents'
CartPole-v1 defaults (PureJaxRL's) except the run length, and for DQN `learning_starts`, which is
set to `--dqn-learning-starts` so that (almost) every iteration of the short run trains, as in the
bulk of a full run.

What one DQN iteration is: every env takes one step, the transitions go into the buffer, and at
most one gradient step (batch 128) runs when the env-step counter crosses a multiple of
`train_every` (10). With num_envs > 10 that is one gradient step per iteration, so more envs mean
fewer gradient steps per env step: the num_envs rows show the throughput of that algorithm, not of
a fixed amount of learning. Under `vmap` over seeds `lax.cond` becomes a select, so both branches
(update and no update) run on every iteration.

    python scripts/bench_rl_scaling.py --algos dqn,ppo
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rl_bench_common import JaxmlRun, header  # noqa: E402


def point(agent: str, config, num_seeds: int, repeats: int) -> tuple[float, float, int]:
    run = JaxmlRun(agent, config, num_seeds=num_seeds)
    times = [run.run(seed=r)[0] for r in range(repeats)]
    return statistics.median(times), run.compile_s, run.env_steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", default="dqn,ppo")
    p.add_argument("--envs", default="1,4,16,64,256,1024,4096")
    p.add_argument("--seeds", default="1,2,4,8,16,32")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--dqn-iterations", type=int, default=500,
                   help="iterations per num_envs run (at least --dqn-min-steps env steps)")
    p.add_argument("--dqn-min-steps", type=int, default=20_000)
    p.add_argument("--dqn-learning-starts", type=int, default=1_000)
    p.add_argument("--dqn-seed-steps", type=int, default=20_000,
                   help="env steps per seed in the num_seeds runs (num_envs=10)")
    p.add_argument("--ppo-iterations", type=int, default=4)
    p.add_argument("--ppo-seed-steps", type=int, default=65_536)
    args = p.parse_args()
    envs = [int(x) for x in args.envs.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    algos = [a.strip() for a in args.algos.split(",") if a.strip()]
    print(header(f"jaxml RL scaling, CartPole-v1, median of {args.repeats} timed runs per point"))

    def row(label, dt, compile_s, steps, extra=""):
        print(f"  {label:<32} {steps:>9} env steps {dt:7.2f} s {steps / dt:11.0f} env-steps/s  "
              f"compile {compile_s:5.1f} s{extra}", flush=True)

    if "dqn" in algos:
        from jaxml.defaults.rl import dqn

        def dqn_config(num_envs, total):
            c = dqn.default_config()
            c.num_envs = num_envs
            c.total_env_steps = total
            c.learning_starts = args.dqn_learning_starts
            return c

        print("  DQN, num_seeds=1, against num_envs (one gradient step per iteration at most)")
        for n in envs:
            total = max(args.dqn_min_steps, args.dqn_iterations * n)
            total -= total % n
            dt, cs, steps = point("dqn", dqn_config(n, total), 1, args.repeats)
            grads = total // max(n, 10)
            row(f"dqn num_envs={n}", dt, cs, steps, f"  ({grads} gradient steps)")
        print("  DQN, num_envs=10, against num_seeds (vmapped, one program)")
        for s in seeds:
            dt, cs, steps = point("dqn", dqn_config(10, args.dqn_seed_steps), s, args.repeats)
            row(f"dqn num_seeds={s}", dt, cs, steps)

    if "ppo" in algos:
        try:
            from jaxml.defaults.rl import ppo as ppo_defaults
            from jaxml.rl import ppo
        except ImportError as e:
            print(f"  PPO: jaxml.rl.ppo is not available ({e}); skipped")
            return

        def ppo_config(num_envs, total):
            c = ppo_defaults.default_config()
            c.num_envs = num_envs
            c.total_env_steps = total
            return c

        print("  PPO, num_seeds=1, against num_envs (num_steps=128, 4 epochs x 4 minibatches)")
        for n in envs:
            c = ppo_config(n, 1)
            total = args.ppo_iterations * ppo.steps_per_iteration(c)
            dt, cs, steps = point("ppo", ppo_config(n, total), 1, args.repeats)
            row(f"ppo num_envs={n}", dt, cs, steps)
        print("  PPO, num_envs=4, against num_seeds (vmapped, one program)")
        for s in seeds:
            dt, cs, steps = point("ppo", ppo_config(4, args.ppo_seed_steps), s, args.repeats)
            row(f"ppo num_seeds={s}", dt, cs, steps)


if __name__ == "__main__":
    main()
