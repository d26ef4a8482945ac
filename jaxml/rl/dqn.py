"""DQN (optionally Double DQN and prioritised replay) on gymnax, PureJaxRL style.

The whole run is one `jax.lax.scan` over iterations, so it can be `jax.jit`-ed and `jax.vmap`-ed
over seeds. One iteration:

1. epsilon-greedy action per env (each env draws its own explore coin and random action);
2. one `vec_step` of the `num_envs` envs (env_steps += num_envs);
3. the `Transition` (obs, action, reward, TRUE next_obs, terminated, truncated) goes into the
   replay buffer (never the post-reset observation);
4. if `env_steps >= learning_starts` and env_steps crossed a multiple of `train_every`, one
   gradient step (at most one per iteration) on a sampled batch;
5. if `env_steps >= learning_starts` and env_steps crossed a multiple of `target_update_every`,
   target <- tau * online + (1 - tau) * target (tau = 1: hard copy).

The conditional update is a `lax.cond` (a select under `vmap`); nothing branches in Python on
traced values.

TD target (see `td_target`): r + gamma * (1 - terminated) * Q_target(next_obs, a*), with
a* = argmax_a Q_online(next_obs) (double_q) or argmax_a Q_target(next_obs). Only `terminated`
stops the bootstrap: a time-limit truncation bootstraps from the true next observation (which
PureJaxRL's DQN gets wrong: it treats truncation as termination, docs/references.md#reinforcement-learning).

Loss: mean squared TD error (as CleanRL / PureJaxRL), weighted by the importance-sampling
weights when `per=True`; priorities are updated with |td|. Beta is annealed with
`buffers.beta_schedule(per_beta_start, per_beta_end, total_env_steps)` on env_steps. The optimizer
is Adam after clipping the gradients' global norm to `max_grad_norm` (0: no clipping), both on one
flat vector of the parameters (`rl.agent.clipped_adam(flat=True)`: a few fused kernels per update
instead of a few per leaf; BENCHMARKS.md measures it).

n-step returns (`n_step > 1`): each env keeps a window of its last n transitions in the state;
once full, the oldest start is stored as one `NStepTransition` (see `nstep_transition`): reward
sum_k gamma^k r_k up to and including the first step that ends an episode (terminated or
truncated), the TRUE next observation and `terminated` flag of that last step, and the bootstrap
discount gamma^(k+1). So a termination cuts the bootstrap, a truncation bootstraps from the final
observation, and no return crosses an episode boundary. The last n-1 transitions of a run are never
stored (they would need future steps).

Not implemented: dueling heads, Huber loss.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax

from jaxml.errors import JaxmlError
from jaxml.models.mlp import MLP
from jaxml.rl.agent import clipped_adam, scanned
from jaxml.rl.agent_config import AgentConfig, param
from jaxml.rl import buffers
from jaxml.rl.envs import (Transition, discrete_actions, episode_metrics, evaluate, make_env, vec_reset,
                           vec_step)
from jaxml.rl.exploration import epsilon_greedy, linear_schedule
from jaxml.rl.targets import one_step_target, polyak

__all__ = ["DQNConfig", "Config", "td_target", "epsilon_schedule", "nstep_transition",
           "NStepTransition", "DQNState", "make_train", "greedy_eval"]


# ----------------------------------------------------------------------------------- pure pieces


def td_target(reward: jax.Array, terminated: jax.Array, next_q_target: jax.Array,
              next_q_online: jax.Array | None, gamma: float, double_q: bool) -> jax.Array:
    """One-step TD target r + gamma * (1 - terminated) * Q_target(s', a*).

    `next_q_target` / `next_q_online` are [B, A] Q-values of the TRUE next observation under the
    target / online network. a* = argmax next_q_online if `double_q` else argmax next_q_target.
    Only `terminated` cuts the bootstrap (a truncated transition bootstraps)."""
    if double_q:
        if next_q_online is None:
            raise JaxmlError("td_target: double_q=True needs next_q_online")
        a_star = jnp.argmax(next_q_online, axis=-1)
    else:
        a_star = jnp.argmax(next_q_target, axis=-1)
    next_v = jnp.take_along_axis(next_q_target, a_star[..., None], axis=-1)[..., 0]
    return one_step_target(reward, terminated, next_v, gamma)


epsilon_schedule = linear_schedule   # eps(step) linear from `start` to `end` over `duration` env steps


@flax.struct.dataclass
class NStepTransition:
    """What the replay buffer stores when n_step > 1: `transition.reward` is the n-step return,
    `transition.next_obs` / `.terminated` belong to the window's last step, and `discount` is
    gamma^(steps summed) (the bootstrap factor of Q(next_obs))."""

    transition: Transition
    discount: jax.Array   # float32


def nstep_transition(window: Transition, gamma: float) -> NStepTransition:
    """The n-step transition starting at `window[0]`, for windows with leading dims [n, num_envs].

    Sums gamma^k r_k over k = 0..L where L is the first step whose `done` (terminated | truncated)
    is set, else n-1; takes `next_obs` and `terminated` from step L; discount = gamma^(L+1)."""
    n = window.reward.shape[0]
    done = window.done.astype(jnp.float32)                              # [n, E]
    alive = jnp.concatenate([jnp.ones_like(done[:1]), jnp.cumprod(1.0 - done[:-1], axis=0)], axis=0)
    powers = gamma ** jnp.arange(n, dtype=jnp.float32)                  # [n]
    ret = jnp.sum(alive * powers[:, None] * window.reward, axis=0)
    # L = first done index (or n-1): the last step that is still alive
    last = jnp.sum(alive, axis=0).astype(jnp.int32) - 1                 # [E]
    pick = lambda x: jnp.take_along_axis(x, last.reshape((1, -1) + (1,) * (x.ndim - 2)), axis=0)[0]
    first = jax.tree.map(lambda x: x[0], window)
    out = first.replace(reward=ret.astype(jnp.float32), next_obs=pick(window.next_obs),
                        terminated=pick(window.terminated), truncated=pick(window.truncated))
    return NStepTransition(transition=out, discount=(gamma ** (last + 1).astype(jnp.float32)).astype(jnp.float32))


@flax.struct.dataclass
class DQNState:
    params: Any
    target_params: Any
    opt_state: Any
    buffer: Any            # UniformBuffer or PrioritizedBuffer of Transitions
    env: Any               # VecEnvState
    env_steps: jax.Array   # int32: env steps taken (all envs)
    grad_steps: jax.Array  # int32: gradient steps taken
    key: jax.Array
    window: Any = None     # n_step > 1: the last n Transitions per env, leading dims [n, num_envs]


# ----------------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class DQNConfig(AgentConfig):
    """DQN's hyper-parameters (`jaxml.defaults.rl.dqn.default_config` documents them), checked once."""

    env: str = param()
    num_envs: int = param(ge=1)
    buffer_size: int = param(ge=1)
    batch_size: int = param(ge=1)
    learning_rate: float = param(gt=0.0)
    eps_start: float = param(ge=0.0, le=1.0)
    eps_end: float = param(ge=0.0, le=1.0)
    eps_fraction: float = param(ge=0.0)
    target_update_every: int = param(ge=1)
    tau: float = param(gt=0.0, le=1.0)
    learning_starts: int = param(ge=0)
    train_every: int = param(ge=1)
    gamma: float = param(ge=0.0, le=1.0)
    hidden: tuple[int, ...] = param(ge=1)
    total_env_steps: int = param(ge=1)
    double_q: bool = param()
    per: bool = param()
    per_alpha: float = param(ge=0.0)
    per_beta_start: float = param(ge=0.0)
    per_beta_end: float = param(ge=0.0)
    n_step: int = param(ge=1)
    eval_episodes: int = param(ge=1)
    max_grad_norm: float = param(ge=0.0)
    anneal_lr: bool = param(default=False)

    def check(self) -> None:
        self.check_replay_fits()

    @property
    def num_updates(self) -> int:
        """Gradient steps of the whole run: one per `train_every` env steps after `learning_starts`."""
        return max(self.total_env_steps - self.learning_starts, 0) // self.train_every


def _network_and_env(config):
    cfg = DQNConfig.from_config(config)
    env, env_params = make_env(cfg.env)
    num_actions = discrete_actions(env, env_params, cfg.env, "DQN")
    network = MLP(num_classes=num_actions, hidden=cfg.hidden)
    return cfg, env, env_params, network, num_actions


Config = DQNConfig   # the agent contract's name for it (see jaxml.rl.runner)


# ----------------------------------------------------------------------------------- training


def learning_rate_schedule(cfg: DQNConfig):
    """Adam's learning rate: constant, or (`anneal_lr`) linear from `learning_rate` to 0 over the run's
    `num_updates` gradient steps, which steadies the greedy policy at the end of a run."""
    return linear_schedule(cfg.learning_rate, 0.0, cfg.num_updates) if cfg.anneal_lr else cfg.learning_rate


def make_train(config) -> tuple[Callable, Callable]:
    """Returns `(init, train_chunk)` (pure, unjitted; jit/vmap them as you like) for `config`, an
    ml_collections config or a `DQNConfig`.

    `init(key) -> DQNState`. `train_chunk(state, num_iterations) -> (state, metrics)` where
    `num_iterations` is a static Python int and `metrics` holds per-iteration arrays [T]:
    loss, q_mean (mean Q(s, a) of the batch; 0 when no update ran), trained (bool), epsilon,
    beta (PER only), env_steps, return / length / episodes (`episode_metrics` of the training
    envs)."""
    cfg, env, env_params, network, num_actions = _network_and_env(config)
    num_envs, batch_size = cfg.num_envs, cfg.batch_size
    gamma, tau, double_q, per, n_step = cfg.gamma, cfg.tau, cfg.double_q, cfg.per, cfg.n_step
    eps_fn = epsilon_schedule(cfg.eps_start, cfg.eps_end, cfg.eps_fraction * cfg.total_env_steps)
    beta_fn = buffers.beta_schedule(cfg.per_beta_start, cfg.per_beta_end, cfg.total_env_steps)
    tx = clipped_adam(learning_rate_schedule(cfg), cfg.max_grad_norm, flat=True)

    def q_values(params, obs):
        return network.apply(params, obs, train=False)

    def init(key: jax.Array) -> DQNState:
        k_net, k_env, k_run = jax.random.split(key, 3)
        env_state = vec_reset(k_env, env, env_params, num_envs)
        params = network.init(k_net, env_state.obs, train=False)
        _, step = vec_step(k_env, env_state, jnp.zeros((num_envs,), jnp.int32), env, env_params)
        example = jax.tree.map(lambda x: x[0], step)
        window = None
        if n_step > 1:
            window = jax.tree.map(lambda x: jnp.zeros((n_step,) + x.shape, x.dtype), step)
            example = NStepTransition(transition=example, discount=jnp.zeros((), jnp.float32))
        if per:
            buf = buffers.per_init(example, cfg.buffer_size, alpha=cfg.per_alpha)
        else:
            buf = buffers.uniform_init(example, cfg.buffer_size)
        return DQNState(params=params, target_params=params, opt_state=tx.init(params), buffer=buf,
                        env=env_state, env_steps=jnp.zeros((), jnp.int32),
                        grad_steps=jnp.zeros((), jnp.int32), key=k_run, window=window)

    def loss_fn(params, target_params, batch, weights):
        discount = gamma
        if n_step > 1:
            batch, discount = batch.transition, batch.discount
        q = q_values(params, batch.obs)
        q_sa = jnp.take_along_axis(q, batch.action[:, None].astype(jnp.int32), axis=-1)[:, 0]
        next_q_target = q_values(target_params, batch.next_obs)
        next_q_online = q_values(params, batch.next_obs) if double_q else None
        target = td_target(batch.reward, batch.terminated, next_q_target,
                           None if next_q_online is None else jax.lax.stop_gradient(next_q_online),
                           discount, double_q)
        td = q_sa - target
        return jnp.mean(weights * td ** 2), (td, jnp.mean(q_sa))

    def update(state: DQNState, key: jax.Array, beta: jax.Array):
        if per:
            batch, idx, weights = buffers.per_sample(state.buffer, key, batch_size, beta)
        else:
            batch, idx = buffers.uniform_sample(state.buffer, key, batch_size)
            weights = jnp.ones((batch_size,), jnp.float32)
        (loss, (td, q_mean)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.target_params, batch, weights)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        buf = buffers.per_update(state.buffer, idx, jax.lax.stop_gradient(td)) if per else state.buffer
        new = state.replace(params=params, opt_state=opt_state, buffer=buf,
                            grad_steps=state.grad_steps + 1)
        return new, loss, q_mean

    def no_update(state: DQNState, key: jax.Array, beta: jax.Array):
        del key, beta
        return state, jnp.zeros((), jnp.float32), jnp.zeros((), jnp.float32)

    def iteration(state: DQNState, _):
        key, k_coin, k_rand, k_env, k_sample = jax.random.split(state.key, 5)
        eps = eps_fn(state.env_steps)
        greedy = jnp.argmax(q_values(state.params, state.env.obs), axis=-1).astype(jnp.int32)
        action = epsilon_greedy(k_coin, k_rand, greedy, num_actions, eps)
        env_state, tr = vec_step(k_env, state.env, action, env, env_params)
        add = buffers.per_add if per else buffers.uniform_add
        prev = state.env_steps
        steps = prev + num_envs
        window = state.window
        if n_step > 1:  # the window is full once n iterations have run: store its oldest start
            window = jax.tree.map(lambda w, x: jnp.concatenate([w[1:], x[None]], axis=0), window, tr)
            full = steps >= n_step * num_envs
            buf = jax.lax.cond(full, lambda b: add(b, nstep_transition(window, gamma)), lambda b: b, state.buffer)
        else:
            buf = add(state.buffer, tr)
        state = state.replace(env=env_state, buffer=buf, env_steps=steps, key=key, window=window)

        learning = steps >= cfg.learning_starts
        do_train = (learning & (steps // cfg.train_every > prev // cfg.train_every)
                    & buffers.can_sample(buf, batch_size))
        beta = beta_fn(steps)
        state, loss, q_mean = jax.lax.cond(do_train, update, no_update, state, k_sample, beta)

        do_target = learning & (steps // cfg.target_update_every > prev // cfg.target_update_every)
        target = jax.tree.map(lambda new, t: jnp.where(do_target, new, t),
                              polyak(state.params, state.target_params, tau), state.target_params)
        state = state.replace(target_params=target)

        ep = episode_metrics(env_state.stats)
        metrics = {"loss": loss, "q_mean": q_mean, "trained": do_train, "epsilon": eps,
                   "env_steps": steps, "return": ep["return"], "length": ep["length"],
                   "episodes": ep["episodes"]}
        if per:
            metrics["beta"] = beta
        return state, metrics

    return init, scanned(iteration)


def greedy_eval(config, runner_state: DQNState, key: jax.Array) -> dict:
    """`envs.evaluate` of the argmax-Q policy of `runner_state.params` on `eval_episodes` fresh
    eval envs (separate from the training envs)."""
    cfg, env, env_params, network, _ = _network_and_env(config)
    params = runner_state.params

    def policy(obs, _key):
        return jnp.argmax(network.apply(params, obs, train=False), axis=-1).astype(jnp.int32)

    return evaluate(key, policy, env, env_params, cfg.eval_episodes)
