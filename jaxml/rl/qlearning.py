"""Tabular Q-learning on gymnax's discrete-state envs (FrozenLake-misc, FourRooms-misc), and
value iteration on FrozenLake's known dynamics.

State index (`state_indexer`): FrozenLake-misc observes the scalar row-major position
(`n_states` = rows * cols states). FourRooms-misc observes `[pos_y, pos_x, goal_y, goal_x]` on its
13 x 13 grid; the index is `(pos_y * 13 + pos_x) * 169 + goal_y * 13 + goal_x` (169^2 states), so it
stays a Markov state when `resample_goal_pos` is on; with the default fixed goal only 104 of them are
ever visited (unvisited rows stay 0 and cost nothing but memory).

The whole run is one `jax.lax.scan` over iterations (jit- and vmap-able over seeds). One iteration:

1. epsilon-greedy action per env (epsilon linear from `eps_start` to `eps_end` over
   `eps_fraction * total_env_steps` env steps; greedy ties break to the lowest action);
2. one `vec_step` of the `num_envs` envs (env_steps += num_envs), giving the TRUE next state;
3. TD error `td = r + gamma * (1 - terminated) * max_a Q[s', a] - Q[s, a]` per env (a time-limit
   truncation bootstraps from the true next state, only `terminated` cuts);
4. one batched update of the shared table (`batched_q_update`): envs that hit the same (s, a) in
   this step have their TD errors AVERAGED, and that (s, a) moves once by `lr * mean td` -- the same
   as one synchronous update with the mean target, independent of env order. (A naive
   `Q.at[s, a].add(lr * td)` would sum them: with k duplicates an effective step of k * lr, > 1 for
   large batches, which diverges.) The mean is computed by an [N, N] same-(s, a) mask, so no
   dense pass over the table per step;
5. learning rate constant (`lr_end = lr`) or linear from `lr` to `lr_end` over `total_env_steps`.

Metrics per iteration: `loss` (mean squared TD error of the batch), `td_abs`, `epsilon`,
`learning_rate`, `env_steps`, `return` / `length` / `episodes` (`envs.episode_metrics`).

`greedy_eval` plays the argmax-Q policy in `eval_episodes` fresh envs and returns `return_mean`
(for FrozenLake, reward 1 only at the goal: the success rate within the time limit). For
FrozenLake it also returns `optimal_success_rate`, the exact optimum from `optimal_success_rate`
(the same number every seed), so the eval log and result rows carry both.

Value iteration (`frozen_lake_model`, `optimal_success_rate`): P[s, a, s'] and the expected reward
are built from the gymnax FrozenLake object (its map, `is_slippery`, `success_rate`, reward
schedule), mirroring `FrozenLake.step_env`: the intended direction with probability
`success_rate`, else each perpendicular one with (1 - success_rate) / 2; moves are clipped at the
border; holes and the goal terminate. Episodes are truncated after `max_steps_in_episode` steps,
so the number the greedy eval estimates is the probability of reaching the goal within H =
`max_steps_in_episode` steps. That is computed exactly by finite-horizon backward induction
(V_0 = 0, V_k = max_a sum_s' P[s, a, s'] (R + (1 - term(s')) V_{k-1}(s')), answer V_H(start)), the
optimum over all (also non-stationary) policies -- an upper bound for the stationary policy
Q-learning learns, hence the stricter comparison. Infinite-horizon VI would overstate it: on the
slippery 4x4 map `finite_horizon_values` gives 0.7442 for H = 100 but 0.8235 for H = 5000; the
greedy policy of gamma = 0.99 value iteration, evaluated exactly over 100 steps, reaches 0.7402.

`greedy_eval` also returns `episode_return_std` (spread over the eval episodes of one seed; the
runner's `return_std` is the spread over seeds).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import flax
import gymnax
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.errors import JaxmlError
from jaxml.rl.agent import scanned
from jaxml.rl.agent_config import AgentConfig, param
from jaxml.rl.envs import episode_metrics, evaluate, make_env, vec_reset, vec_step
from jaxml.rl.exploration import epsilon_greedy, linear_schedule
from jaxml.rl.targets import one_step_target

__all__ = ["QLearningConfig", "Config", "state_indexer", "batched_q_update",
           "frozen_lake_model", "optimal_success_rate", "QState", "make_train", "greedy_eval"]

ENVS = ("FrozenLake-misc", "FourRooms-misc")


# ----------------------------------------------------------------------------------- pure pieces


def state_indexer(env_id: str, env) -> tuple[int, Callable[[jax.Array], jax.Array]]:
    """(num_states, index_fn): index_fn maps a batch of observations [N, ...] to int32 [N]."""
    if env_id == "FrozenLake-misc":
        return int(env.n_states), lambda obs: jnp.asarray(obs, jnp.int32).reshape(-1)
    if env_id == "FourRooms-misc":
        if getattr(env, "use_visual_obs", False):
            raise JaxmlError("qlearning: FourRooms-misc with visual observations is not tabular")
        h, w = (int(d) for d in env.env_map.shape)

        def index(obs):
            o = jnp.asarray(obs, jnp.int32).reshape(-1, 4)
            return (o[:, 0] * w + o[:, 1]) * (h * w) + o[:, 2] * w + o[:, 3]

        return h * w * h * w, index
    raise JaxmlError(f"qlearning: env {env_id!r} has no tabular state index; choose one of "
                     f"{', '.join(ENVS)}")


def batched_q_update(q: jax.Array, s: jax.Array, a: jax.Array, target: jax.Array,
                     lr: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Q[s, a] += lr * mean(target - Q[s, a]) over the batch entries sharing (s, a).

    `q` [S, A]; `s`, `a` int [N]; `target` [N]. All TD errors use the table before the update.
    Returns (new table, td [N])."""
    td = target - q[s, a]
    same = (s[:, None] == s[None, :]) & (a[:, None] == a[None, :])          # [N, N]
    mean_td = (same.astype(td.dtype) @ td) / jnp.sum(same, axis=1).astype(td.dtype)
    # duplicates write identical values, so the order of the scatter does not matter
    return q.at[s, a].set(q[s, a] + lr * mean_td), td


