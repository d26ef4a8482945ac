"""The `fixmatch` method's default config (`jaxml.methods.fixmatch` trains it); an experiment's config
file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """FixMatch on digits with 50 labels: CNN conv32-conv64-dense128; τ = 0.95, λ_u = 1, μ = 7 (the
    paper's values), unlabelled batches of 224 (B = 32 labelled); weak view: 1-px shifts, no flip;
    strong: 2 RandAugment-like ops + cutout 4; AdamW 2e-3; 3 seeds; `ema_decay` > 0 evaluates
    the weight average (`core.weight_ema`, FixMatch's own protocol), for FixMatch and the control alike;
    `fixmatch.validation` = n scores both on n held-out training images instead of the test split."""
    c = supervised_config("fixmatch")
    for key in ("augment", "label_smoothing", "validation_fraction", "cv_folds"):
        del c[key]
    c.model = ml_collections.ConfigDict({"name": "cnn", "features": (32, 64), "convs_per_stage": 1,
                                         "dense": (128,), "dropout": 0.0, "batch_norm": False})
    c.fixmatch = ml_collections.ConfigDict({"labels": 50, "threshold": 0.95, "lambda_u": 1.0, "mu": 7,
                                            "shift": 1, "flip": False, "num_ops": 2, "cutout": 4,
                                            "validation": 0})
    c.ema_decay = 0.0
    c.learning_rate = 2e-3
    c.warmup_steps = 100
    c.batch_size = 224
    c.steps = 1000
    c.eval_every = 500
    c.checkpoint_every = 500
    c.seeds = 3
    return c
