"""The `tune` method's default config (`jaxml.tune.search` runs it): an Optuna study over an experiment's
config keys, as `jaxml tune` runs it; an experiment's config file names the experiment and the space."""

from __future__ import annotations

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    """`tune`: the experiment to tune, its search space file (relative to the repository), the trials,
    the base overrides of every trial, the objective (a result key) and its direction, the storage
    ('' = SQLite in the workdir), worker processes and heartbeat seconds; `seed` seeds the sampler."""
    c = ml_collections.ConfigDict()
    c.method = "tune"
    c.seed = 0
    c.tune = ml_collections.ConfigDict({
        "experiment": "mlp_digits",
        "space": "configs/spaces/mlp_digits.py",
        "trials": 20,
        "overrides": (),
        "metric": "val_accuracy",
        "direction": "maximize",
        "storage": "",
        "workers": 1,
        "heartbeat_s": 30.0,
    })
    return c
