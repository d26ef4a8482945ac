"""The `classify` method's default config (`jaxml.methods.classify` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """Defaults shared by every classify experiment: `core.train_state.supervised_config` (digits, an
    MLP 256-128 with dropout 0.1, AdamW 3e-3 with 50 warm-up steps, 1500 steps of 64); a config file
    overrides what it needs."""
    return supervised_config("classify")
