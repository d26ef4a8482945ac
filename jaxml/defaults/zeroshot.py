"""The `zeroshot` method's default config (`jaxml.methods.zeroshot`: attribute-based zero-shot
classification, DAP, on digits with classes held out); an experiment's config file overrides it."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """DAP on digits: an MLP (64 hidden units) on the pixels predicting the 11 digit attributes,
    full-batch AdamW 3e-3 (weight decay 0.01) for 200 updates; 5 splits of 3 held-out classes."""
    c = supervised_config("zeroshot")
    for key in ("augment", "label_smoothing", "validation_fraction", "cv_folds", "warmup_steps", "schedule",
                "batch_size", "eval_batch_size", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
                "momentum", "optimizer", "grad_clip"):
        del c[key]
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (64,), "dropout": 0.0})
    c.steps = 200
    c.weight_decay = 0.01
    c.zeroshot = ml_collections.ConfigDict({"held_out": 3, "splits": 5, "probability_floor": 1e-4})
    return c