def frozen_lake_model(env) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(P [S, A, S'], R [S, A, S'] reward on landing in s', terminal [S'], start) in float64,
    read from a gymnax FrozenLake object (map, slipperiness, success_rate, reward schedule)."""
    desc = np.asarray(env.desc)
    nrow, ncol = desc.shape
    n = nrow * ncol
    start_t, hole_t, goal_t = 0, 2, 3   # gymnax frozen_lake START, FROZEN, HOLE, GOAL = range(4)
    goal_r, hole_r, frozen_r = (float(x) for x in np.asarray(env.reward_schedule))
    directions = ((0, -1), (1, 0), (0, 1), (-1, 0))   # left, down, right, up
    flat = desc.reshape(-1)
    terminal = (flat == hole_t) | (flat == goal_t)
    reward_of = np.where(flat == goal_t, goal_r, np.where(flat == hole_t, hole_r, frozen_r))
    P = np.zeros((n, 4, n))
    for s in range(n):
        r, c = divmod(s, ncol)
        for a in range(4):
            if env.is_slippery:
                p_ok = float(env.success_rate)
                moves = ((a, p_ok), ((a - 1) % 4, (1 - p_ok) / 2), ((a + 1) % 4, (1 - p_ok) / 2))
            else:
                moves = ((a, 1.0),)
            for b, p in moves:
                rr = min(max(r + directions[b][0], 0), nrow - 1)
                cc = min(max(c + directions[b][1], 0), ncol - 1)
                P[s, a, rr * ncol + cc] += p
    R = np.broadcast_to(reward_of[None, None, :], P.shape).copy()
    start = int(np.argmax(flat == start_t))
    return P, R, terminal, start


def finite_horizon_values(P, R, terminal, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Backward induction: V [horizon + 1, S] (V[k] = optimal expected return with k steps left)
    and the optimal action per (k, s) [horizon + 1, S] (row 0 unused)."""
    n = P.shape[0]
    V = np.zeros((horizon + 1, n))
    pi = np.zeros((horizon + 1, n), np.int64)
    cont = 1.0 - terminal.astype(np.float64)
    for k in range(1, horizon + 1):
        Q = np.einsum("sat,sat->sa", P, R + cont[None, None, :] * V[k - 1][None, None, :])
        V[k], pi[k] = Q.max(axis=1), Q.argmax(axis=1)
    return V, pi


def optimal_success_rate(env_params=None, env=None) -> float:
    """Exact optimal probability of reaching the goal within `env_params.max_steps_in_episode`
    steps of FrozenLake (finite-horizon backward induction; float64). `env` defaults to
    gymnax's `FrozenLake-misc` (4x4, slippery); `env_params` to its default params. With the
    default reward schedule (1 at the goal, 0 elsewhere) this is the optimal expected return."""
    if env is None:
        env, default = gymnax.make("FrozenLake-misc")
        env_params = default if env_params is None else env_params
    elif env_params is None:
        env_params = env.default_params
    P, R, terminal, start = frozen_lake_model(env)
    V, _ = finite_horizon_values(P, R, terminal, int(env_params.max_steps_in_episode))
    return float(V[-1, start])


