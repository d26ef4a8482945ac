"""Attribute-based zero-shot classification: direct attribute prediction (DAP, Lampert et al. 2009)
on sklearn's digits, with classes held out of training.

Every class c has a binary attribute signature a^c (`data.paired.DIGIT_ATTRIBUTES`: the seven segments
of the digit on a seven-segment display, and whether it has a closed loop, a vertical stroke, a
diagonal stroke, curves). A multi-label network (`config.model`, an MLP on the pixels) learns
p(a_m = 1 | x) for every attribute m from the images of the *seen* classes only, their targets the
signatures of their classes. A test image x is then labelled with the class whose signature is most
probable under those independent attribute posteriors, over the prior of the attributes:

    ĉ(x) = argmax_c Σ_m [ log p(a_m = a^c_m | x) − log p(a_m = a^c_m) ],

with p(a_m) the mean signature of the seen classes. Zero-shot accuracy is scored among the held-out
classes only (chance 1 / `zeroshot.held_out`); the generalised setting (seen and unseen classes
together, `core.zero_shot_metrics`) reports the seen and unseen accuracies and their harmonic mean.

Splits: `zeroshot.splits` sets of `zeroshot.held_out` classes, drawn by `seed`, each such that every
attribute takes both values among its seen classes (else that attribute could not be learned). The
networks of all splits are trained at once: one jitted full-batch Adam fit, `vmap`-ed over the splits
(the data are the same; each split masks out its unseen classes' images). This is a fit, not a loop
recipe: no batches, checkpoints or resumption (the whole fit takes seconds).

result.json: `unseen_accuracy` (mean over the splits), its `_min` / `_max`, `chance`, `over_chance`,
`gzsl_seen`, `gzsl_unseen`, `gzsl_h` (means), `unseen_attribute_accuracy` (the attributes predicted
on unseen images), `splits` (the held-out classes of each, as text). docs/references.md#multimodal-learning.
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

from jaxml.core import config as config_lib
from jaxml.core.steps import Normaliser
from jaxml.core.zero_shot_metrics import zero_shot_report
from jaxml.data.datasets import load_dataset
from jaxml.data.paired import DIGIT_ATTRIBUTES
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


def make_fit(model, steps: int, learning_rate: float, weight_decay: float):
    """fit(key, x [N, ...], targets [N, M], weights [N]) -> params: full-batch AdamW on the weighted
    mean sigmoid cross-entropy of the attributes, `steps` updates in one scan."""
    tx = optax.adamw(learning_rate, weight_decay=weight_decay)

    def fit(key, x, targets, weights):
        params = model.init({"params": key}, x[:1], train=False)["params"]

        def loss_fn(p):
            logits = model.apply({"params": p}, x, train=False)
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


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    data = load_dataset(config.dataset, data_dir=config.data_dir or None, seed=int(config.data_seed))
    check_zeroshot_config(config, data.num_classes)
    signatures = np.asarray(DIGIT_ATTRIBUTES)
    splits = draw_splits(data.num_classes, int(config.zeroshot.held_out), int(config.zeroshot.splits), signatures,
                         int(config.seed))
    prepare = Normaliser.fit(data.train)
    x_train, y_train = prepare(np.asarray(data.train["image"])), np.asarray(data.train["label"])
    x_test, y_test = prepare(np.asarray(data.test["image"])), np.asarray(data.test["label"])
    model = build_model(config, signatures.shape[1])
    fit = make_fit(model, int(config.steps), float(config.learning_rate), float(config.weight_decay))
    weights = np.stack([~np.isin(y_train, s) for s in splits]).astype(np.float32)
    keys = jax.random.split(jax.random.key(int(config.seed)), len(splits))
    params, losses = jax.jit(jax.vmap(fit, in_axes=(0, None, None, 0)))(
        keys, x_train, jnp.asarray(signatures[y_train]), jnp.asarray(weights))
    probs = jax.jit(jax.vmap(lambda p: jax.nn.sigmoid(model.apply({"params": p}, x_test, train=False))))(params)
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
                  final_fit_loss=float(np.mean(np.asarray(losses)[:, -1])),
                  splits=" ".join(",".join(map(str, s)) for s in splits))
    return result
