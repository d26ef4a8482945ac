"""The supervised classification recipe and its data loading.

An image (or feature) classifier named by `config.model`, trained with the optimizer of
`core.train_state.make_optimizer`, random shift / flip / noise augmentation of NHWC images
(per-example keys), mixup, label smoothing, dropout and mutable model state (BatchNorm statistics);
inputs standardised by `core.steps.Normaliser` fitted on the training split. Its defaults are
`jaxml.defaults.training.supervised_config`. The `classify` method trains it; the methods that wrap, reuse or
compare with a classifier (prune, quantize, interpret, distill's teacher and scratch control, gan's
few-label study, the feature classifier of `core.feature_classifier`) build it from here, and the
step pieces (`classifier_init`, `augment_images`, `train_logits`, `infer_logits`, `eval_logits`) serve the methods
that write their own classifier objective (distill, adversarial).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxml.core import gradients, loop, weight_ema
from jaxml.core.steps import Normaliser, apply_gradients, batch_key, classification_sums
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data.augment import augment_batch, mixup
from jaxml.data.datasets import Dataset, Split, load_dataset
from jaxml.models.build import build_model


def load_data(config: ml_collections.ConfigDict) -> Dataset:
    """The dataset `config.dataset` (from `config.data_dir` when set; `config.data_seed` splits the
    datasets without a fixed train/test split)."""
    return load_dataset(config.dataset, data_dir=config.data_dir or None, seed=int(config.data_seed))


def classifier_init(model, tx: optax.GradientTransformation, split: Split) -> Callable[[jax.Array], TrainState]:
    """`init(key) -> TrainState` of `model` on inputs shaped like `split["image"]`: params, the other
    variable collections as model state, and `tx`'s state."""
    sample = jnp.zeros((1,) + split["image"].shape[1:], jnp.float32)

    def init(key):
        variables = model.init({"params": key, "dropout": key}, sample, train=False)
        params = variables.pop("params")
        return TrainState(params=params, model_state=dict(variables), opt_state=tx.init(params))

    return init


def augment_images(aug: ml_collections.ConfigDict, images: jax.Array, key: jax.Array) -> jax.Array:
    """The `augment` group's random shift, flip and noise of the global batch's NHWC images (example i
    gets `split(key, batch)[i]`, whatever the device count); other inputs unchanged."""
    if images.ndim != 4:
        return images
    return augment_batch(None, images, shift=int(aug.shift), flip=bool(aug.flip), noise=float(aug.noise),
                         keys=jax.random.split(key, images.shape[0]))


def train_logits(model, params: Any, model_state: Any, x: jax.Array, dropout_key: jax.Array) -> tuple[jax.Array, Any]:
    """(logits, updated model state) of `model` in training mode: dropout from `dropout_key`, every
    model-state collection mutable."""
    return model.apply({"params": params, **model_state}, x, train=True, rngs={"dropout": dropout_key},
                       mutable=list(model_state.keys()))


def infer_logits(model, state: TrainState, x: jax.Array) -> jax.Array:
    """The logits of `model` at `state` in inference mode (BatchNorm running statistics, no dropout)."""
    return model.apply({"params": state.params, **state.model_state}, x, train=False)


def eval_logits(model, state: TrainState, x: jax.Array) -> jax.Array:
    """`infer_logits` with the parameters evaluation uses: the weight average when the optimizer keeps
    one (`config.ema_decay`, `core.weight_ema`), else the parameters."""
    return model.apply({"params": weight_ema.eval_params(state), **state.model_state}, x, train=False)


def make_recipe(config: ml_collections.ConfigDict, train_split: Split, eval_splits: dict[str, Split],
                num_classes: int, tx: optax.GradientTransformation | None = None) -> loop.Recipe:
    """The classifier's recipe: softmax cross-entropy on (smoothed, mixed-up) one-hot labels of
    augmented, standardised images; eval sums of loss and accuracy. The batch is augmented and mixed
    as a whole, then its gradient taken over `config.grad_accum` micro-batches (`core.gradients`).
    `tx` replaces the config's optimizer (`core.population` passes one whose hyper-parameters are
    traced)."""
    model = build_model(config, num_classes)
    tx = make_optimizer(config) if tx is None else tx
    prepare = Normaliser.fit(train_split)
    aug = config.augment
    smoothing = float(config.label_smoothing)
    accum = gradients.accum_steps(config)

    def train_step(state: TrainState, batch, key):
        images = prepare(batch["image"])
        labels = batch["label"]
        aug_key, mix_key, drop_key = jax.random.split(key, 3)
        images = augment_images(aug, images, aug_key)
        targets = optax.smooth_labels(jax.nn.one_hot(labels, num_classes), smoothing) if smoothing else \
            jax.nn.one_hot(labels, num_classes)
        if float(aug.mixup_alpha) > 0:
            images, targets = mixup(batch_key(mix_key), images, targets, float(aug.mixup_alpha))

        def loss_fn(params, micro, key, model_state):
            logits, updates = train_logits(model, params, model_state, micro["image"], key)
            metrics = {"accuracy": jnp.mean(jnp.argmax(logits, -1) == micro["label"])}
            return optax.softmax_cross_entropy(logits, micro["target"]).mean(), \
                (metrics, dict(updates) if updates else model_state)

        _, metrics, model_state, grads = gradients.value_and_grad(
            loss_fn, state.params, {"image": images, "target": targets, "label": labels}, batch_key(drop_key),
            accum=accum, carry=state.model_state, opt_state=state.opt_state)
        return apply_gradients(state, tx, grads, metrics, model_state=model_state if model_state else None)

    def eval_step(state: TrainState, batch):
        logits = eval_logits(model, state, prepare(batch["image"]))
        return classification_sums(logits, batch["label"], batch["mask"])

    return loop.Recipe(init=classifier_init(model, tx, train_split), train_step=train_step, eval_step=eval_step,
                       train_split=train_split, eval_splits=eval_splits, main_metric="accuracy",
                       grad_accum=accum)


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The recipe on the whole training split, scored on the test split (`jaxml bench`, `jaxml eval`)."""
    data = load_data(config)
    return make_recipe(config, data.train, {"test": data.test}, data.num_classes)


def train_once(config: ml_collections.ConfigDict, workdir: str | Path, train_split: Split,
               eval_splits: dict[str, Split], num_classes: int, desc: str) -> dict[str, Any]:
    """Trains (or resumes) the classifier on `train_split` in `workdir`; its final metrics + `params`."""
    state, metrics = loop.run(make_recipe(config, train_split, eval_splits, num_classes), config, workdir, desc=desc)
    metrics["params"] = loop.count_params(state.params)
    return metrics


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the newest checkpoint in `workdir` and evaluates it on the test split."""
    return loop.evaluate_checkpoint(recipe_for(config), config, workdir)
