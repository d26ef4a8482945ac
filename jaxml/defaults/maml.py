"""The `maml` method's default config (`jaxml.methods.maml` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """Sinusoid regression (Finn 2017): MLP 40-40, alpha 0.01, one inner step, K = 10, meta-batch 25, Adam 1e-3."""
    c = supervised_config("maml")
    c.dataset = "synthetic"
    c.benchmark = "sinusoid"
    c.mode = "maml"
    c.first_order = False
    c.compare = ("first_order", "pretrained")
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (40, 40), "dropout": 0.0})
    c.inner_steps = 1
    c.inner_lr = 0.01
    c.eval_steps = 10
    c.shots = 10
    c.queries = 10
    c.ways = 5
    c.train_classes = (0, 1, 2, 3, 4)
    c.test_classes = (5, 6, 7, 8, 9)
    c.test_tasks = 500
    c.test_queries = 100
    c.test_seed = 1234
    c.baseline_steps = 100
    c.baseline_lr = 0.1
    c.optimizer = "adam"
    c.learning_rate = 1e-3
    c.pretrain_learning_rate = 1e-3
    c.weight_decay = 0.0
    c.warmup_steps = 0
    c.schedule = "constant"
    c.batch_size = 25  # the meta-batch: tasks per meta-update
    c.eval_batch_size = 100
    c.steps = 20000
    c.log_every = 500
    c.eval_every = 5000
    c.checkpoint_every = 5000
    c.parallel.num_devices = 1
    return c
