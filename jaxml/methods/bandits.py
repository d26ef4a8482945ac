"""Contextual-bandit agents on `rl/envs_bandit.ContextualBandit`: epsilon-greedy, LinUCB and linear
Thompson sampling (docs/references.md#bandits-and-off-policy-evaluation), cumulative regret vmapped
over seeds.

Each agent is a value of `AGENTS`: a bundle `Agent(init, act, update)` of pure functions over one
state, the per-arm ridge regression every linear agent keeps (`Ridge`: the inverse Gram matrix
(lambda I + sum x x^T)^-1 by Sherman-Morrison rank-one updates, and b = sum r x; theta_hat = A^-1 b):

- "epsilon_greedy": with probability epsilon a uniform arm, else argmax_a theta_hat_a . x.
- "linucb" (Li et al. 2010, disjoint model): argmax_a theta_hat_a . x + alpha sqrt(x^T A_a^-1 x).
- "thompson" (Agrawal & Goyal 2013): theta~_a ~ N(theta_hat_a, v^2 A_a^-1) per arm, argmax theta~_a . x.
- "neural_thompson" (neural-linear, Riquelme et al. 2018): the same Thompson step on the last hidden
  layer of a reward network (`models/reward_net.py`) refitted every `neural.refit_every` rounds.

`train(config, workdir)` runs every agent of `config.agents` for `config.horizon` rounds on
`config.num_seeds` problems (seed s draws the reward parameters, the contexts and the noise; every agent
sees the same problem per seed), the whole run one `lax.scan` of env steps and agent updates, jitted and
`vmap`-ed over the seeds. Regret of a round: max_a mu(x, a) - mu(x, a_t), the env's known means.

result.json per agent: `<agent>_regret` (cumulative regret at the horizon, mean over seeds), `_std`,
`_per_seed`; `<agent>_regret_exponent` = log2(R(T) / R(T/2)) of the mean curve (1 for linear growth,
0.5 for sqrt(T)); `<agent>_late_regret_per_round` (mean regret per round over the second half);
`<agent>_regret_vs_<baseline>` = its regret / that of `config.regret_baseline` (epsilon-greedy by
default); `summary_plot`:
plots/regret.png, the cumulative regret curves (mean +- std over seeds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core.config import check_int, check_number
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.registry import choose
from jaxml.errors import JaxmlError
from jaxml.models.reward_net import RewardNet
from jaxml.rl.envs_bandit import REWARD_MODELS, ContextualBandit


class Ridge(NamedTuple):
    """Per-arm ridge regression: cov [K, d, d] = (lambda I + sum x x^T)^-1 and b [K, d] = sum r x."""
    cov: jax.Array
    b: jax.Array

    @property
    def theta(self) -> jax.Array:
        return jnp.einsum("kij,kj->ki", self.cov, self.b)


def ridge_init(num_arms: int, dim: int, ridge: float) -> Ridge:
    return Ridge(jnp.tile(jnp.eye(dim) / ridge, (num_arms, 1, 1)), jnp.zeros((num_arms, dim)))


def ridge_update(stats: Ridge, x: jax.Array, arm: jax.Array, reward: jax.Array) -> Ridge:
    """The played arm's statistics after (x, reward): cov <- cov - cov x x^T cov / (1 + x^T cov x)."""
    cov = stats.cov[arm]
    cx = cov @ x
    cov = cov - jnp.outer(cx, cx) / (1.0 + x @ cx)
    return Ridge(stats.cov.at[arm].set(cov), stats.b.at[arm].add(reward * x))


class Agent(NamedTuple):
    """init(key, num_arms, dim) -> state; act(state, x, key) -> arm; update(state, x, arm, reward) ->
    state; refit(state) -> state, called after every `refit_every` rounds (0: never)."""
    init: Callable[[jax.Array, int, int], Any]
    act: Callable[[Any, jax.Array, jax.Array], jax.Array]
    update: Callable[[Any, jax.Array, jax.Array, jax.Array], Any]
    refit: Callable[[Any], Any] = lambda state: state
    refit_every: int = 0


def ridge_agent(c: ml_collections.ConfigDict, act: Callable) -> Agent:
    """An agent on per-arm ridge statistics of the raw context (lambda = config.ridge)."""
    return Agent(lambda key, k, d: ridge_init(k, d, float(c.ridge)), act, ridge_update)


def epsilon_greedy(c: ml_collections.ConfigDict) -> Agent:
    epsilon = check_number(c.epsilon, "config.epsilon", 0.0, 1.0)

    def act(stats, x, key):
        explore, pick = jax.random.split(key)
        greedy = jnp.argmax(stats.theta @ x)
        return jnp.where(jax.random.uniform(explore) < epsilon, jax.random.randint(pick, (), 0, stats.b.shape[0]),
                         greedy)

    return ridge_agent(c, act)


