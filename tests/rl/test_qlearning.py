"""jaxml.rl.qlearning: FrozenLake's transition model against gymnax's own step, finite-horizon value
iteration (deterministic map, horizon edge cases, Monte-Carlo rollout of the optimal policy), the
batched Q update with duplicate (s, a) pairs against a Python reference, short runs on both envs,
and config errors."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments.misc.frozen_lake import EnvState, FrozenLake

from jaxml.defaults.rl import qlearning as ql_defaults
from jaxml.errors import JaxmlError
from jaxml.rl import qlearning as ql

# ----------------------------------------------------------------------------------- model / VI


def test_model_matches_gymnax_step():
    """P[s, a] equals the empirical next-state distribution of gymnax's step_env (every s, a)."""
    env, params = gymnax.make("FrozenLake-misc")
    P, R, terminal, start = ql.frozen_lake_model(env)
    np.testing.assert_allclose(P.sum(-1), 1.0)
    n, draws = P.shape[0], 3000
    s = jnp.repeat(jnp.arange(n), 4 * draws)
    a = jnp.tile(jnp.repeat(jnp.arange(4), draws), n)
    keys = jax.random.split(jax.random.key(0), s.shape[0])
    state = EnvState(position=s, time=jnp.zeros_like(s))
    obs, _, reward, term, _ = jax.jit(jax.vmap(env.step_env, in_axes=(0, 0, 0, None)))(keys, state, a, params)
    counts = np.zeros((n, 4, n))
    np.add.at(counts, (np.asarray(s), np.asarray(a), np.asarray(obs)), 1)
    assert np.abs(counts / draws - P).max() < 0.04          # 3000 draws: std <= 0.009
    np.testing.assert_array_equal(np.asarray(term), terminal[np.asarray(obs)])
    np.testing.assert_array_equal(np.asarray(reward), R[0, 0][np.asarray(obs)])
    assert start == 0 and terminal.sum() == 5 and R.max() == 1.0


def test_deterministic_map_is_solved_in_six_steps():
    env = FrozenLake(is_slippery=False)
    params = env.default_params
    assert ql.optimal_success_rate(params, env) == 1.0
    assert ql.optimal_success_rate(params.replace(max_steps_in_episode=6), env) == 1.0
    assert ql.optimal_success_rate(params.replace(max_steps_in_episode=5), env) == 0.0   # goal is 6 moves away


def test_slippery_finite_horizon():
    env, params = gymnax.make("FrozenLake-misc")
    assert env.is_slippery
    rates = [ql.optimal_success_rate(params.replace(max_steps_in_episode=h), env) for h in (5, 6, 20, 100, 1000)]
    assert rates[0] == 0.0 and 0.0 < rates[1] < 1 / 3
    assert np.all(np.diff(rates) > 0)                      # more time never hurts
    assert ql.optimal_success_rate(params) == pytest.approx(rates[3])   # default env, H = 100
    assert rates[3] < rates[4] < 1.0


def test_optimal_policy_monte_carlo():
    """Roll out the backward-induction policy (action per (steps left, s)) in the gymnax env."""
    env, params = gymnax.make("FrozenLake-misc")
    H = int(params.max_steps_in_episode)
    P, R, terminal, start = ql.frozen_lake_model(env)
    V, pi = ql.finite_horizon_values(P, R, terminal, H)
    pi = jnp.asarray(pi, jnp.int32)
    n = 20_000

    def episode(key):
        obs, state = env.reset(key, params)

        def body(carry, k):
            obs, state, alive, ret = carry
            action = pi[H - state.time, obs]
            obs, state, r, term, trunc, _ = env.step(k, state, action, params)
            ret = ret + jnp.where(alive, r, 0.0)
            return (obs, state, alive & ~(term | trunc), ret), None

        (_, _, _, ret), _ = jax.lax.scan(body, (obs, state, True, 0.0), jax.random.split(key, H))
        return ret

    success = float(jnp.mean(jax.jit(jax.vmap(episode))(jax.random.split(jax.random.key(1), n))))
    p = V[H, start]
    assert abs(success - p) < 4 * np.sqrt(p * (1 - p) / n)


# ----------------------------------------------------------------------------------- batched update


def reference_update(q, s, a, target, lr):
    """Python float64: each distinct (s, a) moves once by lr * the mean TD error of its entries."""
    q = np.array(q, np.float64)
    new = q.copy()
    groups = {}
    for i, key in enumerate(zip(s, a)):
        groups.setdefault(key, []).append(target[i] - q[key])
    for key, tds in groups.items():
        new[key] = q[key] + lr * np.mean(tds)
    return new


