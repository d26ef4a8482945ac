"""Soft actor-critic (SAC) on gymnax, continuous and discrete actions, with a learned temperature
(method "sac"), PureJaxRL style.

Continuous (`Box` actions; Haarnoja et al. 2018, docs/references.md#reinforcement-learning): the
actor gives a Gaussian mean and log-std per action dimension (the log-std squashed into
[LOG_STD_MIN, LOG_STD_MAX] by a tanh); actions are `distributions.squashed_gaussian` draws,
center + half_range * tanh(u), whose log-density carries the change-of-variables correction. Twin
critics Q_k(s, a) on concat(s, a).

Discrete (`Discrete` actions; Christodoulou 2019): a categorical policy softmax(logits) and twin
critics Q_k(s) -> [A]; every expectation over the policy is computed exactly as a sum over the
actions instead of being sampled.

Losses on a uniform replay batch (alpha = exp(log_alpha); Q_min = min over the two critics):

- critic: sum over critics of mean (Q_k(s, a) - y)^2 with the soft TD target
  y = r + gamma * (1 - terminated) * E_{a' ~ pi(s')}[Q'_min(s', a') - alpha log pi(a' | s')] from the
  target critics (one sampled a' when continuous, the exact sum when discrete). Only `terminated`
  cuts the bootstrap; a truncation bootstraps from the TRUE next observation;
- actor: E_{a ~ pi(s)}[alpha log pi(a | s) - Q_min(s, a)] with the freshly updated critics
  (reparameterised sample when continuous, the exact sum when discrete);
- temperature (`temperature_loss`): -log_alpha * (E[log pi] + target_entropy), the gradient through
  log_alpha only: alpha rises while the policy's entropy is below the target and falls above it.
  `entropy_target` gives the target: -scale * |A| (continuous) or scale * log |A| (discrete).

Then the target critics move by Polyak averaging, target <- tau * online + (1 - tau) * target.

One iteration (one `vec_step` of `num_envs` envs, inside the run's `lax.scan`): uniform random
actions while `env_steps < learning_starts`, else a policy sample; the transition (with the TRUE
next observation) goes into a `buffers` uniform ring buffer; once learning has started,
`updates_per_step` updates (critic, actor, temperature, targets), each on a fresh batch.

Train metrics per iteration: `loss` (= `critic_loss`), `critic_loss`, `actor_loss`, `alpha_loss`,
`alpha`, `entropy` (-mean log pi on the batch; the exact entropy when discrete), `q_mean`, `trained`,
`env_steps` and the episode statistics; 0 before learning starts, averaged over the iteration's
updates otherwise. Greedy evaluation: the squashed mean (continuous) or the argmax (discrete).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax

from jaxml.models.mlp import MLP
from jaxml.rl import buffers
from jaxml.rl.agent import scanned
from jaxml.rl.agent_config import AgentConfig, param
from jaxml.rl.critics import ensemble_apply, ensemble_init, state_action
from jaxml.rl.distributions import squashed_gaussian
from jaxml.rl.envs import box_bounds, episode_metrics, evaluate, make_env, vec_reset, vec_step
from jaxml.rl.targets import one_step_target, polyak

__all__ = ["SACConfig", "Config", "entropy_target", "temperature_loss", "SACLearner", "SACState",
           "make_train", "greedy_eval"]

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
NUM_CRITICS = 2


# ----------------------------------------------------------------------------------- pure pieces


def entropy_target(discrete: bool, num_actions: int, scale: float) -> float:
    """The entropy the temperature steers the policy to: scale * log(num_actions) for a categorical
    policy over `num_actions` actions (a fraction of the uniform policy's entropy), -scale *
    num_actions for a squashed Gaussian over `num_actions` action dimensions."""
    return scale * math.log(num_actions) if discrete else -scale * float(num_actions)


def temperature_loss(log_alpha: jax.Array, mean_log_prob: jax.Array, target: float) -> jax.Array:
    """-log_alpha * (E[log pi] + target), with no gradient through E[log pi]. Its gradient in
    log_alpha is entropy - target: descent raises alpha while the entropy is below the target."""
    return -log_alpha * (jax.lax.stop_gradient(mean_log_prob) + target)


@flax.struct.dataclass
class SACLearner:
    """Everything an update changes (kept apart from the buffer, as DDPG's `Learner`)."""

    actor: Any
    critic: Any            # twin critics stacked on a leading [2] axis
    critic_target: Any
    log_alpha: jax.Array   # float32 scalar
    actor_opt: Any
    critic_opt: Any
    alpha_opt: Any
    updates: jax.Array     # int32: updates taken


@flax.struct.dataclass
class SACState:
    learner: SACLearner
    buffer: Any            # buffers.UniformBuffer of Transitions
    env: Any               # VecEnvState
    env_steps: jax.Array   # int32
    key: jax.Array


# ----------------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class SACConfig(AgentConfig):
    """SAC's hyper-parameters (`jaxml.defaults.rl.sac.default_config` documents them), checked once."""

    env: str = param()
    num_envs: int = param(ge=1)
    total_env_steps: int = param(ge=1)
    buffer_size: int = param(ge=1)
    batch_size: int = param(ge=1)
    actor_lr: float = param(gt=0.0)
    critic_lr: float = param(gt=0.0)
    alpha_lr: float = param(gt=0.0)
    tau: float = param(gt=0.0, le=1.0)
    gamma: float = param(ge=0.0, le=1.0)
    hidden: tuple[int, ...] = param(ge=1)
    learning_starts: int = param(ge=0)
    updates_per_step: int = param(ge=1)
    init_alpha: float = param(gt=0.0)
    target_entropy_scale: float = param(ge=0.0)
    eval_episodes: int = param(ge=1)

    def check(self) -> None:
        self.check_replay_fits()


Config = SACConfig   # the agent contract's name for it (see jaxml.rl.runner)


@dataclasses.dataclass(frozen=True)
class _Policy:
    """The actor's distribution for one kind of action space: `random(key, n)` -> n uniform random
    actions (before learning starts), `sample(params, obs, key)` ->
    (action, log pi [B]) for acting and the losses, `greedy(params, obs)`, and for the losses
    `soft_value(actor, critic_q, obs, key, alpha)` -> (E_pi[Q - alpha log pi] [B], E_pi[log pi] [B])
    where critic_q(action or None) -> Q [2, B] (discrete: [2, B, A])."""

    discrete: bool
    num_actions: int          # |A|: actions (discrete) or action dimensions (continuous)
    shape: tuple[int, ...]    # the env's action shape
    random: Callable
    sample: Callable
    greedy: Callable
    soft_value: Callable


def _continuous_policy(actor: MLP, shape, low, high) -> _Policy:
    dim = int(math.prod(shape))

    def heads(params, obs):
        out = actor.apply(params, obs, train=False)
        mean, raw = out[:, :dim], out[:, dim:]
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(raw) + 1.0)
        return mean, log_std

    def sample(params, obs, key):
        mean, log_std = heads(params, obs)
        action, logp = squashed_gaussian(mean, log_std, jax.random.normal(key, mean.shape), low.ravel(),
                                         high.ravel())
        return action.reshape((obs.shape[0],) + shape), logp

    def greedy(params, obs):
        mean, _ = heads(params, obs)
        center, half = (high + low).ravel() / 2.0, (high - low).ravel() / 2.0
        return (center + half * jnp.tanh(mean)).reshape((obs.shape[0],) + shape)

    def soft_value(params, critic_q, obs, key, alpha):
        action, logp = sample(params, obs, key)
        return jnp.min(critic_q(action), axis=0) - alpha * logp, logp

    def random(key, n):
        return jax.random.uniform(key, (n,) + tuple(shape), jnp.float32, low, high)

    return _Policy(False, dim, tuple(shape), random, sample, greedy, soft_value)


def _discrete_policy(actor: MLP, num_actions: int) -> _Policy:
    def sample(params, obs, key):
        logits = actor.apply(params, obs, train=False)
        action = jax.random.categorical(key, logits).astype(jnp.int32)
        logp = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], -1)[:, 0]
        return action, logp

    def greedy(params, obs):
        return jnp.argmax(actor.apply(params, obs, train=False), -1).astype(jnp.int32)

    def soft_value(params, critic_q, obs, key, alpha):
        del key
        logp_all = jax.nn.log_softmax(actor.apply(params, obs, train=False))   # [B, A]
        probs = jnp.exp(logp_all)
        q = jnp.min(critic_q(None), axis=0)                                     # [B, A]
        return jnp.sum(probs * (q - alpha * logp_all), -1), jnp.sum(probs * logp_all, -1)

    def random(key, n):
        return jax.random.randint(key, (n,), 0, num_actions, jnp.int32)

    return _Policy(True, num_actions, (), random, sample, greedy, soft_value)


