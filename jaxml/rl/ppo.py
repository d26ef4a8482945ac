"""PPO (clipped surrogate, GAE) on gymnax, discrete and continuous actions, PureJaxRL style, with
optional Anakin data parallelism over devices.

One iteration (`steps_per_iteration = num_envs * num_steps` env steps), all inside `lax.scan`:

1. rollout: `num_steps` steps of `num_envs` envs (a `lax.scan`); the policy samples an action per
   env (categorical for `Discrete` spaces, a diagonal Gaussian with a state-independent log-std for
   `Box` spaces; the Gaussian sample is clipped to the space bounds only when stepping the env, its
   log-prob is that of the unclipped sample, which is what is stored);
2. GAE (see `gae`): V(next_obs) of the TRUE next observation (`Transition.next_obs`) bootstraps
   every step except `terminated` ones; `done = terminated | truncated` cuts the recursion, so a
   truncated step ends its episode's advantage sum but still bootstraps from V(next_obs);
3. `update_epochs` epochs x `num_minibatches` minibatches of Adam steps (global-norm clipping,
   optional linear lr annealing to 0 over the whole run) on
   `policy_loss + vf_coef * value_loss - ent_coef * entropy`, with advantages normalised per
   minibatch. A minibatch is the m-th slice of every env's time axis after permuting each env's
   time steps with its own key, so each minibatch holds `num_steps // num_minibatches` steps of
   every env.

Observation normalisation (`normalize_obs`): a `RunningNorm` in the state (checkpointed, used by
`greedy_eval`). Iteration k acts and learns with the statistics of iterations < k; the rollout's
observations are merged in after the update. `reward_scale` multiplies the rewards the agent learns
from (episode statistics stay in raw rewards).

Anakin (`config.parallel.num_devices = D > 1`): `train_chunk` runs under `jax.shard_map` over a 1-D mesh of D
devices (`jaxml.core.parallel.make_mesh`, axis "data"). Each device holds `num_envs // D` envs;
params, optimizer state, the key and the normaliser are replicated. Randomness is drawn for all
`num_envs` envs from the global key (`split(key, num_envs)`) and each device takes its slice, so
env resets / steps, action samples and minibatch permutations do not depend on D. Losses are means
over equal-sized local minibatch parts, so `pmean` of the local gradients is the gradient of the
global minibatch loss; advantage normalisation and the normaliser use global statistics (pmean of
mean and of mean of squares). Result: the same numbers as one device with the same `num_envs`, up to
float reassociation (tested with 4 fake CPU devices). `vmap` over seeds of the shard_mapped chunk
works (the runner's vmap stays outside).
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
from jax.sharding import PartitionSpec as P

from jaxml.core import parallel
from jaxml.core.config import check_int
from jaxml.errors import JaxmlError
from jaxml.rl.agent import clipped_adam, steps_per_iteration
from jaxml.rl.agent_config import AgentConfig, EnvOverrides, param
from jaxml.rl.distributions import categorical_log_prob_entropy, gaussian_log_prob_entropy
from jaxml.rl.envs import (RunningNorm, episode_metrics, evaluate, make_env, norm_init, norm_merge,
                           normalize, vec_reset, vec_step)

__all__ = ["PPOConfig", "Config", "steps_per_iteration", "gae", "ppo_objective", "minibatch_rows", "ActorCritic",
           "PPOState", "make_train", "greedy_eval"]

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu}


# ----------------------------------------------------------------------------------- pure pieces


def gae(rewards: jax.Array, values: jax.Array, next_values: jax.Array, terminated: jax.Array,
        dones: jax.Array, gamma: float, lam: float) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation over the leading (time) axis. Returns (advantages, returns).

    All inputs are [T, ...]. `values[t] = V(obs_t)`, `next_values[t] = V(next_obs_t)` of the TRUE
    next observation. delta_t = r_t + gamma * (1 - terminated_t) * next_values_t - values_t;
    A_t = delta_t + gamma * lam * (1 - dones_t) * A_{t+1} (A_T = 0); returns = A + values."""
    not_term = 1.0 - jnp.asarray(terminated, values.dtype)
    not_done = 1.0 - jnp.asarray(dones, values.dtype)
    deltas = rewards + gamma * not_term * next_values - values

    def body(next_adv, xs):
        delta, nd = xs
        adv = delta + gamma * lam * nd * next_adv
        return adv, adv

    _, adv = jax.lax.scan(body, jnp.zeros_like(values[0]), (deltas, not_done), reverse=True)
    return adv, adv + values