@flax.struct.dataclass
class QState:
    q: jax.Array           # float32 [num_states, num_actions]
    env: object            # VecEnvState
    env_steps: jax.Array   # int32
    key: jax.Array


# ----------------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class QLearningConfig(AgentConfig):
    """Tabular Q-learning's hyper-parameters (`jaxml.defaults.rl.qlearning.default_config` documents them), checked once."""

    env: str = param(choices=ENVS)
    num_envs: int = param(ge=1)
    total_env_steps: int = param(ge=1)
    gamma: float = param(ge=0.0, le=1.0)
    learning_rate: float = param(gt=0.0, le=1.0)
    lr_end: float = param(ge=0.0, le=1.0)
    eps_start: float = param(ge=0.0, le=1.0)
    eps_end: float = param(ge=0.0, le=1.0)
    eps_fraction: float = param(ge=0.0)
    q_init: float = param()
    eval_episodes: int = param(ge=1)

    def check(self) -> None:
        self.check_at_most("num_envs", "total_env_steps", "no iteration would run")


Config = QLearningConfig   # the agent contract's name for it (see jaxml.rl.runner)


def _setup(config):
    cfg = QLearningConfig.from_config(config)
    # greedy_eval runs under jit; gymnax envs built during tracing hold traced arrays (FourRooms'
    # constructor even branches on them), so build the env eagerly
    with jax.ensure_compile_time_eval():
        env, env_params = make_env(cfg.env)
    num_states, index = state_indexer(cfg.env, env)
    return cfg, env, env_params, num_states, int(env.action_space(env_params).n), index


# ----------------------------------------------------------------------------------- training


def make_train(config) -> tuple[Callable, Callable]:
    """Returns `(init, train_chunk)` (pure, unjitted) for `config`, an ml_collections config or a
    `QLearningConfig`. See the module docstring."""
    cfg, env, env_params, num_states, num_actions, index = _setup(config)
    num_envs, gamma = cfg.num_envs, cfg.gamma
    eps_fn = linear_schedule(cfg.eps_start, cfg.eps_end, cfg.eps_fraction * cfg.total_env_steps)
    lr_fn = linear_schedule(cfg.learning_rate, cfg.lr_end, cfg.total_env_steps)

    def init(key: jax.Array) -> QState:
        k_env, k_run = jax.random.split(key)
        q = jnp.full((num_states, num_actions), cfg.q_init, jnp.float32)
        return QState(q=q, env=vec_reset(k_env, env, env_params, num_envs),
                      env_steps=jnp.zeros((), jnp.int32), key=k_run)

    def iteration(state: QState, _):
        key, k_coin, k_rand, k_env = jax.random.split(state.key, 4)
        eps, lr = eps_fn(state.env_steps), lr_fn(state.env_steps)
        s = index(state.env.obs)
        greedy = jnp.argmax(state.q[s], axis=-1).astype(jnp.int32)
        action = epsilon_greedy(k_coin, k_rand, greedy, num_actions, eps)
        env_state, tr = vec_step(k_env, state.env, action, env, env_params)
        target = one_step_target(tr.reward, tr.terminated, state.q[index(tr.next_obs)].max(-1), gamma)
        q, td = batched_q_update(state.q, s, action, target, lr)
        steps = state.env_steps + num_envs
        ep = episode_metrics(env_state.stats)
        metrics = {"loss": jnp.mean(td ** 2), "td_abs": jnp.mean(jnp.abs(td)), "epsilon": eps,
                   "learning_rate": lr, "env_steps": steps, "return": ep["return"],
                   "length": ep["length"], "episodes": ep["episodes"]}
        return QState(q=q, env=env_state, env_steps=steps, key=key), metrics

    return init, scanned(iteration)


def greedy_eval(config, runner_state: QState, key: jax.Array) -> dict:
    """`envs.evaluate` of the argmax-Q policy on `eval_episodes` fresh envs; FrozenLake adds
    `optimal_success_rate` (exact, finite horizon) for comparison."""
    cfg, env, env_params, _, _, index = _setup(config)
    q = runner_state.q

    def policy(obs, _key):
        return jnp.argmax(q[index(obs)], axis=-1).astype(jnp.int32)

    optimum = optimal_success_rate(env_params, env) if cfg.env == "FrozenLake-misc" else None
    out = evaluate(key, policy, env, env_params, cfg.eval_episodes)
    # the runner logs extra per-seed scalars over its own keys: keep the episode spread under its own name
    out["episode_return_std"] = out.pop("return_std")
    if optimum is not None:
        out["optimal_success_rate"] = jnp.asarray(optimum, jnp.float32)
    return out
