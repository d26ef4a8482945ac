"""A reconstruction-error anomaly detector: a small MLP autoencoder (`models.mlp.MLP` whose output
width is the input's, with a narrow middle layer) trained with Adam on the mean squared
reconstruction error of normal points only; a point's anomaly score is its squared reconstruction
error. The features are standardised with the normal training points' mean and std first (the raw
features' scales differ by orders of magnitude).

The whole fit -- minibatches drawn with replacement, `steps` Adam updates -- is one `lax.scan`, and
the seeds are a `vmap` of it.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxml.models.mlp import MLP


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of x's columns, a constant column's std set to 1."""
    std = x.std(axis=0)
    return x.mean(axis=0), np.where(std > 0, std, 1.0)


def fit_and_score(seeds: Sequence[int], normal_x: np.ndarray, test_x: np.ndarray, hidden: Sequence[int],
                  steps: int, batch_size: int, learning_rate: float) -> np.ndarray:
    """[seeds, n_test] squared reconstruction errors of test_x after training on normal_x, per seed."""
    mean, std = standardiser(normal_x)
    train = jnp.asarray((normal_x - mean) / std, jnp.float32)
    test = jnp.asarray((test_x - mean) / std, jnp.float32)
    model = MLP(num_classes=train.shape[1], hidden=tuple(int(h) for h in hidden))
    tx = optax.adam(learning_rate)

    def error(params, x):
        return jnp.sum((model.apply(params, x, train=False) - x) ** 2, axis=1)

    def one_seed(key):
        k_init, k_batches = jax.random.split(key)
        params = model.init(k_init, train[:1], train=False)

        def step(carry, k):
            params, opt_state = carry
            rows = jax.random.randint(k, (batch_size,), 0, train.shape[0])
            loss, grads = jax.value_and_grad(lambda p: jnp.mean(error(p, train[rows])))(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), jax.random.split(k_batches, steps))
        return error(params, test)

    keys = jnp.stack([jax.random.key_data(jax.random.key(int(s))) for s in seeds])
    return np.asarray(jax.jit(jax.vmap(lambda k: one_seed(jax.random.wrap_key_data(k))))(keys))
