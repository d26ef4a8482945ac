"""The `sweep` method's default config (`jaxml.methods.sweep` trains it): a population of one
classifier config that differ only in float hyper-parameters, trained in one program
(`jaxml.core.population`); an experiment's config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def log_grid(low: float, high: float, count: int) -> tuple[float, ...]:
    """`count` values from `low` to `high`, evenly spaced in log scale (3 significant digits)."""
    if count == 1:
        return (float(low),)
    ratio = (high / low) ** (1.0 / (count - 1))
    return tuple(float(f"{low * ratio ** i:.3g}") for i in range(count))


def base_config() -> ml_collections.ConfigDict:
    """`supervised_config` (the per-member budget is `steps` x `batch_size`) plus the `sweep` group:
    8 learning rates from 1e-4 to 3e-2, the config's weight decay for every member (an empty
    `weight_decays`), three strategies on the same population (fixed, successive halving, PBT), 6
    rounds, members chosen on 300 training examples held out."""
    c = supervised_config("sweep")
    c.checkpoint_every = 0
    c.sweep = ml_collections.ConfigDict({
        "learning_rates": log_grid(1e-4, 3e-2, 8),
        "weight_decays": (),
        "strategies": ("fixed", "halving", "pbt"),
        "rounds": 6,
        "validation_examples": 300,
        "eta": 2,
        "quantile": 0.25,
        "strategy_seed": 0,
        "member_chunk": 0,  # train the members this many at a time (lax.map of vmaps); 0: all in one vmap
    })
    return c
