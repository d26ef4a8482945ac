"""DDPG and TD3 on gymnax continuous-action environments, PureJaxRL style (methods "ddpg" and "td3").

One module, two methods: TD3 (Fujimoto et al. 2018, "Addressing Function Approximation Error in
Actor-Critic Methods") is DDPG (Lillicrap et al. 2016) plus three switches, each a config key:

- `target_policy_smoothing`: the target action is the target actor's action plus Gaussian noise
  clipped to +-`noise_clip`, then clipped to the action bounds (`smoothed_target_action`);
- `clipped_double_q`: two critics, the TD target uses the min of the two target critics
  (`td3_target`); both critics regress on that one target;
- `policy_delay`: the actor and all target networks are updated once every `policy_delay`
  critic updates.

The typed config `DDPGConfig` holds them (with `policy_noise` and `noise_clip`) as one group,
`DDPGConfig.td3` (a `TD3Options`), read from the same flat config keys.

`jaxml.defaults.rl.ddpg.default_config("td3")` turns all three on (`policy_delay=2`);
`default_config("ddpg")` turns them off (one critic, `policy_delay=1`). Method "ddpg" insists on the
plain-DDPG switches (an error names them otherwise); method "td3" accepts any combination, for
ablations.

Networks (Flax MLPs, ReLU): a deterministic actor `pi(s) = center + half_range * tanh(f(s))`,
scaled to the action bounds, and critic(s) `Q(s, a)` on `concat(s, a)`. The critics are one
ensemble: parameters stacked on a leading axis [num_critics] and applied with `vmap`. Noise is in
units of the half action range (`half_range = (high - low) / 2`, 2.0 on Pendulum-v1), so
`exploration_noise=0.1` is N(0, 0.1 * half_range), as CleanRL's `ddpg/td3_continuous_action`.

The whole run is one `jax.lax.scan` over iterations, so it can be `jit`-ed and `vmap`-ed over
seeds. One iteration:

1. action per env: uniform over the bounds while `env_steps < learning_starts`, else
   `clip(pi(s) + N(0, exploration_noise * half_range), low, high)`;
2. one `vec_step` of the `num_envs` envs (env_steps += num_envs); the `Transition` (with the TRUE
   next observation) goes into a `buffers` uniform ring buffer;
3. once `env_steps >= learning_starts` (and the buffer holds a batch): `updates_per_step`
   gradient updates, each = one critic update on a uniform batch, then, every `policy_delay`-th
   critic update, one actor update (maximising Q_1(s, pi(s)) with the freshly updated critic)
   followed by the Polyak update `target <- tau * online + (1 - tau) * target` of the target
   actor and target critics.

TD target: `r + gamma * (1 - terminated) * Q'(s', a')`. Only `terminated` cuts the bootstrap; a
time-limit truncation bootstraps from the true next observation (Pendulum-v1 never terminates, so
every one of its transitions bootstraps).

Train metrics per iteration: `loss` (= `critic_loss`, the generic name the non-finite check of
`core.run.first_nonfinite` requires), `critic_loss` (sum over critics of the mean squared TD error),
`actor_loss` (-mean Q_1(s, pi(s)) on the batch of the latest actor update, which happens at
every `policy_delay`-th critic update), `q_mean`, `trained`, `actor_updated`, `env_steps`, and the episode statistics.
Losses are 0 before learning starts; with `updates_per_step > 1` they are averaged over the
iteration's updates.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxml.defaults.rl.ddpg import METHODS
from jaxml.errors import JaxmlError
from jaxml.models.mlp import MLP
from jaxml.rl.agent import scanned
from jaxml.rl.agent_config import AgentConfig, param
from jaxml.rl import buffers
from jaxml.rl.critics import ensemble_apply, ensemble_init, state_action
from jaxml.rl.envs import box_bounds, episode_metrics, evaluate, make_env, vec_reset, vec_step
from jaxml.rl.targets import one_step_target, polyak

__all__ = ["DDPGConfig", "TD3Options", "Config", "td3_target", "smoothed_target_action",
           "scale_action", "polyak", "Learner", "DDPGState", "make_train", "greedy_eval"]


# ----------------------------------------------------------------------------------- pure pieces


def scale_action(raw: jax.Array, low: jax.Array, high: jax.Array) -> jax.Array:
    """Maps unbounded actor outputs into [low, high]: center + half_range * tanh(raw)."""
    center, half = (high + low) / 2.0, (high - low) / 2.0
    return center + half * jnp.tanh(raw)


def smoothed_target_action(target_action: jax.Array, noise: jax.Array, policy_noise: float,
                           noise_clip: float, low: jax.Array, high: jax.Array) -> jax.Array:
    """TD3's target policy smoothing: clip(a' + clip(policy_noise * noise, +-noise_clip) * half_range,
    low, high), with `noise` standard normal draws of a's shape and half_range = (high - low) / 2."""
    half = (high - low) / 2.0
    eps = jnp.clip(policy_noise * noise, -noise_clip, noise_clip) * half
    return jnp.clip(target_action + eps, low, high)


