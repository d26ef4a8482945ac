"""jaxml.rl.envs_recsys: the sequential recommender's shapes and bounds, its dynamics on hand-built
steps (boredom, satisfaction, the engagement mean), the session's end, determinism under the key, and
that the myopic policy is worse over a session than a quality-aware one (the env's point)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.rl.envs import make_env, vec_reset, vec_step
from jaxml.rl.envs_recsys import SequentialRecsys

ENV, PARAMS = make_env("SeqRecsys-v0")
K = ENV.num_categories
STEP = jax.jit(ENV.step)
EXACT = PARAMS.replace(noise_std=0.0)


def test_reset_shapes_bounds_and_determinism():
    obs, state = ENV.reset(jax.random.key(3), PARAMS)
    assert isinstance(ENV, SequentialRecsys) and obs.shape == (2 * K + 2,) == ENV.observation_space(PARAMS).shape
    assert ENV.action_space(PARAMS).n == K and obs.dtype == jnp.float32
    assert bool(jnp.all((obs >= 0) & (obs <= 1)))
    np.testing.assert_allclose(obs[K:], np.r_[np.zeros(K), 0.5, 0.0])      # no boredom, s = 0.5, t = 0
    again, _ = ENV.reset(jax.random.key(3), PARAMS)
    other, _ = ENV.reset(jax.random.key(4), PARAMS)
    np.testing.assert_array_equal(obs, again)
    assert not np.array_equal(obs, other)                                    # the user's appeal is drawn


def test_a_step_follows_the_dynamics():
    _, state = ENV.reset(jax.random.key(0), EXACT)
    a = 0                                                                    # quality -1: clickbait
    means = ENV.engagement(state.appeal, state.boredom, state.satisfaction)
    obs, new, reward, terminated, truncated, info = STEP(jax.random.key(1), state, jnp.int32(a), EXACT)
    assert float(reward) == pytest.approx(float(means[a])) == pytest.approx(float(state.appeal[a]) * 1.0 / 1.5)
    np.testing.assert_allclose(info["expected_rewards"], means)
    np.testing.assert_allclose(new.boredom, np.eye(K)[a] * EXACT.boredom_rate, atol=1e-6)
    assert float(new.satisfaction) == pytest.approx(0.5 - EXACT.satisfaction_rate)
    assert not bool(terminated) and not bool(truncated) and int(new.time) == 1
    np.testing.assert_allclose(ENV.expected_rewards(obs), ENV.engagement(new.appeal, new.boredom, new.satisfaction),
                               rtol=1e-6)
    # boredom decays for every category and grows for the recommended one; quality +1 raises satisfaction
    _, newer, _, _, _, _ = STEP(jax.random.key(2), new, jnp.int32(K - 1), EXACT)
    expect = (1 - EXACT.boredom_decay) * np.asarray(new.boredom)
    expect[K - 1] += EXACT.boredom_rate * (1 - expect[K - 1])
    np.testing.assert_allclose(newer.boredom, expect, atol=1e-6)
    assert float(newer.satisfaction) == pytest.approx(0.5)


def test_the_session_ends_after_session_length_steps_and_resets():
    _, state = ENV.reset(jax.random.key(0), PARAMS)
    state = state.replace(time=PARAMS.session_length - 1)
    obs, new, _, terminated, _, info = STEP(jax.random.key(1), state, jnp.int32(2), PARAMS)
    assert bool(terminated) and int(new.time) == 0 and float(info["final_observation"][-1]) == 1.0
    assert float(obs[-1]) == 0.0 and float(obs[2 * K]) == 0.5                # a fresh user


@jax.jit
def sessions(key, w):
    """One session on each of 64 vectorised envs under argmax m * exp(w q) (w = 0: the myopic
    policy): the observations [50, 64, D], rewards [50, 64] and the session returns [64]."""
    state = vec_reset(key, ENV, PARAMS, 64)

    def body(state, k):
        action = jnp.argmax(ENV.expected_rewards(state.obs) * jnp.exp(w * ENV.quality), -1)
        state, tr = vec_step(k, state, action, ENV, PARAMS)
        return state, (tr.obs, tr.reward)
    obs, rewards = jax.lax.scan(body, state, jax.random.split(key, PARAMS.session_length))[1]
    return obs, rewards, rewards.sum(0)


def test_a_rollout_stays_in_bounds_and_is_deterministic_under_the_key():
    obs, rewards, _ = sessions(jax.random.key(7), 1.0)
    assert obs.shape == (50, 64, 2 * K + 2) and bool(jnp.all((obs >= 0) & (obs <= 1)))
    assert bool(jnp.all(jnp.abs(rewards) < 1 + 6 * PARAMS.noise_std))
    np.testing.assert_array_equal(rewards, sessions(jax.random.key(7), 1.0)[1])
    assert not np.array_equal(rewards, sessions(jax.random.key(8), 1.0)[1])


def test_the_myopic_policy_loses_to_a_quality_aware_one_over_a_session():
    myopic, quality_aware = (float(sessions(jax.random.key(0), w)[2].mean()) for w in (0.0, 1.0))
    assert quality_aware > 1.3 * myopic
