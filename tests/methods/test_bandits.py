"""The contextual-bandit env (gymnax shape, usable by rl/envs' vectorised stepping) and the agents' ridge
statistics and action rules against numpy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.defaults.bandits import bandit_config
from jaxml.methods import bandits
from jaxml.rl import envs
from jaxml.rl.envs_bandit import ContextualBandit


def test_env_has_gymnax_shape_and_known_means():
    env = ContextualBandit(4, 3, "nonlinear")
    params = env.sample_params(jax.random.key(1), noise_std=0.0, horizon=5)
    state = envs.vec_reset(jax.random.key(0), env, params, 6)
    assert state.obs.shape == (6, 3)
    new, transition = envs.vec_step(jax.random.key(2), state, jnp.arange(6) % 4, env, params)
    theta, x = np.asarray(params.theta), np.asarray(state.obs)
    z = x @ theta.T
    means = np.tanh(2 * z) + 0.5 * np.cos(3 * z)
    np.testing.assert_allclose(np.asarray(transition.reward), means[np.arange(6), np.arange(6) % 4], rtol=1e-5)
    assert not bool(transition.terminated.any()) and new.obs.shape == (6, 3)
    assert env.action_space(params).n == 4


def test_ridge_update_is_the_inverse_gram_matrix_and_linucb_its_formula():
    rng = np.random.default_rng(0)
    xs, arms, rewards = rng.standard_normal((20, 3)), rng.integers(0, 2, 20), rng.standard_normal(20)
    stats = bandits.ridge_init(2, 3, ridge=0.5)
    for x, a, r in zip(xs, arms, rewards):
        stats = bandits.ridge_update(stats, jnp.asarray(x, jnp.float32), jnp.int32(a), jnp.float32(r))
    for a in range(2):
        gram = 0.5 * np.eye(3) + xs[arms == a].T @ xs[arms == a]
        np.testing.assert_allclose(np.asarray(stats.cov[a]), np.linalg.inv(gram), rtol=1e-4, atol=1e-5)
        ridge_theta = np.linalg.solve(gram, xs[arms == a].T @ rewards[arms == a])
        np.testing.assert_allclose(np.asarray(stats.theta[a]), ridge_theta, rtol=1e-4, atol=1e-5)
    c = bandit_config()
    x = rng.standard_normal(3)
    ucb = [np.asarray(stats.theta[a]) @ x + c.ucb_alpha * np.sqrt(x @ np.asarray(stats.cov[a]) @ x) for a in range(2)]
    assert int(bandits.linucb(c).act(stats, jnp.asarray(x, jnp.float32), jax.random.key(0))) == int(np.argmax(ucb))