def ppo_objective(logp: jax.Array, ent: jax.Array, value: jax.Array, batch: dict, clip_eps: float,
                  vf_coef: float, ent_coef: float,
                  pmean: Callable[[jax.Array], jax.Array] = lambda x: x) -> tuple[jax.Array, dict]:
    """PPO's loss on a minibatch (shared with recurrent PPO): the clipped surrogate on advantages
    normalised over the minibatch (`pmean` combines the statistics of minibatch parts held on other
    devices), `vf_coef` * 0.5 squared value error and `ent_coef` * entropy. `logp`, `ent`, `value`
    are the current policy's at the stored actions; `batch` holds `adv`, `logp` (the rollout's) and
    `ret`. Returns (loss, {policy_loss, value_loss, entropy, approx_kl, clip_frac})."""
    adv = batch["adv"]
    mean = pmean(jnp.mean(adv))
    var = jnp.maximum(pmean(jnp.mean(adv ** 2)) - mean ** 2, 0.0)
    adv = (adv - mean) / (jnp.sqrt(var) + 1e-8)
    log_ratio = logp - batch["logp"]
    ratio = jnp.exp(log_ratio)
    policy_loss = jnp.mean(jnp.maximum(-adv * ratio,
                                       -adv * jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)))
    value_loss = 0.5 * jnp.mean((value - batch["ret"]) ** 2)
    entropy = jnp.mean(ent)
    loss = policy_loss + vf_coef * value_loss - ent_coef * entropy
    aux = {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
           "approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
           "clip_frac": jnp.mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32))}
    return loss, aux


