"""Multi-Fashion-MNIST (Sener & Koltun's MultiMNIST construction on Fashion-MNIST): left and right item.

Every item is placed at the top-left of a 36x36 canvas with a random other item at the bottom-right
(pixelwise max where they overlap), resized to 28x28; 60k train / 10k test pairs. CNN trunk
conv16-pool-conv32-pool-dense64, shared layer 64, two 10-way heads; equal weighting by default
(--config.weighting=fixed|uncertainty|gradnorm|pcgrad|dwa). Single-task models: --config.tasks with
one task. All strategies x 3 seeds beside the single-task models: scripts/multitask_fashion_table.py
writes docs/multitask.md.

Command:   jaxml train multitask_fashion
Expected:  test_accuracy (mean of left and right) recorded in RESULTS.md; no strategy is asserted to
           beat equal weighting.
Reference: Sener & Koltun 2018 MultiMNIST (a different dataset): equal weighting is a strong baseline.
Hardware:  2-core CPU shared with other jobs.
"""

import ml_collections

from jaxml.defaults.multitask import base_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.75,
            "reference": "Sener & Koltun 2018 (MultiMNIST); equal weighting is a strong baseline on small data"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.benchmark = "multi_fashion"
    c.tasks = ml_collections.ConfigDict({"left": {"weight": 1.0}, "right": {"weight": 1.0}})
    c.weighting = "equal"
    c.model = ml_collections.ConfigDict({"name": "cnn", "features": (16, 32), "dense": (), "dropout": 0.0,
                                         "batch_norm": False, "conv_impl": "auto", "pool_impl": "auto"})
    c.trunk_width = 64
    c.learning_rate = 2e-3
    c.weight_decay = 1e-4
    c.warmup_steps = 100
    c.steps = 1000
    c.batch_size = 64
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    return c
