"""Fusion classifiers of image and text (early, late and attention fusion) with modality dropout, on
Fashion-MNIST paired with generated captions (`data.paired`).

Task: the fused label `fused_label = 2 * class + colour` (20 classes). The images are grey, so the
colour is in the caption only; the class is in the image, and in the caption only when it is faithful
(20% of captions name only the coarse group, 10% another class, 15% of class words are dropped). An
image-only model can at best get the class (and guess the colour: about half its class accuracy); a
caption-only model gets the colour but misses the class of the unreliable captions. Neither modality
alone suffices.

Models: `models.fusion.FUSIONS` -- the single-modality baselines `image` and `text`, and the fusions
`early`, `late_mean`, `late_learned` and `attention` (`fusion.strategies` picks which run). Towers:
the dual encoder's CNN image tower (`image_model`) and character-Transformer text tower (`text_model`).

Modality dropout (rate p = `fusion.modality_dropout`): in training, each example loses its image with
probability p/2 or its caption with probability p/2 (never both); a lost modality is zeroed (vector
fusions) or masked (attention). Every fusion is trained twice, with p = 0 and with p; the baselines
once (p = 0).

Training is a fit, not a loop recipe: `steps` AdamW updates on random batches of `batch_size` in one
`lax.scan`, all members of one strategy -- `seeds` seeds x the dropout rates -- in one program
(`vmap`; a seed's members share their initialisation, batches and dropout draws). No checkpoints.

Evaluation on the test pairs in three conditions: `both` modalities, `no_text` (every caption
dropped) and `no_image` (every image dropped).

result.json (means over the seeds; `_std` their standard deviation): `image_accuracy`,
`text_accuracy`; per fusion s `{s}_both`, `{s}_no_text`, `{s}_no_image` and with modality dropout
`{s}_mdrop_both`, ...; `{s}_margin` (s_both minus the better single-modality accuracy),
`fusion_margin_min` / `fusion_margin_best` over the fusions; `{s}_drop_loss_{c}` and
`{s}_mdrop_drop_loss_{c}` (accuracy lost in condition c, without and with modality dropout),
`{s}_dropout_advantage_{c}` (the first minus the second) and `dropout_advantage_min` over every
fusion and condition; `late_learned_image_weight` (mean learned weight of the image logits).
docs/references.md#multimodal-learning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import config as config_lib
from jaxml.core.registry import choose
from jaxml.core.steps import Normaliser
from jaxml.core.train_state import make_optimizer
from jaxml.data import paired
from jaxml.errors import JaxmlError
from jaxml.methods.contrastive import load_pairs
from jaxml.models.build import build_model, transformer_config
from jaxml.models.fusion import FUSIONS, SINGLE, late_weights

log = logging.getLogger("jaxml")

CONDITIONS: dict[str, tuple[float, float]] = {"both": (1.0, 1.0), "no_text": (1.0, 0.0), "no_image": (0.0, 1.0)}
"""Test conditions: which modalities (image, caption) are present."""
DROPPED = ("no_text", "no_image")


def check_fusion_config(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    """The strategies to run (each checked against `FUSIONS`); bad sizes and rates are JaxmlErrors."""
    f = config.fusion
    strategies = tuple(str(s) for s in f.strategies)
    if not strategies or len(set(strategies)) != len(strategies):
        raise JaxmlError(f"config.fusion.strategies={strategies} must be distinct names of {', '.join(FUSIONS)}")
    for s in strategies:
        choose(FUSIONS, s, "config.fusion.strategies")
    config_lib.check_number(f.modality_dropout, "config.fusion.modality_dropout", lo=0.0, hi=0.99)
    config_lib.check_int(f.width, "config.fusion.width")
    config_lib.check_int(f.num_heads, "config.fusion.num_heads")
    for key in ("seeds", "steps", "batch_size", "eval_batch_size"):
        config_lib.check_int(config[key], f"config.{key}")
    return strategies


def modality_present(key: jax.Array, batch: int, rate: jax.Array) -> jax.Array:
    """[B, 2] presence (image, caption) under modality dropout `rate`: an example loses its image with
    probability rate/2 or its caption with probability rate/2, never both."""
    u = jax.random.uniform(key, (batch,))
    drop_image = u < rate / 2
    drop_text = (u >= rate / 2) & (u < rate)
    return jnp.stack([~drop_image, ~drop_text], axis=1).astype(jnp.float32)


def make_model(config: ml_collections.ConfigDict, strategy: str, num_classes: int, vocab_size: int, max_len: int):
    """The `strategy` model of `FUSIONS` on the configured towers."""
    f = config.fusion
    width = int(f.width)
    image = build_model(ml_collections.ConfigDict({"model": config.image_model, "dtype": config.dtype}), width)
    text = transformer_config(ml_collections.ConfigDict({"model": config.text_model, "dtype": config.dtype}),
                              vocab_size, max_len)
    return choose(FUSIONS, strategy, "config.fusion.strategies")(
        image=image, text=text, width=width, num_classes=num_classes,
        patch_features=tuple(int(x) for x in f.patch_features), num_heads=int(f.num_heads))


def make_fit(model, tx: optax.GradientTransformation, prepare: Normaliser, steps: int, batch_size: int) -> Callable:
    """fit(key, rate, images, tokens, labels) -> (params, losses [steps]): `steps` updates on random
    batches, modality dropout at `rate` (a traced scalar: one program serves every rate)."""

    def fit(key, rate, images, tokens, labels):
        init_key, data_key = jax.random.split(key)
        params = model.init({"params": init_key}, prepare(images[:2]), tokens[:2], jnp.ones((2, 2)))["params"]

        def step(carry, k):
            p, opt = carry
            k_idx, k_drop = jax.random.split(k)
            idx = jax.random.randint(k_idx, (batch_size,), 0, images.shape[0])
            present = modality_present(k_drop, batch_size, rate)

            def loss_fn(q):
                logits = model.apply({"params": q}, prepare(images[idx]), tokens[idx], present, train=True)
                return optax.softmax_cross_entropy_with_integer_labels(logits, labels[idx]).mean()

            loss, grads = jax.value_and_grad(loss_fn)(p)
            updates, opt = tx.update(grads, opt, p)
            return (optax.apply_updates(p, updates), opt), loss

        (params, _), losses = jax.lax.scan(step, (params, tx.init(params)), jax.random.split(data_key, steps))
        return params, losses

    return fit


def make_accuracy(model, prepare: Normaliser, batch_size: int) -> Callable:
    """accuracy(params [M, ...], images, tokens, labels, present (image, text)) -> [M] accuracies of
    the stacked members, in jitted chunks of `batch_size`."""

    @jax.jit
    def correct(params, images, tokens, labels, present):
        mask = jnp.broadcast_to(jnp.asarray(present, jnp.float32), (images.shape[0], 2))
        logits = jax.vmap(lambda p: model.apply({"params": p}, prepare(images), tokens, mask))(params)
        return jnp.sum(jnp.argmax(logits, -1) == labels[None], axis=1)

    def accuracy(params, images, tokens, labels, present):
        total = sum(np.asarray(correct(params, images[i:i + batch_size], tokens[i:i + batch_size],
                                       labels[i:i + batch_size], present))
                    for i in range(0, len(labels), batch_size))
        return total / len(labels)

    return accuracy


def train_strategy(config: ml_collections.ConfigDict, strategy: str, data: paired.PairedDataset,
                   rates: tuple[float, ...]) -> tuple[dict[str, np.ndarray], Any]:
    """{condition: accuracies [rates, seeds]} of one strategy's members and their stacked params."""
    prepare = Normaliser.fit(data.train)
    model = make_model(config, strategy, 2 * data.num_classes, data.tokenizer.vocab_size, data.max_len)
    fit = make_fit(model, make_optimizer(config), prepare, int(config.steps), int(config.batch_size))
    seeds = int(config.seeds)
    keys = jax.random.split(jax.random.key(int(config.seed)), seeds)
    member_keys = jnp.concatenate([keys] * len(rates))
    member_rates = jnp.repeat(jnp.asarray(rates, jnp.float32), seeds)
    train = data.train
    params, losses = jax.jit(jax.vmap(fit, in_axes=(0, 0, None, None, None)))(
        member_keys, member_rates, jnp.asarray(train["image"]), jnp.asarray(train["tokens"]),
        jnp.asarray(train["fused_label"]))
    log.info("%s: final training loss %s", strategy, np.round(np.asarray(losses)[:, -20:].mean(1), 3).tolist())
    accuracy = make_accuracy(model, prepare, int(config.eval_batch_size))
    test = data.test
    images, tokens, labels = (np.asarray(test[k]) for k in ("image", "tokens", "fused_label"))
    out = {c: np.asarray(accuracy(params, images, tokens, labels, present)).reshape(len(rates), seeds)
           for c, present in CONDITIONS.items()}
    return out, params