def minibatch_rows(perms: jax.Array, num_minibatches: int) -> jax.Array:
    """Rows of the flattened rollout `x.reshape(T * N, ...)` (step-major) that make up each minibatch.

    `perms` [N, T] permutes each env's time steps; minibatch m holds steps `perms[n, t]` for t in the
    m-th slice of T / num_minibatches, of every env n, ordered (t, n). Returns [M, T / M * N] flat row
    indices, so each field of a minibatch is one row gather (a vmapped per-env gather over the time
    axis costs XLA:CPU transposes: about 15% of a one-seed CartPole run)."""
    num_envs, num_steps = perms.shape
    rows = perms.T * num_envs + jnp.arange(num_envs)[None]          # [T, N]: x[perms[n, t], n]
    return rows.reshape(num_minibatches, (num_steps // num_minibatches) * num_envs)


class ActorCritic(nn.Module):
    """Separate actor and critic MLP trunks on the flattened observation [B, ...].

    Returns (logits [B, A] or Gaussian mean [B, A], log_std [A] or None, value [B]). Orthogonal
    init: sqrt(2) hidden, 0.01 actor head, 1.0 critic head, zero biases."""

    action_dim: int
    continuous: bool
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"
    log_std_init: float = 0.0

    @nn.compact
    def __call__(self, obs: jax.Array):
        act = ACTIVATIONS[self.activation]
        x = obs.reshape(obs.shape[0], -1).astype(jnp.float32)
        dense = lambda n, scale: nn.Dense(n, kernel_init=nn.initializers.orthogonal(scale),
                                          bias_init=nn.initializers.zeros)
        a = x
        for w in self.hidden:
            a = act(dense(w, math.sqrt(2))(a))
        out = dense(self.action_dim, 0.01)(a)
        v = x
        for w in self.hidden:
            v = act(dense(w, math.sqrt(2))(v))
        value = dense(1, 1.0)(v)[:, 0]
        log_std = None
        if self.continuous:
            log_std = self.param("log_std", nn.initializers.constant(self.log_std_init),
                                 (self.action_dim,))
        return out, log_std, value


def _log_prob_entropy(out, log_std, action, continuous):
    if continuous:
        return gaussian_log_prob_entropy(out, log_std, action)
    return categorical_log_prob_entropy(out, action)


def _sample(keys, out, log_std, continuous):
    """One action per row of `out` with that row's key (keys [B])."""
    if continuous:
        noise = jax.vmap(lambda k: jax.random.normal(k, out.shape[1:]))(keys)
        return out + jnp.exp(log_std) * noise
    return jax.vmap(jax.random.categorical)(keys, out).astype(jnp.int32)


def env_action(out, log_std, continuous, low, high, key=None):
    """The action the env receives from the policy head `out` [B, ...]: greedy (argmax logits; the
    Gaussian mean clipped to the bounds) when `key` is None, else a draw of the sampling policy as in
    the rollout (one key per row split from `key`), clipped the same way."""
    if key is not None:
        out = _sample(jax.random.split(key, out.shape[0]), out, log_std, continuous)
    if continuous:
        return jnp.clip(out, low, high)
    return out.astype(jnp.int32) if key is not None else jnp.argmax(out, axis=-1).astype(jnp.int32)


def evaluate_policies(key, policy, env, env_params, num_episodes, sampled: bool, init_carry=None) -> dict:
    """`envs.evaluate` of `policy(obs, key_or_None[, carry])` greedily (key None); with `sampled`
    also of its sampling policy on the same episodes' keys, as `sampled_<metric>` entries."""
    def run(use_key):
        if init_carry is None:
            fn = lambda obs, k: policy(obs, k if use_key else None)
        else:
            fn = lambda obs, k, carry: policy(obs, k if use_key else None, carry)
        return evaluate(key, fn, env, env_params, num_episodes, init_carry=init_carry)

    out = run(False)
    if sampled:
        out.update({f"sampled_{k}": v for k, v in run(True).items() if k in ("return_mean", "success_rate")})
    return out


@flax.struct.dataclass
class PPOState:
    params: Any
    opt_state: Any
    env: Any               # VecEnvState [num_envs] (sharded over devices under Anakin)
    norm: RunningNorm      # observation statistics (unused unless normalize_obs)
    env_steps: jax.Array   # int32
    key: jax.Array


# ----------------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class PPOCommonConfig(AgentConfig):
    """The hyper-parameters of the PPO objective and its rollout-update cycle, shared by PPO and
    recurrent PPO (`rl/rppo.py`)."""

    env: str = param()
    num_envs: int = param(ge=1)
    num_steps: int = param(ge=1)
    update_epochs: int = param(ge=1)
    num_minibatches: int = param(ge=1)
    learning_rate: float = param(gt=0.0)
    anneal_lr: bool = param()
    gamma: float = param(ge=0.0, le=1.0)
    gae_lambda: float = param(ge=0.0, le=1.0)
    clip_eps: float = param(gt=0.0)
    ent_coef: float = param(ge=0.0)
    vf_coef: float = param(ge=0.0)
    max_grad_norm: float = param(gt=0.0)
    adam_eps: float = param(ge=0.0)
    hidden: tuple[int, ...] = param(ge=1)
    eval_sampled: bool = param()
    env_params: EnvOverrides = param(default=(), kw_only=True)   # gymnax EnvParams overrides, e.g. normalize_time


@dataclasses.dataclass(frozen=True)
class PPOConfig(PPOCommonConfig):
    """PPO's hyper-parameters (`jaxml.defaults.rl.ppo.default_config` documents them), checked once."""

    activation: str = param(choices=ACTIVATIONS)
    log_std_init: float = param()
    normalize_obs: bool = param()
    reward_scale: float = param(gt=0.0)
    total_env_steps: int = param(ge=1)
    eval_episodes: int = param(ge=1)
    num_devices: int = param(ge=1, key="parallel.num_devices")

    def check(self) -> None:
        if self.num_steps % self.num_minibatches:
            raise JaxmlError(f"config.num_minibatches={self.num_minibatches} must divide "
                             f"config.num_steps={self.num_steps} (a minibatch is num_steps // "
                             "num_minibatches steps of every env)")
        if self.num_envs % self.num_devices:
            raise JaxmlError(f"config.num_envs={self.num_envs} must be divisible by "
                             f"config.parallel.num_devices={self.num_devices} (envs are split evenly)")
        self.check_rollout_fits()


Config = PPOConfig   # the agent contract's name for it (see jaxml.rl.runner)


def _setup(config):
    cfg = PPOConfig.from_config(config)
    if cfg.num_devices > len(jax.devices()):
        raise JaxmlError(f"config.parallel.num_devices={cfg.num_devices} but only "
                         f"{len(jax.devices())} devices are visible")
    env, env_params = make_env(cfg.env, **dict(cfg.env_params))
    space = env.action_space(env_params)
    if hasattr(space, "n"):
        continuous, action_dim, low, high = False, int(space.n), None, None
    elif hasattr(space, "low") and hasattr(space, "shape") and len(space.shape) == 1:
        continuous, action_dim = True, int(space.shape[0])
        low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), space.shape)
        high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), space.shape)
    else:
        raise JaxmlError(f"PPO needs a Discrete or 1-D Box action space; {cfg.env} has "
                         f"{type(space).__name__} {getattr(space, 'shape', '')}")
    network = ActorCritic(action_dim=action_dim, continuous=continuous, hidden=cfg.hidden,
                          activation=cfg.activation, log_std_init=cfg.log_std_init)
    return cfg, env, env_params, network, continuous, low, high


