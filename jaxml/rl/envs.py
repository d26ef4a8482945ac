"""Vectorised gymnax environments: auto-reset stepping, episode statistics, observation
normalisation and greedy evaluation.

gymnax (>= 1.0) `env.step(key, state, action, params)` returns
`(obs, state, reward, terminated, truncated, info)` and auto-resets: when
`terminated | truncated`, the returned `obs`/`state` are a fresh reset, while
`info["final_observation"]` holds the observation the step actually produced (it is set on every
step, done or not). `vec_step` therefore stores `info["final_observation"]` as
`Transition.next_obs` (the true next observation for TD targets) and keeps the post-reset `obs` in
`VecEnvState.obs` for acting. Agents bootstrap on `terminated` only: a truncated transition still
bootstraps from `next_obs`.

Key contract (tests rely on it): `vec_reset` and `vec_step` use `jax.random.split(key, num_envs)`
and hand key `i` to env `i`'s `env.reset` / `env.step`.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable

import flax
import gymnax
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.core.config import check_int
from jaxml.errors import JaxmlError
from jaxml.rl.envs_dialogue import SlotDialogue
from jaxml.rl.envs_recsys import SequentialRecsys

Env = Any
EnvParams = Any

# Envs in gymnax's shape that gymnax does not register: id -> a factory of (env, default params).
EXTRA_ENVS: dict[str, Callable[[], tuple[Env, EnvParams]]] = {
    "SlotDialogue-v0": lambda: (lambda env: (env, env.default_params))(SlotDialogue()),
    "SeqRecsys-v0": lambda: (lambda env: (env, env.default_params))(SequentialRecsys()),
}

# Envs whose episodes succeed or fail: env.name -> the return an episode must exceed to count as a
# success (`evaluate` then reports `success_rate`). SlotDialogue: its return is success_bonus - turns
# > 0 when the user accepted the offer and -turns - failure_penalty < 0 otherwise; MetaMaze /
# PointRobot: a positive return means the goal was reached at least once.
SUCCESS_RETURN: dict[str, float] = {"SlotDialogue-v0": 0.0, "MetaMaze-misc": 0.0, "PointRobot-misc": 0.0}


# --------------------------------------------------------------------------- construction


def make_env(env_id: str, **param_overrides: Any) -> tuple[Env, EnvParams]:
    """`gymnax.make(env_id)` (or an `EXTRA_ENVS` factory) with friendly errors and
    `params.replace(**param_overrides)`."""
    registered = list(gymnax.registered_envs) + list(EXTRA_ENVS)
    if not isinstance(env_id, str) or env_id not in registered:
        lower = {name.lower(): name for name in registered}
        close = difflib.get_close_matches(str(env_id).lower(), list(lower), n=3, cutoff=0.6)
        hint = (f"did you mean {', '.join(repr(lower[c]) for c in close)}?" if close
                else f"known ids: {', '.join(registered)}")
        raise JaxmlError(f"unknown gymnax environment {env_id!r}; {hint}")
    # agents build their env inside traced functions (greedy_eval under jit); some constructors
    # (MetaMaze's maze layout) need concrete arrays
    with jax.ensure_compile_time_eval():
        env, params = EXTRA_ENVS[env_id]() if env_id in EXTRA_ENVS else gymnax.make(env_id)
    if param_overrides:
        fields = [f.name for f in dataclasses.fields(params)]
        unknown = sorted(set(param_overrides) - set(fields))
        if unknown:
            raise JaxmlError(f"unknown parameter(s) {', '.join(unknown)} for {env_id}; "
                             f"valid fields: {', '.join(fields)}")
        params = params.replace(**param_overrides)
    return env, params


def discrete_actions(env: Env, params: EnvParams, env_id: str, agent: str) -> int:
    """The number of actions of `env`'s discrete action space; a JaxmlError naming `agent` and the
    space otherwise."""
    space = env.action_space(params)
    if not hasattr(space, "n"):
        raise JaxmlError(f"{agent} needs a discrete action space; {env_id} has {type(space).__name__}")
    return int(space.n)


def box_bounds(env: Env, params: EnvParams, env_id: str, agent: str,
               hint: str = "") -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """(shape, low, high) of `env`'s continuous (Box) action space, the bounds float32 arrays of the
    action shape; a JaxmlError naming `agent` (and `hint`) for a discrete space or bounds that are
    not finite with high > low."""
    space = env.action_space(params)
    if hasattr(space, "n") or not (hasattr(space, "low") and hasattr(space, "high")):
        raise JaxmlError(f"{agent} need a continuous (Box) action space; {env_id} has "
                         f"{type(space).__name__}{': ' + hint if hint else ''}")
    shape = tuple(space.shape)
    low = np.broadcast_to(np.asarray(space.low, np.float32), shape)
    high = np.broadcast_to(np.asarray(space.high, np.float32), shape)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
        raise JaxmlError(f"{agent} need finite action bounds with high > low; {env_id} has "
                         f"low={low}, high={high}")
    return shape, low, high


# --------------------------------------------------------------------------- containers


@flax.struct.dataclass
class EpisodeStats:
    """Per-env episode bookkeeping (all arrays have leading dimension num_envs)."""

    episode_return: jax.Array   # float32: running return of the current episode
    episode_length: jax.Array   # int32: steps taken in the current episode
    returned_return: jax.Array  # float32: return of the last finished episode (0 until one ends)
    returned_length: jax.Array  # int32: length of the last finished episode
    finished: jax.Array         # int32: number of finished episodes


@flax.struct.dataclass
class VecEnvState:
    env_state: Any       # batched gymnax state
    obs: jax.Array       # current (post-reset) observation [num_envs, ...]
    stats: EpisodeStats


@flax.struct.dataclass
class Transition:
    """One step of experience. `next_obs` is the true next observation (the final observation when
    the episode ended), so the TD target is `r + gamma * (1 - terminated) * V(next_obs)`."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array       # float32
    next_obs: jax.Array
    terminated: jax.Array   # bool: true terminal state, do not bootstrap
    truncated: jax.Array    # bool: time limit, bootstrap from next_obs

    @property
    def done(self) -> jax.Array:
        return jnp.logical_or(self.terminated, self.truncated)


