"""FixMatch (Sohn et al. 2020): semi-supervised classification from a few labels and many unlabelled
images by consistency between a weak and a strong view.

Each step takes B = `batch_size / fixmatch.mu` labelled images, drawn with replacement from the
labelled set (which lives on the device, `fixmatch.labels` images, the same number per class), and
the global batch of μB unlabelled training images (the whole training split without its labels).
With the weak view α (random shift, optional flip) and the strong view A (`data.augment.rand_augment`:
two RandAugment-like ops of random magnitude, then cutout):

    ℓ_s = CE(y, p(α(x)))                                       over the labelled batch
    q = p(α(u)) (no gradient),  ŷ = argmax q,  m = [max q ≥ τ]
    ℓ_u = (1 / μB) Σ m · CE(ŷ, p(A(u)))                        over the unlabelled batch
    loss = ℓ_s + λ_u ℓ_u

(`fixmatch_unlabelled_loss`). The control, `baseline`, is the same classifier, optimizer, steps and
weak augmentation trained on the labelled set alone (`core.supervised`). Both are trained for
`seeds` seeds (`<workdir>/fixmatch_seed<k>`, `<workdir>/supervised_seed<k>`); the labelled set is
drawn by `data_seed` and is the same for every seed and for both.

result.json metrics: `test_accuracy` (FixMatch, mean over seeds), `test_accuracy_std`,
`supervised_accuracy` (+ `_std`), `gain` = the difference of the means, per-seed lists, `labels`.
docs/references.md#self-supervised-and-semi-supervised-learning.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import config as config_lib, loop, supervised
from jaxml.core.steps import Normaliser, apply_gradients, batch_key, classification_sums
from jaxml.core.supervised import augment_images, classifier_init, eval_logits, infer_logits, train_logits
from jaxml.core.train_state import make_optimizer
from jaxml.data.augment import rand_augment
from jaxml.data.datasets import Dataset, Split, per_class_subset, validation_as_test
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")


def fixmatch_unlabelled_loss(weak_logits: jax.Array, strong_logits: jax.Array, threshold) -> tuple[jax.Array, jax.Array]:
    """(ℓ_u, mask): the mean over the unlabelled batch of [max softmax(weak) ≥ τ] · CE(argmax weak,
    strong); the weak logits carry no gradient."""
    probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits).astype(jnp.float32), axis=-1)
    mask = (jnp.max(probs, axis=-1) >= threshold).astype(jnp.float32)
    pseudo = jnp.argmax(probs, axis=-1)
    ce = optax.softmax_cross_entropy_with_integer_labels(strong_logits.astype(jnp.float32), pseudo)
    return jnp.mean(mask * ce), mask


def check_fixmatch_config(config: ml_collections.ConfigDict, num_classes: int) -> ml_collections.ConfigDict:
    f = config.fixmatch
    config_lib.check_number(f.threshold, "config.fixmatch.threshold", lo=0.0, hi=1.0)
    config_lib.check_number(f.lambda_u, "config.fixmatch.lambda_u", lo=0.0)
    mu = config_lib.check_int(f.mu, "config.fixmatch.mu")
    labels = config_lib.check_int(f.labels, "config.fixmatch.labels")
    config_lib.check_int(f.num_ops, "config.fixmatch.num_ops", minimum=0)
    config_lib.check_int(f.cutout, "config.fixmatch.cutout", minimum=0)
    config_lib.check_int(f.shift, "config.fixmatch.shift", minimum=0)
    config_lib.check_int(config.seeds, "config.seeds")
    if labels % num_classes:
        raise JaxmlError(f"config.fixmatch.labels={labels} must be a multiple of the {num_classes} classes "
                         f"(the labelled set has the same number per class)")
    if int(config.batch_size) % mu:
        raise JaxmlError(f"config.batch_size={config.batch_size} (the unlabelled batch) must be a multiple of "
                         f"config.fixmatch.mu={mu}")
    return f


def weak_augment(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The weak view as an `augment` group of the supervised recipe (shift, flip of standardised images):
    FixMatch's labelled and weak unlabelled views and the supervised control's augmentation are one."""
    f = config.fixmatch
    return ml_collections.ConfigDict({"shift": int(f.shift), "flip": bool(f.flip), "noise": 0.0, "mixup_alpha": 0.0})


def labelled_split(config: ml_collections.ConfigDict, data: Dataset) -> Split:
    """`fixmatch.labels` training images, the same number per class, drawn by `data_seed`."""
    return per_class_subset(data.train, int(config.fixmatch.labels) // data.num_classes, data.num_classes,
                            int(config.data_seed))


