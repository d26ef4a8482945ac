"""Deep anomaly detectors trained on normal points only: a registry of small bundles, each an
`init(key, normal_x) -> (params, fixed)` and a per-point anomaly `score(params, fixed, x)`, trained by
one shared fit that minimises the mean score of minibatches of normal points.

- `autoencoder`: a small MLP (`models.mlp.MLP` whose output width is the input's, with a narrow
  middle layer); the score is the squared reconstruction error.
- `deep_svdd` (Ruff et al. 2018, one-class Deep SVDD): an MLP map phi without bias terms; the centre
  c is the mean of phi over the normal training points at initialisation (coordinates closer to 0
  than `eps` pushed out to +-eps, as the paper does, so no coordinate of c is trivially matched by a
  zero weight), then fixed; the score is ||phi(x) - c||^2. Without biases (and with an unbounded
  activation) the network cannot map every input to c by a constant output, the collapse the paper
  proves a bias would allow.

The features are standardised with the normal training points' mean and std first (the raw
features' scales differ by orders of magnitude). The whole fit -- minibatches drawn with
replacement, `steps` Adam updates -- is one `lax.scan`, and the seeds are a `vmap` of it.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxml.core.registry import choose
from jaxml.models.mlp import MLP


class Detector(NamedTuple):
    init: Callable[[jax.Array, jax.Array], tuple[Any, Any]]  # (key, normal points) -> (params, fixed)
    score: Callable[[Any, Any, jax.Array], jax.Array]        # (params, fixed, x [n, d]) -> [n] scores


def autoencoder(hidden: Sequence[int], width: int) -> Detector:
    model = MLP(num_classes=width, hidden=tuple(int(h) for h in hidden))

    def init(key, normal):
        return model.init(key, normal[:1], train=False), None

    def score(params, fixed, x):
        return jnp.sum((model.apply(params, x, train=False) - x) ** 2, axis=1)

    return Detector(init, score)


SVDD_EPS = 0.1  # |c_j| below this is set to +-SVDD_EPS (Ruff et al.'s reference code uses 0.1)


def deep_svdd(hidden: Sequence[int], width: int) -> Detector:
    """phi: an MLP with no bias terms and leaky-ReLU hidden layers, its last layer the representation."""
    *layers, rep = tuple(int(h) for h in hidden)
    model = MLP(num_classes=rep, hidden=tuple(layers), use_bias=False, activation="leaky_relu")

    def init(key, normal):
        params = model.init(key, normal[:1], train=False)
        c = jnp.mean(model.apply(params, normal, train=False), axis=0)
        c = jnp.where(jnp.abs(c) < SVDD_EPS, jnp.where(c < 0, -SVDD_EPS, SVDD_EPS), c)
        return params, c

    def score(params, c, x):
        return jnp.sum((model.apply(params, x, train=False) - c) ** 2, axis=1)

    return Detector(init, score)


DETECTORS: dict[str, Callable[[Sequence[int], int], Detector]] = {"autoencoder": autoencoder, "deep_svdd": deep_svdd}


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of x's columns, a constant column's std set to 1."""
    std = x.std(axis=0)
    return x.mean(axis=0), np.where(std > 0, std, 1.0)


def fit_and_score(kind: str, seeds: Sequence[int], normal_x: np.ndarray, test_x: np.ndarray, hidden: Sequence[int],
                  steps: int, batch_size: int, learning_rate: float, *, weight_decay: float = 0.0) -> np.ndarray:
    """[seeds, n_test] anomaly scores of test_x by detector `kind` (a `DETECTORS` name) after training
    on normal_x, per seed. `weight_decay`: decoupled (AdamW), the paper's regulariser of Deep SVDD."""
    mean, std = standardiser(normal_x)
    train = jnp.asarray((normal_x - mean) / std, jnp.float32)
    test = jnp.asarray((test_x - mean) / std, jnp.float32)
    detector = choose(DETECTORS, kind, "detector")(hidden, train.shape[1])
    tx = optax.adamw(learning_rate, weight_decay=weight_decay) if weight_decay else optax.adam(learning_rate)

    def one_seed(key):
        k_init, k_batches = jax.random.split(key)
        params, fixed = detector.init(k_init, train)

        def step(carry, k):
            params, opt_state = carry
            rows = jax.random.randint(k, (batch_size,), 0, train.shape[0])
            loss, grads = jax.value_and_grad(lambda p: jnp.mean(detector.score(p, fixed, train[rows])))(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), jax.random.split(k_batches, steps))
        return detector.score(params, fixed, test)

    keys = jnp.stack([jax.random.key_data(jax.random.key(int(s))) for s in seeds])
    return np.asarray(jax.jit(jax.vmap(lambda k: one_seed(jax.random.wrap_key_data(k))))(keys))
