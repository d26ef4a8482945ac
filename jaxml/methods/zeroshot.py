"""Attribute-based zero-shot classification: direct attribute prediction (DAP, Lampert et al. 2009)
on sklearn's digits, with classes held out of training.

Every class c has a binary attribute signature a^c, from a table of `data.paired.DIGIT_ATTRIBUTE_TABLES`
(`zeroshot.attributes`): "glyph" (default), ink in each cell of a 5 x 3 grid of the digit as handwritten
(`DIGIT_GLYPHS`, drawn once from the usual shapes of the digits), or "segments", the seven segments of
a seven-segment display and four shape attributes. A predictor (`zeroshot.predictor`, registry
`PREDICTORS`) learns p(a_m = 1 | x) for every attribute m from the images of the *seen* classes only,
their targets the signatures of their classes: "local" (default), one logistic regression per
attribute on the pixels within `zeroshot.region` cells of that attribute's cell, or "mlp",
`config.model` on all pixels. A test image x is then labelled with the class whose signature is most
probable under those independent attribute posteriors, over the prior of the attributes:

    ĉ(x) = argmax_c Σ_m [ log p(a_m = a^c_m | x) − log p(a_m = a^c_m) ],

with p(a_m) the mean signature of the seen classes. Zero-shot accuracy is scored among the held-out
classes only (chance 1 / `zeroshot.held_out`); the generalised setting (seen and unseen classes
together, `core.zero_shot_metrics`) reports the seen and unseen accuracies and their harmonic mean.

Splits: `zeroshot.splits` sets of `zeroshot.held_out` classes, drawn by `seed`, each such that every
attribute takes both values among its seen classes (else that attribute could not be learned). The
predictors of all splits are trained at once: one jitted full-batch Adam fit, `vmap`-ed over the splits
(the data are the same; each split masks out its unseen classes' images). This is a fit, not a loop
recipe: no batches, checkpoints or resumption (the whole fit takes seconds).

result.json: `unseen_accuracy` (mean over the splits), its `_min` / `_max`, `chance`, `over_chance`,
`gzsl_seen`, `gzsl_unseen`, `gzsl_h` (means), `unseen_attribute_accuracy` (the attributes predicted
on unseen images), `splits` (the held-out classes of each, as text). docs/references.md#multimodal-learning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import config as config_lib
from jaxml.core.steps import Normaliser
from jaxml.core.zero_shot_metrics import zero_shot_report
from jaxml.data.datasets import load_dataset
from jaxml.data.paired import DIGIT_ATTRIBUTE_TABLES, GRID, AttributeTable
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")
EPS = 1e-4


def dap_scores(probs: jax.Array, signatures: jax.Array, prior: jax.Array, floor: float = EPS) -> jax.Array:
    """[N, C] DAP log-scores: Σ_m log p(a_m = a^c_m | x) − log p(a_m = a^c_m) for attribute
    posteriors `probs` [N, M] (clipped to [floor, 1 − floor], so one confidently wrong attribute cannot
    veto a class), binary `signatures` [C, M] and attribute priors `prior` [M]."""
    p = jnp.clip(probs, floor, 1 - floor)
    q = jnp.clip(prior, EPS, 1 - EPS)
    log_like = jnp.log(p) @ signatures.T + jnp.log1p(-p) @ (1 - signatures).T
    log_prior = signatures @ jnp.log(q) + (1 - signatures) @ jnp.log1p(-q)
    return log_like - log_prior[None, :]


def draw_splits(num_classes: int, held_out: int, count: int, signatures: np.ndarray, seed: int) -> list[tuple[int, ...]]:
    """`count` distinct sets of `held_out` classes (sorted) such that every attribute varies among the
    remaining seen classes, drawn by `np.random.default_rng(seed)`."""
    rng = np.random.default_rng(seed)
    splits: list[tuple[int, ...]] = []
    for _ in range(10_000):
        if len(splits) == count:
            return splits
        unseen = tuple(sorted(int(c) for c in rng.choice(num_classes, held_out, replace=False)))
        seen = [c for c in range(num_classes) if c not in unseen]
        varies = np.all(signatures[seen].min(0) < signatures[seen].max(0))
        if varies and unseen not in splits:
            splits.append(unseen)
    raise JaxmlError(f"config.zeroshot.splits={count}: only {len(splits)} valid splits of {held_out} held-out classes")


def check_zeroshot_config(config: ml_collections.ConfigDict, num_classes: int) -> None:
    z = config.zeroshot
    config_lib.check_int(z.splits, "config.zeroshot.splits")
    config_lib.check_int(z.held_out, "config.zeroshot.held_out")
    if not 2 <= int(z.held_out) <= num_classes - 2:
        raise JaxmlError(f"config.zeroshot.held_out={z.held_out} must be in 2..{num_classes - 2}")
    if config.dataset != "digits":
        raise JaxmlError(f"config.dataset={config.dataset!r}: the attribute table is the digits'; choose digits")
    config_lib.check_int(config.steps, "config.steps")
    config_lib.check_number(config.learning_rate, "config.learning_rate", lo=0.0)
    config_lib.check_number(z.probability_floor, "config.zeroshot.probability_floor", lo=0.0, hi=0.49)
    for key, registry in (("attributes", DIGIT_ATTRIBUTE_TABLES), ("predictor", PREDICTORS)):
        if z[key] not in registry:
            raise JaxmlError(f"config.zeroshot.{key}={z[key]!r} is not valid; choose one of {', '.join(registry)}")
    config_lib.check_number(z.region, "config.zeroshot.region", lo=0.0)


# ------------------------------------------------------------------------------------------ predictors

class Predictor(NamedTuple):
    """Attribute logits from images: init(key, x [1, ...]) -> params, apply(params, x [N, ...]) -> [N, M]."""

    init: Callable
    apply: Callable


def cell_masks(attributes: AttributeTable, image_shape: tuple[int, ...], region: float) -> np.ndarray:
    """[M, H*W*C] 0/1 masks: the pixels within `region` cells (of `GRID`, in each direction) of the
    centre of each attribute's cell; all pixels for an attribute without a cell."""
    h, w = image_shape[:2]
    rows, cols = np.meshgrid((np.arange(h) + 0.5) * GRID[0] / h, (np.arange(w) + 0.5) * GRID[1] / w, indexing="ij")
    masks = []
    for cell in attributes.cells:
        m = np.ones((h, w), bool) if cell is None else (
            (np.abs(rows - cell[0] - 0.5) <= region) & (np.abs(cols - cell[1] - 0.5) <= region))
        masks.append(np.broadcast_to(m[..., None], (h, w) + tuple(image_shape[2:])).ravel())
    return np.stack(masks).astype(np.float32)


