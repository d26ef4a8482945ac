"""The `interpret` method's default config (`jaxml.methods.interpret` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    c = supervised_config("interpret")
    c.interpret = ml_collections.ConfigDict({"num_examples": 6, "ig_steps": 64})
    return c