def summarise(accuracies: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    """The result keys (module docstring) from {strategy: {condition: [rates, seeds]}} (row 0: no
    modality dropout, row 1: with it; the baselines have row 0 only)."""
    out: dict[str, float] = {}

    def put(name: str, values: np.ndarray) -> None:
        out[name] = float(np.mean(values))
        out[f"{name}_std"] = float(np.std(values))

    for s in SINGLE:
        if s in accuracies:
            put(f"{s}_accuracy", accuracies[s]["both"][0])
    fusions = [s for s in accuracies if s not in SINGLE]
    best_single = max((out[f"{s}_accuracy"] for s in SINGLE if s in accuracies), default=None)
    advantages = []
    for s in fusions:
        acc = accuracies[s]
        for row, tag in enumerate(("", "_mdrop")[:acc["both"].shape[0]]):
            for c in CONDITIONS:
                put(f"{s}{tag}_{c}", acc[c][row])
            for c in DROPPED:
                put(f"{s}{tag}_drop_loss_{c}", acc["both"][row] - acc[c][row])
        if best_single is not None:
            out[f"{s}_margin"] = out[f"{s}_both"] - best_single
        if acc["both"].shape[0] > 1:
            for c in DROPPED:
                adv = out[f"{s}_drop_loss_{c}"] - out[f"{s}_mdrop_drop_loss_{c}"]
                out[f"{s}_dropout_advantage_{c}"] = adv
                advantages.append(adv)
    margins = [out[f"{s}_margin"] for s in fusions if f"{s}_margin" in out]
    if margins:
        out["fusion_margin_min"], out["fusion_margin_best"] = min(margins), max(margins)
    if advantages:
        out["dropout_advantage_min"] = min(advantages)
    return out


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    strategies = check_fusion_config(config)
    data = load_pairs(config)
    rate = float(config.fusion.modality_dropout)
    accuracies, result = {}, {}
    for s in strategies:
        rates = (0.0,) if s in SINGLE or rate == 0.0 else (0.0, rate)
        accuracies[s], params = train_strategy(config, s, data, rates)
        log.info("%s: %s", s, {c: np.round(a.mean(1), 4).tolist() for c, a in accuracies[s].items()})
        if s == "late_learned":
            weights = np.asarray(late_weights(params["alpha"]))
            result["late_learned_image_weight"] = float(np.mean(weights[..., 0]))
    result.update(summarise(accuracies))
    result["dataset_used"] = data.name
    result["num_classes"] = 2 * data.num_classes
    return result
