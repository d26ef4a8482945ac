"""The `ssl` method's default config (`jaxml.methods.ssl` trains it: SimCLR or BYOL); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config(objective: str = "simclr") -> ml_collections.ConfigDict:
    """SimCLR on digits: CNN conv32-conv64 encoder, global average pool -> Dense 128 features, projector 256-64 with batch
    standardisation, τ = 0.2; views by random resized crop (area >= 0.3), brightness / contrast 0.4, no
    flip; AdamW 2e-3, batches of 256; probes with 10 / 100 labels per class and all labels; a supervised
    baseline on the 10-per-class labels."""
    c = supervised_config("ssl")
    for key in ("augment", "label_smoothing", "validation_fraction", "cv_folds"):
        del c[key]
    c.model = ml_collections.ConfigDict({"name": "cnn", "features": (32, 64), "convs_per_stage": 1, "dense": (),
                                         "dropout": 0.0, "batch_norm": False, "global_pool": True})
    c.ssl = ml_collections.ConfigDict({
        "objective": objective, "feature_dim": 128, "proj_hidden": 256, "proj_dim": 64, "pred_hidden": 256,
        "head_batch_norm": True, "temperature": 0.2, "ema_base": 0.99})
    c.views = ml_collections.ConfigDict({"crop_scale": 0.3, "shift": 0, "flip": False, "brightness": 0.4,
                                         "contrast": 0.4, "cutout": 0, "noise": 0.0})
    c.probe = ml_collections.ConfigDict({"labels_per_class": (10, 100, 0), "steps": 500, "learning_rate": 0.01,
                                         "weight_decay": 1e-4, "knn_k": 20, "knn_temperature": 0.07,
                                         "batch_size": 1000, "validation": 0})
    c.baseline = ml_collections.ConfigDict({"per_class": 10, "steps": 300, "batch_size": 50, "learning_rate": 2e-3,
                                            "weight_decay": 1e-4, "warmup_steps": 30, "shift": 1})
    c.learning_rate = 2e-3
    c.weight_decay = 1e-4
    c.warmup_steps = 100
    c.batch_size = 256
    c.steps = 1000
    c.log_every = 50
    c.eval_every = 0
    c.checkpoint_every = 500
    return c
