"""Fine-tuning a pre-trained character GPT to classify KJV verses by genre, compared at several label
counts: full fine-tuning, parameter-efficient fine-tuning (LoRA, bottleneck adapters) and training
from scratch.

Data (`methods.mlm.VerseData`, the same as bert_kjv's): every verse is "<cls>" + its characters
(truncated to `seq_len - 1`), padded after; the label is its book's genre (`data.text.KJV_GENRES`:
law, history, poetry, prophets, gospels, epistles). A random `test_fraction` of the chapters (seeded
by `data_seed`) is held out: its verses are the test set and are never seen in pre-training.

Pre-training (`config.pretrain`): a `methods.lm` character GPT (`models.transformer.Decoder`) on the
training chapters' verses, concatenated as they are stored ("<cls>" before each), in windows of
`seq_len + 1` every `train_stride` characters; validation on the held-out chapters. It runs in
`<cache dir>/pretrained/gpt_genre_<hash of what it depends on>` (`pretrain_cache=True`: the two
experiments and any rerun share it, and a finished one is reused as it is) or in `<workdir>/pretrain`.
`config.init_from` (a workdir of this method's pre-training, or any run with the same vocabulary and
`seq_len`) replaces it.

Fine-tuning (`config.finetune`, and `config.lora` / `config.adapter` for their own learning rates):
a `models.transformer.SequenceClassifier` (the GPT trunk under "trunk", a linear head on the mean of
the verse's hidden states). For every label count n and seed, n labelled training verses (seeded)
and, per mode of `config.study.modes` (`MODES`):
- "full": the trunk loaded from the pre-trained checkpoint through `config.init_from` (the shared
  `core.transfer` path), every parameter trained (with `config.transfer`'s multipliers / layer decay);
- "scratch": the same model from a fresh initialisation;
- "lora" / "adapter": the pre-trained trunk frozen (a constant of the step), only the adapters of
  `models.peft` and the head in the train state: in the optimizer state and the checkpoint.
The same steps, batches and schedule for every mode (its own learning rate).
`config.study.validation_fraction` > 0 is for choosing settings: that fraction of the training chapters
(seeded) is scored instead of the test chapters, and the labels are drawn from the rest (pre-training
is unchanged and shared).

result.json metrics: for every mode and n `<mode>_n<n>_mean/_std/_per_seed` (test accuracy over
seeds), `trained_params_<mode>` and `trained_fraction_<mode>` (of the classifier's parameters),
`<mode>_gain_min` (the smallest gain of the mode's mean over scratch's across label counts),
`lora_minus_full_min` (the smallest LoRA - full difference), `pretrain_val_loss` (nats/char on the
held-out chapters), `test_accuracy` (the first mode's mean at the largest n), `params`; timing.json:
`<mode>_wall_s` (its runs together) and `pretrain_wall_s`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop, transfer
from jaxml.core.config import check_number
from jaxml.core.steps import batch_key, classification_sums
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data import text as text_lib
from jaxml.data.datasets import Split
from jaxml.defaults.training import transfer_config
from jaxml.errors import JaxmlError
from jaxml.methods import lm
from jaxml.methods.mlm import PAD, VerseData, phase_config
from jaxml.models import peft
from jaxml.models.transformer import SequenceClassifier

log = logging.getLogger("jaxml")
TRUNK = "trunk"


@dataclasses.dataclass(frozen=True)
class Mode:
    """How a fine-tuning run starts and what it trains: `pretrained` (trunk from the checkpoint),
    `peft` (a `models.peft` method name: the trunk frozen, only its adapters and the head trained) and
    the config group whose learning rate it uses."""

    pretrained: bool
    peft: str | None = None
    group: str = "finetune"


MODES: dict[str, Mode] = {
    "full": Mode(pretrained=True),
    "scratch": Mode(pretrained=False),
    "lora": Mode(pretrained=True, peft="lora", group="lora"),
    "adapter": Mode(pretrained=True, peft="adapter", group="adapter"),
}
_PHASE_KEYS = ("learning_rate", "warmup_steps", "weight_decay", "steps")  # what a mode's group may override


def check_modes(modes: tuple[str, ...]) -> tuple[str, ...]:
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise JaxmlError(f"config.study.modes={tuple(modes)!r} is not valid; choose from {', '.join(MODES)}")
    return tuple(modes)


# ------------------------------------------------------------------------------------- pre-training

def pretrain_data(config: ml_collections.ConfigDict, data: VerseData) -> lm.LMData:
    seq = int(config.seq_len)

    def windows(split: Split, stride: int) -> np.ndarray:
        rows = np.asarray(split["tokens"])
        return text_lib.lm_windows(rows[rows != PAD], seq, stride)

    return lm.LMData(data.tokenizer, Split(tokens=windows(data.train, int(config.train_stride) or seq)),
                     Split(tokens=windows(data.test, seq)), "kjv")


def pretrain_key(config: ml_collections.ConfigDict) -> str:
    """A hash of everything the pre-trained checkpoint depends on (data split, model, pre-training)."""
    keys = {k: config.get(k) for k in ("seed", "seq_len", "train_stride", "data_seed", "test_fraction", "dtype",
                                        "optimizer", "schedule", "weight_decay", "grad_clip", "grad_accum")}
    keys["model"] = config.model.to_dict()
    keys["pretrain"] = config.pretrain.to_dict()
    return hashlib.sha256(json.dumps(keys, sort_keys=True, default=str).encode()).hexdigest()[:12]


def pretrain_dir(config: ml_collections.ConfigDict, workdir: Path) -> Path:
    if bool(config.pretrain_cache):
        return text_lib.cache_dir() / "pretrained" / f"gpt_genre_{pretrain_key(config)}"
    return workdir / "pretrain"


def pretrain(config: ml_collections.ConfigDict, data: VerseData, workdir: Path) -> dict[str, Any]:
    """Trains (or reuses, when finished) the GPT language model in `workdir`; its final metrics."""
    pc = phase_config(config, "pretrain")
    with pc.unlocked():  # the transfer keys are the fine-tuning's: pre-training starts fresh, one learning rate
        pc.init_from = ""
        pc.transfer = transfer_config()
    recipe = lm.make_recipe(pc, pretrain_data(pc, data))
    _, metrics = loop.run(recipe, pc, workdir, desc="gpt pretrain")
    return metrics


# --------------------------------------------------------------------------------------- fine-tuning

def mode_config(config: ml_collections.ConfigDict, mode: str, seed: int, n: int, source: Path | None
                ) -> ml_collections.ConfigDict:
    """The fine-tuning config of one run: `config.finetune`'s keys, the mode's group's overrides,
    the seed, a batch no larger than the labels, and `init_from` for the modes that start pre-trained."""
    m = MODES[mode]
    fc = phase_config(config, "finetune", seed)
    with fc.unlocked():
        for k in _PHASE_KEYS:
            if m.group != "finetune" and k in config[m.group]:
                fc[k] = config[m.group][k]
        fc.batch_size = min(int(fc.batch_size), n)
        fc.init_from = str(source) if m.pretrained and m.peft is None else ""
        fc.transfer.target = TRUNK
    return fc


def make_recipe(config: ml_collections.ConfigDict, data: VerseData, train_split: Split, mode: str,
                source: Path | None) -> tuple[loop.Recipe, dict[str, int]]:
    """(the classifier's recipe for `mode`, {"trained": n, "total": n} parameter counts)."""
    m = MODES[mode]
    cfg = lm.model_config(config, data.tokenizer.vocab_size)
    model = SequenceClassifier(cfg, num_classes=data.num_classes)
    tx = make_optimizer(config)
    seq = int(config.seq_len)
    dummy = jnp.zeros((1, seq), jnp.int32)
    template = jax.eval_shape(lambda: model.init(jax.random.key(0), dummy, dummy > 0)["params"])
    total = loop.count_params(template)

    if m.peft is None:
        def init(key):
            params = model.init(key, dummy, dummy > 0)["params"]
            return TrainState(params=params, model_state={}, opt_state=tx.init(params))

        def logits_fn(params, tokens, train, key):
            return model.apply({"params": params}, tokens, tokens != PAD, train=train,
                               rngs={"dropout": key} if train else None)

        trained = transfer.trainable_count(config, template)
    else:
        method = peft.from_config(m.peft, config[m.peft])
        fresh = jax.device_get(model.init(loop.init_key(int(config.seed)), dummy, dummy > 0)["params"])
        base = transfer.load_into(config, fresh, source)  # the frozen trunk (its head is replaced below)

        # base parameters trained beside the adapters (config.<method>.train_also, e.g. the layer norms)
        also = peft.select_leaves({k: v for k, v in base.items() if k != "head"},
                                  tuple(config[m.peft].get("train_also", ())), f"config.{m.peft}.train_also")

        def init(key):
            k_head, k_adapt = jax.random.split(key)
            params = {"head": model.init(k_head, dummy, dummy > 0)["params"]["head"],
                      "adapters": method.init(k_adapt, base)}
            if also:
                params["also"] = also
            return TrainState(params=params, model_state={}, opt_state=tx.init(params))

        def logits_fn(params, tokens, train, key):
            variables = {"params": {**peft.overlay(base, params.get("also", {})), "head": params["head"]}}
            return method.apply_with(model, variables, params["adapters"], tokens, tokens != PAD, train=train,
                                     rngs={"dropout": key} if train else None)

        trained = loop.count_params(jax.eval_shape(init, jax.random.key(0)).params)

    def train_step(state, batch, key):
        tokens = batch["tokens"].astype(jnp.int32)
        drop = batch_key(key)

        def loss_fn(p):
            logits = logits_fn(p, tokens, True, drop)
            return optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean(), logits

        (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        metrics = {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == batch["label"])}
        return state.apply_gradients(tx, grads), metrics

    def eval_step(state, batch):
        tokens = batch["tokens"].astype(jnp.int32)
        return classification_sums(logits_fn(state.params, tokens, False, None), batch["label"], batch["mask"])

    recipe = loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=train_split,
                         eval_splits={"test": data.test}, main_metric="accuracy")
    return recipe, {"trained": int(trained), "total": int(total)}


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The pre-training recipe (what `jaxml bench` times)."""
    return lm.make_recipe(phase_config(config, "pretrain"), pretrain_data(config, VerseData(config)))


def summarise(result: dict[str, Any], modes: tuple[str, ...], counts: list[int]) -> None:
    """Adds the comparisons across modes to `result`."""
    for mode in modes:
        if mode != "scratch" and "scratch" in modes:
            result[f"{mode}_gain_min"] = min(result[f"{mode}_n{n}_mean"] - result[f"scratch_n{n}_mean"] for n in counts)
    if "lora" in modes and "full" in modes:
        result["lora_minus_full_min"] = min(result[f"lora_n{n}_mean"] - result[f"full_n{n}_mean"] for n in counts)
    result["test_accuracy"] = result[f"{modes[0]}_n{max(counts)}_mean"]


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    modes = check_modes(tuple(config.study.modes))
    counts = [int(n) for n in config.study.label_counts]
    seeds = [int(s) for s in config.study.seeds]
    data = VerseData(config)
    log.info("KJV verses: %d train, %d test (held-out chapters), vocab %d", len(data.train), len(data.test),
             data.tokenizer.vocab_size)
    result: dict[str, Any] = {}
    timing: dict[str, float] = {}
    if config.init_from:
        source = Path(config.init_from)
    else:
        source = pretrain_dir(config, workdir)
        t0 = time.time()
        pre = pretrain(config, data, source)
        timing["pretrain_wall_s"] = round(time.time() - t0, 2)
        result["pretrain_val_loss"] = pre["val_loss"]
        result["pretrain_steps"] = int(config.pretrain.steps)
    fraction = check_number(config.study.get("validation_fraction", 0.0), "config.study.validation_fraction", 0.0, 0.5)
    if fraction:  # choosing settings: evaluate on held-out training chapters, never the test chapters
        data = data.validation_view(fraction, int(config.data_seed))
        log.info("validation mode: %d training verses, %d validation verses (training chapters); test unused",
                 len(data.train), len(data.test))
    result["evaluated_on"] = "validation" if fraction else "test"
    for mode in modes:
        timing[f"{mode}_wall_s"] = 0.0
    for n in counts:
        for mode in modes:
            accs = []
            for seed in seeds:
                fc = mode_config(config, mode, seed, n, source)
                recipe, counted = make_recipe(fc, data, data.labelled_subset(n, seed), mode, source)
                t0 = time.time()
                _, metrics = loop.run(recipe, fc, workdir / f"{mode}_n{n}_seed{seed}", desc=f"{mode} n={n} s={seed}")
                timing[f"{mode}_wall_s"] += round(time.time() - t0, 2)
                accs.append(float(metrics["test_accuracy"]))
                log.info("%s, %d labels, seed %d: test accuracy %.4f", mode, n, seed, accs[-1])
            result[f"{mode}_n{n}_mean"] = float(np.mean(accs))
            result[f"{mode}_n{n}_std"] = float(np.std(accs))
            result[f"{mode}_n{n}_per_seed"] = accs
            result[f"trained_params_{mode}"] = counted["trained"]
            result[f"trained_fraction_{mode}"] = counted["trained"] / counted["total"]
            result["params"] = counted["total"]
    summarise(result, modes, counts)
    result["steps"] = int(config.finetune.steps)
    return {**result, **timing}
