"""BERT-style masked-LM pre-training on KJV verses, then fine-tuning a genre classifier, compared
with the same model trained from scratch at several label counts.

Data: every verse is one example: "<cls>" + its characters (truncated to `seq_len - 1`), padded
with "<pad>". The label is the genre of its book (`data.text.KJV_GENRES`: law, history, poetry,
prophets, gospels, epistles). Whole chapters are held out: a random `test_fraction` of the 1,189
chapters (seeded by `data_seed`) gives the test verses, which are never seen in pre-training.

Pre-training (`config.pretrain`): `mask_tokens` picks each real character with probability
`mask_rate` (15%); of those 80% become "<mask>", 10% a random character, 10% stay (Devlin et al.
2019); cross-entropy on the picked positions only. Fine-tuning (`config.finetune`): for every
label count n in `label_counts` and every seed, n labelled verses are drawn from the training
chapters (seeded), and a classifier (tanh pooler on the "<cls>" position, or on the mean of the
valid positions with `pooling="mean"`, + linear) is trained on
them twice: from the pre-trained encoder ("pretrained") and from a fresh initialisation
("scratch"), with the same steps, schedule and batches.

result.json metrics: `test_accuracy` (pre-trained, the largest label count, mean over seeds),
`test_accuracy_scratch`, `pretrain_gain_min` (the smallest gain of pre-trained over scratch mean
accuracy across the label counts; > 0 means pre-training helped at every count), and for every n: `pretrained_n{n}_mean/_std`, `scratch_n{n}_mean/_std`,
`pretrained_n{n}_per_seed`, `scratch_n{n}_per_seed`; `mlm_val_accuracy` (masked-character accuracy
on the test chapters) and `mlm_val_loss`.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop, transfer
from jaxml.core.param_paths import named_leaves
from jaxml.core.steps import apply_gradients, batch_key, classification_sums
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data import text as text_lib
from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError
from jaxml.models.build import transformer_config
from jaxml.models.transformer import MaskedLM, TransformerConfig

log = logging.getLogger("jaxml")
SPECIALS = ("<pad>", "<mask>", "<cls>")
PAD, MASK, CLS = 0, 1, 2
POOLINGS = ("cls", "mean")


def mask_tokens(key: jax.Array, tokens: jax.Array, rate: float, vocab_size: int, num_specials: int = len(SPECIALS)
                ) -> tuple[jax.Array, jax.Array]:
    """(corrupted inputs, picked [B, T] bool): only real characters (id >= num_specials) are picked."""
    k_pick, k_kind, k_rand = jax.random.split(key, 3)
    real = tokens >= num_specials
    picked = real & (jax.random.uniform(k_pick, tokens.shape) < rate)
    u = jax.random.uniform(k_kind, tokens.shape)
    random_chars = jax.random.randint(k_rand, tokens.shape, num_specials, vocab_size)
    corrupted = jnp.where(u < 0.8, MASK, jnp.where(u < 0.9, random_chars, tokens))
    return jnp.where(picked, corrupted, tokens).astype(tokens.dtype), picked


class VerseData:
    """KJV verses as `tokens` ("<cls>" + characters, padded) with their genre `label`: `train` (the
    training chapters) and `test` (the held-out chapters)."""

    def __init__(self, config: ml_collections.ConfigDict):
        verses = text_lib.kjv_verses()
        tok = text_lib.CharTokenizer("".join(v[3] for v in verses), specials=SPECIALS)
        seq = int(config.seq_len)
        n = len(verses)
        ids = np.zeros((n, seq), np.uint8)
        ids[:, 0] = CLS
        for i, (_, _, _, t) in enumerate(verses):
            e = tok.encode(t[: seq - 1])
            ids[i, 1:1 + len(e)] = e
        labels = np.array([text_lib.book_genre(b) for b, _, _, _ in verses], np.int32)
        chapter_index: dict[tuple[str, int], int] = {}
        chapter_of = np.array([chapter_index.setdefault((b, c), len(chapter_index)) for b, c, _, _ in verses])
        uniq = np.unique(chapter_of)
        rng = np.random.default_rng(int(config.data_seed))
        test_ch = rng.choice(uniq, int(round(len(uniq) * float(config.test_fraction))), replace=False)
        is_test = np.isin(chapter_of, test_ch)
        self.tokenizer = tok
        self.train = Split(tokens=ids[~is_test], label=labels[~is_test])
        self.test = Split(tokens=ids[is_test], label=labels[is_test])
        self.train_chapter = chapter_of[~is_test]
        self.num_classes = len(text_lib.KJV_GENRES)

    def validation_view(self, fraction: float, seed: int) -> "VerseData":
        """A copy for choosing settings without the test chapters: a seeded `fraction` of the training
        chapters becomes `test` (the validation set), the rest `train`."""
        if not 0.0 < fraction < 1.0:
            raise JaxmlError(f"validation fraction {fraction} is not valid; choose a value in (0, 1)")
        uniq = np.unique(self.train_chapter)
        chosen = np.random.default_rng([int(seed), 11]).choice(uniq, max(1, int(round(len(uniq) * fraction))),
                                                              replace=False)
        is_val = np.isin(self.train_chapter, chosen)
        view = copy.copy(self)
        view.train, view.test = self.train.take(np.flatnonzero(~is_val)), self.train.take(np.flatnonzero(is_val))
        view.train_chapter = self.train_chapter[~is_val]
        return view

    def labelled_subset(self, n: int, seed: int) -> Split:
        if n > len(self.train):
            raise JaxmlError(f"label count {n} exceeds the {len(self.train)} training verses")
        idx = np.random.default_rng([seed, n, 7]).choice(len(self.train), n, replace=False)
        return self.train.take(idx)


def model_config(config: ml_collections.ConfigDict, vocab_size: int) -> TransformerConfig:
    cfg = transformer_config(config, vocab_size, int(config.seq_len))
    if config.pooling not in POOLINGS:
        raise JaxmlError(f"config.pooling={config.pooling!r} is not valid; choose one of {', '.join(POOLINGS)}")
    return cfg


def phase_config(config: ml_collections.ConfigDict, phase: str, seed: int | None = None) -> ml_collections.ConfigDict:
    """The top-level config with `config.<phase>`'s keys (steps, learning_rate, batch_size, ...) applied."""
    c = copy.deepcopy(config)
    with c.unlocked():
        for k, v in config[phase].items():
            if k != "label_counts" and k != "seeds":
                c[k] = v
        if seed is not None:
            c.seed = seed
    return c


