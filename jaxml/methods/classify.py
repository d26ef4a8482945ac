"""Supervised image classification: MLP / CNN / ResNet with dropout, AdamW weight decay, label
smoothing, warm-up + cosine schedule, bf16 compute, augmentation, mixup and k-fold cross-validation.

The recipe and its data loading are the spine's (`core/supervised.py`, shared with the methods that
wrap a classifier); this method adds the validation split, stratified k-fold cross-validation,
`jaxml eval` and the exported inference function.

result.json metrics: `test_accuracy`, `test_loss` (and `val_*` when `validation_fraction > 0`);
with `cv_folds > 1`: `cv_accuracy` (mean over folds of the held-out-fold accuracy), `cv_accuracy_std`,
`cv_accuracy_per_fold`, and `test_accuracy` / `test_accuracy_std` over the fold models.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ml_collections
import numpy as np

from jaxml.core import loop, supervised
from jaxml.core.inference import Inference
from jaxml.core.steps import Normaliser
from jaxml.core.supervised import eval_logits, load_data, make_recipe, train_once
from jaxml.core.train_state import TrainState
from jaxml.data.datasets import Dataset, split_validation
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The recipe `train` runs without a validation split (`jaxml bench`): `core.supervised`'s."""
    return supervised.recipe_for(config)


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the newest checkpoint in `workdir` and evaluates it on the test split."""
    if int(config.cv_folds) > 1:
        raise JaxmlError("jaxml eval on a cross-validation run: evaluate one fold's workdir, e.g. WORKDIR/fold_0")
    return supervised.evaluate(config, workdir)


def inference_fn(config: ml_collections.ConfigDict) -> Inference:
    """Images as the dataset stores them (uint8 or float) -> class logits [B, K]; the normaliser is part
    of the function (`jaxml export`)."""
    data = load_data(config)
    recipe = make_recipe(config, data.train, {"test": data.test}, data.num_classes)
    model = build_model(config, data.num_classes)
    prepare = Normaliser.fit(data.train)

    def fn(state: TrainState):
        return lambda images: eval_logits(model, state, prepare(images))

    return Inference(init=recipe.init, fn=fn, example=np.asarray(data.test["image"][:8]),
                     meta={"output": f"class logits [B, {data.num_classes}]", "class_names": list(data.class_names)})


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
