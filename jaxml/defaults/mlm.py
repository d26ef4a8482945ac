"""The `mlm` method's default config (`jaxml.methods.mlm` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import text_model_config


def base_config() -> ml_collections.ConfigDict:
    """A 2-layer, 128-wide character encoder on KJV verses; config files override what they need."""
    c = text_model_config("mlm", num_layers=2, dropout=0.1)
    c.dataset = "kjv"
    c.data_seed = 0
    c.test_fraction = 0.1
    c.seq_len = 96
    c.mask_rate = 0.15
    c.pooling = "cls"  # the classifier's summary of a verse: "cls" (position 0, BERT's) or "mean" (valid positions)
    c.learning_rate = 2e-3
    c.steps = 1000
    c.batch_size = 64
    c.eval_every = 0
    c.checkpoint_every = 0
    c.keep_checkpoints = 1
    c.tensorboard = False
    c.pretrain = ml_collections.ConfigDict({"steps": 1500, "learning_rate": 2e-3, "batch_size": 64,
                                            "warmup_steps": 100, "checkpoint_every": 500})
    c.finetune = ml_collections.ConfigDict({"steps": 200, "learning_rate": 1e-3, "batch_size": 32, "warmup_steps": 20,
                                            "label_counts": (100, 500), "seeds": (0, 1, 2)})
    return c
