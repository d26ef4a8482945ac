"""jaxml.rl.sac: the entropy target, the temperature loss and its gradient against a hand
computation, the squashed-Gaussian log-density against a float64 change of variables, and tiny
continuous (Pendulum) and discrete (CartPole) jit+vmap runs with greedy evaluation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults.rl import sac as sac_defaults
from jaxml.errors import JaxmlError
from jaxml.rl import sac
from jaxml.rl.distributions import squashed_gaussian


def test_entropy_target_continuous_and_discrete():
    assert sac.entropy_target(False, 1, 1.0) == -1.0          # Pendulum: -|A| = -1
    assert sac.entropy_target(False, 6, 0.5) == -3.0
    assert sac.entropy_target(True, 2, 0.5) == pytest.approx(0.5 * math.log(2))   # CartPole
    assert sac.entropy_target(True, 4, 1.0) == pytest.approx(math.log(4))          # uniform policy's


def test_temperature_loss_value_and_gradient_by_hand():
    # E[log pi] = -0.3 (entropy 0.3), target 0.5: entropy below the target -> alpha must rise
    log_alpha = jnp.float32(math.log(0.2))
    loss, grad = jax.value_and_grad(sac.temperature_loss)(log_alpha, jnp.float32(-0.3), 0.5)
    assert float(loss) == pytest.approx(-math.log(0.2) * (-0.3 + 0.5), rel=1e-6)
    assert float(grad) == pytest.approx(-(-0.3 + 0.5), rel=1e-6)   # = entropy - target = -0.2
    assert float(log_alpha - 0.1 * grad) > float(log_alpha)        # a descent step raises alpha
    # entropy above the target (E[log pi] = -2: entropy 2, target -1) -> gradient 2 - (-1) = 3, alpha falls
    grad = jax.grad(sac.temperature_loss)(jnp.float32(0.0), jnp.float32(-2.0), -1.0)
    assert float(grad) == pytest.approx(3.0)
    # no gradient flows into the policy's log-probabilities
    assert float(jax.grad(sac.temperature_loss, argnums=1)(log_alpha, jnp.float32(-0.3), 0.5)) == 0.0


def test_squashed_gaussian_log_prob_matches_float64_change_of_variables():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(64, 2)) * 2.0
    log_std = rng.uniform(-3.0, 1.0, size=(64, 2))
    noise = rng.normal(size=(64, 2)) * 1.5
    low, high = np.array([-2.0, 0.0]), np.array([2.0, 1.0])
    a, logp = squashed_gaussian(*(jnp.asarray(x, jnp.float32) for x in (mean, log_std, noise, low, high)))
    # float64: u ~ N(mean, std); a = c + h tanh(u); p_a(a) = p_u(u) / prod |da/du|, da/du = h (1 - tanh^2 u)
    u = mean + np.exp(log_std) * noise
    log_pu = np.sum(-0.5 * ((u - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi), -1)
    half, center = (high - low) / 2, (high + low) / 2
    ref = log_pu - np.sum(np.log(half * (1.0 - np.tanh(u) ** 2)), -1)
    np.testing.assert_allclose(np.asarray(a), center + half * np.tanh(u), rtol=1e-5, atol=1e-6)
    ok = np.all(np.abs(u) < 6, -1)     # beyond that float64's 1 - tanh^2 itself loses its digits
    np.testing.assert_allclose(np.asarray(logp)[ok], ref[ok], rtol=1e-4, atol=1e-3)
    assert np.all(np.isfinite(np.asarray(logp)))
    assert np.all((np.asarray(a) >= low) & (np.asarray(a) <= high))
    # a 1-D density integrates to 1 over the action interval
    grid = np.linspace(-8, 8, 40001)
    _, lp = squashed_gaussian(jnp.full((grid.size, 1), 0.3), jnp.full((grid.size, 1), -0.5),
                              jnp.asarray((grid[:, None] - 0.3) / math.exp(-0.5), jnp.float32),
                              jnp.float32(-2.0), jnp.float32(2.0))
    actions = 2.0 * np.tanh(grid)
    assert np.trapezoid(np.exp(np.asarray(lp, np.float64)), actions) == pytest.approx(1.0, abs=2e-3)


def tiny_config(env="Pendulum-v1", **kw):
    c = sac_defaults.default_config()
    c.env = env
    c.num_envs = 2
    c.total_env_steps = 300
    c.learning_starts = 100
    c.buffer_size = 400
    c.batch_size = 16
    c.hidden = (8, 8)
    c.eval_episodes = 2
    for k, v in kw.items():
        c[k] = v
    return c


@pytest.mark.parametrize("env, scale", [("Pendulum-v1", 1.0), ("CartPole-v1", 0.5)])
def test_tiny_run_trains_and_evaluates(env, scale):
    c = tiny_config(env, target_entropy_scale=scale)
    init, chunk = sac.make_train(c)
    n_iter = c.total_env_steps // c.num_envs
    state, m = jax.jit(lambda k: chunk(init(k), n_iter))(jax.random.key(0))
    trained = np.asarray(m["env_steps"]) >= c.learning_starts
    np.testing.assert_array_equal(m["trained"], trained)
    assert int(state.learner.updates) == trained.sum()
    for k in ("critic_loss", "actor_loss", "alpha_loss", "alpha", "entropy", "q_mean"):
        v = np.asarray(m[k])
        assert v.shape == (n_iter,) and np.all(np.isfinite(v)), k
        assert np.all(v[~trained] == 0), k
    assert np.all(np.asarray(m["alpha"])[trained] > 0)
    assert np.all(np.asarray(m["critic_loss"])[trained] > 0)
    assert all(x.shape[0] == 2 for x in jax.tree.leaves(state.learner.critic))   # twin critics
    assert not np.allclose(*(np.ravel(x) for x in jax.tree.leaves(state.learner.critic)[0]))
    assert float(state.learner.log_alpha) != 0.0                                 # it learned
    if env == "CartPole-v1":   # the exact policy entropy lies in [0, log 2]
        ent = np.asarray(m["entropy"])[trained]
        assert np.all((ent >= 0) & (ent <= math.log(2) + 1e-5))
    data = jax.tree.map(lambda x: np.asarray(x[:c.total_env_steps]), state.buffer.data)
    if env == "Pendulum-v1":
        assert np.all(np.abs(data.action) <= 2.0)
    ev = jax.jit(lambda s, k: sac.greedy_eval(c, s, k))(state, jax.random.key(5))
    assert np.all(np.isfinite(ev["returns"]))


def test_config_errors():
    with pytest.raises(JaxmlError, match="config.tau"):
        sac.make_train(tiny_config(tau=0.0))
    with pytest.raises(JaxmlError, match="config.batch_size"):
        sac.make_train(tiny_config(batch_size=1000))
