#!/usr/bin/env python
"""jaxml's DQN (the whole run in one jitted `lax.scan`) against a host-loop DQN, side by side.

The host loop is the usual "seed-style" / CleanRL-style program: a gymnasium CartPole-v1 vector env
(`SyncVectorEnv` of `num_envs` envs, same-step auto-reset so the true final observation is stored),
epsilon-greedy actions from a jitted Q-network, a numpy ring buffer sampled uniformly with numpy, and
a jitted gradient step. Everything the learner computes is the same as `jaxml.rl.dqn` with its
default (PureJaxRL) hyper-parameters: the same MLP (jaxml.models.mlp.MLP, 120-84), the same
double-Q TD target (`jaxml.rl.dqn.td_target`, terminated-only bootstrap), the same optimizer (global
norm clipping + Adam), batch size, learning start, train frequency, hard target update period and
epsilon schedule. Only the loop differs: Python drives the env, buffer and two jitted calls per
iteration (act, update) instead of one compiled program.

Both are timed over whole training runs of `--steps` env steps after compilation (compile / warm-up
times are reported separately). The sides alternate (jaxml, host, jaxml, host, ...) because this
shared machine's speed drifts; the ratio is the median of the per-round ratios. Final returns are
reported for both (training-episode return over the last 10% of iterations, and the greedy return
of the final network on 10 fresh gymnax episodes), so the comparison is of two runs that learn.

    python scripts/bench_rl_host_loop.py --steps 500000 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from rl_bench_common import (JaxmlRun, greedy_eval_fn, header, last_fraction_mean,  # noqa: E402
                             ratio_summary)


class HostDQN:
    """A host-loop DQN on gymnasium with the same learner as jaxml.rl.dqn (see module doc)."""

    def __init__(self, config):
        import gymnasium as gym

        from jaxml.models.mlp import MLP
        from jaxml.rl.dqn import td_target

        self.gym = gym
        self.c = config
        self.num_actions = 2
        self.network = MLP(num_classes=self.num_actions, hidden=tuple(config.hidden))
        self.tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                              optax.adam(config.learning_rate))
        gamma, double_q = float(config.gamma), bool(config.double_q)
        q = lambda p, o: self.network.apply(p, o, train=False)

        def act(params, obs):
            return jnp.argmax(q(params, obs), axis=-1)

        def loss_fn(params, target_params, obs, action, reward, next_obs, terminated):
            q_sa = jnp.take_along_axis(q(params, obs), action[:, None], axis=-1)[:, 0]
            nq_online = jax.lax.stop_gradient(q(params, next_obs)) if double_q else None
            target = td_target(reward, terminated, q(target_params, next_obs), nq_online, gamma,
                               double_q)
            return jnp.mean((q_sa - target) ** 2)

        def update(params, target_params, opt_state, obs, action, reward, next_obs, terminated):
            loss, grads = jax.value_and_grad(loss_fn)(params, target_params, obs, action, reward,
                                                      next_obs, terminated)
            updates, opt_state = self.tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        self.act = jax.jit(act)
        self.update = jax.jit(update)

    def warmup(self, seed: int = 0) -> float:
        """Compiles act and update (seconds); the timed runs reuse the compiled functions."""
        c = self.c
        t = time.perf_counter()
        params = self.network.init(jax.random.PRNGKey(seed), jnp.zeros((c.num_envs, 4)), train=False)
        opt_state = self.tx.init(params)
        np.asarray(self.act(params, np.zeros((c.num_envs, 4), np.float32)))
        b = c.batch_size
        out = self.update(params, params, opt_state, np.zeros((b, 4), np.float32),
                          np.zeros((b,), np.int32), np.zeros((b,), np.float32),
                          np.zeros((b, 4), np.float32), np.zeros((b,), bool))
        jax.block_until_ready(out)
        return time.perf_counter() - t

    def train(self, total_steps: int, seed: int):
        """One whole training run. Returns (seconds, env_steps, params, per-iteration returns)."""
        c, gym = self.c, self.gym
        n, cap, b = int(c.num_envs), int(c.buffer_size), int(c.batch_size)
        envs = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="sync",
                            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
        rng = np.random.default_rng(seed)
        t0 = time.perf_counter()
        params = self.network.init(jax.random.PRNGKey(seed), jnp.zeros((n, 4)), train=False)
        target_params = params
        opt_state = self.tx.init(params)
        buf_obs = np.zeros((cap, 4), np.float32)
        buf_next = np.zeros((cap, 4), np.float32)
        buf_act = np.zeros((cap,), np.int32)
        buf_rew = np.zeros((cap,), np.float32)
        buf_term = np.zeros((cap,), bool)
        pos, size = 0, 0
        obs, _ = envs.reset(seed=seed)
        ep_ret = np.zeros(n)
        last_ret = np.zeros(n)
        finished = np.zeros(n, bool)
        eps_duration = max(float(c.eps_fraction) * float(c.total_env_steps), 1.0)
        steps = 0
        iters = total_steps // n
        returns = np.zeros(iters, np.float32)
        for it in range(iters):
            eps = c.eps_start + (c.eps_end - c.eps_start) * min(steps / eps_duration, 1.0)
            greedy = np.asarray(self.act(params, obs))
            explore = rng.random(n) < eps
            action = np.where(explore, rng.integers(0, self.num_actions, n), greedy)
            next_obs, reward, term, trunc, info = envs.step(action)
            real_next = next_obs.copy()
            if "_final_obs" in info:
                for i in np.nonzero(info["_final_obs"])[0]:
                    real_next[i] = info["final_obs"][i]
            slots = (pos + np.arange(n)) % cap
            buf_obs[slots], buf_next[slots], buf_act[slots] = obs, real_next, action
            buf_rew[slots], buf_term[slots] = reward, term
            pos, size = (pos + n) % cap, min(size + n, cap)
            obs = next_obs
            ep_ret += reward
            done = term | trunc
            last_ret = np.where(done, ep_ret, last_ret)
            finished |= done
            ep_ret[done] = 0.0
            returns[it] = last_ret[finished].mean() if finished.any() else 0.0

            prev, steps = steps, steps + n
            learning = steps >= c.learning_starts
            if learning and steps // c.train_every > prev // c.train_every and size >= b:
                idx = rng.integers(0, size, b)
                params, opt_state, _ = self.update(params, target_params, opt_state, buf_obs[idx],
                                                   buf_act[idx], buf_rew[idx], buf_next[idx],
                                                   buf_term[idx])
            if learning and steps // c.target_update_every > prev // c.target_update_every:
                target_params = params  # tau = 1: hard copy (jax arrays are immutable)
        jax.block_until_ready(params)
        dt = time.perf_counter() - t0
        envs.close()
        return dt, steps, params, returns


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=500_000, help="env steps per training run")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (jaxml, host, ...)")
    p.add_argument("--seeds", type=int, default=0,
                   help="also time jaxml with this many seeds vmapped in one program (0: skip)")
    args = p.parse_args()

    from jaxml.models.mlp import MLP
    from jaxml.defaults.rl import dqn

    config = dqn.default_config()
    config.total_env_steps = args.steps
    print(header(f"DQN CartPole-v1, PureJaxRL hyper-parameters (jaxml.defaults.rl.dqn.default_config), "
                 f"{args.steps} env steps per run, {args.rounds} interleaved rounds"))

    jx = JaxmlRun("dqn", config)
    host = HostDQN(config)
    host_compile = host.warmup()
    jxs = JaxmlRun("dqn", config, num_seeds=args.seeds) if args.seeds > 1 else None
    print(f"  compile: jaxml {jx.compile_s:.1f} s (whole run), host loop {host_compile:.1f} s "
          f"(act + update)" + (f", jaxml x{args.seeds} seeds {jxs.compile_s:.1f} s" if jxs else ""))

    net = MLP(num_classes=2, hidden=tuple(config.hidden))
    rows = {"jaxml": [], "host": [], "seeds": []}
    for r in range(args.rounds):
        dt, state, m = jx.run(seed=r)
        g = jx.greedy_return(state)[0]
        rows["jaxml"].append(jx.env_steps / dt)
        print(f"  round {r} jaxml whole run      {dt:7.1f} s {jx.env_steps / dt:9.0f} steps/s  "
              f"train return (last 10%) {last_fraction_mean(m['return']):6.1f}  greedy {g:6.1f}",
              flush=True)
        dt, steps, params, rets = host.train(args.steps, seed=r)
        g = greedy_eval_fn(lambda o: jnp.argmax(net.apply(params, o, train=False), -1))
        rows["host"].append(steps / dt)
        print(f"  round {r} host loop (gymnasium)  {dt:7.1f} s {steps / dt:9.0f} steps/s  "
              f"train return (last 10%) {last_fraction_mean(rets):6.1f}  greedy {g:6.1f}",
              flush=True)
        if jxs is not None:
            dt, state, m = jxs.run(seed=r)
            g = jxs.greedy_return(state)
            rows["seeds"].append(jxs.env_steps / dt)
            print(f"  round {r} jaxml x{args.seeds} seeds vmap {dt:6.1f} s {jxs.env_steps / dt:9.0f} "
                  f"steps/s  train return (last 10%) mean "
                  f"{last_fraction_mean(m['return'], axis=-1).mean():6.1f}  greedy mean {g.mean():6.1f}"
                  f" (min {g.min():.1f})", flush=True)
    print(f"  jaxml / host loop env-steps/s: {ratio_summary(rows['jaxml'], rows['host'])}")
    if jxs is not None:
        print(f"  jaxml x{args.seeds} seeds (total env-steps/s) / host loop (1 run): "
              f"{ratio_summary(rows['seeds'], rows['host'])}")


if __name__ == "__main__":
    main()
