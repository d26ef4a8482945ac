"""The `zeroshot` method's default config (`jaxml.methods.zeroshot`: attribute-based zero-shot
classification, DAP, on digits with classes held out); an experiment's config file overrides it."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """DAP on digits: the 15 glyph attributes (ink in each cell of a 5 x 3 grid of the handwritten
    digit, `data.paired.DIGIT_GLYPHS`), each predicted by a logistic regression on the pixels within
    0.75 cells of its cell, full-batch AdamW 0.03 (weight decay 0.01) for 600 updates; 5 splits of 3
    held-out classes. `zeroshot.attributes = "segments"` with `predictor = "mlp"` (`model`: 64 hidden
    units) is the seven-segment design it replaced."""
    c = supervised_config("zeroshot")
    for key in ("augment", "label_smoothing", "validation_fraction", "cv_folds", "warmup_steps", "schedule",
                "batch_size", "eval_batch_size", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
                "momentum", "optimizer", "grad_clip"):
        del c[key]
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (64,), "dropout": 0.0})
    c.steps = 600
    c.learning_rate = 0.03
    c.weight_decay = 0.01
    c.zeroshot = ml_collections.ConfigDict({"held_out": 3, "splits": 5, "probability_floor": 1e-4,
                                           "attributes": "glyph", "predictor": "local", "region": 0.75})
    return c