def make_recipe(config: ml_collections.ConfigDict, data: Dataset, labelled: Split) -> loop.Recipe:
    """The FixMatch recipe: the unlabelled training images are the loop's split, the labelled set a
    device constant sampled inside the step."""
    f = check_fixmatch_config(config, data.num_classes)
    num_classes = data.num_classes
    model = build_model(config, num_classes)
    tx = make_optimizer(config)
    prepare = Normaliser.fit(data.train)
    threshold, lambda_u = float(f.threshold), float(f.lambda_u)
    labelled_batch = int(config.batch_size) // int(f.mu)
    weak_group = weak_augment(config)
    strong = functools.partial(rand_augment, None, num_ops=int(f.num_ops), cutout_size=int(f.cutout))
    l_images, l_labels = np.asarray(labelled["image"]), np.asarray(labelled["label"], np.int32)

    def train_step(state, batch, key):
        k_pick, k_lw, k_uw, k_us, k_drop = jax.random.split(key, 5)
        pick = jax.random.randint(k_pick, (labelled_batch,), 0, l_images.shape[0])
        labels = jnp.asarray(l_labels)[pick]
        x_l = augment_images(weak_group, prepare(jnp.asarray(l_images)[pick]), k_lw)
        u_weak = augment_images(weak_group, prepare(batch["image"]), k_uw)
        unit = prepare.unit(batch["image"])
        n_u = unit.shape[0]
        u_strong = prepare.standardise(strong(unit, keys=jax.random.split(k_us, n_u)))
        weak_logits = infer_logits(model, state, u_weak) if not state.model_state else \
            train_logits(model, state.params, state.model_state, u_weak, batch_key(k_drop))[0]

        def loss_fn(params):
            logits, updates = train_logits(model, params, state.model_state, jnp.concatenate([x_l, u_strong]),
                                           batch_key(k_drop))
            sup = optax.softmax_cross_entropy_with_integer_labels(logits[:labelled_batch], labels).mean()
            unsup, mask = fixmatch_unlabelled_loss(weak_logits, logits[labelled_batch:], threshold)
            return sup + lambda_u * unsup, (logits, updates, sup, unsup, mask)

        (loss, (logits, updates, sup, unsup, mask)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        metrics = {"loss": loss, "supervised_loss": sup, "unlabelled_loss": unsup, "mask_rate": jnp.mean(mask),
                   "accuracy": jnp.mean(jnp.argmax(logits[:labelled_batch], -1) == labels)}
        return apply_gradients(state, tx, grads, metrics, model_state=dict(updates) if updates else None)

    def eval_step(state, batch):
        return classification_sums(eval_logits(model, state, prepare(batch["image"])), batch["label"], batch["mask"])

    return loop.Recipe(init=classifier_init(model, tx, data.train), train_step=train_step, eval_step=eval_step,
                       train_split=Split(image=data.train["image"]), eval_splits={"test": data.test},
                       main_metric="accuracy")


def load_data(config: ml_collections.ConfigDict) -> Dataset:
    """The dataset; with `fixmatch.validation` = n > 0, n training images (drawn by `data_seed`) are
    held out and replace the test split for FixMatch and its control alike, so a run that chooses
    settings never sees the test images."""
    n = config_lib.check_int(config.fixmatch.get("validation", 0), "config.fixmatch.validation", minimum=0)
    return validation_as_test(supervised.load_data(config), n, int(config.data_seed), "config.fixmatch.validation")


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    data = load_data(config)
    return make_recipe(config, data, labelled_split(config, data))


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Evaluates the newest checkpoint of the first FixMatch run (`<workdir>/fixmatch_seed<seed>`)."""
    return loop.evaluate_checkpoint(recipe_for(config), config, Path(workdir) / f"fixmatch_seed{int(config.seed)}")


def baseline_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The supervised control: the same model, optimizer and steps on the labelled set alone, batches of
    B = batch_size / μ with the weak augmentation."""
    c = ml_collections.ConfigDict(config.to_dict())
    c.method = "classify"
    c.batch_size = int(config.batch_size) // int(config.fixmatch.mu)
    c.augment = weak_augment(config)
    c.label_smoothing = 0.0
    for key in ("fixmatch", "seeds"):
        del c[key]
    return c


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    data = load_data(config)
    check_fixmatch_config(config, data.num_classes)
    labelled = labelled_split(config, data)
    ours, control = [], []
    for k in range(int(config.seeds)):
        c = ml_collections.ConfigDict(config.to_dict())
        c.seed = int(config.seed) + k
        _, m = loop.run(make_recipe(c, data, labelled), c, workdir / f"fixmatch_seed{c.seed}", desc=f"fixmatch seed {c.seed}")
        ours.append(m["test_accuracy"])
        b = baseline_config(c)
        control.append(supervised.train_once(b, workdir / f"supervised_seed{c.seed}", labelled, {"test": data.test},
                                             data.num_classes, desc=f"supervised seed {c.seed}")["test_accuracy"])
        log.info("seed %d: fixmatch %.4f, supervised %.4f on %d labels", c.seed, ours[-1], control[-1], len(labelled))
    return {"test_accuracy": float(np.mean(ours)), "test_accuracy_std": float(np.std(ours)),
            "test_accuracy_per_seed": ours, "supervised_accuracy": float(np.mean(control)),
            "supervised_accuracy_std": float(np.std(control)), "supervised_accuracy_per_seed": control,
            "gain": float(np.mean(ours) - np.mean(control)), "labels": len(labelled), "seeds": int(config.seeds),
            "steps": int(config.steps)}