def _zero_stats(num_envs: int) -> EpisodeStats:
    zf = jnp.zeros((num_envs,), jnp.float32)
    zi = jnp.zeros((num_envs,), jnp.int32)
    return EpisodeStats(episode_return=zf, episode_length=zi, returned_return=zf,
                        returned_length=zi, finished=zi)


def _update_stats(stats: EpisodeStats, reward: jax.Array, done: jax.Array) -> EpisodeStats:
    ep_ret = stats.episode_return + reward.astype(jnp.float32)
    ep_len = stats.episode_length + 1
    return EpisodeStats(
        episode_return=jnp.where(done, 0.0, ep_ret).astype(jnp.float32),
        episode_length=jnp.where(done, 0, ep_len).astype(jnp.int32),
        returned_return=jnp.where(done, ep_ret, stats.returned_return).astype(jnp.float32),
        returned_length=jnp.where(done, ep_len, stats.returned_length).astype(jnp.int32),
        finished=(stats.finished + done.astype(jnp.int32)).astype(jnp.int32),
    )


# --------------------------------------------------------------------------- stepping


def vec_reset(key: jax.Array, env: Env, params: EnvParams, num_envs: int) -> VecEnvState:
    """Reset `num_envs` independent copies of `env` (env i gets `split(key, num_envs)[i]`)."""
    num_envs = check_int(num_envs, "vec_reset: num_envs")
    keys = jax.random.split(key, num_envs)
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    return VecEnvState(env_state=env_state, obs=obs, stats=_zero_stats(num_envs))


