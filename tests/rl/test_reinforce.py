"""jaxml.rl.reinforce: discounted returns-to-go (terminations cut, truncations and the rollout
boundary bootstrap) against a float64 Python loop, a jit+vmap short run, and config errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults.rl import reinforce as rf_defaults
from jaxml.errors import JaxmlError
from jaxml.rl import reinforce as rf


def returns_reference(rewards, terminated, truncated, next_values, gamma):
    """Plain Python, float64, one env at a time, forwards over episode segments."""
    T, N = rewards.shape
    out = np.zeros((T, N))
    for n in range(N):
        for t in range(T):
            g, discount = 0.0, 1.0
            for k in range(t, T):
                g += discount * rewards[k, n]
                discount *= gamma
                if terminated[k, n]:
                    break
                if truncated[k, n] or k == T - 1:
                    g += discount * next_values[k, n]
                    break
            out[t, n] = g
    return out


def test_returns_hand_computed():
    gamma = 0.5
    r = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    term = np.array([[0], [1], [0], [0], [0]], bool)
    trunc = np.array([[0], [0], [1], [0], [0]], bool)
    v = np.array([[100.0], [100.0], [8.0], [100.0], [10.0]])
    g = np.asarray(rf.discounted_returns(r, term, trunc, v, gamma))[:, 0]
    # t=1 terminates; t=2 truncates (bootstrap V=8); t=4 is the rollout boundary (bootstrap V=10)
    np.testing.assert_allclose(g, [1 + 0.5 * 2, 2, 3 + 0.5 * 8, 4 + 0.5 * (5 + 0.5 * 10), 5 + 0.5 * 10])


def test_returns_match_python_loop():
    rng = np.random.default_rng(0)
    T, N, gamma = 40, 5, 0.97
    r = rng.normal(size=(T, N))
    term = rng.random((T, N)) < 0.1
    trunc = (rng.random((T, N)) < 0.1) & ~term
    term[-1, 0], trunc[-1, 1] = True, True        # boundary cases at the last step
    term[:, 2], trunc[:, 2] = False, False        # one env without any episode end
    v = rng.normal(size=(T, N)) * 5
    assert term.sum() > 5 and trunc.sum() > 5
    expected = returns_reference(r, term, trunc, v, gamma)
    got = jax.jit(lambda *a: rf.discounted_returns(*a, gamma))(
        jnp.asarray(r, jnp.float32), jnp.asarray(term), jnp.asarray(trunc), jnp.asarray(v, jnp.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def short_config():
    c = rf_defaults.default_config()
    c.num_envs, c.num_steps, c.total_env_steps = 4, 64, 4 * 64 * 10
    c.hidden = (16, 16)
    c.eval_episodes = 3
    return c


def test_short_run():
    c = short_config()
    init, chunk = rf.make_train(c)
    n = c.total_env_steps // rf.steps_per_iteration(c)
    keys = jnp.stack([jax.random.key(0), jax.random.key(1)])
    state, m = jax.jit(jax.vmap(lambda k: chunk(init(k), n)))(keys)
    for name in ("loss", "policy_loss", "value_loss", "entropy", "env_steps", "return", "length", "episodes"):
        assert m[name].shape == (2, n), name
    np.testing.assert_array_equal(m["env_steps"][0], np.arange(1, n + 1) * 4 * 64)
    for name in ("loss", "policy_loss", "value_loss", "entropy"):
        assert np.all(np.isfinite(np.asarray(m[name]))), name
    ent = np.asarray(m["entropy"])
    assert np.all(ent > 0) and np.all(ent <= np.log(2) + 1e-6)
    assert np.all(np.asarray(m["episodes"])[:, -1] > 0)
    assert not np.allclose(m["loss"][0], m["loss"][1])
    ev = jax.jit(jax.vmap(lambda s, k: rf.greedy_eval(c, s, k)))(state, keys)
    assert ev["return_mean"].shape == (2,) and np.all(np.asarray(ev["return_mean"]) >= 1)


def test_config_errors():
    c = rf_defaults.default_config()
    c.env = "Pendulum-v1"
    with pytest.raises(JaxmlError, match="discrete"):
        rf.make_train(c)
    c = rf_defaults.default_config()
    c.env = "CartPol-v1"
    with pytest.raises(JaxmlError, match="CartPole-v1"):
        rf.make_train(c)
    c = rf_defaults.default_config()
    c.activation = "sigmoid"
    with pytest.raises(JaxmlError, match="tanh"):
        rf.make_train(c)
    c = rf_defaults.default_config()
    c.total_env_steps = 100
    with pytest.raises(JaxmlError, match="num_envs \\* num_steps"):
        rf.make_train(c)
    c = rf_defaults.default_config()
    c.gamma = 1.5
    with pytest.raises(JaxmlError, match="gamma"):
        rf.make_train(c)
