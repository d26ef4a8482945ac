"""The `ensemble` method's default config (`jaxml.methods.ensemble` trains it): deep ensembles of one
classifier config trained as one vmapped population (`jaxml.core.population`, distinct members);
an experiment's config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """`supervised_config` (digits, MLP; the per-member budget is `steps` x `batch_size`) plus the
    `ensemble` group: 3 ensembles (the seeds) of 4 members each, ECE over 15 equal-width bins, the
    whole training split (`train_examples` 0; > 0: a random subset of that size)."""
    c = supervised_config("ensemble")
    c.checkpoint_every = 0
    c.ensemble = ml_collections.ConfigDict({"ensembles": 3, "members": 4, "ece_bins": 15, "train_examples": 0})
    return c