def mlp_predictor(config: ml_collections.ConfigDict, attributes: AttributeTable, image_shape) -> Predictor:
    """`config.model` (an MLP on all pixels) with one output per attribute."""
    model = build_model(config, attributes.table.shape[1])
    return Predictor(init=lambda key, x: model.init({"params": key}, x, train=False)["params"],
                     apply=lambda p, x: model.apply({"params": p}, x, train=False))


def local_predictor(config: ml_collections.ConfigDict, attributes: AttributeTable, image_shape) -> Predictor:
    """One logistic regression per attribute on the pixels around its cell (`cell_masks` with
    `zeroshot.region`): an attribute is read where it is, not from the whole digit."""
    masks = jnp.asarray(cell_masks(attributes, tuple(image_shape), float(config.zeroshot.region)))

    def init(key, x):
        return {"w": jnp.zeros(masks.shape, jnp.float32), "b": jnp.zeros(masks.shape[:1], jnp.float32)}

    def apply(p, x):
        return x.reshape(len(x), -1) @ (p["w"] * masks).T + p["b"]

    return Predictor(init=init, apply=apply)


PREDICTORS: dict[str, Callable[..., Predictor]] = {"mlp": mlp_predictor, "local": local_predictor}


def make_fit(predictor: Predictor, steps: int, learning_rate: float, weight_decay: float):
    """fit(key, x [N, ...], targets [N, M], weights [N]) -> params: full-batch AdamW on the weighted
    mean sigmoid cross-entropy of the attributes, `steps` updates in one scan."""
    tx = optax.adamw(learning_rate, weight_decay=weight_decay)

    def fit(key, x, targets, weights):
        params = predictor.init(key, x[:1])

        def loss_fn(p):
            logits = predictor.apply(p, x)
            per_example = optax.sigmoid_binary_cross_entropy(logits, targets).mean(-1)
            return jnp.sum(per_example * weights) / jnp.sum(weights)

        def step(carry, _):
            p, opt = carry
            loss, grads = jax.value_and_grad(loss_fn)(p)
            updates, opt = tx.update(grads, opt, p)
            return (optax.apply_updates(p, updates), opt), loss

        (params, _), losses = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
        return params, losses

    return fit


