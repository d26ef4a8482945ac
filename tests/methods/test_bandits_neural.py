"""The neural-linear Thompson agent (`methods/bandits.neural_thompson`): its refit against the incremental
statistics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.defaults.bandits import bandit_config
from jaxml.methods import bandits


def test_neural_linear_refit_rebuilds_the_incremental_statistics():
    """With a zero learning rate the network does not move, so the per-arm ridge statistics of phi(x)
    rebuilt from the history at a refit equal the Sherman-Morrison ones updated round by round; and the
    agent acts on them."""
    c = bandit_config()
    c.num_arms, c.context_dim, c.horizon = 3, 4, 16
    c.neural.hidden, c.neural.sgd_steps, c.neural.learning_rate, c.neural.refit_every = (8,), 2, 0.0, 16
    agent = bandits.neural_thompson(c)
    state = agent.init(jax.random.key(0), 3, 4)
    rng = np.random.default_rng(1)
    update = jax.jit(agent.update)
    for x, a, r in zip(rng.standard_normal((12, 4)), rng.integers(0, 3, 12), rng.standard_normal(12)):
        state = update(state, jnp.asarray(x, jnp.float32), jnp.int32(a), jnp.float32(r))
    refitted = jax.jit(agent.refit)(state)
    np.testing.assert_allclose(np.asarray(refitted.stats.cov), np.asarray(state.stats.cov), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(np.asarray(refitted.stats.b), np.asarray(state.stats.b), rtol=1e-4, atol=1e-5)
    assert int(state.count) == 12
    assert 0 <= int(agent.act(refitted, jnp.ones(4), jax.random.key(2))) < 3