def _setup(config):
    """Typed config, env, env params, the policy, the actor and critic modules."""
    cfg = SACConfig.from_config(config)
    env, env_params = make_env(cfg.env)
    space = env.action_space(env_params)
    if hasattr(space, "n"):
        n = int(space.n)
        actor, critic = MLP(num_classes=n, hidden=cfg.hidden), MLP(num_classes=n, hidden=cfg.hidden)
        policy = _discrete_policy(actor, n)
    else:
        shape, low, high = box_bounds(env, env_params, cfg.env, "SAC",
                                      "a Discrete or a Box action space is needed")
        dim = int(math.prod(shape))
        actor, critic = MLP(num_classes=2 * dim, hidden=cfg.hidden), MLP(num_classes=1, hidden=cfg.hidden)
        policy = _continuous_policy(actor, shape, jnp.asarray(low), jnp.asarray(high))
    return cfg, env, env_params, policy, actor, critic


# ----------------------------------------------------------------------------------- training


def make_train(config) -> tuple[Callable, Callable]:
    """Returns `(init, train_chunk)` (pure, unjitted) for `config`, an ml_collections config or a
    `SACConfig`. `init(key) -> SACState`; `train_chunk(state, num_iterations) -> (state, metrics)`
    with per-iteration arrays [T] (module docstring)."""
    cfg, env, env_params, policy, actor, critic = _setup(config)
    num_envs, batch_size, gamma, tau = cfg.num_envs, cfg.batch_size, cfg.gamma, cfg.tau
    target_entropy = entropy_target(policy.discrete, policy.num_actions, cfg.target_entropy_scale)
    tx_actor, tx_critic, tx_alpha = optax.adam(cfg.actor_lr), optax.adam(cfg.critic_lr), optax.adam(cfg.alpha_lr)

    def q_values(params, obs, action):
        """[2, B] at `action`; [2, B, A] when discrete and `action` is None."""
        if policy.discrete:
            q = ensemble_apply(critic, params, obs.reshape(obs.shape[0], -1))
            if action is None:
                return q
            return jnp.take_along_axis(q, action[None, :, None].astype(jnp.int32), -1)[..., 0]
        return ensemble_apply(critic, params, state_action(obs, action))[..., 0]

    def init(key: jax.Array) -> SACState:
        k_actor, k_critic, k_env, k_run = jax.random.split(key, 4)
        env_state = vec_reset(k_env, env, env_params, num_envs)
        obs = env_state.obs
        actor_params = actor.init(k_actor, obs, train=False)
        if policy.discrete:
            zero_action = jnp.zeros((num_envs,), jnp.int32)
            critic_in = obs.reshape(num_envs, -1)
        else:
            zero_action = jnp.zeros((num_envs,) + policy.shape, jnp.float32)
            critic_in = state_action(obs, zero_action)
        critic_params = ensemble_init(critic, k_critic, critic_in, NUM_CRITICS)
        log_alpha = jnp.asarray(math.log(cfg.init_alpha), jnp.float32)
        _, example = vec_step(k_env, env_state, zero_action, env, env_params)
        example = jax.tree.map(lambda a: a[0], example)
        learner = SACLearner(actor=actor_params, critic=critic_params, critic_target=critic_params,
                             log_alpha=log_alpha, actor_opt=tx_actor.init(actor_params),
                             critic_opt=tx_critic.init(critic_params), alpha_opt=tx_alpha.init(log_alpha),
                             updates=jnp.zeros((), jnp.int32))
        return SACState(learner=learner, buffer=buffers.uniform_init(example, cfg.buffer_size),
                        env=env_state, env_steps=jnp.zeros((), jnp.int32), key=k_run)

    def critic_loss_fn(critic_params, batch, target):
        q = q_values(critic_params, batch.obs, batch.action)
        return jnp.sum(jnp.mean((q - target[None]) ** 2, axis=1)), jnp.mean(q)

    def actor_loss_fn(actor_params, critic_params, obs, key, alpha):
        value, logp = policy.soft_value(actor_params, lambda a: q_values(critic_params, obs, a), obs, key, alpha)
        return -jnp.mean(value), jnp.mean(logp)

    def update(ln: SACLearner, buf, key: jax.Array):
        k_sample, k_next, k_actor = jax.random.split(key, 3)
        batch, _ = buffers.uniform_sample(buf, k_sample, batch_size)
        alpha = jnp.exp(ln.log_alpha)
        next_v, _ = policy.soft_value(ln.actor, lambda a: q_values(ln.critic_target, batch.next_obs, a),
                                      batch.next_obs, k_next, alpha)
        target = one_step_target(batch.reward, batch.terminated, next_v, gamma)
        (critic_loss, q_mean), g = jax.value_and_grad(critic_loss_fn, has_aux=True)(ln.critic, batch, target)
        u, critic_opt = tx_critic.update(g, ln.critic_opt, ln.critic)
        critic_params = optax.apply_updates(ln.critic, u)

        (actor_loss, mean_logp), g = jax.value_and_grad(actor_loss_fn, has_aux=True)(
            ln.actor, critic_params, batch.obs, k_actor, alpha)
        u, actor_opt = tx_actor.update(g, ln.actor_opt, ln.actor)
        actor_params = optax.apply_updates(ln.actor, u)

        alpha_loss, g = jax.value_and_grad(temperature_loss)(ln.log_alpha, mean_logp, target_entropy)
        u, alpha_opt = tx_alpha.update(g, ln.alpha_opt, ln.log_alpha)
        ln = SACLearner(actor=actor_params, critic=critic_params,
                        critic_target=polyak(critic_params, ln.critic_target, tau),
                        log_alpha=optax.apply_updates(ln.log_alpha, u), actor_opt=actor_opt,
                        critic_opt=critic_opt, alpha_opt=alpha_opt, updates=ln.updates + 1)
        return ln, jnp.stack([critic_loss, actor_loss, alpha_loss, alpha, -mean_logp, q_mean])

    def updates_block(ln: SACLearner, buf, key: jax.Array):
        ln, m = jax.lax.scan(lambda l, k: update(l, buf, k), ln, jax.random.split(key, cfg.updates_per_step))
        return ln, jnp.mean(m, axis=0)

    def no_updates(ln: SACLearner, buf, key: jax.Array):
        del buf, key
        return ln, jnp.zeros((6,), jnp.float32)

    def iteration(state: SACState, _):
        key, k_rand, k_act, k_env, k_update = jax.random.split(state.key, 5)
        learning = state.env_steps >= cfg.learning_starts
        random_action = policy.random(k_rand, num_envs)
        policy_action, _ = policy.sample(state.learner.actor, state.env.obs, k_act)
        action = jnp.where(learning, policy_action, random_action)
        env_state, tr = vec_step(k_env, state.env, action, env, env_params)
        buf = buffers.uniform_add(state.buffer, tr)
        steps = state.env_steps + num_envs
        do_train = (steps >= cfg.learning_starts) & buffers.can_sample(buf, batch_size)
        learner, m = jax.lax.cond(do_train, updates_block, no_updates, state.learner, buf, k_update)
        state = SACState(learner=learner, buffer=buf, env=env_state, env_steps=steps, key=key)
        ep = episode_metrics(env_state.stats)
        names = ("critic_loss", "actor_loss", "alpha_loss", "alpha", "entropy", "q_mean")
        metrics = {"loss": m[0], **dict(zip(names, m)), "trained": do_train, "env_steps": steps,
                   "return": ep["return"], "length": ep["length"], "episodes": ep["episodes"]}
        return state, metrics

    return init, scanned(iteration)


def greedy_eval(config, runner_state: SACState, key: jax.Array) -> dict:
    """`envs.evaluate` of the greedy policy (the squashed mean, or the argmax) on `eval_episodes`
    fresh eval envs."""
    cfg, env, env_params, policy, _, _ = _setup(config)
    params = runner_state.learner.actor
    return evaluate(key, lambda obs, _k: policy.greedy(params, obs), env, env_params, cfg.eval_episodes)