def fit_splits(config: ml_collections.ConfigDict, attributes: AttributeTable, x_train: np.ndarray,
               y_train: np.ndarray, x_test: np.ndarray, unseen_sets: list[tuple[int, ...]]):
    """(attribute probabilities [S, N_test, M], final losses [S]): one predictor per set of unseen
    classes, fitted on the images of the others (their classes' signatures as targets), all at once."""
    predictor = PREDICTORS[config.zeroshot.predictor](config, attributes, x_train.shape[1:])
    fit = make_fit(predictor, int(config.steps), float(config.learning_rate), float(config.weight_decay))
    weights = np.stack([~np.isin(y_train, s) for s in unseen_sets]).astype(np.float32)
    keys = jax.random.split(jax.random.key(int(config.seed)), len(unseen_sets))
    params, losses = jax.jit(jax.vmap(fit, in_axes=(0, None, None, 0)))(
        keys, x_train, jnp.asarray(attributes.table[y_train]), jnp.asarray(weights))
    probs = jax.jit(jax.vmap(lambda p: jax.nn.sigmoid(predictor.apply(p, x_test))))(params)
    return probs, np.asarray(losses)[:, -1]


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    data = load_dataset(config.dataset, data_dir=config.data_dir or None, seed=int(config.data_seed))
    check_zeroshot_config(config, data.num_classes)
    attributes = DIGIT_ATTRIBUTE_TABLES[config.zeroshot.attributes]
    signatures = np.asarray(attributes.table)
    splits = draw_splits(data.num_classes, int(config.zeroshot.held_out), int(config.zeroshot.splits), signatures,
                         int(config.seed))
    prepare = Normaliser.fit(data.train)
    x_train, y_train = prepare(np.asarray(data.train["image"])), np.asarray(data.train["label"])
    x_test, y_test = prepare(np.asarray(data.test["image"])), np.asarray(data.test["label"])
    probs, losses = fit_splits(config, attributes, x_train, y_train, x_test, splits)
    reports, attribute_accuracy = [], []
    for i, unseen in enumerate(splits):
        seen = [c for c in range(data.num_classes) if c not in unseen]
        scores = dap_scores(probs[i], jnp.asarray(signatures), jnp.asarray(signatures[seen].mean(0)),
                            float(config.zeroshot.probability_floor))
        reports.append(zero_shot_report(scores, y_test, unseen))
        mask = np.isin(y_test, unseen)
        attribute_accuracy.append(float(np.mean((np.asarray(probs[i])[mask] > 0.5) == signatures[y_test[mask]])))
        log.info("held out %s: unseen accuracy %.4f, GZSL seen %.4f unseen %.4f H %.4f", unseen,
                 reports[-1]["unseen_accuracy"], reports[-1]["gzsl_seen"], reports[-1]["gzsl_unseen"],
                 reports[-1]["gzsl_h"])
    unseen_acc = [r["unseen_accuracy"] for r in reports]
    chance = 1.0 / int(config.zeroshot.held_out)
    result: dict[str, Any] = {k: float(np.mean([r[k] for r in reports])) for k in reports[0]}
    result.update(unseen_accuracy_min=min(unseen_acc), unseen_accuracy_max=max(unseen_acc), chance=chance,
                  over_chance=result["unseen_accuracy"] / chance,
                  unseen_attribute_accuracy=float(np.mean(attribute_accuracy)),
                  final_fit_loss=float(np.mean(losses)),
                  splits=" ".join(",".join(map(str, s)) for s in splits))
    return result
