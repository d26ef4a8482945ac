"""Supervised image classification: MLP / CNN / ResNet with dropout, AdamW weight decay, label
smoothing, warm-up + cosine schedule, bf16 compute, augmentation, mixup and k-fold cross-validation.

result.json metrics: `test_accuracy`, `test_loss` (and `val_*` when `validation_fraction > 0`);
with `cv_folds > 1`: `cv_accuracy` (mean over folds of the held-out-fold accuracy), `cv_accuracy_std`,
`cv_accuracy_per_fold`, and `test_accuracy` / `test_accuracy_std` over the fold models.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop, parallel
from jaxml.core.inference import Inference
from jaxml.core.steps import Normaliser, apply_gradients, classification_sums
from jaxml.core.train_state import TrainState, make_optimizer, supervised_config
from jaxml.data.augment import augment_batch, mixup
from jaxml.data.datasets import Dataset, Split, load_dataset, split_validation
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")


def make_recipe(config: ml_collections.ConfigDict, train_split: Split, eval_splits: dict[str, Split],
                num_classes: int) -> loop.Recipe:
    model = build_model(config, num_classes)
    tx = make_optimizer(config)
    prepare = Normaliser.fit(train_split)
    aug = config.augment
    smoothing = float(config.label_smoothing)
    sample = jnp.zeros((1,) + train_split["image"].shape[1:], jnp.float32)

    def init(key):
        variables = model.init({"params": key, "dropout": key}, sample, train=False)
        params = variables.pop("params")
        return TrainState(params=params, model_state=dict(variables), opt_state=tx.init(params))

    def train_step(state: TrainState, batch, key):
        images = prepare(batch["image"])
        labels = batch["label"]
        local_batch = images.shape[0]
        aug_key, mix_key, drop_key = jax.random.split(key, 3)
        if images.ndim == 4:
            images = augment_batch(None, images, shift=int(aug.shift), flip=bool(aug.flip), noise=float(aug.noise),
                                   keys=parallel.local_example_keys(aug_key, local_batch))
        targets = optax.smooth_labels(jax.nn.one_hot(labels, num_classes), smoothing) if smoothing else \
            jax.nn.one_hot(labels, num_classes)
        if float(aug.mixup_alpha) > 0:
            images, targets = mixup(parallel.device_key(mix_key), images, targets, float(aug.mixup_alpha))

        def loss_fn(params):
            logits, updates = model.apply({"params": params, **state.model_state}, images, train=True,
                                          rngs={"dropout": parallel.device_key(drop_key)},
                                          mutable=list(state.model_state.keys()))
            return optax.softmax_cross_entropy(logits, targets).mean(), (logits, updates)

        (loss, (logits, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        metrics = {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels)}
        return apply_gradients(state, tx, grads, metrics, model_state=dict(updates) if updates else None)

    def eval_step(state: TrainState, batch):
        logits = model.apply({"params": state.params, **state.model_state}, prepare(batch["image"]), train=False)
        return classification_sums(logits, batch["label"], batch["mask"])

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=train_split,
                       eval_splits=eval_splits, main_metric="accuracy")


def input_stats(split: Split) -> tuple[float, float]:
    """Transitional: `Normaliser.fit(split)`'s mean and std (use `core.steps.Normaliser`)."""
    norm = Normaliser.fit(split)
    return norm.mean, norm.std


def load_data(config: ml_collections.ConfigDict) -> Dataset:
    return load_dataset(config.dataset, data_dir=config.data_dir or None, seed=int(config.data_seed))


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The recipe `train` would run (used by `jaxml bench` and `jaxml eval`)."""
    data = load_data(config)
    return make_recipe(config, data.train, {"test": data.test}, data.num_classes)


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the newest checkpoint in `workdir` and evaluates it on the test split."""
    if int(config.cv_folds) > 1:
        raise JaxmlError("jaxml eval on a cross-validation run: evaluate one fold's workdir, e.g. WORKDIR/fold_0")
    return loop.evaluate_checkpoint(recipe_for(config), config, workdir)


def inference_fn(config: ml_collections.ConfigDict) -> Inference:
    """Images as the dataset stores them (uint8 or float) -> class logits [B, K]; the normaliser is part
    of the function (`jaxml export`)."""
    data = load_data(config)
    recipe = make_recipe(config, data.train, {"test": data.test}, data.num_classes)
    model = build_model(config, data.num_classes)
    prepare = Normaliser.fit(data.train)

    def fn(state: TrainState):
        return lambda images: model.apply({"params": state.params, **state.model_state}, prepare(images), train=False)

    return Inference(init=recipe.init, fn=fn, example=np.asarray(data.test["image"][:8]),
                     meta={"output": f"class logits [B, {data.num_classes}]", "class_names": list(data.class_names)})


def train_once(config, workdir, train_split: Split, eval_splits: dict[str, Split], num_classes: int, desc: str):
    recipe = make_recipe(config, train_split, eval_splits, num_classes)
    state, metrics = loop.run(recipe, config, workdir, desc=desc)
    metrics["params"] = loop.count_params(state.params)
    return metrics


def cross_validate(config, workdir: Path, data: Dataset) -> dict[str, Any]:
    """Stratified k-fold CV over the training split; each fold model is also scored on the test split."""
    from sklearn.model_selection import StratifiedKFold

    folds = int(config.cv_folds)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(config.data_seed))
    cv_acc, test_acc = [], []
    for k, (tr, va) in enumerate(splitter.split(np.zeros(len(data.train)), data.train["label"])):
        train_split, val_split = data.train.take(tr), data.train.take(va)
        m = train_once(config, workdir / f"fold_{k}", train_split, {"val": val_split, "test": data.test},
                       data.num_classes, desc=f"fold {k + 1}/{folds}")
        cv_acc.append(m["val_accuracy"])
        test_acc.append(m["test_accuracy"])
        log.info("fold %d/%d: val accuracy %.4f, test accuracy %.4f", k + 1, folds, cv_acc[-1], test_acc[-1])
    return {"cv_accuracy": float(np.mean(cv_acc)), "cv_accuracy_std": float(np.std(cv_acc)),
            "cv_accuracy_per_fold": [float(a) for a in cv_acc], "cv_folds": folds,
            "test_accuracy": float(np.mean(test_acc)), "test_accuracy_std": float(np.std(test_acc)),
            "steps": int(config.steps), "params": m["params"]}


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    data = load_data(config)
    if int(config.cv_folds) > 1:
        return cross_validate(config, workdir, data)
    eval_splits = {"test": data.test}
    train_split = data.train
    if float(config.validation_fraction) > 0:
        train_split, val_split = split_validation(data.train, float(config.validation_fraction), int(config.data_seed))
        eval_splits = {"val": val_split, "test": data.test}
    return train_once(config, workdir, train_split, eval_splits, data.num_classes, desc=config.get("name", "train"))


def base_config() -> ml_collections.ConfigDict:
    """Defaults shared by every classify experiment: `core.train_state.supervised_config` (digits, an
    MLP 256-128 with dropout 0.1, AdamW 3e-3 with 50 warm-up steps, 1500 steps of 64); a config file
    overrides what it needs."""
    return supervised_config("classify")
