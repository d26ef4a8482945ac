"""Pseudo-labelling (Lee 2013) on sklearn's digits from 50 labels, against the same model trained on the
labels alone (docs/references.md#learning-from-few-labels).

`train(config, workdir)` takes the digits' stratified 80 / 20 train / test split
(`datasets.load_dataset("digits")`), per seed a stratified labelled set of `config.num_labels` training
images (`datasets.per_class_indices`, seed config.seed + s) and the rest of the training images as the
unlabelled pool (their labels unused). A small classifier (`models.MLP`; hidden=() is softmax
regression) is trained full-batch for `config.steps` steps on

    L = CE(labelled) + w(t) * mean over the pool of [max p(x) >= threshold] * CE(x, argmax p(x)),

p the model's own prediction without dropout (no gradient through the pseudo-labels), w(t) ramped
linearly from 0 at `ramp_start` to `unlabeled_weight` at `ramp_end` (Lee's alpha(t)). The supervised
baseline is the same run with w = 0. All seeds and both runs are one jitted, vmapped `lax.scan`.

Results: `supervised_accuracy` and `pseudo_label_accuracy` (test accuracy, mean over seeds) with their
`*_std` and `*_per_seed`, `pseudo_label_gain` (the mean per-seed difference: the target),
`pseudo_label_gain_min`, and at the end of training `pool_confident_fraction` (pool images above the
threshold) and `pool_pseudo_label_accuracy` (how many of those pseudo-labels are right). With
`config.reference`, scikit-learn's LogisticRegression on the same labelled images and its
SelfTrainingClassifier on labelled + pool at `config.reference_threshold` (`pseudo_label_reference.py`)
as `sklearn_*`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core.config import check_int, check_number
from jaxml.data.datasets import load_dataset, per_class_indices
from jaxml.errors import JaxmlError
from jaxml.methods import pseudo_label_reference as reference
from jaxml.models.mlp import MLP


def ramp(step: jax.Array, start: int, end: int) -> jax.Array:
    """0 before `start`, 1 from `end` on, linear in between."""
    return jnp.clip((step - start) / max(end - start, 1), 0.0, 1.0)


def pseudo_label_loss(logits: jax.Array, clean_logits: jax.Array, threshold: float) -> tuple[jax.Array, jax.Array]:
    """(mean over the pool of [confidence >= threshold] * CE(logits, argmax), the confident mask), the
    pseudo-labels and confidences taken from `clean_logits` without gradient."""
    probs = jax.nn.softmax(jax.lax.stop_gradient(clean_logits))
    confident = jnp.max(probs, axis=-1) >= threshold
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.argmax(probs, axis=-1))
    return jnp.mean(confident * ce), confident


def make_run(config: ml_collections.ConfigDict, num_classes: int):
    """run(key, x_l, y_l, x_u, weight) -> (test logits fn params, final pool stats): one training run."""
    model = MLP(num_classes=num_classes, hidden=tuple(int(h) for h in config.model.hidden),
                dropout=float(config.model.dropout))
    tx = optax.adamw(float(config.learning_rate), weight_decay=float(config.weight_decay))
    steps, start, end, threshold = int(config.steps), int(config.ramp_start), int(config.ramp_end), float(config.threshold)

    def loss_fn(params, key, x_l, y_l, x_u, weight):
        k_l, k_u = jax.random.split(key)
        logits_l = model.apply(params, x_l, train=True, rngs={"dropout": k_l})
        supervised = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits_l, y_l))
        unlabelled, confident = pseudo_label_loss(model.apply(params, x_u, train=True, rngs={"dropout": k_u}),
                                                  model.apply(params, x_u, train=False), threshold)
        return supervised + weight * unlabelled, confident

    def run(key, x_l, y_l, x_u, weight):
        params = model.init(jax.random.fold_in(key, 0), x_l[:1], train=False)
        opt_state = tx.init(params)

        def step(carry, t):
            params, opt_state = carry
            w = weight * ramp(t, start, end)
            grads, _ = jax.grad(loss_fn, has_aux=True)(params, jax.random.fold_in(key, t + 1), x_l, y_l, x_u, w)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, _), _ = jax.lax.scan(step, (params, opt_state), jnp.arange(steps))
        return params

    return model, run


def images(split) -> np.ndarray:
    """[n, 64] float32 pixels in [0, 1]."""
    x = np.asarray(split["image"], np.float32) / 255.0
    return x.reshape(len(x), -1)


def check_config(config: ml_collections.ConfigDict, num_classes: int) -> None:
    if config.dataset != "digits":
        raise JaxmlError(f"config.dataset={config.dataset!r} is not valid; choose one of digits")
    check_int(config.num_labels, "config.num_labels", num_classes)
    if config.num_labels % num_classes:
        raise JaxmlError(f"config.num_labels={config.num_labels} must be a multiple of the {num_classes} classes")
    check_int(config.num_seeds, "config.num_seeds", 1)
    check_int(config.steps, "config.steps", 1)
    check_int(config.ramp_start, "config.ramp_start", 0)
    check_int(config.ramp_end, "config.ramp_end", int(config.ramp_start))
    check_number(config.threshold, "config.threshold", 0.0, 1.0)
    check_number(config.unlabeled_weight, "config.unlabeled_weight", 0.0)
    check_number(config.learning_rate, "config.learning_rate", 0.0)
    check_number(config.weight_decay, "config.weight_decay", 0.0)
    check_number(config.model.dropout, "config.model.dropout", 0.0, 1.0)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    data = load_dataset(config.dataset, seed=int(config.data_seed))
    check_config(config, data.num_classes)
    x_train, y_train = images(data.train), np.asarray(data.train["label"])
    x_test, y_test = images(data.test), np.asarray(data.test["label"])
    per_class, seeds = int(config.num_labels) // data.num_classes, int(config.num_seeds)
    labelled = np.stack([per_class_indices(y_train, per_class, data.num_classes, int(config.seed) + s)
                         for s in range(seeds)])
    pool = np.stack([np.setdiff1d(np.arange(len(y_train)), ids) for ids in labelled])
    model, run = make_run(config, data.num_classes)
    weights = jnp.asarray([0.0, float(config.unlabeled_weight)])  # supervised, pseudo-labelling
    keys = jax.random.split(jax.random.key(int(config.seed)), seeds)
    over_weights = jax.vmap(run, in_axes=(None, None, None, None, 0))
    params = jax.jit(jax.vmap(over_weights, in_axes=(0, 0, 0, 0, None)))(keys, jnp.asarray(x_train[labelled]), jnp.asarray(y_train[labelled]),
                                             jnp.asarray(x_train[pool]), weights)
    logits = lambda xs: jax.vmap(jax.vmap(lambda p, x: model.apply(p, x, train=False), (0, None)), (0, 0))(params, xs)
    test_pred = np.asarray(jnp.argmax(logits(jnp.broadcast_to(x_test, (seeds,) + x_test.shape)), -1))  # [seeds, 2, n]
    acc = np.mean(test_pred == y_test, axis=-1)
    probs = np.asarray(jax.nn.softmax(logits(jnp.asarray(x_train[pool]))))[:, 1]  # the pseudo-labelling runs
    confident = probs.max(-1) >= float(config.threshold)
    right = (probs.argmax(-1) == y_train[pool]) & confident
    out: dict[str, Any] = {"num_labels": int(config.num_labels), "num_seeds": seeds, "pool_size": int(pool.shape[1])}
    for name, a in (("supervised", acc[:, 0]), ("pseudo_label", acc[:, 1])):
        out.update({f"{name}_accuracy": float(a.mean()), f"{name}_accuracy_std": float(a.std()),
                    f"{name}_accuracy_per_seed": [float(v) for v in a]})
    gain = acc[:, 1] - acc[:, 0]
    out.update(pseudo_label_gain=float(gain.mean()), pseudo_label_gain_min=float(gain.min()),
               pool_confident_fraction=float(confident.mean()),
               pool_pseudo_label_accuracy=float(right.sum() / max(confident.sum(), 1)))
    if config.reference:
        refs = [reference.logistic_regression(x_train[labelled[s]], y_train[labelled[s]], x_train[pool[s]], x_test,
                                              y_test, float(config.reference_threshold)) for s in range(seeds)]
        for k in refs[0]:
            out[f"sklearn_{k}"] = float(np.mean([r[k] for r in refs]))
    return out
