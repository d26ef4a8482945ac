#!/usr/bin/env python
"""jaxml's DQN and PPO against PureJaxRL's own dqn.py / ppo.py on CartPole-v1, side by side.

PureJaxRL is not a dependency and nothing of it is in this repository: pass a local copy with
`--purejaxrl-dir` (a folder holding its `dqn.py` and `ppo.py`), patched to run on gymnax 1.x
(BENCHMARKS.md, "Reinforcement learning", describes the patch). Its DQN needs flashbax: put it on
the path with `--extra-path` (e.g. a `pip install --target` folder).

Both sides get the same hyper-parameters: jaxml's `dqn.default_config()` / `ppo.default_config()`
(PureJaxRL's CartPole values) are translated into PureJaxRL's config dicts here. Each side's whole
training run is compiled ahead of time (compile time reported separately) and then timed as one
call; the sides alternate (jaxml, PureJaxRL, jaxml, ...) over `--rounds` rounds with a different
seed per round, because this shared machine's speed drifts. Returns are reported for both: the
training-episode return over the last 10% of iterations and the greedy return of the final
network on 10 fresh episodes (jaxml's `envs.evaluate` for both).

    python scripts/bench_rl_vs_purejaxrl.py --purejaxrl-dir /tmp/purejaxrl --extra-path /tmp/fbx \\
        --algos dqn,ppo --rounds 3 [--seeds 8] [--devices 2]

jaxml also runs over `--devices` host devices (default 2; on this 2-core CPU, two cores working at
once): with several seeds, the seeds spread over the devices (`parallel.seed_devices`); with one
seed, PPO's envs (`parallel.num_devices`, Anakin). PureJaxRL runs as it is written, on one device.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402

from jaxml.core.platform import request_host_devices  # noqa: E402
from rl_bench_common import (JaxmlRun, greedy_eval_fn, header, last_fraction_mean,  # noqa: E402
                             ratio_summary, timed)


def purejaxrl_dqn_config(c) -> dict:
    return {"NUM_ENVS": c.num_envs, "BUFFER_SIZE": c.buffer_size, "BUFFER_BATCH_SIZE": c.batch_size,
            "TOTAL_TIMESTEPS": c.total_env_steps, "EPSILON_START": c.eps_start,
            "EPSILON_FINISH": c.eps_end, "EPSILON_ANNEAL_TIME": c.eps_fraction * c.total_env_steps,
            "TARGET_UPDATE_INTERVAL": c.target_update_every, "LR": c.learning_rate,
            "LEARNING_STARTS": c.learning_starts, "TRAINING_INTERVAL": c.train_every,
            "LR_LINEAR_DECAY": False, "GAMMA": c.gamma, "TAU": c.tau, "ENV_NAME": c.env}


def purejaxrl_ppo_config(c) -> dict:
    return {"LR": c.learning_rate, "NUM_ENVS": c.num_envs, "NUM_STEPS": c.num_steps,
            "TOTAL_TIMESTEPS": c.total_env_steps, "UPDATE_EPOCHS": c.update_epochs,
            "NUM_MINIBATCHES": c.num_minibatches, "GAMMA": c.gamma, "GAE_LAMBDA": c.gae_lambda,
            "CLIP_EPS": c.clip_eps, "ENT_COEF": c.ent_coef, "VF_COEF": c.vf_coef,
            "MAX_GRAD_NORM": c.max_grad_norm, "ACTIVATION": c.activation, "ENV_NAME": c.env,
            "ANNEAL_LR": bool(c.anneal_lr), "DEBUG": False}


class PureJaxRLRun:
    """PureJaxRL's `make_train(config)(key)`, jitted (and vmapped over seeds), compiled ahead."""

    def __init__(self, module, config: dict, num_seeds: int, env_steps: int):
        self.module, self.num_seeds = module, num_seeds
        fn = module.make_train(dict(config))
        fn = jax.vmap(fn) if num_seeds > 1 else fn
        self.env_steps = env_steps * num_seeds
        dt, self.compiled = timed(lambda: jax.jit(fn).lower(self._keys(0)).compile())
        self.compile_s = dt

    def _keys(self, seed):
        key = jax.random.PRNGKey(seed)
        return jax.random.split(key, self.num_seeds) if self.num_seeds > 1 else key

    def run(self, seed):
        return timed(lambda: self.compiled(self._keys(seed)))


def compare(name: str, variants: list[tuple[str, JaxmlRun]], pj: PureJaxRLRun, rounds: int, pj_returns,
            pj_greedy) -> None:
    """Interleaved rounds: every jaxml variant, then PureJaxRL, round r with seed r; each variant's
    env-steps/s ratio to PureJaxRL's in the same round."""
    n = pj.num_seeds
    s = f" x{n} seeds vmapped" if n > 1 else ""
    compiles = ", ".join(f"jaxml[{label}] {jx.compile_s:.1f} s" for label, jx in variants)
    print(f"  {name}{s}: compile {compiles}, PureJaxRL {pj.compile_s:.1f} s; "
          f"{pj.env_steps} env steps per call", flush=True)
    rates: dict[str, list[float]] = {label: [] for label, _ in variants}
    base = []
    width = max(len(label) for label, _ in variants) + 8
    for r in range(rounds):
        for label, jx in variants:
            dt, state, m = jx.run(seed=r)
            g = jx.greedy_return(state)
            rates[label].append(jx.env_steps / dt)
            print(f"    round {r} {'jaxml[' + label + ']':<{width}} {dt:7.2f} s {jx.env_steps / dt:9.0f} steps/s  "
                  f"train return (last 10%) {last_fraction_mean(m['return']).mean():6.1f}  greedy mean "
                  f"{g.mean():6.1f} min {g.min():6.1f}", flush=True)
        dt, out = pj.run(seed=r)
        g = np.atleast_1d(pj_greedy(out))
        base.append(pj.env_steps / dt)
        print(f"    round {r} {'PureJaxRL':<{width}} {dt:7.2f} s {pj.env_steps / dt:9.0f} steps/s  train return "
              f"(last 10%) {np.mean(pj_returns(out)):6.1f}  greedy mean {g.mean():6.1f}"
              f" min {g.min():6.1f}", flush=True)
    for label, _ in variants:
        print(f"    jaxml[{label}] / PureJaxRL env-steps/s: {ratio_summary(rates[label], base)}", flush=True)


