"""The `nas` method's default config (`jaxml.methods.nas` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """`supervised_config` defaults (the per-candidate budget is `steps` x `batch_size`) plus the `nas` group."""
    c = supervised_config("nas")
    c.steps = 200
    c.learning_rate = 3e-3
    c.warmup_steps = 20
    c.log_every = 100
    c.nas = ml_collections.ConfigDict({
        "families": ("cnn", "mlp"),
        "depths": (1, 2, 3),
        "widths": (8, 16, 32),
        "kernel_sizes": (3, 5),
        "activations": ("relu", "gelu", "silu", "tanh"),
        "mlp_width_multiplier": 8,
        "population": 8,
        "sample": 3,
        "children": 4,
        "generations": 4,
        "search_seeds": 3,
        "validation_examples": 300,
        "vmap_candidates": True,
    })
    return c
