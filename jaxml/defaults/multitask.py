"""The `multitask` method's default config (`jaxml.methods.multitask` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """The digits smoke test (digit + parity heads, equal weighting, MLP trunk); configs override."""
    c = supervised_config("multitask")
    c.dataset = "digits"
    c.benchmark = "digits_parity"
    c.tasks = ml_collections.ConfigDict({"digit": {"weight": 1.0}, "parity": {"weight": 1.0}})
    c.weighting = "equal"
    c.baselines = ()
    c.trunk_width = 64
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (128,), "dropout": 0.0})
    c.gradnorm_alpha = 1.5
    c.gradnorm_lr = 0.025
    c.dwa_temperature = 2.0
    c.dwa_window = 50
    c.toy_tasks = 5
    c.steps = 1000
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    return c
