"""The `distill` method's default config (`jaxml.methods.distill` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """Student: the supervised defaults (`supervised_config`, a digits MLP); teacher: a digits CNN;
    fixed mode, T=4, α=0.9."""
    c = supervised_config("distill")
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (32,), "dropout": 0.0})
    c.teacher = supervised_config("classify")
    c.teacher.model = ml_collections.ConfigDict({"name": "cnn", "features": (16, 32), "dense": (64,),
                                                 "batch_norm": True, "dropout": 0.1})
    c.teacher.augment.shift = 1
    for key in ("dataset", "data_dir", "data_seed", "parallel", "method"):
        del c.teacher[key]
    c.teacher_workdir = ""
    c.distill = ml_collections.ConfigDict({"mode": "fixed", "temperature": 4.0, "alpha": 0.9, "mixup_alpha": 0.0})
    c.seeds = 1
    c.scratch = True
    c.student_per_class = 0      # > 0: students see only this many training examples per class
    return c