def test_batched_update_averages_duplicates():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(5, 3)).astype(np.float32)
    s = np.array([0, 2, 0, 0, 4, 2, 1, 0])
    a = np.array([1, 2, 1, 1, 0, 2, 1, 2])    # (0,1) x3, (2,2) x2, three singletons
    target = rng.normal(size=8).astype(np.float32)
    lr = 0.7
    new, td = jax.jit(ql.batched_q_update)(jnp.asarray(q), jnp.asarray(s), jnp.asarray(a), jnp.asarray(target), lr)
    np.testing.assert_allclose(new, reference_update(q, s, a, target, lr), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(td, target - q[s, a], rtol=1e-6)
    # a naive scatter-add would move (0, 1) by the SUM of its three TD errors
    naive = jnp.asarray(q).at[s, a].add(lr * (target - q[s, a]))
    assert not np.allclose(naive[0, 1], new[0, 1])
    # batch order does not matter
    perm = rng.permutation(8)
    new_p, _ = ql.batched_q_update(jnp.asarray(q), jnp.asarray(s[perm]), jnp.asarray(a[perm]),
                                   jnp.asarray(target[perm]), lr)
    np.testing.assert_allclose(new_p, new, rtol=1e-6, atol=1e-6)


def test_fourrooms_index_is_injective():
    env, params = gymnax.make("FourRooms-misc")
    n, index = ql.state_indexer("FourRooms-misc", env)
    cells = np.asarray(env.coords)
    obs = np.concatenate([np.repeat(cells, len(cells), 0), np.tile(cells, (len(cells), 1))], 1)
    idx = np.asarray(index(jnp.asarray(obs)))
    assert len(np.unique(idx)) == len(obs) and idx.min() >= 0 and idx.max() < n


# ----------------------------------------------------------------------------------- short runs


def short_config(env="FrozenLake-misc"):
    c = ql_defaults.default_config()
    c.env = env
    c.num_envs = 16
    c.total_env_steps = 16 * (200 if env == "FrozenLake-misc" else 520)   # FourRooms truncates at 500
    c.eval_episodes = 50
    return c


@pytest.mark.parametrize("env_id", ["FrozenLake-misc", "FourRooms-misc"])
def test_short_run(env_id):
    c = short_config(env_id)
    init, chunk = ql.make_train(c)
    n = c.total_env_steps // c.num_envs
    keys = jnp.stack([jax.random.key(0), jax.random.key(1)])
    state, m = jax.jit(jax.vmap(lambda k: chunk(init(k), n)))(keys)
    for name in ("loss", "td_abs", "epsilon", "learning_rate", "env_steps", "return", "length", "episodes"):
        assert m[name].shape == (2, n), name
    np.testing.assert_array_equal(m["env_steps"][0], np.arange(1, n + 1) * c.num_envs)
    assert np.all(np.isfinite(np.asarray(m["loss"]))) and np.all(np.asarray(m["loss"]) >= 0)
    np.testing.assert_allclose(m["epsilon"][:, 0], c.eps_start)
    np.testing.assert_allclose(m["learning_rate"][:, 0], c.learning_rate)
    assert np.all(np.asarray(m["episodes"])[:, -1] > 0)
    q = np.asarray(state.q)
    assert np.all(np.isfinite(q)) and np.all(q >= 0) and np.all(q <= 1)   # rewards in {0, 1}
    if env_id == "FrozenLake-misc":   # a random walk reaches FourRooms' goal too rarely for this check
        assert (q > 0).any() and not np.allclose(q[0], q[1])
    ev = jax.jit(jax.vmap(lambda s, k: ql.greedy_eval(c, s, k)))(state, keys)
    assert ev["return_mean"].shape == (2,) and np.all((ev["return_mean"] >= 0) & (ev["return_mean"] <= 1))
    if env_id == "FrozenLake-misc":
        np.testing.assert_allclose(ev["optimal_success_rate"], ql.optimal_success_rate(), rtol=1e-6)


def test_greedy_eval_of_optimal_table():
    """A Q table holding the backward-induction values of the last step plays near-optimally."""
    env, params = gymnax.make("FrozenLake-misc")
    P, R, terminal, _ = ql.frozen_lake_model(env)
    V, _ = ql.finite_horizon_values(P, R, terminal, 1000)
    q = np.einsum("sat,sat->sa", P, R + (1 - terminal) * V[-2])
    c = short_config()
    c.eval_episodes = 4000
    init, _ = ql.make_train(c)
    state = init(jax.random.key(0)).replace(q=jnp.asarray(q, jnp.float32))
    out = jax.jit(lambda s, k: ql.greedy_eval(c, s, k))(state, jax.random.key(2))
    opt = float(out["optimal_success_rate"])
    assert float(out["return_mean"]) > 0.95 * opt - 4 * np.sqrt(opt * (1 - opt) / 4000)


def test_config_errors():
    c = ql_defaults.default_config()
    c.env = "CartPole-v1"
    with pytest.raises(JaxmlError, match="FrozenLake-misc, FourRooms-misc"):
        ql.make_train(c)
    c.env = "FrozenLake-mis"
    with pytest.raises(JaxmlError, match="FrozenLake-misc"):
        ql.make_train(c)
    c = ql_defaults.default_config()
    c.learning_rate = 0.0
    with pytest.raises(JaxmlError, match="learning_rate"):
        ql.make_train(c)
    c = ql_defaults.default_config()
    c.eps_end = 1.5
    with pytest.raises(JaxmlError, match="eps_end"):
        ql.make_train(c)
    c = ql_defaults.default_config()
    c.total_env_steps = 10
    with pytest.raises(JaxmlError, match="total_env_steps"):
        ql.make_train(c)