def linucb(c: ml_collections.ConfigDict) -> Agent:
    alpha = check_number(c.ucb_alpha, "config.ucb_alpha", 0.0)

    def act(stats, x, key):
        width = jnp.sqrt(jnp.einsum("i,kij,j->k", x, stats.cov, x))
        return jnp.argmax(stats.theta @ x + alpha * width)

    return ridge_agent(c, act)


def thompson_arm(stats: Ridge, phi: jax.Array, scale: float, key: jax.Array) -> jax.Array:
    """argmax_a theta~_a . phi with theta~_a ~ N(theta_hat_a, scale^2 cov_a)."""
    chol = jnp.linalg.cholesky(stats.cov)
    sample = stats.theta + scale * jnp.einsum("kij,kj->ki", chol, jax.random.normal(key, stats.b.shape))
    return jnp.argmax(sample @ phi)


def linear_thompson(c: ml_collections.ConfigDict) -> Agent:
    scale = check_number(c.thompson_scale, "config.thompson_scale", 0.0)
    return ridge_agent(c, lambda stats, x, key: thompson_arm(stats, x, scale, key))


class NeuralLinear(NamedTuple):
    """The neural-linear agent's state: the reward network, its optimizer, every round so far (a buffer
    of `horizon` rows, the first `count` filled) and the per-arm ridge statistics of phi(x)."""
    params: Any
    opt: Any
    xs: jax.Array       # [T, d]
    arms: jax.Array     # [T]
    rewards: jax.Array  # [T]
    count: jax.Array
    stats: Ridge


def neural_thompson(c: ml_collections.ConfigDict) -> Agent:
    """Neural-linear Thompson sampling (Riquelme et al. 2018): a `RewardNet` fitted by Adam to the
    played arms' rewards (MSE over every round so far, `neural.sgd_steps` steps after every
    `neural.refit_every` rounds), and linear Thompson sampling on its last hidden layer phi(x), whose
    per-arm ridge statistics are rebuilt from the whole history after each refit and updated by
    Sherman-Morrison in between."""
    n = c.neural
    scale = check_number(c.thompson_scale, "config.thompson_scale", 0.0)
    horizon, ridge = int(c.horizon), float(c.ridge)
    refit_every, sgd_steps = check_int(n.refit_every, "config.neural.refit_every", 1), check_int(
        n.sgd_steps, "config.neural.sgd_steps", 1)
    tx = optax.adam(check_number(n.learning_rate, "config.neural.learning_rate", 0.0))
    net = RewardNet(int(c.num_arms), tuple(n.hidden))

    def phi(params, x):
        return net.apply(params, x)[0]

    def init(key, k, d):
        params = net.init(key, jnp.zeros((d,)))
        width = int(n.hidden[-1])
        return NeuralLinear(params, tx.init(params), jnp.zeros((horizon, d)), jnp.zeros((horizon,), jnp.int32),
                            jnp.zeros((horizon,)), jnp.int32(0), ridge_init(k, width, ridge))

    def act(state, x, key):
        return thompson_arm(state.stats, phi(state.params, x), scale, key)

    def update(state, x, arm, reward):
        i = state.count
        return state._replace(xs=state.xs.at[i].set(x), arms=state.arms.at[i].set(arm),
                              rewards=state.rewards.at[i].set(reward), count=i + 1,
                              stats=ridge_update(state.stats, phi(state.params, x), arm, reward))

    def refit(state):
        seen = (jnp.arange(horizon) < state.count).astype(jnp.float32)

        def mse(params):
            pred = net.apply(params, state.xs)[1]
            err = jnp.take_along_axis(pred, state.arms[:, None], 1)[:, 0] - state.rewards
            return jnp.sum(seen * err ** 2) / jnp.maximum(jnp.sum(seen), 1.0)

        def sgd(carry, _):
            params, opt = carry
            updates, opt = tx.update(jax.grad(mse)(params), opt, params)
            return (optax.apply_updates(params, updates), opt), None

        (params, opt), _ = jax.lax.scan(sgd, (state.params, state.opt), None, length=sgd_steps)
        feats = phi(params, state.xs)  # [T, h]
        onehot = jax.nn.one_hot(state.arms, state.stats.b.shape[0]) * seen[:, None]  # [T, K]
        gram = jnp.einsum("tk,ti,tj->kij", onehot, feats, feats) + ridge * jnp.eye(feats.shape[1])
        stats = Ridge(jnp.linalg.inv(gram), jnp.einsum("tk,t,ti->ki", onehot, state.rewards, feats))
        return state._replace(params=params, opt=opt, stats=stats)

    return Agent(init, act, update, refit, refit_every)


AGENTS: dict[str, Callable[[ml_collections.ConfigDict], Agent]] = {
    "epsilon_greedy": epsilon_greedy, "linucb": linucb, "thompson": linear_thompson,
    "neural_thompson": neural_thompson}


