"""Step pieces every supervised method shares: the input normaliser, the masked classification
eval sums, the key of a step's dropout (`batch_key`) and the gradient tail (apply -> metrics); the
gradient itself (micro-batches, loss scaling) is `core.gradients.value_and_grad`.

A method's `train_step` computes its loss and gradients on the whole global batch and hands them to
`apply_gradients`; its `eval_step` returns `classification_sums` (or its own sums with a `count`).
Steps have no collectives (XLA inserts them from the shardings, `core/sharding.py`), so a step reads
like its paper's equation.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxml.core import loss_scale
from jaxml.data.datasets import Split


@dataclasses.dataclass(frozen=True)
class Normaliser:
    """x -> (x / scale - mean) / std: uint8 pixels to [0, 1] (scale 255; 1 for float inputs), then
    standardised with one mean and std over every value of the training array."""

    mean: float
    std: float
    scale: float = 1.0

    @classmethod
    def fit(cls, split: Split, key: str = "image") -> "Normaliser":
        """Statistics of `split[key]` in [0, 1] (the one way jaxml estimates them: all training values)."""
        x = np.asarray(split[key])
        scale = 255.0 if x.dtype == np.uint8 else 1.0
        unit = x.astype(np.float32) / 255.0 if scale != 1.0 else x
        return cls(mean=float(unit.mean()), std=float(unit.std() + 1e-6), scale=scale)

    def unit(self, x: jax.Array) -> jax.Array:
        """Inputs in [0, 1] (pixels) or unchanged (float features), float32."""
        x = x.astype(jnp.float32)
        return x / self.scale if self.scale != 1.0 else x

    def standardise(self, unit_x: jax.Array) -> jax.Array:
        """[0, 1] inputs -> the model's standardised inputs."""
        return (unit_x - self.mean) / self.std

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.standardise(self.unit(x))


def classification_sums(logits: jax.Array, labels: jax.Array, mask: jax.Array) -> dict[str, jax.Array]:
    """Per-batch SUMS of cross-entropy and accuracy over the real (mask 1) examples, and their count."""
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    correct = jnp.argmax(logits, -1) == labels
    return {"loss": jnp.sum(losses * mask), "accuracy": jnp.sum(correct * mask), "count": jnp.sum(mask)}


def batch_key(key: jax.Array) -> jax.Array:
    """The one key of a step's dropout (and mixup) over the whole global batch: `fold_in(key, 0)`, the
    key device 0 drew when steps ran per device, so one-device runs keep their numbers and any device
    count draws the same."""
    return jax.random.fold_in(key, 0)


def apply_gradients(state: Any, tx: optax.GradientTransformation, grads: Any, metrics: Mapping[str, Any], *,
                    model_state: Any = None, grad_norm: bool = True) -> tuple[Any, dict[str, Any]]:
    """The gradient tail of a step on the global batch: `grads` applied by `tx` to `state` (a
    `TrainState`; `model_state` replaces its mutable collections, e.g. BatchNorm statistics), and the
    metrics (+ `grad_norm`). Under dynamic loss scaling (`core/loss_scale.py`) the metrics add the
    new `loss_scale` and `skipped` (1 on a step whose gradients overflowed and were not applied,
    whose `grad_norm` is logged as 0 so the loop's non-finite check passes it)."""
    state = state.apply_gradients(tx, grads, model_state)
    metrics = dict(metrics)
    scaling = loss_scale.find(state.opt_state)
    if grad_norm:
        norm = optax.tree.norm(grads)
        metrics["grad_norm"] = norm if scaling is None else jnp.where(jnp.isfinite(norm), norm, 0.0)
    if scaling is not None:
        metrics["loss_scale"] = scaling.scale
        metrics["skipped"] = 1.0 - loss_scale.all_finite(grads).astype(jnp.float32)
    return state, metrics
