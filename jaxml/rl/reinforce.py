"""REINFORCE with a learned value baseline on gymnax (discrete actions), PureJaxRL style.

The whole run is one `jax.lax.scan` over iterations (jit- and vmap-able over seeds). One iteration:

1. roll out `num_steps` steps in each of `num_envs` envs with the current stochastic policy
   (`steps_per_iteration = num_envs * num_steps` env steps), keeping the TRUE next observation of
   every step (`Transition.next_obs`);
2. discounted returns-to-go per episode segment (`discounted_returns`), backwards in time:
   G_t = r_t + gamma * (1 - terminated_t) * B_t, where B_t = V(next_obs_t) if the segment ends at t
   without termination (time-limit truncation, or t is the last step of the rollout), else
   G_{t+1}. A termination cuts the return (no bootstrap); a truncation and the rollout boundary
   bootstrap from the learned value of the true next observation (not the post-reset one);
3. advantage A_t = G_t - V(s_t) (normalised over the batch if `normalize_advantages`);
4. one Adam step on  -mean(log pi(a_t | s_t) * A_t) + value_coef * 0.5 * mean((V(s_t) - G_t)^2)
   - entropy_coef * mean(H(pi(. | s_t))), gradients clipped to `max_grad_norm`. G_t and A_t are
   constants (stop_gradient); the policy and value MLPs are separate networks.

Metrics per iteration: `loss`, `policy_loss`, `value_loss`, `entropy`, `env_steps`, `return` /
`length` / `episodes` (`envs.episode_metrics` of the training envs).

`greedy_eval` plays the argmax-logit policy on `eval_episodes` fresh eval envs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax

from jaxml.models.layers import ACTIVATIONS
from jaxml.models.mlp import MLP
from jaxml.rl.agent import clipped_adam, scanned, steps_per_iteration
from jaxml.rl.agent_config import AgentConfig, param
from jaxml.rl.distributions import categorical_log_prob_entropy
from jaxml.rl.envs import discrete_actions, episode_metrics, evaluate, make_env, vec_reset, vec_step

__all__ = ["ReinforceConfig", "Config", "discounted_returns", "steps_per_iteration",
           "ReinforceState", "make_train", "greedy_eval"]


# ----------------------------------------------------------------------------------- pure pieces


def discounted_returns(rewards: jax.Array, terminated: jax.Array, truncated: jax.Array,
                       next_values: jax.Array, gamma: float) -> jax.Array:
    """Returns-to-go [T, ...] of a rollout [T, ...] (time first), per episode segment.

    `next_values[t]` = V(true next observation of step t); it is used where the segment ends at t
    without a termination (`truncated[t]`, or t = T - 1, the rollout boundary). A termination
    cuts the return. G_t = r_t + gamma * (1 - term_t) * (V'_t if trunc_t or t = T-1 else G_{t+1})."""
    rewards = jnp.asarray(rewards)
    dtype = rewards.dtype
    not_term = 1.0 - jnp.asarray(terminated, dtype)
    trunc = jnp.asarray(truncated, bool)
    next_values = jnp.asarray(next_values, dtype)

    def back(g_next, xs):
        r, nt, tr, v_next = xs
        g = r + gamma * nt * jnp.where(tr, v_next, g_next)
        return g, g

    _, g = jax.lax.scan(back, next_values[-1], (rewards, not_term, trunc, next_values), reverse=True)
    return g


@flax.struct.dataclass
class ReinforceState:
    params: Any            # {"policy": ..., "value": ...}
    opt_state: Any
    env: Any               # VecEnvState
    env_steps: jax.Array   # int32
    key: jax.Array


# ----------------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class ReinforceConfig(AgentConfig):
    """REINFORCE's hyper-parameters (`jaxml.defaults.rl.reinforce.default_config` documents them), checked once."""

    env: str = param()
    num_envs: int = param(ge=1)
    num_steps: int = param(ge=1)
    total_env_steps: int = param(ge=1)
    gamma: float = param(ge=0.0, le=1.0)
    learning_rate: float = param(gt=0.0)
    value_coef: float = param(ge=0.0)
    entropy_coef: float = param(ge=0.0)
    normalize_advantages: bool = param()
    max_grad_norm: float = param(gt=0.0)
    hidden: tuple[int, ...] = param(ge=1)
    activation: str = param(choices=ACTIVATIONS)
    eval_episodes: int = param(ge=1)

    def check(self) -> None:
        self.check_rollout_fits()


Config = ReinforceConfig   # the agent contract's name for it (see jaxml.rl.runner)


def _setup(config):
    cfg = ReinforceConfig.from_config(config)
    with jax.ensure_compile_time_eval():   # greedy_eval runs under jit: build the env eagerly
        env, env_params = make_env(cfg.env)
    num_actions = discrete_actions(env, env_params, cfg.env, "reinforce")
    policy = MLP(num_classes=num_actions, hidden=cfg.hidden, activation=cfg.activation)
    value = MLP(num_classes=1, hidden=cfg.hidden, activation=cfg.activation)
    return cfg, env, env_params, policy, value


# ----------------------------------------------------------------------------------- training


def make_train(config) -> tuple[Callable, Callable]:
    """Returns `(init, train_chunk)` (pure, unjitted) for `config`, an ml_collections config or a
    `ReinforceConfig`. See the module docstring."""
    cfg, env, env_params, policy, value = _setup(config)
    num_envs, num_steps, gamma = cfg.num_envs, cfg.num_steps, cfg.gamma
    tx = clipped_adam(cfg.learning_rate, cfg.max_grad_norm)

    def v_fn(params, obs):
        return value.apply(params["value"], obs, train=False)[..., 0]

    def init(key: jax.Array) -> ReinforceState:
        k_pi, k_v, k_env, k_run = jax.random.split(key, 4)
        env_state = vec_reset(k_env, env, env_params, num_envs)
        obs = jnp.asarray(env_state.obs, jnp.float32)
        params = {"policy": policy.init(k_pi, obs, train=False), "value": value.init(k_v, obs, train=False)}
        return ReinforceState(params=params, opt_state=tx.init(params), env=env_state,
                              env_steps=jnp.zeros((), jnp.int32), key=k_run)

    def loss_fn(params, obs, action, returns):
        logp, ent = categorical_log_prob_entropy(policy.apply(params["policy"], obs, train=False), action)
        v = v_fn(params, obs)
        adv = returns - jax.lax.stop_gradient(v)
        if cfg.normalize_advantages:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        policy_loss = -jnp.mean(logp * adv)
        value_loss = 0.5 * jnp.mean((v - returns) ** 2)
        entropy = jnp.mean(ent)
        loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy
        return loss, (policy_loss, value_loss, entropy)

    def iteration(state: ReinforceState, _):
        key, k_roll = jax.random.split(state.key)

        def env_step(env_state, step_key):
            k_act, k_env = jax.random.split(step_key)
            logits = policy.apply(state.params["policy"], jnp.asarray(env_state.obs, jnp.float32), train=False)
            action = jax.random.categorical(k_act, logits).astype(jnp.int32)
            env_state, tr = vec_step(k_env, env_state, action, env, env_params)
            return env_state, tr

        env_state, traj = jax.lax.scan(env_step, state.env, jax.random.split(k_roll, num_steps))
        obs = jnp.asarray(traj.obs, jnp.float32)                    # [T, N, ...]
        next_values = v_fn(state.params, jnp.asarray(traj.next_obs, jnp.float32).reshape(
            (num_steps * num_envs,) + traj.next_obs.shape[2:])).reshape(num_steps, num_envs)
        returns = discounted_returns(traj.reward, traj.terminated, traj.truncated,
                                     jax.lax.stop_gradient(next_values), gamma)
        flat = lambda x: x.reshape((num_steps * num_envs,) + x.shape[2:])
        (loss, (pl, vl, ent)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, flat(obs), flat(traj.action), flat(returns))
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        steps = state.env_steps + num_envs * num_steps
        ep = episode_metrics(env_state.stats)
        metrics = {"loss": loss, "policy_loss": pl, "value_loss": vl, "entropy": ent,
                   "env_steps": steps, "return": ep["return"], "length": ep["length"],
                   "episodes": ep["episodes"]}
        return ReinforceState(params=params, opt_state=opt_state, env=env_state, env_steps=steps,
                              key=key), metrics

    return init, scanned(iteration)


def greedy_eval(config, runner_state: ReinforceState, key: jax.Array) -> dict:
    """`envs.evaluate` of the argmax-logit policy on `eval_episodes` fresh eval envs."""
    cfg, env, env_params, policy, _ = _setup(config)
    params = runner_state.params["policy"]

    def act(obs, _key):
        return jnp.argmax(policy.apply(params, jnp.asarray(obs, jnp.float32), train=False),
                          axis=-1).astype(jnp.int32)

    out = evaluate(key, act, env, env_params, cfg.eval_episodes)
    # the runner logs extra per-seed scalars over its own keys: keep the episode spread under its own name
    out["episode_return_std"] = out.pop("return_std")
    return out
