"""Recurrent PPO: a GRU actor-critic for partially observed gymnax tasks (method "rppo"), PureJaxRL
style, on the pieces of `jaxml.rl.ppo` (GAE, the clipped objective, action sampling).

Network (`RecurrentActorCritic`, one step): a Dense embedding of the observation (`hidden[0]`, the
activation), a GRU cell of `gru_size` units, then separate actor and critic heads (Dense
`hidden[-1]` + activation, then the logits / Gaussian mean and the value). The hidden state is set
to zeros before the step whose `start` flag is set: the first step of an episode, i.e. the step
after one that ended (`done = terminated | truncated`), so no memory crosses an episode boundary.
`unroll` scans the cell over a [T, B] sequence with its start flags.

One iteration (`num_envs * num_steps` env steps):

1. rollout of `num_steps` steps of `num_envs` envs carrying each env's hidden state (and its
   start flag) across iterations; the value of the TRUE next observation, V(h_t, next_obs_t), is
   taken in the rollout with the hidden state h_t of the step just taken, so a truncated step
   bootstraps from its episode's own memory;
2. GAE as in PPO (`ppo.gae`): only `terminated` cuts the bootstrap, `done` cuts the recursion;
3. `update_epochs` epochs x `num_minibatches` minibatches of envs (each minibatch holds whole
   sequences of `num_envs // num_minibatches` envs, not shuffled time steps): the GRU is re-run
   over the whole rollout from the hidden state each env had at its start, with the stored start
   flags, and the gradient flows back through the rollout's `num_steps` steps (truncated BPTT: the
   hidden state at the rollout's start is a constant). The loss is `ppo.ppo_objective`.

Greedy evaluation carries the hidden state through each eval episode (`envs.evaluate`'s
`init_carry`). Metrics as PPO's (loss, policy_loss, value_loss, entropy, approx_kl, clip_frac,
learning_rate, env_steps, episode statistics). One device only (no Anakin layout).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxml.errors import JaxmlError
from jaxml.rl.agent import clipped_adam, scanned, steps_per_iteration
from jaxml.rl.agent_config import param
from jaxml.rl.envs import episode_metrics, make_env, vec_reset, vec_step
from jaxml.rl.ppo import (ACTIVATIONS, PPOCommonConfig, _log_prob_entropy, _sample, env_action, evaluate_policies,
                          gae, ppo_objective)

__all__ = ["RPPOConfig", "Config", "steps_per_iteration", "RecurrentActorCritic", "unroll",
           "RPPOState", "make_train", "greedy_eval"]


class RecurrentActorCritic(nn.Module):
    """One step: (hidden [B, H], obs [B, ...], start [B]) -> (hidden, (out [B, A], log_std [A] or
    None, value [B])), the hidden state zeroed first where `start` is set."""

    action_dim: int
    continuous: bool
    gru_size: int = 128
    hidden: Sequence[int] = (128, 128)
    activation: str = "tanh"
    log_std_init: float = 0.0

    @nn.compact
    def __call__(self, h: jax.Array, obs: jax.Array, start: jax.Array):
        act = ACTIVATIONS[self.activation]
        dense = lambda n, scale: nn.Dense(n, kernel_init=nn.initializers.orthogonal(scale),
                                          bias_init=nn.initializers.zeros)
        h = jnp.where(start[:, None], jnp.zeros_like(h), h)
        x = act(dense(self.hidden[0], math.sqrt(2))(obs.reshape(obs.shape[0], -1).astype(jnp.float32)))
        h, y = nn.GRUCell(features=self.gru_size)(h, x)
        out = dense(self.action_dim, 0.01)(act(dense(self.hidden[-1], math.sqrt(2))(y)))
        value = dense(1, 1.0)(act(dense(self.hidden[-1], math.sqrt(2))(y)))[:, 0]
        log_std = None
        if self.continuous:
            log_std = self.param("log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,))
        return h, (out, log_std, value)


def unroll(network: RecurrentActorCritic, params: Any, h0: jax.Array, obs: jax.Array,
           starts: jax.Array):
    """The network over a sequence: obs [T, B, ...] and start flags [T, B] from hidden h0 [B, H].
    Returns (the last hidden state, (out [T, B, A], log_std, value [T, B]))."""
    def step(h, xs):
        o, s = xs
        h, (out, log_std, value) = network.apply(params, h, o, s)
        return h, (out, value, log_std)

    h, (out, value, log_std) = jax.lax.scan(step, h0, (obs, starts))
    return h, (out, None if log_std is None else log_std[0], value)


@flax.struct.dataclass
class RPPOState:
    params: Any
    opt_state: Any
    env: Any               # VecEnvState [num_envs]
    hidden: jax.Array      # [num_envs, gru_size]: each env's GRU state before its next step
    start: jax.Array       # [num_envs] bool: the next step starts an episode
    env_steps: jax.Array   # int32
    key: jax.Array


@dataclasses.dataclass(frozen=True)
class RPPOConfig(PPOCommonConfig):
    """Recurrent PPO's hyper-parameters (`jaxml.defaults.rl.rppo.default_config` documents them):
    PPO's common ones and the GRU's."""

    gru_size: int = param(ge=1)
    activation: str = param(choices=ACTIVATIONS)
    log_std_init: float = param()
    total_env_steps: int = param(ge=1)
    eval_episodes: int = param(ge=1)

    def check(self) -> None:
        if self.num_envs % self.num_minibatches:
            raise JaxmlError(f"config.num_minibatches={self.num_minibatches} must divide "
                             f"config.num_envs={self.num_envs} (a minibatch is whole sequences of "
                             "num_envs // num_minibatches envs)")
        self.check_rollout_fits()


Config = RPPOConfig   # the agent contract's name for it (see jaxml.rl.runner)


def _setup(config):
    cfg = RPPOConfig.from_config(config)
    env, env_params = make_env(cfg.env, **dict(cfg.env_params))
    space = env.action_space(env_params)
    if hasattr(space, "n"):
        continuous, action_dim, low, high = False, int(space.n), None, None
    elif hasattr(space, "low") and len(getattr(space, "shape", ())) == 1:
        continuous, action_dim = True, int(space.shape[0])
        low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), space.shape)
        high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), space.shape)
    else:
        raise JaxmlError(f"recurrent PPO needs a Discrete or 1-D Box action space; {cfg.env} has "
                         f"{type(space).__name__} {getattr(space, 'shape', '')}")
    network = RecurrentActorCritic(action_dim=action_dim, continuous=continuous, gru_size=cfg.gru_size,
                                   hidden=cfg.hidden, activation=cfg.activation, log_std_init=cfg.log_std_init)
    return cfg, env, env_params, network, continuous, low, high


def make_train(config) -> tuple[Callable, Callable]:
    """Returns `(init, train_chunk)` (pure, unjitted) for `config`, an ml_collections config or an
    `RPPOConfig` (module docstring)."""
    cfg, env, env_params, network, continuous, low, high = _setup(config)
    num_envs, num_steps, epochs, num_mb = cfg.num_envs, cfg.num_steps, cfg.update_epochs, cfg.num_minibatches
    mb_envs = num_envs // num_mb
    num_iterations = cfg.total_env_steps // (num_envs * num_steps)
    lr = (optax.linear_schedule(cfg.learning_rate, 0.0, num_iterations * epochs * num_mb)
          if cfg.anneal_lr else cfg.learning_rate)
    tx = clipped_adam(lr, cfg.max_grad_norm, eps=cfg.adam_eps)

    def init(key: jax.Array) -> RPPOState:
        k_net, k_env, k_run = jax.random.split(key, 3)
        env_state = vec_reset(k_env, env, env_params, num_envs)
        hidden = jnp.zeros((num_envs, cfg.gru_size), jnp.float32)
        start = jnp.ones((num_envs,), bool)
        params = network.init(k_net, hidden, env_state.obs.astype(jnp.float32), start)
        return RPPOState(params=params, opt_state=tx.init(params), env=env_state, hidden=hidden,
                         start=start, env_steps=jnp.zeros((), jnp.int32), key=k_run)

    def rollout(state: RPPOState, key: jax.Array):
        def step(carry, t):
            env_state, h, start = carry
            k_act, k_env = jax.random.split(jax.random.fold_in(key, t))
            h, (out, log_std, value) = network.apply(state.params, h, env_state.obs, start)
            action = _sample(jax.random.split(k_act, num_envs), out, log_std, continuous)
            logp, _ = _log_prob_entropy(out, log_std, action, continuous)
            env_action = jnp.clip(action, low, high) if continuous else action
            new_env, tr = vec_step(k_env, env_state, env_action, env, env_params)
            _, (_, _, next_value) = network.apply(state.params, h, tr.next_obs, jnp.zeros_like(start))
            record = dict(obs=tr.obs, start=start, action=action, logp=logp, value=value,
                          next_value=next_value, reward=tr.reward, terminated=tr.terminated, done=tr.done)
            return (new_env, h, tr.done), record

        return jax.lax.scan(step, (state.env, state.hidden, state.start), jnp.arange(num_steps))

    def loss_fn(params, batch):
        _, (out, log_std, value) = unroll(network, params, batch["h0"], batch["obs"], batch["start"])
        logp, ent = _log_prob_entropy(out, log_std, batch["action"], continuous)
        return ppo_objective(logp, ent, value, batch, cfg.clip_eps, cfg.vf_coef, cfg.ent_coef)

    def minibatch_step(carry, batch):
        params, opt_state = carry
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), {"loss": loss, **aux}

    def epoch(carry, key, data, h0):
        perm = jax.random.permutation(key, num_envs)
        # [T, N, ...] -> [M, T, N / M, ...]: minibatch m holds whole sequences of N / M envs
        arrange = lambda x: jnp.swapaxes(x[:, perm].reshape((num_steps, num_mb, mb_envs) + x.shape[2:]), 0, 1)
        batches = jax.tree.map(arrange, data)
        batches["h0"] = h0[perm].reshape((num_mb, mb_envs) + h0.shape[1:])
        return jax.lax.scan(minibatch_step, carry, batches)

    def iteration(state: RPPOState, _):
        key, k_roll, k_upd = jax.random.split(state.key, 3)
        (env_state, hidden, start), traj = rollout(state, k_roll)
        adv, ret = gae(traj["reward"], traj["value"], traj["next_value"], traj["terminated"],
                       traj["done"], cfg.gamma, cfg.gae_lambda)
        data = {"obs": traj["obs"], "start": traj["start"], "action": traj["action"],
                "logp": traj["logp"], "adv": adv, "ret": ret}
        (params, opt_state), m = jax.lax.scan(
            lambda carry, e: epoch(carry, jax.random.fold_in(k_upd, e), data, state.hidden),
            (state.params, state.opt_state), jnp.arange(epochs))
        updates_before = state.env_steps // (num_envs * num_steps) * epochs * num_mb
        steps = state.env_steps + num_envs * num_steps
        state = RPPOState(params=params, opt_state=opt_state, env=env_state, hidden=hidden, start=start,
                          env_steps=steps, key=key)
        metrics = jax.tree.map(jnp.mean, m)
        metrics.update(episode_metrics(env_state.stats))
        metrics.update({"env_steps": steps,
                        "learning_rate": jnp.asarray(lr(updates_before) if cfg.anneal_lr else lr, jnp.float32)})
        return state, metrics

    return init, scanned(iteration)


def greedy_eval(config, runner_state: RPPOState, key: jax.Array) -> dict:
    """`envs.evaluate` of the greedy recurrent policy (argmax logits; the clipped Gaussian mean),
    its hidden state carried through each episode from zeros; with `eval_sampled` also of the
    sampling policy (`sampled_return_mean`, `sampled_success_rate`)."""
    cfg, env, env_params, network, continuous, low, high = _setup(config)
    params, n = runner_state.params, cfg.eval_episodes

    def policy(obs, key, carry):
        h, start = carry
        h, (out, log_std, _) = network.apply(params, h, obs, start)
        return env_action(out, log_std, continuous, low, high, key), (h, jnp.zeros_like(start))

    init_carry = (jnp.zeros((n, cfg.gru_size), jnp.float32), jnp.ones((n,), bool))
    return evaluate_policies(key, policy, env, env_params, n, cfg.eval_sampled, init_carry=init_carry)