# ----------------------------------------------------------------------------------- training


def make_train(config) -> tuple[Callable, Callable]:
    """Returns `(init, train_chunk)` (pure, unjitted) for `config`, an ml_collections config or a
    `PPOConfig`.

    `init(key) -> PPOState`. `train_chunk(state, num_iterations) -> (state, metrics)` with
    per-iteration arrays [T]: loss, policy_loss, value_loss, entropy, approx_kl, clip_frac,
    learning_rate, env_steps, return / length / episodes (finished training episodes, all envs)."""
    cfg, env, env_params, network, continuous, low, high = _setup(config)
    num_envs, num_steps, devices = cfg.num_envs, cfg.num_steps, cfg.num_devices
    local_envs = num_envs // devices
    epochs, num_mb = cfg.update_epochs, cfg.num_minibatches
    num_iterations = cfg.total_env_steps // (num_envs * num_steps)
    gamma, lam, clip_eps = cfg.gamma, cfg.gae_lambda, cfg.clip_eps
    lr = (optax.linear_schedule(cfg.learning_rate, 0.0, num_iterations * epochs * num_mb)
          if cfg.anneal_lr else cfg.learning_rate)
    tx = clipped_adam(lr, cfg.max_grad_norm, eps=cfg.adam_eps)
    obs_shape = env.observation_space(env_params).shape

    sharded = devices > 1
    pmean = (lambda x: jax.lax.pmean(x, parallel.AXIS)) if sharded else (lambda x: x)
    psum = (lambda x: jax.lax.psum(x, parallel.AXIS)) if sharded else (lambda x: x)

    def local_keys(key):
        """This device's slice of split(key, num_envs)."""
        keys = jax.random.split(key, num_envs)
        if not sharded:
            return keys
        return jax.lax.dynamic_slice_in_dim(keys, jax.lax.axis_index(parallel.AXIS) * local_envs,
                                            local_envs)

    def obs_in(norm, obs):
        return normalize(norm, obs) if cfg.normalize_obs else jnp.asarray(obs, jnp.float32)

    def init(key: jax.Array) -> PPOState:
        k_net, k_env, k_run = jax.random.split(key, 3)
        env_state = vec_reset(k_env, env, env_params, num_envs)
        params = network.init(k_net, env_state.obs.astype(jnp.float32))
        return PPOState(params=params, opt_state=tx.init(params), env=env_state,
                        norm=norm_init(obs_shape), env_steps=jnp.zeros((), jnp.int32), key=k_run)

    def rollout(state: PPOState, key: jax.Array):
        def step(env_state, t):
            keys = jax.vmap(lambda k: jax.random.split(k, 2))(local_keys(jax.random.fold_in(key, t)))
            out, log_std, value = network.apply(state.params, obs_in(state.norm, env_state.obs))
            action = _sample(keys[:, 0], out, log_std, continuous)
            logp, _ = _log_prob_entropy(out, log_std, action, continuous)
            env_action = jnp.clip(action, low, high) if continuous else action
            env_state, tr = vec_step(keys[:, 1], env_state, env_action, env, env_params,
                                     keys_per_env=True)
            record = dict(obs=tr.obs, action=action, logp=logp, value=value,
                          reward=tr.reward * cfg.reward_scale, next_obs=tr.next_obs,
                          terminated=tr.terminated, done=tr.done)
            return env_state, record

        return jax.lax.scan(step, state.env, jnp.arange(num_steps))

    def loss_fn(params, batch):
        out, log_std, value = network.apply(params, batch["obs"])
        logp, ent = _log_prob_entropy(out, log_std, batch["action"], continuous)
        return ppo_objective(logp, ent, value, batch, clip_eps, cfg.vf_coef, cfg.ent_coef, pmean)

    def minibatch_step(carry, batch):
        params, opt_state = carry
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch)
        grads = pmean(grads)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, opt_state), pmean({"loss": loss, **aux})

    def epoch(carry, key, data):
        # every env's time axis permuted with its own key; minibatch m = slice m of each permutation
        perms = jax.vmap(lambda k: jax.random.permutation(k, num_steps))(local_keys(key))  # [N, T]
        rows = minibatch_rows(perms, num_mb)

        def arrange(x):  # [T, N, ...] -> [M, T/M * N, ...]
            return x.reshape((num_steps * local_envs,) + x.shape[2:])[rows]

        return jax.lax.scan(minibatch_step, carry, jax.tree.map(arrange, data))

    def global_norm_update(norm: RunningNorm, obs: jax.Array) -> RunningNorm:
        x = jnp.asarray(obs, jnp.float32).reshape((-1,) + tuple(obs_shape))
        b_mean = pmean(jnp.mean(x, 0))
        b_var = jnp.maximum(pmean(jnp.mean(x ** 2, 0)) - b_mean ** 2, 0.0)
        return norm_merge(norm, jnp.float32(x.shape[0] * devices), b_mean, b_var)

    def iteration(state: PPOState, _):
        key, k_roll, k_upd = jax.random.split(state.key, 3)
        env_state, traj = rollout(state, k_roll)
        obs = obs_in(state.norm, traj["obs"])
        next_obs = obs_in(state.norm, traj["next_obs"])
        flat = lambda x: x.reshape((num_steps * local_envs,) + x.shape[2:])
        _, _, next_values = network.apply(state.params, flat(next_obs))
        next_values = next_values.reshape(num_steps, local_envs)
        adv, ret = gae(traj["reward"], traj["value"], next_values, traj["terminated"], traj["done"],
                       gamma, lam)
        data = {"obs": obs, "action": traj["action"], "logp": traj["logp"], "adv": adv, "ret": ret}
        (params, opt_state), m = jax.lax.scan(
            lambda carry, e: epoch(carry, jax.random.fold_in(k_upd, e), data),
            (state.params, state.opt_state), jnp.arange(epochs))
        norm = global_norm_update(state.norm, traj["obs"]) if cfg.normalize_obs else state.norm
        updates_before = state.env_steps // (num_envs * num_steps) * epochs * num_mb
        steps = state.env_steps + num_envs * num_steps
        state = PPOState(params=params, opt_state=opt_state, env=env_state, norm=norm,
                         env_steps=steps, key=key)
        metrics = jax.tree.map(jnp.mean, m)
        metrics.update(episode_metrics(env_state.stats, psum))
        metrics.update(
            {"env_steps": steps,
             "learning_rate": jnp.asarray(lr(updates_before) if cfg.anneal_lr else lr, jnp.float32)})
        return state, metrics

    def train_chunk(state: PPOState, num_iterations: int):
        num_iterations = check_int(num_iterations, "train_chunk: num_iterations (a static int)")
        run = lambda s: jax.lax.scan(iteration, s, None, length=num_iterations)
        if not sharded:
            return run(state)
        mesh = parallel.make_mesh(devices)
        spec = PPOState(params=P(), opt_state=P(), env=P(parallel.AXIS), norm=P(), env_steps=P(),
                        key=P())
        return jax.shard_map(run, mesh=mesh, in_specs=(spec,), out_specs=(spec, P()),
                             check_vma=False)(state)

    return init, train_chunk


def greedy_eval(config, runner_state: PPOState, key: jax.Array) -> dict:
    """`envs.evaluate` of the greedy policy (argmax logits; the Gaussian mean, clipped to the
    action bounds) on `eval_episodes` fresh envs, observations normalised with the state's
    RunningNorm when `normalize_obs`; with `eval_sampled` also of the sampling policy
    (`sampled_return_mean`, `sampled_success_rate`)."""
    cfg, env, env_params, network, continuous, low, high = _setup(config)
    params, norm = runner_state.params, runner_state.norm

    def policy(obs, key):
        x = normalize(norm, obs) if cfg.normalize_obs else jnp.asarray(obs, jnp.float32)
        out, log_std, _ = network.apply(params, x)
        return env_action(out, log_std, continuous, low, high, key)

    return evaluate_policies(key, policy, env, env_params, cfg.eval_episodes, cfg.eval_sampled)