def td3_target(reward: jax.Array, terminated: jax.Array, next_q: jax.Array, gamma: float,
               clipped_double_q: bool) -> jax.Array:
    """r + gamma * (1 - terminated) * Q'(s', a').

    `next_q` is [num_critics, B]: the target critics at the TRUE next observation and the (smoothed)
    target action. Q' = min over the critics (`clipped_double_q`, needs >= 2) or critic 0. Only
    `terminated` cuts the bootstrap: a truncated transition bootstraps."""
    next_q = jnp.asarray(next_q, jnp.float32)
    if next_q.ndim != 2:
        raise JaxmlError(f"td3_target: next_q must be [num_critics, B], got shape {next_q.shape}")
    if clipped_double_q:
        if next_q.shape[0] < 2:
            raise JaxmlError("td3_target: clipped_double_q needs >= 2 critics, got "
                             f"{next_q.shape[0]}")
        next_v = jnp.min(next_q, axis=0)
    else:
        next_v = next_q[0]
    return one_step_target(reward, terminated, next_v, gamma)


@flax.struct.dataclass
class Learner:
    """Everything a gradient update changes (kept apart from the buffer so that the update's
    `lax.cond`, a select under `vmap`, never copies the replay buffer)."""

    actor: Any                 # actor params
    critic: Any                # critic params stacked on a leading [num_critics] axis
    actor_target: Any
    critic_target: Any
    actor_opt: Any
    critic_opt: Any
    critic_updates: jax.Array  # int32: critic gradient steps taken
    actor_updates: jax.Array   # int32: actor gradient steps (= target updates) taken
    actor_loss: jax.Array      # float32: the loss of the latest actor update (0 before the first)


@flax.struct.dataclass
class DDPGState:
    learner: Learner
    buffer: Any                # buffers.UniformBuffer of Transitions
    env: Any                   # VecEnvState
    env_steps: jax.Array       # int32: env steps taken (all envs)
    key: jax.Array


# ----------------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class TD3Options(AgentConfig):
    """The pieces TD3 adds to DDPG (module docstring); all off is plain DDPG."""

    target_policy_smoothing: bool = param()
    policy_noise: float = param(ge=0.0)
    noise_clip: float = param(ge=0.0)
    clipped_double_q: bool = param()
    policy_delay: int = param(ge=1)

    @property
    def any_on(self) -> bool:
        return self.target_policy_smoothing or self.clipped_double_q or self.policy_delay != 1


@dataclasses.dataclass(frozen=True)
class DDPGConfig(AgentConfig):
    """DDPG's / TD3's hyper-parameters (`jaxml.defaults.rl.ddpg.default_config` documents them), checked once. `method`
    (absent: None) is the runner's method name; "ddpg" insists on `td3` being all off."""

    env: str = param()
    num_envs: int = param(ge=1)
    total_env_steps: int = param(ge=1)
    buffer_size: int = param(ge=1)
    batch_size: int = param(ge=1)
    learning_rate: float = param(gt=0.0)
    tau: float = param(gt=0.0, le=1.0)
    gamma: float = param(ge=0.0, le=1.0)
    hidden: tuple[int, ...] = param(ge=1)
    exploration_noise: float = param(ge=0.0)
    learning_starts: int = param(ge=0)
    updates_per_step: int = param(ge=1)
    eval_episodes: int = param(ge=1)
    td3: TD3Options                  # read from the same config level as the other keys
    method: str | None = param(choices=METHODS, default=None)

    @property
    def num_critics(self) -> int:
        return 2 if self.td3.clipped_double_q else 1

    def check(self) -> None:
        self.check_replay_fits()
        t = self.td3
        if self.method == "ddpg" and t.any_on:
            raise JaxmlError("config.method='ddpg' is plain DDPG: set target_policy_smoothing=False, "
                             "clipped_double_q=False, policy_delay=1 (got "
                             f"{t.target_policy_smoothing}, {t.clipped_double_q}, {t.policy_delay}), "
                             "or use method 'td3' for these TD3 pieces")


