"""The `prune` method's default config (`jaxml.methods.prune` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """The supervised defaults (`supervised_config`) plus the `prune` group: gradual global magnitude
    pruning to 90%."""
    c = supervised_config("prune")
    c.prune = ml_collections.ConfigDict({
        "method": "magnitude",     # magnitude | random
        "scope": "global",         # global | layerwise
        "schedule": "cubic",       # cubic (Zhu & Gupta) | oneshot (prune at begin_step, then fine-tune)
        "sparsity": 0.9,           # s_f
        "initial_sparsity": 0.0,   # s_i
        "begin_step": 300,         # t0
        "end_step": 1000,          # t0 + nΔt (ignored by oneshot)
        "frequency": 100,          # Δt
        "dense_baseline": True,    # also train the dense model with the same recipe (accuracy_drop)
    })
    return c
