"""jaxml.rl.dqn: TD target (termination vs truncation, double Q), epsilon schedule, a jit+vmap
short run (shapes, per-seed differences, update/target counters, what the buffer stores), config
errors, and learning CartPole-v1 with uniform and prioritised replay."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults.rl import dqn as dqn_defaults
from jaxml.errors import JaxmlError
from jaxml.rl import dqn
from jaxml.rl.envs import Transition

X_LIM, TH_LIM = 2.4, 12 * 2 * np.pi / 360


def keys(*seeds):
    return jnp.stack([jax.random.key(s) for s in seeds])


# ----------------------------------------------------------------------------------- td target


def test_td_target_terminated_vs_truncated():
    # rows: terminated, truncated-only (terminated False -> must bootstrap), ordinary step
    reward = jnp.array([1.0, 2.0, 0.5])
    terminated = jnp.array([True, False, False])
    next_q = jnp.array([[3.0, 7.0], [4.0, 1.0], [-2.0, -1.0]])
    out = dqn.td_target(reward, terminated, next_q, None, gamma=0.9, double_q=False)
    np.testing.assert_allclose(out, [1.0, 2.0 + 0.9 * 4.0, 0.5 + 0.9 * -1.0], rtol=1e-6)


def test_td_target_double_q_picks_online_argmax():
    reward = jnp.zeros((2,))
    terminated = jnp.array([False, False])
    next_q_target = jnp.array([[1.0, 10.0], [6.0, 2.0]])
    next_q_online = jnp.array([[5.0, 0.0], [0.0, 3.0]])   # argmax disagrees with the target net
    plain = dqn.td_target(reward, terminated, next_q_target, next_q_online, 0.5, double_q=False)
    double = dqn.td_target(reward, terminated, next_q_target, next_q_online, 0.5, double_q=True)
    np.testing.assert_allclose(plain, [5.0, 3.0])    # max of the target net
    np.testing.assert_allclose(double, [0.5, 1.0])   # target net evaluated at the online argmax
    with pytest.raises(JaxmlError):
        dqn.td_target(reward, terminated, next_q_target, None, 0.5, double_q=True)


# ----------------------------------------------------------------------------------- epsilon


def test_epsilon_schedule_endpoints():
    c = dqn_defaults.default_config()
    eps = dqn.epsilon_schedule(c.eps_start, c.eps_end, c.eps_fraction * c.total_env_steps)
    got = np.asarray([eps(s) for s in (0, 125_000, 250_000, 400_000, 500_000)])
    np.testing.assert_allclose(got, [1.0, 0.525, 0.05, 0.05, 0.05], rtol=1e-6)


# ----------------------------------------------------------------------------------- short run


def short_config():
    c = dqn_defaults.default_config()
    c.total_env_steps = 2_000
    c.learning_starts = 500
    c.buffer_size = 4_000
    c.batch_size = 32
    c.hidden = (32, 32)
    return c


@pytest.fixture(scope="module")
def short_run():
    c = short_config()
    init, chunk = dqn.make_train(c)
    n_iter = c.total_env_steps // c.num_envs
    run = jax.jit(jax.vmap(lambda k: chunk(init(k), n_iter)))
    return c, n_iter, run(keys(0, 1))


def test_short_run_shapes_and_seeds(short_run):
    c, n_iter, (state, m) = short_run
    for name in ("loss", "q_mean", "trained", "epsilon", "env_steps", "return", "length", "episodes"):
        assert m[name].shape == (2, n_iter), name
    np.testing.assert_array_equal(m["env_steps"][0], np.arange(1, n_iter + 1) * c.num_envs)
    # epsilon starts at eps_start and is still decaying linearly (decay over 1000 steps)
    np.testing.assert_allclose(m["epsilon"][:, 0], c.eps_start)
    np.testing.assert_allclose(m["epsilon"][:, -1], c.eps_end, rtol=1e-6)
    # one gradient step per iteration from env_steps >= learning_starts (train_every == num_envs)
    expected = np.asarray(m["env_steps"][0]) >= c.learning_starts
    np.testing.assert_array_equal(m["trained"][0], expected)
    np.testing.assert_array_equal(state.grad_steps, [expected.sum()] * 2)
    assert np.all(np.asarray(m["loss"])[:, expected] > 0) and np.all(np.asarray(m["loss"])[:, ~expected] == 0)
    assert np.all(np.isfinite(np.asarray(m["loss"])))
    assert np.all(np.asarray(m["episodes"])[:, -1] > 0)
    # the seeds differ
    assert not np.allclose(m["loss"][0], m["loss"][1])
    assert not np.allclose(m["return"][0], m["return"][1])
    w0 = jax.tree.leaves(state.params)[0]
    assert not np.allclose(w0[0], w0[1])
    # the hard target copy happened at env_steps == 2000 (a multiple of 500): target == online
    for p, t in zip(jax.tree.leaves(state.params), jax.tree.leaves(state.target_params)):
        np.testing.assert_array_equal(p, t)


def test_buffer_stores_true_next_obs(short_run):
    """Terminated transitions carry the out-of-bounds final observation, not the post-reset one."""
    c, _, (state, _) = short_run
    size = int(state.buffer.size[0])
    assert size == c.total_env_steps
    data = jax.tree.map(lambda x: np.asarray(x[0, :size]), state.buffer.data)
    out = (np.abs(data.next_obs[:, 0]) > X_LIM) | (np.abs(data.next_obs[:, 2]) > TH_LIM)
    assert data.terminated.sum() > 10
    np.testing.assert_array_equal(out, data.terminated)
    # post-reset observations are tiny (|x| <= 0.05); a true terminal next_obs never is
    assert np.all(np.abs(data.next_obs[data.terminated]).max(axis=1) > 0.05)


def test_target_not_updated_before_learning_starts():
    c = short_config()
    init, chunk = dqn.make_train(c)
    state, m = jax.jit(lambda k: chunk(init(k), 40))(jax.random.key(3))   # 400 env steps < 500
    assert int(state.grad_steps) == 0 and not np.any(m["trained"])
    s0 = jax.jit(init)(jax.random.key(3))
    for p, p0, t in zip(jax.tree.leaves(state.params), jax.tree.leaves(s0.params),
                        jax.tree.leaves(state.target_params)):
        np.testing.assert_array_equal(p, p0)
        np.testing.assert_array_equal(t, p0)


def test_anneal_lr_decays_linearly_to_zero_over_the_runs_updates():
    c = short_config()
    assert dqn.learning_rate_schedule(dqn.DQNConfig.from_config(c)) == c.learning_rate  # off: a constant
    c.anneal_lr = True
    cfg = dqn.DQNConfig.from_config(c)
    assert cfg.num_updates == (c.total_env_steps - c.learning_starts) // c.train_every == 150
    lr = dqn.learning_rate_schedule(cfg)
    np.testing.assert_allclose([lr(0), lr(75), lr(150), lr(400)], [c.learning_rate, c.learning_rate / 2, 0, 0],
                               rtol=1e-6, atol=0)
    # the optimizer follows it: past the run's updates the parameters no longer move, bit for bit
    init, chunk = dqn.make_train(c)
    n_iter = c.total_env_steps // c.num_envs
    end, _ = jax.jit(lambda k: chunk(init(k), n_iter))(jax.random.key(5))
    later, m = jax.jit(lambda s: chunk(s, 30))(end)
    assert np.all(m["trained"]) and int(later.grad_steps) == int(end.grad_steps) + 30
    for a, b in zip(jax.tree.leaves(end.params), jax.tree.leaves(later.params)):
        np.testing.assert_array_equal(a, b)
    c.anneal_lr = False  # without it the same extra updates do move them
    init, chunk = dqn.make_train(c)
    end, _ = jax.jit(lambda k: chunk(init(k), n_iter))(jax.random.key(5))
    later, _ = jax.jit(lambda s: chunk(s, 30))(end)
    assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(end.params), jax.tree.leaves(later.params)))


# ----------------------------------------------------------------------------------- n-step


def nstep_reference(rewards, terminated, truncated, next_obs, gamma):
    """Plain-loop n-step return for the window's first start (one env, float64)."""
    ret, k = 0.0, 0
    for k in range(len(rewards)):
        ret += gamma ** k * float(rewards[k])
        if terminated[k] or truncated[k]:
            break
    return ret, next_obs[k], bool(terminated[k]), gamma ** (k + 1)