def make_run(env: ContextualBandit, agent: Agent, horizon: int, noise_std: float) -> Callable:
    """run(key) -> per-round regret [horizon]: the problem (reward parameters) from fold_in(key, 0), the
    env's randomness from fold_in(key, 1) and the agent's from fold_in(key, 2) (its init from
    fold_in(key, 3)). The rounds are a scan over refit periods of a scan over rounds, `agent.refit`
    between periods (an agent that never refits has one period)."""
    period = agent.refit_every or horizon
    if horizon % period:
        raise JaxmlError(f"config.horizon={horizon} must be a multiple of config.neural.refit_every={period}")

    def run(key):
        params = env.sample_params(jax.random.fold_in(key, 0), noise_std, horizon)
        env_key, agent_key = jax.random.fold_in(key, 1), jax.random.fold_in(key, 2)
        obs, env_state = env.reset(jax.random.fold_in(env_key, horizon), params)

        def round_(carry, t):
            obs, env_state, state = carry
            arm = agent.act(state, obs, jax.random.fold_in(agent_key, t))
            next_obs, env_state, reward, _, _, info = env.step(jax.random.fold_in(env_key, t), env_state, arm, params)
            means = info["expected_rewards"]
            return (next_obs, env_state, agent.update(state, obs, arm, reward)), jnp.max(means) - means[arm]

        def period_(carry, p):
            carry, regret = jax.lax.scan(round_, carry, p * period + jnp.arange(period))
            obs, env_state, state = carry
            return (obs, env_state, agent.refit(state)), regret

        state = agent.init(jax.random.fold_in(key, 3), env.num_arms, env.context_dim)
        _, regret = jax.lax.scan(period_, (obs, env_state, state), jnp.arange(horizon // period))
        return regret.reshape(horizon)

    return run


def regret_exponent(cumulative: np.ndarray) -> float:
    """log2(R(T) / R(T/2)) of a cumulative regret curve: 1 for linear growth, 0.5 for sqrt(T)."""
    t = len(cumulative)
    return float(np.log2(cumulative[-1] / max(cumulative[t // 2 - 1], 1e-12)))


def plot_regret(curves: dict[str, np.ndarray], title: str, out: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    t = np.arange(1, next(iter(curves.values())).shape[1] + 1)
    for name, cum in curves.items():
        mean, std = cum.mean(0), cum.std(0)
        ax.plot(t, mean, label=f"{name} ({cum.shape[0]} seeds)")
        ax.fill_between(t, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("round"); ax.set_ylabel("cumulative regret"); ax.grid(alpha=0.3); ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    choose(REWARD_MODELS, config.reward_model, "config.reward_model")
    agents = {name: choose(AGENTS, name, "config.agents")(config) for name in config.agents}
    if not agents:
        raise JaxmlError(f"config.agents=() is empty; choose from {', '.join(AGENTS)}")
    if config.regret_baseline not in agents:
        raise JaxmlError(f"config.regret_baseline={config.regret_baseline!r} is not valid; "
                         f"choose one of config.agents: {', '.join(agents)}")
    check_number(config.ridge, "config.ridge", 1e-12)
    horizon = check_int(config.horizon, "config.horizon", 2)
    num_seeds = check_int(config.num_seeds, "config.num_seeds", 1)
    env = ContextualBandit(check_int(config.num_arms, "config.num_arms", 2),
                           check_int(config.context_dim, "config.context_dim", 1), config.reward_model)
    noise = check_number(config.noise_std, "config.noise_std", 0.0)
    keys = jax.vmap(jax.random.key)(int(config.seed) + jnp.arange(num_seeds))
    curves = {name: np.cumsum(np.asarray(jax.jit(jax.vmap(make_run(env, agent, horizon, noise)))(keys),
                                         np.float64), axis=1)
              for name, agent in agents.items()}
    out: dict[str, Any] = {"num_arms": env.num_arms, "context_dim": env.context_dim, "horizon": horizon,
                           "num_seeds": num_seeds, "reward_model": config.reward_model}
    for name, cum in curves.items():
        final = cum[:, -1]
        out[f"{name}_regret"] = float(final.mean())
        out[f"{name}_regret_std"] = float(final.std())
        out[f"{name}_regret_per_seed"] = [float(r) for r in final]
        out[f"{name}_regret_exponent"] = regret_exponent(cum.mean(0))
        late = cum[:, -1] - cum[:, horizon // 2 - 1]
        out[f"{name}_late_regret_per_round"] = float(late.mean() / (horizon - horizon // 2))
    base = config.regret_baseline
    for name in curves:
        if name != base:
            out[f"{name}_regret_vs_{base}"] = out[f"{name}_regret"] / out[f"{base}_regret"]
    if jax.process_index() == 0:
        plot_regret(curves, f"{config.reward_model} bandit, {env.num_arms} arms, d = {env.context_dim}",
                    Path(workdir) / "plots" / "regret.png")
    out["summary_plot"] = "plots/regret.png"
    return out
