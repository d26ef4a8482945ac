"""How good a frozen representation is: a linear probe and k-nearest-neighbour accuracy on features.

Both are pure jittable functions of (labelled train features, test features); the self-supervised
methods call them from an evaluator at every eval point.

- `linear_probe_accuracy`: multinomial logistic regression on the features standardised with the
  labelled set's statistics, fitted full-batch by Adam with L2 weight decay (the linear evaluation
  protocol of SimCLR, Chen et al. 2020, on frozen features without augmentation).
- `knn_accuracy`: each test point votes with its k most cosine-similar labelled points, weight
  exp(similarity / T) (Wu et al. 2018's weighted kNN, T = 0.07, as DINO and others report it).
docs/references.md#self-supervised-and-semi-supervised-learning.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def linear_probe_accuracy(train_x: jax.Array, train_y: jax.Array, test_x: jax.Array, test_y: jax.Array,
                          num_classes: int, *, steps: int = 500, learning_rate: float = 0.01,
                          weight_decay: float = 1e-4) -> jax.Array:
    """Test accuracy of a softmax regression fitted on (train_x [N, F], train_y [N])."""
    mean = jnp.mean(train_x, axis=0)
    std = jnp.std(train_x, axis=0) + 1e-6
    xs, xt = (train_x - mean) / std, (test_x - mean) / std
    params = {"w": jnp.zeros((xs.shape[1], num_classes)), "b": jnp.zeros((num_classes,))}
    tx = optax.adam(learning_rate)
    onehot = jax.nn.one_hot(train_y, num_classes)

    def loss(p):
        logits = xs @ p["w"] + p["b"]
        ce = optax.softmax_cross_entropy(logits, onehot).mean()
        return ce + 0.5 * weight_decay * jnp.sum(jnp.square(p["w"]))

    def body(carry, _):
        p, opt = carry
        grads = jax.grad(loss)(p)
        updates, opt = tx.update(grads, opt, p)
        return (optax.apply_updates(p, updates), opt), None

    (params, _), _ = jax.lax.scan(body, (params, tx.init(params)), None, length=steps)
    predictions = jnp.argmax(xt @ params["w"] + params["b"], axis=-1)
    return jnp.mean(predictions == test_y)


def knn_accuracy(train_x: jax.Array, train_y: jax.Array, test_x: jax.Array, test_y: jax.Array,
                 num_classes: int, *, k: int = 20, temperature: float = 0.07, chunk: int = 500) -> jax.Array:
    """Test accuracy of the weighted k-nearest-neighbour vote on cosine similarity (k capped at N)."""
    k = min(int(k), train_x.shape[0])
    bank = train_x / (jnp.linalg.norm(train_x, axis=1, keepdims=True) + 1e-12)
    queries = test_x / (jnp.linalg.norm(test_x, axis=1, keepdims=True) + 1e-12)
    n = queries.shape[0]
    pad = -n % chunk
    queries = jnp.pad(queries, ((0, pad), (0, 0))).reshape(-1, min(chunk, n + pad), queries.shape[1])

    def predict(q):
        sims, idx = jax.lax.top_k(q @ bank.T, k)
        votes = jax.nn.one_hot(train_y[idx], num_classes) * jnp.exp(sims / temperature)[..., None]
        return jnp.argmax(votes.sum(axis=1), axis=-1)

    predictions = jax.lax.map(predict, queries).reshape(-1)[:n]
    return jnp.mean(predictions == test_y)
