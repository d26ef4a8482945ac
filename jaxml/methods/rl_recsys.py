"""Long-run return of an RL agent against contextual bandits on the sequential recommender
(`rl/envs_recsys.SequentialRecsys`, "SeqRecsys-v0": a user whose boredom and satisfaction drift with
what was recommended, so the myopic choice is not the best over a session).

`train(config, workdir)` runs, on the same env and `config.num_seeds` seeds:

- the RL agent `config.rl` (an RL runner config, e.g. PPO's; `jaxml.rl.runner.train`, unchanged, in
  workdir/rl): its long-run return is the runner's final greedy evaluation (`eval_return`, the mean
  return of `rl.eval_episodes` fresh sessions per seed);
- every bandit of `config.bandits` (`BANDITS`: the per-arm ridge agents of `methods/bandits.py`,
  `config.bandit` their hyper-parameters), learning online from the immediate rewards for
  `config.bandit_sessions` sessions (the observation plus a constant 1 as the context), then frozen
  and evaluated greedily (argmax of the ridge means theta_a . x, like the RL agent's greedy policy) on
  `config.eval_sessions` fresh sessions; one jitted function of the seed's key, `vmap`-ed over seeds;
- every reference policy of `config.policies` (`POLICIES`): "random" (uniform categories) and
  "myopic" (the argmax of the env's true expected immediate reward: what a bandit that learned the
  immediate reward perfectly would do, the bandits' ceiling), evaluated the same way.

result.json: per agent (`rl`, each bandit, each policy) `<name>_return` (mean over seeds of the mean
session return), `_std` (over seeds), `_per_seed`; per bandit `rl_gain_over_<bandit>` = rl_return -
<bandit>_return, `<bandit>_learning_return` (its mean session return over the last quarter of its
online sessions, exploration included) and, with "myopic" among the policies, `<bandit>_vs_myopic` =
<bandit>_return / myopic_return (about 1 when the bandit has learned the immediate reward); `rl_env_steps`, `bandit_env_steps` (per seed); `summary_plot`: plots/returns.png,
the long-run returns (mean +- std over seeds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core.config import check_int
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.registry import choose
from jaxml.errors import JaxmlError
from jaxml.methods.bandits import AGENTS as BANDIT_AGENTS, Agent
from jaxml.rl import envs, runner

# the bandits whose state is `methods.bandits.Ridge` (their greedy policy is argmax theta_a . x)
BANDITS: dict[str, Callable[[ml_collections.ConfigDict], Agent]] = {
    name: BANDIT_AGENTS[name] for name in ("epsilon_greedy", "linucb", "thompson")}

# fixed reference policies: env -> policy(obs [B, D], key) -> actions [B]
POLICIES: dict[str, Callable[[Any], Callable[[jax.Array, jax.Array], jax.Array]]] = {
    "random": lambda env: lambda obs, key: jax.random.randint(key, obs.shape[:1], 0, env.num_actions),
    "myopic": lambda env: lambda obs, key: jnp.argmax(env.expected_rewards(obs), -1).astype(jnp.int32),
}


def with_bias(obs: jax.Array) -> jax.Array:
    """The bandit's context: the observation and a constant 1 (the ridge models' intercept)."""
    return jnp.concatenate([obs, jnp.ones(obs.shape[:-1] + (1,), obs.dtype)], -1)


def make_bandit_run(env, params, agent: Agent, sessions: int, eval_sessions: int) -> Callable:
    """run(key) -> (session returns while learning [sessions], greedy returns [eval_sessions]): the
    bandit acts and updates on one env stream of `sessions` sessions (the first reset from
    fold_in(key, 0), the env's steps from fold_in(key, 1), the agent's randomness from fold_in(key, 2),
    its init from fold_in(key, 3)), then its greedy
    policy is evaluated (`envs.evaluate`, fold_in(key, 4)) on fresh sessions."""
    length = int(params.session_length)
    num_arms, dim = env.num_actions, env.observation_space(params).shape[0] + 1

    def run(key):
        env_key, agent_key = jax.random.fold_in(key, 1), jax.random.fold_in(key, 2)
        obs, env_state = env.reset(jax.random.fold_in(key, 0), params)

        def step(carry, t):
            obs, env_state, state = carry
            x = with_bias(obs)
            arm = agent.act(state, x, jax.random.fold_in(agent_key, t))
            obs, env_state, reward, _, _, _ = env.step(jax.random.fold_in(env_key, t), env_state, arm, params)
            return (obs, env_state, agent.update(state, x, arm, reward)), reward

        state = agent.init(jax.random.fold_in(key, 3), num_arms, dim)
        (_, _, state), rewards = jax.lax.scan(step, (obs, env_state, state), jnp.arange(sessions * length))

        def greedy(obs, _key):
            return jnp.argmax(with_bias(obs) @ state.theta.T, -1).astype(jnp.int32)

        evaluation = envs.evaluate(jax.random.fold_in(key, 4), greedy, env, params, eval_sessions)
        return rewards.reshape(sessions, length).sum(-1), evaluation["returns"]

    return run


def per_seed_summary(name: str, returns: np.ndarray) -> dict[str, Any]:
    """<name>_return (mean over seeds), _std (over seeds), _per_seed from per-seed mean returns."""
    returns = np.asarray(returns, np.float64)
    return {f"{name}_return": float(returns.mean()), f"{name}_return_std": float(returns.std()),
            f"{name}_return_per_seed": [float(r) for r in returns]}


def plot_returns(summary: dict[str, Any], names: list[str], title: str, out: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    means = [summary[f"{n}_return"] for n in names]
    stds = [summary[f"{n}_return_std"] for n in names]
    ax.bar(names, means, yerr=stds, capsize=4, color=["C0"] + ["C1"] * (len(names) - 1))
    ax.set_ylabel("session return (greedy)"); ax.grid(alpha=0.3, axis="y")
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    bandits = {name: choose(BANDITS, name, "config.bandits")(config.bandit) for name in config.bandits}
    policies = {name: choose(POLICIES, name, "config.policies") for name in config.policies}
    if not bandits:
        raise JaxmlError(f"config.bandits=() is empty; choose from {', '.join(BANDITS)}")
    if config.rl.env != config.env:
        raise JaxmlError(f"config.rl.env={config.rl.env!r} must be config.env={config.env!r}")
    num_seeds = check_int(config.num_seeds, "config.num_seeds", 1)
    sessions = check_int(config.bandit_sessions, "config.bandit_sessions", 4)
    eval_sessions = check_int(config.eval_sessions, "config.eval_sessions", 1)
    env, params = envs.make_env(config.env)
    if not hasattr(env, "expected_rewards"):
        raise JaxmlError(f"config.env={config.env!r} has no expected_rewards(obs); use 'SeqRecsys-v0'")

    rl_config = ml_collections.ConfigDict(config.rl.to_dict())
    rl_config.num_seeds, rl_config.seed = num_seeds, int(config.seed)
    rl = runner.train(rl_config, Path(workdir) / "rl")
    out: dict[str, Any] = {"env": config.env, "num_seeds": num_seeds, "rl_agent": rl_config.method,
                           "session_length": int(params.session_length), "rl_env_steps": int(rl["env_steps"]),
                           "bandit_env_steps": sessions * int(params.session_length),
                           **per_seed_summary("rl", rl["eval_return_per_seed"])}
    keys = jax.vmap(jax.random.key)(int(config.seed) + jnp.arange(num_seeds))
    for name, agent in bandits.items():
        learning, greedy = jax.device_get(jax.jit(jax.vmap(
            make_bandit_run(env, params, agent, sessions, eval_sessions)))(keys))
        out.update(per_seed_summary(name, greedy.mean(-1)))
        out[f"{name}_learning_return"] = float(learning[:, -(sessions // 4):].mean())
        out[f"rl_gain_over_{name}"] = out["rl_return"] - out[f"{name}_return"]
    for name, policy in policies.items():
        returns = jax.device_get(jax.jit(jax.vmap(
            lambda k, p=policy(env): envs.evaluate(k, p, env, params, eval_sessions)["return_mean"]))(keys))
        out.update(per_seed_summary(name, returns))
    if "myopic" in policies:
        for name in bandits:
            out[f"{name}_vs_myopic"] = out[f"{name}_return"] / out["myopic_return"]
    if jax.process_index() == 0:
        plot_returns(out, ["rl", *bandits, *policies],
                     f"{config.env}: {rl_config.method} vs bandits, {num_seeds} seeds", Path(workdir) / "plots" / "returns.png")
    out["summary_plot"] = "plots/returns.png"
    return out
