"""The `adversarial` method's default config (`jaxml.methods.adversarial` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """The supervised defaults (`supervised_config`) plus the attack/training settings; `compare` lists
    the runs to train."""
    c = supervised_config("adversarial")
    c.adversarial = ml_collections.ConfigDict({
        "mode": "pgd_at", "norm": "linf", "beta": 6.0,
        "train_eps": 0.1, "train_step_size": 0.025, "train_steps": 7,
        "eps": 0.1, "eval_step_size": 0.01, "eval_steps": 20, "eval_restarts": 1,
        "eps_grid": (0.0, 0.025, 0.05, 0.1, 0.15, 0.2), "eval_examples": 2000,
    })
    c.compare = ()
    c.main = "pgd_at"
    return c