def test_nstep_transition_matches_python_loop():
    rng = np.random.default_rng(0)
    n, envs, gamma = 4, 64, 0.9
    reward = rng.normal(size=(n, envs)).astype(np.float32)
    term = rng.random((n, envs)) < 0.15
    trunc = (rng.random((n, envs)) < 0.15) & ~term
    next_obs = rng.normal(size=(n, envs, 3)).astype(np.float32)
    window = Transition(obs=jnp.asarray(rng.normal(size=(n, envs, 3)), jnp.float32),
                        action=jnp.asarray(rng.integers(0, 2, (n, envs)), jnp.int32), reward=jnp.asarray(reward),
                        next_obs=jnp.asarray(next_obs), terminated=jnp.asarray(term), truncated=jnp.asarray(trunc))
    out = jax.jit(lambda w: dqn.nstep_transition(w, gamma))(window)
    assert (term[0] | trunc[0]).any() and (~(term | trunc).any(axis=0)).any()   # both cases occur
    for e in range(envs):
        ret, nxt, t, disc = nstep_reference(reward[:, e], term[:, e], trunc[:, e], next_obs[:, e], gamma)
        assert float(out.transition.reward[e]) == pytest.approx(ret, rel=1e-5, abs=1e-5)
        np.testing.assert_array_equal(out.transition.next_obs[e], nxt)
        assert bool(out.transition.terminated[e]) == t
        assert float(out.discount[e]) == pytest.approx(disc, rel=1e-6)
    np.testing.assert_array_equal(out.transition.obs, window.obs[0])
    np.testing.assert_array_equal(out.transition.action, window.action[0])