Config = DDPGConfig   # the agent contract's name for it (see jaxml.rl.runner)


def _setup(config):
    """Typed config, env, env params, action bounds (float32 arrays of the action shape), nets."""
    cfg = DDPGConfig.from_config(config)
    env, env_params = make_env(cfg.env)
    shape, low, high = box_bounds(env, env_params, cfg.env, "DDPG/TD3",
                                  "use method 'dqn' for it, or a continuous env such as Pendulum-v1 "
                                  "or MountainCarContinuous-v0")
    action_dim = int(np.prod(shape))
    actor = MLP(num_classes=action_dim, hidden=cfg.hidden)
    critic = MLP(num_classes=1, hidden=cfg.hidden)
    return cfg, env, env_params, shape, jnp.asarray(low), jnp.asarray(high), actor, critic


def _policy_fn(actor, shape, low, high):
    """pi(params, obs [N, ...]) -> actions [N, *shape] in [low, high]."""
    def pi(params, obs):
        raw = actor.apply(params, obs, train=False)
        return scale_action(raw.reshape((obs.shape[0],) + shape), low, high)
    return pi


# ----------------------------------------------------------------------------------- training


def make_train(config) -> tuple[Callable, Callable]:
    """Returns `(init, train_chunk)` (pure, unjitted; jit/vmap them as you like) for `config`, an
    ml_collections config or a `DDPGConfig`.

    `init(key) -> DDPGState`. `train_chunk(state, num_iterations) -> (state, metrics)`, with
    `num_iterations` a static Python int and `metrics` per-iteration arrays [T] (module docstring)."""
    cfg, env, env_params, shape, low, high, actor, critic = _setup(config)
    num_envs, batch_size, num_critics = cfg.num_envs, cfg.batch_size, cfg.num_critics
    gamma, tau, policy_delay = cfg.gamma, cfg.tau, cfg.td3.policy_delay
    half = (high - low) / 2.0
    pi = _policy_fn(actor, shape, low, high)
    tx_actor = optax.adam(cfg.learning_rate)
    tx_critic = optax.adam(cfg.learning_rate)

    def q_one(params, obs, action):
        return critic.apply(params, state_action(obs, action), train=False)[:, 0]

    def q_all(params, obs, action):  # [num_critics, B]
        return ensemble_apply(critic, params, state_action(obs, action))[..., 0]

    def init(key: jax.Array) -> DDPGState:
        k_actor, k_critic, k_env, k_run = jax.random.split(key, 4)
        env_state = vec_reset(k_env, env, env_params, num_envs)
        zero_action = jnp.zeros((num_envs,) + shape, jnp.float32)
        actor_params = actor.init(k_actor, env_state.obs, train=False)
        critic_params = ensemble_init(critic, k_critic, state_action(env_state.obs, zero_action),
                                      num_critics)
        _, example = vec_step(k_env, env_state, zero_action, env, env_params)
        example = jax.tree.map(lambda a: a[0], example)
        zero = jnp.zeros((), jnp.int32)
        learner = Learner(actor=actor_params, critic=critic_params, actor_target=actor_params,
                          critic_target=critic_params, actor_opt=tx_actor.init(actor_params),
                          critic_opt=tx_critic.init(critic_params), critic_updates=zero,
                          actor_updates=zero, actor_loss=jnp.zeros((), jnp.float32))
        return DDPGState(learner=learner, buffer=buffers.uniform_init(example, cfg.buffer_size),
                         env=env_state, env_steps=zero, key=k_run)

    def critic_loss_fn(critic_params, obs, action, target):
        q = q_all(critic_params, obs, action)
        return jnp.sum(jnp.mean((q - target[None]) ** 2, axis=1)), jnp.mean(q[0])

    def actor_loss_fn(actor_params, critic_params, obs):
        q1 = q_one(jax.tree.map(lambda p: p[0], critic_params), obs, pi(actor_params, obs))
        return -jnp.mean(q1)

    def update(ln: Learner, buf, key: jax.Array):
        """One critic update; the actor + target update when this is a `policy_delay`-th one."""
        k_sample, k_noise = jax.random.split(key)
        batch, _ = buffers.uniform_sample(buf, k_sample, batch_size)
        next_action = pi(ln.actor_target, batch.next_obs)
        if cfg.td3.target_policy_smoothing:
            noise = jax.random.normal(k_noise, next_action.shape, jnp.float32)
            next_action = smoothed_target_action(next_action, noise, cfg.td3.policy_noise,
                                                 cfg.td3.noise_clip, low, high)
        next_q = q_all(ln.critic_target, batch.next_obs, next_action)
        target = td3_target(batch.reward, batch.terminated, next_q, gamma, cfg.td3.clipped_double_q)
        (critic_loss, q_mean), grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(
            ln.critic, batch.obs, batch.action, target)
        updates, critic_opt = tx_critic.update(grads, ln.critic_opt, ln.critic)
        ln = ln.replace(critic=optax.apply_updates(ln.critic, updates), critic_opt=critic_opt,
                        critic_updates=ln.critic_updates + 1)

        def actor_step(ln: Learner):
            actor_loss, g = jax.value_and_grad(actor_loss_fn)(ln.actor, ln.critic, batch.obs)
            u, actor_opt = tx_actor.update(g, ln.actor_opt, ln.actor)
            actor_params = optax.apply_updates(ln.actor, u)
            ln = ln.replace(actor=actor_params, actor_opt=actor_opt, actor_updates=ln.actor_updates + 1,
                            actor_target=polyak(actor_params, ln.actor_target, tau),
                            critic_target=polyak(ln.critic, ln.critic_target, tau),
                            actor_loss=actor_loss)
            return ln, actor_loss

        def no_actor_step(ln: Learner):
            return ln, ln.actor_loss

        if policy_delay == 1:
            ln, actor_loss = actor_step(ln)
            do_actor = jnp.ones((), bool)
        else:
            do_actor = ln.critic_updates % policy_delay == 0
            ln, actor_loss = jax.lax.cond(do_actor, actor_step, no_actor_step, ln)
        return ln, (critic_loss, actor_loss, q_mean, do_actor)

    def updates_block(ln: Learner, buf, key: jax.Array):
        ln, (closs, aloss, q, did) = jax.lax.scan(
            lambda l, k: update(l, buf, k), ln, jax.random.split(key, cfg.updates_per_step))
        return ln, (jnp.mean(closs), jnp.mean(aloss), jnp.mean(q), jnp.any(did))

    def no_updates(ln: Learner, buf, key: jax.Array):
        del buf, key
        z = jnp.zeros((), jnp.float32)
        return ln, (z, z, z, jnp.zeros((), bool))

    def iteration(state: DDPGState, _):
        key, k_rand, k_noise, k_env, k_update = jax.random.split(state.key, 5)
        learning = state.env_steps >= cfg.learning_starts
        random_action = jax.random.uniform(k_rand, (num_envs,) + shape, jnp.float32, low, high)
        noise = jax.random.normal(k_noise, (num_envs,) + shape, jnp.float32) * cfg.exploration_noise * half
        policy_action = jnp.clip(pi(state.learner.actor, state.env.obs) + noise, low, high)
        action = jnp.where(learning, policy_action, random_action)
        env_state, tr = vec_step(k_env, state.env, action, env, env_params)
        buf = buffers.uniform_add(state.buffer, tr)
        steps = state.env_steps + num_envs

        do_train = (steps >= cfg.learning_starts) & buffers.can_sample(buf, batch_size)
        learner, (critic_loss, actor_loss, q_mean, actor_updated) = jax.lax.cond(
            do_train, updates_block, no_updates, state.learner, buf, k_update)
        state = DDPGState(learner=learner, buffer=buf, env=env_state, env_steps=steps, key=key)
        ep = episode_metrics(env_state.stats)
        metrics = {"loss": critic_loss, "critic_loss": critic_loss, "actor_loss": actor_loss, "q_mean": q_mean,
                   "trained": do_train, "actor_updated": actor_updated, "env_steps": steps,
                   "return": ep["return"], "length": ep["length"], "episodes": ep["episodes"]}
        return state, metrics

    return init, scanned(iteration)


def greedy_eval(config, runner_state: DDPGState, key: jax.Array) -> dict:
    """`envs.evaluate` of the deterministic actor (no exploration noise) on `eval_episodes` fresh
    eval envs (separate from the training envs)."""
    cfg, env, env_params, shape, low, high, actor, _ = _setup(config)
    pi = _policy_fn(actor, shape, low, high)
    params = runner_state.learner.actor

    def policy(obs, _key):
        return pi(params, obs)

    return evaluate(key, policy, env, env_params, cfg.eval_episodes)
