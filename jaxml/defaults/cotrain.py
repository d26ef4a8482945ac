"""The `cotrain` method's default config (`jaxml.methods.cotrain`: co-training on two views of an
image against self-training on one view); an experiment's config file overrides it."""

from __future__ import annotations

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    """Co-training on Fashion-MNIST's left and right image halves: 100 labels (10 per class, 3 seeds)
    in a pool of the first 10000 training images; 10 rounds, each classifier adding its 10 most
    confident images per class (probability >= 0.6), self-training 20 per class; an MLP (128 hidden
    units) refitted each round with 150 full-batch AdamW 3e-3 updates, the labelled sets padded to one
    of 4 sizes; the first 5000 test images."""
    c = ml_collections.ConfigDict()
    c.method = "cotrain"
    c.dataset = "fashion_mnist"
    c.data_dir = ""
    c.data_seed = 0
    c.seed = 0          # seed s draws its labelled images with numpy's default_rng(seed + s)
    c.seeds = 3
    c.dtype = "float32"
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (128,), "dropout": 0.0})
    c.learning_rate = 3e-3
    c.weight_decay = 1e-4
    c.cotrain = ml_collections.ConfigDict({"views": "halves", "labels_per_class": 10, "per_class": 10,
                                           "threshold": 0.6, "rounds": 10, "steps": 150,
                                           "pool_size": 10000, "test_size": 5000, "buckets": 4})
    return c
