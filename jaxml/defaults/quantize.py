"""The `quantize` method's default config (`jaxml.methods.quantize` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """The supervised defaults (`supervised_config`) plus the `quantize` group."""
    c = supervised_config("quantize")
    c.quantize = ml_collections.ConfigDict({
        "granularity": "per_channel",   # of the QAT / int8 model's weights (PTQ reports both)
        "calibration_examples": 500,    # held out of the training split; activation ranges come from them
        "qat_steps": 300,
        "qat_learning_rate": 3e-4,
        "act_momentum": 0.99,           # moving average of activation ranges during QAT
    })
    return c