def make_pretrain_recipe(config: ml_collections.ConfigDict, data: VerseData) -> loop.Recipe:
    cfg = model_config(config, data.tokenizer.vocab_size)
    model = MaskedLM(cfg)
    tx = make_optimizer(config)
    rate = float(config.mask_rate)
    v = data.tokenizer.vocab_size
    seq = int(config.seq_len)

    def init(key):
        params = model.init(key, jnp.zeros((1, seq), jnp.int32), jnp.ones((1, seq)))["params"]
        return TrainState(params=params, model_state={}, opt_state=tx.init(params))

    def masked_loss(params, tokens, key, train, drop_key=None):
        tokens = tokens.astype(jnp.int32)
        inputs, picked = mask_tokens(key, tokens, rate, v)
        out = model.apply({"params": params}, inputs, tokens != PAD, train=train,
                          rngs={"dropout": drop_key} if train else None)
        nll = optax.softmax_cross_entropy_with_integer_labels(out["mlm_logits"], tokens)
        correct = (jnp.argmax(out["mlm_logits"], -1) == tokens)
        w = picked.astype(jnp.float32)
        return jnp.sum(nll * w), jnp.sum(correct * w), jnp.sum(w)

    def train_step(state, batch, key):
        key = batch_key(key)
        k_mask, k_drop = jax.random.split(key)

        def loss_fn(p):
            s, c, n = masked_loss(p, batch["tokens"], k_mask, True, k_drop)
            return s / jnp.maximum(n, 1.0), c / jnp.maximum(n, 1.0)

        (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        return apply_gradients(state, tx, grads, {"loss": loss, "accuracy": acc}, grad_norm=False)

    def eval_step(state, batch):
        key = jax.random.fold_in(jax.random.key(0), jnp.sum(batch["tokens"].astype(jnp.int32)))
        tokens = jnp.where(batch["mask"][:, None] > 0, batch["tokens"].astype(jnp.int32), PAD)
        s, c, n = masked_loss(state.params, tokens, key, False)
        return {"loss": s, "accuracy": c, "count": n}

    # pre-training reads the characters only: the genre labels stay out of its batches
    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step,
                       train_split=data.train.replace(label=None), eval_splits={"val": data.test.replace(label=None)},
                       main_metric="accuracy")


