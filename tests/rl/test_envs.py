"""jaxml.rl.envs: make_env errors, auto-reset semantics, truncation vs termination, episode
statistics against a float64 single-env reference, RunningNorm, evaluate, vmap over seeds."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.errors import JaxmlError
from jaxml.rl.envs import (EpisodeStats, RunningNorm, Transition, episode_metrics, evaluate,
                           make_env, norm_init, norm_update, normalize, vec_reset, vec_step)

CP_ENV, CP_PARAMS = make_env("CartPole-v1")
X_LIM, TH_LIM = 2.4, 12 * 2 * np.pi / 360


@partial(jax.jit, static_argnames=("env", "num_envs", "steps", "mode"))
def rollout(key, env, params, num_envs, steps, mode):
    """Reset, then `steps` vec_steps. Returns (initial state, transitions [T, N], states [T, N])."""
    k_reset, k_run = jax.random.split(key)
    state0 = vec_reset(k_reset, env, params, num_envs)
    n_act = env.num_actions

    def body(state, xs):
        t, k = xs
        k_act, k_step = jax.random.split(k)
        if mode == "right":
            action = jnp.ones((num_envs,), jnp.int32)
        elif mode == "alt":
            action = jnp.full((num_envs,), t % 2, jnp.int32)
        else:
            action = jax.random.randint(k_act, (num_envs,), 0, n_act, jnp.int32)
        new, tr = vec_step(k_step, state, action, env, params)
        return new, (tr, new)

    xs = (jnp.arange(steps), jax.random.split(k_run, steps))
    _, (trs, states) = jax.lax.scan(body, state0, xs)
    return state0, trs, states


# ----------------------------------------------------------------------------------- make_env


def test_make_env_errors_and_overrides():
    with pytest.raises(JaxmlError) as e:
        make_env("Cartpole-v1")
    assert "CartPole-v1" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(JaxmlError, match="known ids"):
        make_env("TotallyNotAnEnv")
    with pytest.raises(JaxmlError) as e:
        make_env("CartPole-v1", max_step=3)
    msg = str(e.value)
    assert "max_step" in msg and "max_steps_in_episode" in msg and "\n" not in msg
    env, params = make_env("CartPole-v1", max_steps_in_episode=7, gravity=3.0)
    assert params.max_steps_in_episode == 7 and params.gravity == 3.0
    assert CP_PARAMS.max_steps_in_episode == 500  # defaults untouched
    with pytest.raises(JaxmlError):
        vec_reset(jax.random.key(0), env, params, 0)


# ----------------------------------------------------------------------------------- auto-reset


def test_auto_reset_next_obs_is_true_final_observation():
    state0, tr, st = rollout(jax.random.key(1), CP_ENV, CP_PARAMS, 16, 30, "right")
    tr, st = jax.device_get((tr, st))
    assert isinstance(tr, Transition)
    done = np.asarray(tr.done)
    assert done.any() and not done.all()
    assert not np.asarray(tr.truncated).any()  # 30 steps < 500: every end is a termination
    np.testing.assert_array_equal(np.asarray(tr.terminated), done)

    # The transition chain: obs of step t+1 is the (post-reset) state obs after step t.
    np.testing.assert_array_equal(tr.obs[0], np.asarray(state0.obs))
    np.testing.assert_array_equal(tr.obs[1:], st.obs[:-1])

    nxt, new = tr.next_obs, st.obs
    outside = (np.abs(nxt[..., 0]) > X_LIM) | (np.abs(nxt[..., 2]) > TH_LIM)
    # Where done: next_obs is the true terminal observation (beyond a threshold), NOT the reset obs.
    assert outside[done].all()
    assert (np.abs(new[done]) <= 0.05).all()  # fresh reset observation
    assert (np.abs(nxt[done] - new[done]).max(axis=-1) > 0.1).all()
    # Where not done: next_obs is exactly the new state's obs and inside the thresholds.
    np.testing.assert_array_equal(nxt[~done], new[~done])
    assert not outside[~done].any()
    # Running episode counters restart after a reset.
    assert (st.stats.episode_length[done] == 0).all() and (st.stats.episode_return[done] == 0).all()


def test_truncation_is_not_termination():
    env, params = make_env("CartPole-v1", max_steps_in_episode=5)
    _, tr, st = rollout(jax.random.key(2), env, params, 16, 12, "alt")
    tr, st = jax.device_get((tr, st))
    trunc, term = np.asarray(tr.truncated), np.asarray(tr.terminated)
    assert trunc.dtype == bool and term.dtype == bool
    assert not term.any()
    expected = np.zeros((12, 16), bool)
    expected[[4, 9]] = True  # steps 5 and 10 (1-based) hit the time limit
    np.testing.assert_array_equal(trunc, expected)
    # next_obs at a truncation is the final observation (bootstrap target), not the reset obs.
    assert (np.abs(tr.next_obs[4] - st.obs[4]).max(axis=-1) > 0).all()
    np.testing.assert_array_equal(tr.next_obs[3], tr.obs[4])
    np.testing.assert_array_equal(st.stats.finished[4], 1)
    np.testing.assert_array_equal(st.stats.returned_length[4], 5)
    np.testing.assert_array_equal(st.stats.returned_return[4], 5.0)
    np.testing.assert_array_equal(st.stats.finished[-1], 2)
    np.testing.assert_array_equal(st.stats.episode_length[-1], 2)


# ----------------------------------------------------------------------------------- episode stats


@pytest.mark.parametrize("env_id,steps", [("Catch-bsuite", 30), ("CartPole-v1", 40)])
def test_episode_stats_match_single_env_reference(env_id, steps):
    env, params = make_env(env_id)
    n = 3
    key = jax.random.key(3)
    _, tr, st = rollout(key, env, params, n, steps, "random")
    actions = np.asarray(tr.action)
    final = jax.device_get(jax.tree.map(lambda x: x[-1], st.stats))

    # Independent reference: single-env gymnax steps with the same keys, float64 sums.
    k_reset, k_run = jax.random.split(key)
    reset_keys = jax.random.split(k_reset, n)  # vec_reset: env i gets split(key, n)[i]
    # rollout's per-step key k -> (k_act, k_step); vec_step: env i gets split(k_step, n)[i]
    step_keys = jax.vmap(lambda k: jax.random.split(jax.random.split(k)[1], n))(
        jax.random.split(k_run, steps))
    for i in range(n):
        _, s = env.reset(reset_keys[i], params)
        run_ret, run_len, last_ret, last_len, count = 0.0, 0, 0.0, 0, 0
        for t in range(steps):
            _, s, r, term, trunc, _ = env.step(step_keys[t, i], s, int(actions[t, i]), params)
            run_ret += float(r)
            run_len += 1
            if bool(term) or bool(trunc):
                last_ret, last_len, count = run_ret, run_len, count + 1
                run_ret, run_len = 0.0, 0
        assert count >= 1, "reference must finish at least one episode"
        assert final.finished[i] == count
        assert final.returned_length[i] == last_len
        assert final.episode_length[i] == run_len
        np.testing.assert_allclose(final.returned_return[i], last_ret, rtol=0, atol=1e-5)
        np.testing.assert_allclose(final.episode_return[i], run_ret, rtol=0, atol=1e-5)


def test_episode_metrics_count_only_finished_episodes():
    # Hand-built: envs 1 and 3 have not finished; their zeros must not enter the mean.
    stats = EpisodeStats(episode_return=jnp.array([1.0, 7.0, 2.0, 9.0]),
                         episode_length=jnp.array([1, 7, 2, 9], jnp.int32),
                         returned_return=jnp.array([10.0, 0.0, 20.0, 0.0]),
                         returned_length=jnp.array([10, 0, 30, 0], jnp.int32),
                         finished=jnp.array([1, 0, 2, 0], jnp.int32))
    m = episode_metrics(stats)
    assert float(m["return"]) == 15.0 and float(m["length"]) == 20.0 and int(m["episodes"]) == 3

    # From a real rollout: before any episode ends -> 0 / 0; mid-way -> mean over finished only.
    _, _, st = rollout(jax.random.key(1), CP_ENV, CP_PARAMS, 16, 30, "right")
    ms = jax.device_get(jax.vmap(episode_metrics)(st.stats))
    s = jax.device_get(st.stats)
    assert int(ms["episodes"][0]) == 0 and float(ms["return"][0]) == 0.0
    assert float(ms["length"][0]) == 0.0
    n_fin = (s.finished > 0).sum(axis=1)
    partial_steps = np.nonzero((n_fin > 0) & (n_fin < 16))[0]
    assert len(partial_steps) > 0, "need a step where only some envs have finished"
    for t in partial_steps:
        fin = s.finished[t] > 0
        np.testing.assert_allclose(ms["return"][t], s.returned_return[t][fin].mean(), rtol=1e-6)
        np.testing.assert_allclose(ms["length"][t], s.returned_length[t][fin].mean(), rtol=1e-6)
        assert ms["return"][t] > s.returned_return[t].mean()  # a mean with zeros would be lower
        assert int(ms["episodes"][t]) == s.finished[t].sum()
    assert np.isfinite(ms["return"]).all()


# ----------------------------------------------------------------------------------- RunningNorm


def test_running_norm_matches_numpy():
    rng = np.random.default_rng(0)
    specs = [(3, 5.0, 2.0), (17, -1.0, 0.5), (1, 10.0, 1.0), (50, 0.0, 3.0)]
    batches = [rng.normal(loc, scale, size=(b, 3)).astype(np.float32) for b, loc, scale in specs]
    batches.append(rng.normal(2.0, 1.0, size=(4, 5, 3)).astype(np.float32))  # extra leading axis
    norm = norm_init((3,))
    assert isinstance(norm, RunningNorm)
    upd = jax.jit(norm_update)
    for b in batches:
        norm = upd(norm, b)
    ref = np.concatenate([b.reshape(-1, 3) for b in batches]).astype(np.float64)
    np.testing.assert_allclose(norm.mean, ref.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(norm.var, ref.var(0), rtol=1e-4)
    assert float(norm.count) == len(ref)
    z = np.asarray(normalize(norm, ref.astype(np.float32)), np.float64)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.var(0), 1.0, rtol=1e-3)
    big = normalize(norm, jnp.full((3,), 1e6), clip=5.0)
    np.testing.assert_array_equal(big, 5.0)
    with pytest.raises(JaxmlError):
        norm_update(norm, np.zeros((4, 2), np.float32))


# ----------------------------------------------------------------------------------- evaluate


def _left(obs, key):
    return jnp.zeros((obs.shape[0],), jnp.int32)


def _random2(obs, key):
    return jax.random.randint(key, (obs.shape[0],), 0, 2, jnp.int32)


def test_evaluate_masks_after_done_jit_and_deterministic():
    ev = jax.jit(lambda k: evaluate(k, _left, CP_ENV, CP_PARAMS, 8, max_steps=60))
    out = jax.device_get(ev(jax.random.key(5)))
    assert set(out) >= {"return_mean", "return_std", "returns", "length_mean"}
    assert out["returns"].shape == (8,)
    assert float(out["return_mean"]) < 30
    # Masked: each env counts only its first episode (without masking every return would be 60).
    np.testing.assert_array_equal(out["returns"], out["lengths"].astype(np.float32))
    assert (out["lengths"] < 60).all() and (out["lengths"] > 0).all()
    np.testing.assert_allclose(out["return_std"], out["returns"].std(), rtol=1e-6)
    np.testing.assert_allclose(out["length_mean"], out["lengths"].mean(), rtol=1e-6)
    again = jax.device_get(ev(jax.random.key(5)))
    np.testing.assert_array_equal(again["returns"], out["returns"])
    other = jax.device_get(ev(jax.random.key(6)))
    assert not np.array_equal(other["returns"], out["returns"])


def test_evaluate_default_max_steps_and_truncation():
    env, params = make_env("CartPole-v1", max_steps_in_episode=5)
    out = evaluate(jax.random.key(0), _random2, env, params, 4)  # default max_steps = 5
    np.testing.assert_array_equal(out["returns"], 5.0)
    assert float(out["length_mean"]) == 5.0
    with pytest.raises(JaxmlError, match="max_steps"):
        jax.jit(lambda p: evaluate(jax.random.key(0), _random2, env, p, 2))(params)


# ----------------------------------------------------------------------------------- vmap


def test_vmap_over_seeds():
    keys = jax.random.split(jax.random.key(7), 3)
    fn = lambda k: rollout(k, CP_ENV, CP_PARAMS, 3, 40, "random")[2]  # noqa: E731
    states = jax.vmap(fn)(keys)
    obs = np.asarray(states.obs)
    assert obs.shape == (3, 40, 3, 4)
    for a in range(3):
        for b in range(a + 1, 3):
            assert not np.allclose(obs[a], obs[b])
    single = fn(keys[1])
    np.testing.assert_allclose(obs[1], np.asarray(single.obs), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(states.stats.finished[1]),
                                  np.asarray(single.stats.finished))