def vec_step(key: jax.Array, state: VecEnvState, action: jax.Array, env: Env,
             params: EnvParams, *, keys_per_env: bool = False) -> tuple[VecEnvState, Transition]:
    """Step every env with its action; finished envs auto-reset (gymnax does it in `step`).

    With `keys_per_env=True`, `key` is already a [num_envs] array of keys and env i gets `key[i]`
    (a caller that holds a slice of a larger env batch, e.g. one device's envs, passes its slice
    of `split(global_key, global_num_envs)`); otherwise env i gets `split(key, num_envs)[i]`.

    Returns the new state (whose `obs` is the post-reset observation where an episode ended) and
    the transition (whose `next_obs` is the true next observation)."""
    num_envs = state.stats.finished.shape[0]
    if keys_per_env:
        # typed keys have shape [num_envs]; raw uint32 keys (jax.random.PRNGKey) [num_envs, 2]
        typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
        if key.shape[:1] != (num_envs,) or key.ndim != (1 if typed else 2):
            raise JaxmlError(f"vec_step: keys_per_env=True needs {num_envs} keys, got shape {key.shape}")
        keys = key
    else:
        keys = jax.random.split(key, num_envs)
    obs, env_state, reward, terminated, truncated, info = jax.vmap(
        env.step, in_axes=(0, 0, 0, None))(keys, state.env_state, action, params)
    if "final_observation" not in info:  # pragma: no cover - guards against an older gymnax
        raise JaxmlError("gymnax step() info lacks 'final_observation'; jaxml needs gymnax >= 1.0")
    terminated = jnp.asarray(terminated, bool)
    truncated = jnp.asarray(truncated, bool)
    reward = jnp.asarray(reward, jnp.float32)
    done = jnp.logical_or(terminated, truncated)
    transition = Transition(obs=state.obs, action=action, reward=reward,
                            next_obs=info["final_observation"], terminated=terminated,
                            truncated=truncated)
    new_state = VecEnvState(env_state=env_state, obs=obs,
                            stats=_update_stats(state.stats, reward, done))
    return new_state, transition


def episode_metrics(stats: EpisodeStats,
                    total: Callable[[jax.Array], jax.Array] = lambda x: x) -> dict[str, jax.Array]:
    """Mean return / length of the last finished episode, over envs that finished >= 1 episode.

    Envs still in their first episode are excluded (no zeros mixed in); with no finished episode
    at all, return and length are 0 and `episodes` is 0. `total` combines the sums of envs held
    elsewhere (under `shard_map`, a `psum` over the devices' env slices)."""
    has = stats.finished > 0
    n = total(jnp.sum(has.astype(jnp.float32)))
    denom = jnp.maximum(n, 1.0)
    ret = total(jnp.sum(jnp.where(has, stats.returned_return, 0.0))) / denom
    length = total(jnp.sum(jnp.where(has, stats.returned_length, 0).astype(jnp.float32))) / denom
    return {"return": ret, "length": length, "episodes": total(jnp.sum(stats.finished))}


# --------------------------------------------------------------------------- normalisation


@flax.struct.dataclass
class RunningNorm:
    """Running mean / population variance of observations (parallel-variance merge)."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array  # float32 scalar: number of observations seen


def norm_init(obs_shape) -> RunningNorm:
    shape = tuple(obs_shape)
    return RunningNorm(mean=jnp.zeros(shape, jnp.float32), var=jnp.ones(shape, jnp.float32),
                       count=jnp.zeros((), jnp.float32))


def norm_update(norm: RunningNorm, batch_obs: jax.Array) -> RunningNorm:
    """Merge a batch `[..., *obs_shape]` (all leading axes are batch axes) into the statistics.

    Chan et al.'s parallel merge; with count == 0 the result is exactly the batch statistics."""
    x = jnp.asarray(batch_obs, jnp.float32)
    n_lead = x.ndim - norm.mean.ndim
    if n_lead < 0 or x.shape[n_lead:] != norm.mean.shape:
        raise JaxmlError(f"norm_update: batch shape {x.shape} does not end in observation shape "
                         f"{norm.mean.shape}")
    x = x.reshape((-1,) + norm.mean.shape)
    return norm_merge(norm, jnp.float32(x.shape[0]), jnp.mean(x, axis=0), jnp.var(x, axis=0))