def variants_for(agent: str, c, n: int, devices: int) -> list[tuple[str, JaxmlRun]]:
    """jaxml on one device, and over `devices` devices: the seeds spread over them (the runner's
    `parallel.seed_devices`) when there are several seeds, one seed's envs (PPO's Anakin,
    `parallel.num_devices`) when there is one; DQN has no one-seed mesh variant."""
    out = [("1 device", JaxmlRun(agent, c, num_seeds=n))]
    if devices > 1 and n > 1 and n % devices == 0:
        out.append((f"seeds over {devices} devices", JaxmlRun(agent, c, num_seeds=n, seed_devices=devices)))
    elif devices > 1 and n == 1 and agent == "ppo" and c.num_envs % devices == 0:
        anakin = ml_collections.ConfigDict(c.to_dict())
        anakin.parallel.num_devices = devices
        out.append((f"envs over {devices} devices", JaxmlRun(agent, anakin, num_seeds=n)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--purejaxrl-dir", required=True, help="folder with PureJaxRL's dqn.py / ppo.py")
    p.add_argument("--extra-path", default="", help="extra sys.path entry (e.g. flashbax target dir)")
    p.add_argument("--algos", default="dqn,ppo")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seeds", type=int, default=1, help="seeds vmapped in one program, both sides")
    p.add_argument("--devices", type=int, default=2,
                   help="host devices for jaxml's mesh variants (1: one-device runs only); PureJaxRL uses one")
    p.add_argument("--dqn-steps", type=int, default=500_000)
    p.add_argument("--ppo-steps", type=int, default=500_000)
    p.add_argument("--dqn-vanilla", action="store_true",
                   help="jaxml's DQN with double_q=False and max_grad_norm=0: PureJaxRL's two-pass target "
                        "and no gradient clipping (equal algorithms)")
    args = p.parse_args()
    request_host_devices(args.devices)  # before jax creates its backend

    sys.path.insert(0, os.path.abspath(args.purejaxrl_dir))
    if args.extra_path:
        sys.path.insert(0, os.path.abspath(args.extra_path))
    print(header(f"jaxml vs PureJaxRL (local copy in {args.purejaxrl_dir}), CartPole-v1, "
                 f"{args.rounds} interleaved rounds"))
    algos = [a.strip() for a in args.algos.split(",") if a.strip()]
    n = args.seeds

    if "dqn" in algos:
        import dqn as pj_dqn

        from jaxml.defaults.rl import dqn

        c = dqn.default_config()
        c.total_env_steps = args.dqn_steps
        if args.dqn_vanilla:  # PureJaxRL's DQN: the max over the target net's Q, unclipped gradients
            c.double_q, c.max_grad_norm = False, 0.0
        variants = variants_for("dqn", c, n, args.devices)
        pj = PureJaxRLRun(pj_dqn, purejaxrl_dqn_config(c), n, variants[0][1].env_steps // n)
        net = pj_dqn.QNetwork(action_dim=2)

        def greedy(out):
            params = out["runner_state"][0].params
            one = lambda p_: greedy_eval_fn(lambda o: jnp.argmax(net.apply(p_, o), -1))
            if n == 1:
                return one(params)
            return [one(jax.tree.map(lambda x: x[i], params)) for i in range(n)]

        compare("DQN", variants, pj, args.rounds,
                lambda out: last_fraction_mean(out["metrics"]["returns"]), greedy)

    if "ppo" in algos:
        try:
            from jaxml.defaults.rl import ppo
        except ImportError as e:
            print(f"  PPO: jaxml.defaults.rl.ppo is not available ({e}); skipped")
            return
        import ppo as pj_ppo

        c = ppo.default_config()
        c.total_env_steps = args.ppo_steps
        variants = variants_for("ppo", c, n, args.devices)
        pj = PureJaxRLRun(pj_ppo, purejaxrl_ppo_config(c), n, variants[0][1].env_steps // n)
        net = pj_ppo.ActorCritic(2, activation=c.activation)

        def greedy(out):
            params = out["runner_state"][0].params
            one = lambda p_: greedy_eval_fn(lambda o: jnp.argmax(net.apply(p_, o)[0].logits, -1))
            if n == 1:
                return one(params)
            return [one(jax.tree.map(lambda x: x[i], params)) for i in range(n)]

        def train_returns(out):
            # [(seeds,) updates, steps, envs] -> mean over steps and envs, last 10% of updates
            r = np.asarray(out["metrics"]["returned_episode_returns"], np.float64)
            return last_fraction_mean(r.mean(axis=(-1, -2)))

        compare("PPO", variants, pj, args.rounds, train_returns, greedy)


if __name__ == "__main__":
    main()
