"""The config bases the gradient-trained methods share: `training_config` (optimizer and loop keys),
`supervised_config` (the supervised image methods) and `text_model_config` (the character
Transformers); `jaxml.core.train_state.make_optimizer` and `jaxml.core.loop` read their keys."""

from __future__ import annotations

from typing import Any

import ml_collections


def transfer_config() -> ml_collections.ConfigDict:
    """The keys of fine-tuning from another run (`jaxml.core.transfer`): the subtree of the source's
    params (`source`, a path prefix; '' = all) loaded under `target`, target leaves the source may lack
    (`fresh`) and source leaves to drop (`ignore`) as regexes, per-subtree learning-rate multipliers
    ('REGEX=MULT', 0 freezes) and layer-wise decay of a Transformer's blocks (1 = off)."""
    return ml_collections.ConfigDict({"source": "", "target": "", "fresh": (), "ignore": (), "lr_multipliers": (),
                                      "layer_decay": 1.0})


def add_transfer_keys(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """`c` with `init_from` (a workdir whose newest checkpoint's params start this run; '' = none)
    and the `transfer` group."""
    c.init_from = ""
    c.transfer = transfer_config()
    return c


def training_config(method: str, **keys: Any) -> ml_collections.ConfigDict:
    """A method's base config with the optimizer and loop keys that `make_optimizer` and `core.loop`
    read, at the defaults the sequence methods share (float32, AdamW, warmup + cosine, global-norm
    clipping 1.0, keep 2 checkpoints, TensorBoard, data-parallel over all devices, the `levers` off);
    `keys` add or override."""
    c = ml_collections.ConfigDict()
    c.method = method
    c.dtype = "float32"
    c.optimizer = "adamw"
    c.schedule = "cosine"
    c.grad_clip = 1.0
    c.keep_checkpoints = 2
    c.tensorboard = True
    c.parallel = ml_collections.ConfigDict({"num_devices": 0})
    levers(c)
    add_transfer_keys(c)
    for k, v in keys.items():
        c[k] = v
    return c


def levers(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Adds the memory, precision and stopping keys every loop-based method reads (all off by default;
    docs/training_levers.md): `grad_accum` (micro-batches per step, `core.gradients`), `loss_scale`
    ("auto": dynamic loss scaling with float16 compute only; "dynamic"; "none"; `core.loss_scale`),
    `early_stopping` (metric "" = off, `core.early_stopping`) and `cpu_scheduler` (XLA:CPU's
    instruction scheduler for the training step; "auto": memory-optimised under activation
    checkpointing, else XLA's default; `core.xla_schedule`)."""
    c.grad_accum = 1
    c.loss_scale = "auto"
    c.cpu_scheduler = "auto"
    c.early_stopping = ml_collections.ConfigDict({"metric": "", "mode": "min", "patience": 0, "min_delta": 0.0})
    return c


def supervised_config(method: str) -> ml_collections.ConfigDict:
    """The defaults of the supervised image methods (classify and the methods that train, wrap or
    search classifiers: prune, quantize, nas, interpret, maml, ...), sized for the small built-in data:
    digits, an MLP 256-128 with dropout 0.1, AdamW 3e-3 with 50 warm-up steps, 1500 steps of 64,
    no augmentation; a method or config file overrides what it needs."""
    c = ml_collections.ConfigDict()
    c.method = method
    c.dataset = "digits"
    c.data_dir = ""
    c.data_seed = 0
    c.seed = 0
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (256, 128), "dropout": 0.1})
    c.dtype = "float32"
    c.optimizer = "adamw"
    c.learning_rate = 3e-3
    c.weight_decay = 1e-4
    c.momentum = 0.9
    c.warmup_steps = 50
    c.schedule = "cosine"
    c.grad_clip = 0.0
    c.label_smoothing = 0.0
    c.augment = ml_collections.ConfigDict({"shift": 0, "flip": False, "noise": 0.0, "mixup_alpha": 0.0})
    c.steps = 1500
    c.batch_size = 64
    c.eval_batch_size = 120
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    c.keep_checkpoints = 3
    c.validation_fraction = 0.0
    c.cv_folds = 0
    c.tensorboard = True
    c.parallel = ml_collections.ConfigDict({"num_devices": 0})
    levers(c)
    return add_transfer_keys(c)


def text_model_config(method: str, **model: Any) -> ml_collections.ConfigDict:
    """The keys every character-Transformer method shares (lm, mlm): `training_config` with AdamW
    3e-3, weight decay 0.01, 100 warm-up steps, batches of 32, logging every 50 steps, a `model`
    group with the Transformer's defaults (4 layers, 4 heads, width 128; `model` overrides them) and
    no activation checkpointing (`remat` "none")."""
    c = training_config(method, seed=0, learning_rate=3e-3, weight_decay=0.01, warmup_steps=100, batch_size=32,
                        eval_batch_size=256, log_every=50)
    c.model = ml_collections.ConfigDict({"num_layers": 4, "num_heads": 4, "embed_dim": 128, "mlp_dim": 0,
                                         "position": "learned", "impl": "einsum", "dropout": 0.0, **model})
    c.remat = "none"  # activation checkpointing of every block (`models.remat`)
    return c