def norm_merge(norm: RunningNorm, b: jax.Array, b_mean: jax.Array, b_var: jax.Array) -> RunningNorm:
    """Merges a batch's statistics (count `b`, mean, population variance) into `norm` (Chan et
    al.'s parallel merge; with count == 0 the result is exactly the batch statistics)."""
    tot = norm.count + b
    delta = b_mean - norm.mean
    mean = norm.mean + delta * (b / tot)
    m2 = norm.var * norm.count + b_var * b + delta**2 * (norm.count * b / tot)
    return RunningNorm(mean=mean, var=m2 / tot, count=tot)


def normalize(norm: RunningNorm, obs: jax.Array, clip: float = 10.0) -> jax.Array:
    out = (jnp.asarray(obs, jnp.float32) - norm.mean) / jnp.sqrt(norm.var + 1e-8)
    return jnp.clip(out, -clip, clip)


# --------------------------------------------------------------------------- evaluation


def evaluate(key: jax.Array, policy_fn: Callable[[jax.Array, jax.Array], jax.Array], env: Env,
             params: EnvParams, num_episodes: int,
             max_steps: int | None = None, init_carry: Any = None) -> dict[str, jax.Array]:
    """Run `num_episodes` fresh envs in parallel, each until its FIRST episode ends.

    `policy_fn(obs, key)` receives the batched observations `[num_episodes, ...]` and one key and
    returns the batched actions. A policy with memory (a recurrent one) passes its initial state
    as `init_carry` (batched over the episodes) and is called `policy_fn(obs, key, carry) ->
    (actions, carry)`; every episode starts from `init_carry` and none is reset before it ends. Rewards after an env's episode ended are masked out. `max_steps`
    defaults to `params.max_steps_in_episode` (pass it explicitly when `params` is traced).
    Returns `return_mean`, `return_std`, `returns` [num_episodes], `length_mean`,
    `lengths` [num_episodes], and `success_rate` (the fraction of episodes whose return exceeds
    `SUCCESS_RETURN[env.name]`) for the envs listed there."""
    if max_steps is None:
        try:
            max_steps = int(params.max_steps_in_episode)
        except (jax.errors.ConcretizationTypeError, TypeError, AttributeError) as e:
            raise JaxmlError("evaluate: pass max_steps explicitly (params.max_steps_in_episode "
                             f"is not a concrete int: {type(e).__name__})") from None
    max_steps = check_int(max_steps, "evaluate: max_steps")
    num_episodes = check_int(num_episodes, "evaluate: num_episodes")
    reset_key, run_key = jax.random.split(key)
    state = vec_reset(reset_key, env, params, num_episodes)

    def body(carry, step_key):
        state, alive, ret, length, memory = carry
        k_act, k_env = jax.random.split(step_key)
        if init_carry is None:
            action = policy_fn(state.obs, k_act)
        else:
            action, memory = policy_fn(state.obs, k_act, memory)
        state, tr = vec_step(k_env, state, action, env, params)
        ret = ret + jnp.where(alive, tr.reward, 0.0)
        length = length + alive.astype(jnp.int32)
        alive = jnp.logical_and(alive, jnp.logical_not(tr.done))
        return (state, alive, ret, length, memory), None

    init = (state, jnp.ones((num_episodes,), bool), jnp.zeros((num_episodes,), jnp.float32),
            jnp.zeros((num_episodes,), jnp.int32), init_carry)
    (_, _, returns, lengths, _), _ = jax.lax.scan(body, init, jax.random.split(run_key, max_steps))
    out = {"return_mean": jnp.mean(returns), "return_std": jnp.std(returns), "returns": returns,
           "length_mean": jnp.mean(lengths.astype(jnp.float32)), "lengths": lengths}
    if getattr(env, "name", None) in SUCCESS_RETURN:
        out["success_rate"] = jnp.mean((returns > SUCCESS_RETURN[env.name]).astype(jnp.float32))
    return out