def make_finetune_recipe(config: ml_collections.ConfigDict, data: VerseData, train_split: Split,
                         pretrained: Any | None) -> loop.Recipe:
    cfg = model_config(config, data.tokenizer.vocab_size)
    model = MaskedLM(cfg, num_classes=data.num_classes, pooling=config.pooling)
    tx = make_optimizer(config)
    seq = int(config.seq_len)

    def init(key):
        params = model.init(key, jnp.zeros((1, seq), jnp.int32), jnp.ones((1, seq)))["params"]
        if pretrained is not None:  # the pre-trained encoder, by path (`core.transfer`)
            params = transfer.graft(params, named_leaves(pretrained), source_prefix="encoder", target_prefix="encoder",
                                    origin="the pre-trained encoder")
        return TrainState(params=params, model_state={}, opt_state=tx.init(params))

    def train_step(state, batch, key):
        tokens = batch["tokens"].astype(jnp.int32)
        drop = batch_key(key)

        def loss_fn(p):
            logits = model.apply({"params": p}, tokens, tokens != PAD, train=True, rngs={"dropout": drop})["class_logits"]
            return optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean(), logits

        (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        metrics = {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == batch["label"])}
        return apply_gradients(state, tx, grads, metrics, grad_norm=False)

    def eval_step(state, batch):
        tokens = batch["tokens"].astype(jnp.int32)
        logits = model.apply({"params": state.params}, tokens, tokens != PAD)["class_logits"]
        return classification_sums(logits, batch["label"], batch["mask"])

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=train_split,
                       eval_splits={"test": data.test}, main_metric="accuracy")


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The pre-training recipe (what `jaxml bench` times)."""
    return make_pretrain_recipe(phase_config(config, "pretrain"), VerseData(config))


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    data = VerseData(config)
    log.info("KJV verses: %d train, %d test (held-out chapters), vocab %d", len(data.train), len(data.test),
             data.tokenizer.vocab_size)
    pc = phase_config(config, "pretrain")
    state, pre = loop.run(make_pretrain_recipe(pc, data), pc, workdir / "pretrain", desc="mlm pretrain")
    pretrained = jax.device_get(state.params)
    result: dict[str, Any] = {"mlm_val_accuracy": pre["val_accuracy"], "mlm_val_loss": pre["val_loss"],
                              "pretrain_steps": int(pc.steps)}
    counts = [int(n) for n in config.finetune.label_counts]
    seeds = [int(s) for s in config.finetune.seeds]
    for n in counts:
        for init_name, init_params in (("pretrained", pretrained), ("scratch", None)):
            accs = []
            for seed in seeds:
                fc = phase_config(config, "finetune", seed)
                with fc.unlocked():
                    fc.batch_size = min(int(fc.batch_size), n)
                recipe = make_finetune_recipe(fc, data, data.labelled_subset(n, seed), init_params)
                _, m = loop.run(recipe, fc, workdir / f"{init_name}_n{n}_seed{seed}", desc=f"{init_name} n={n} s={seed}")
                accs.append(m["test_accuracy"])
                log.info("%s, %d labels, seed %d: test accuracy %.4f", init_name, n, seed, accs[-1])
            result[f"{init_name}_n{n}_mean"] = float(np.mean(accs))
            result[f"{init_name}_n{n}_std"] = float(np.std(accs))
            result[f"{init_name}_n{n}_per_seed"] = [float(a) for a in accs]
    result["pretrain_gain_min"] = min(result[f"pretrained_n{n}_mean"] - result[f"scratch_n{n}_mean"] for n in counts)
    result["test_accuracy"] = result[f"pretrained_n{max(counts)}_mean"]
    result["test_accuracy_scratch"] = result[f"scratch_n{max(counts)}_mean"]
    result["steps"] = int(pc.steps)
    return result
