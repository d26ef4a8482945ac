"""jaxml.rl.rppo: the GRU's hidden state is reset where an episode starts (a hand-built trajectory),
and a tiny jit run on MetaMaze trains and evaluates greedily with its memory."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults.rl import rppo as rppo_defaults
from jaxml.errors import JaxmlError
from jaxml.rl import rppo


def test_hidden_state_resets_where_an_episode_starts():
    net = rppo.RecurrentActorCritic(action_dim=3, continuous=False, gru_size=8, hidden=(8, 8))
    T, B = 6, 2
    obs = jax.random.normal(jax.random.key(0), (T, B, 5))
    # env 0: an episode ends at step 2, so step 3 starts a new one; env 1: one episode throughout
    starts = jnp.zeros((T, B), bool).at[0].set(True).at[3, 0].set(True)
    h0 = jax.random.normal(jax.random.key(1), (B, 8))        # memory left from an earlier rollout
    params = net.init(jax.random.key(2), h0, obs[0], starts[0])
    run = jax.jit(lambda h, o, s: rppo.unroll(net, params, h, o, s)[1])   # one compile: every call is [6, 2]
    out, _, value = run(h0, obs, starts)
    # other observations before the boundary and another h0: env 0 from step 3 on is unchanged (its
    # memory was zeroed at step 3), env 1 (no boundary) is not
    other_obs = obs.at[:3].set(jax.random.normal(jax.random.key(3), (3, B, 5)))
    out2, _, value2 = run(-h0, other_obs, starts)
    np.testing.assert_allclose(out2[3:, 0], out[3:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(value2[3:, 0], value[3:, 0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(out2[3:, 1], out[3:, 1], atol=1e-4)
    # the start flag at step 0 zeroes h0 too: step 0 does not depend on h0
    np.testing.assert_allclose(run(-h0, obs, starts)[0][0], out[0], rtol=1e-5, atol=1e-6)
    # and a zero state at the boundary is what a reset gives: the flag cleared with the memory zeroed
    # by hand (a fresh run from step 3, padded to the same shape) gives the same outputs
    fresh = jnp.concatenate([obs[3:], obs[:3]])
    fresh_starts = jnp.zeros((T, B), bool).at[0].set(True)
    np.testing.assert_allclose(run(h0, fresh, fresh_starts)[0][:3, 0], out[3:, 0], rtol=1e-5, atol=1e-6)
    # without the reset flag env 0 would have remembered the earlier steps
    no_reset, _, _ = run(h0, obs, starts.at[3, 0].set(False))
    assert not np.allclose(no_reset[3:, 0], out[3:, 0], atol=1e-4)
    np.testing.assert_allclose(no_reset[:3], out[:3])             # identical before the boundary


def tiny_config(**kw):
    c = rppo_defaults.default_config()
    c.num_envs = 4
    c.num_steps = 8
    c.num_minibatches = 2
    c.update_epochs = 1
    c.hidden = (8, 8)
    c.gru_size = 8
    c.total_env_steps = 4 * 8 * 2
    c.eval_episodes = 2
    for k, v in kw.items():
        c[k] = v
    return c


def test_tiny_run_trains_and_evaluates():
    c = tiny_config()
    init, chunk = rppo.make_train(c)
    state, m = jax.jit(lambda k: chunk(init(k), 2))(jax.random.key(0))
    np.testing.assert_array_equal(m["env_steps"], [32, 64])
    for k in ("loss", "policy_loss", "value_loss", "entropy", "approx_kl"):
        assert m[k].shape == (2,) and np.all(np.isfinite(m[k])), k
    assert state.hidden.shape == (4, 8) and np.any(np.asarray(state.hidden) != 0)
    ev = jax.jit(lambda s, k: rppo.greedy_eval(c, s, k))(state, jax.random.key(1))
    assert np.all(np.isfinite(ev["returns"])) and 0.0 <= float(ev["success_rate"]) <= 1.0
    assert "sampled_success_rate" not in ev
    c.eval_sampled = True  # the sampling policy too, on the same episodes
    both = jax.jit(lambda s, k: rppo.greedy_eval(c, s, k))(state, jax.random.key(1))
    assert float(both["return_mean"]) == float(ev["return_mean"])
    assert 0.0 <= float(both["sampled_success_rate"]) <= 1.0 and np.isfinite(float(both["sampled_return_mean"]))
    with pytest.raises(JaxmlError, match="config.num_minibatches=3 must divide config.num_envs=4"):
        rppo.make_train(tiny_config(num_minibatches=3))