def test_nstep_run_stores_nstep_transitions():
    """n_step=3: the buffer holds the n-step windows of the actual trajectory, lagging n-1 iterations."""
    c = short_config()
    c.n_step, c.total_env_steps = 3, 1_000
    init, chunk = dqn.make_train(c)
    state, m = jax.jit(lambda k: chunk(init(k), 100))(jax.random.key(5))
    assert np.all(np.isfinite(np.asarray(m["loss"]))) and int(state.grad_steps) > 0
    size = int(state.buffer.size)
    assert size == (100 - (c.n_step - 1)) * c.num_envs
    data = jax.tree.map(lambda x: np.asarray(x[:size]), state.buffer.data)
    disc = data.discount
    powers = c.gamma ** np.arange(1, c.n_step + 1)
    assert np.all(np.isclose(disc[:, None], powers[None]).any(axis=1))   # discount is gamma^k, k <= n
    full = np.isclose(disc, c.gamma ** 3)
    assert full.any() and (~full).any()
    # a window shorter than n ended an episode; a full window ends one only at its last step
    done = data.transition.terminated | data.transition.truncated
    assert np.all(done[~full])
    # CartPole pays 1 per step, so a full window's return is exactly 1 + gamma + gamma^2
    np.testing.assert_allclose(data.transition.reward[full], 1 + c.gamma + c.gamma ** 2, rtol=1e-6)


def test_config_errors():
    c = dqn_defaults.default_config()
    c.n_step = 0
    with pytest.raises(JaxmlError, match="n_step"):
        dqn.make_train(c)
    c = dqn_defaults.default_config()
    c.batch_size = 20_000
    with pytest.raises(JaxmlError, match="batch_size"):
        dqn.make_train(c)
    c = dqn_defaults.default_config()
    c.env = "CartPol-v1"
    with pytest.raises(JaxmlError, match="CartPole-v1"):
        dqn.make_train(c)
    c = dqn_defaults.default_config()
    c.env = "Pendulum-v1"
    with pytest.raises(JaxmlError, match="discrete"):
        dqn.make_train(c)


# ----------------------------------------------------------------------------------- learning


def learning_config(per):
    """60k env steps, 7.5k gradient steps. Measured greedy eval (10 episodes, the keys below),
    seeds 0 / 1: uniform 206.0 / 231.9, PER 191.7 / 141.6. With another eval key, seeds 0-3:
    uniform 222.8 / 216.9 / 219.4 / 195.1, PER 198.7 / 145.2 / 257.2 / 221.7."""
    c = dqn_defaults.default_config()
    c.total_env_steps = 60_000
    c.num_envs = 8
    c.train_every = 8
    c.learning_starts = 1_000
    c.buffer_size = 10_000
    c.batch_size = 128
    c.learning_rate = 1e-3
    c.eps_fraction = 0.2
    c.target_update_every = 500
    c.per = per
    return c


@pytest.mark.parametrize("per,threshold", [(False, 150.0), (True, 100.0)], ids=["uniform", "per"])
def test_learns_cartpole(per, threshold):
    c = learning_config(per)
    init, chunk = dqn.make_train(c)

    def run(key):
        state, m = chunk(init(key), c.total_env_steps // c.num_envs)
        ev = dqn.greedy_eval(c, state, jax.random.fold_in(key, 123))
        return ev["return_mean"], m

    returns, m = jax.jit(jax.vmap(run))(keys(0, 1))
    returns = np.asarray(returns)
    assert np.all(returns >= threshold), returns
    if per:
        np.testing.assert_allclose(m["beta"][:, 0], c.per_beta_start + (c.per_beta_end - c.per_beta_start)
                                   * c.num_envs / c.total_env_steps, rtol=1e-5)
        assert np.all(np.asarray(m["beta"])[:, -1] == pytest.approx(c.per_beta_end))
