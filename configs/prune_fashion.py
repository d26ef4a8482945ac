"""Gradual global magnitude pruning of a CNN to 90% sparsity on Fashion-MNIST (Zhu & Gupta's schedule).

Command:   jaxml train prune_fashion
Expected:  accuracy_drop <= 0.01: at 90% sparsity of the weight kernels the pruned CNN loses at most
           1.0 point of test accuracy against the same CNN trained dense with the same recipe and steps
           (both trained by this command; the dense one in <workdir>/dense).
Reference: Zhu & Gupta 2017, InceptionV3: 78.1 dense -> 76.1 / 74.6 at 75 / 87.5% sparsity; jaxpruner
           ResNet-50: dense 76.67, magnitude 75.53, random 70.19
           (docs/references.md#compression-and-architecture-search).
Hardware:  2-core CPU; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
Measured:  `jaxml reproduce --suite full --only prune_fashion` (2-core CPU shared with other jobs,
           2026-11-22/23): dense 0.9005, pruned to sparsity 0.9000 0.8982 (drop 0.23 points); per layer
           Conv_0 0.201, Conv_1 0.515, Dense_0 0.912, Dense_1 0.431; stored sparse 113284 bytes vs dense
           829766 (7.3x). In that run the dense baseline resumed from the final checkpoint of an identical
           classify run (same model, optimizer, seed and data order) copied into <workdir>/dense, to save
           CPU time; docs/results/prune_fashion.json, docs/compression.md.
"""

from jaxml.defaults.prune import base_config

EXPECTED = {"metric": "accuracy_drop", "at_most": 0.01,
            "reference": "Zhu & Gupta 2017 InceptionV3 78.1 -> 74.6 at 87.5%; jaxpruner RN50 magnitude 75.53 vs random 70.19"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.model = dict(name="cnn", features=(16, 32), convs_per_stage=1, dense=(128,), dropout=0.3, batch_norm=False,
                   conv_impl="auto", pool_impl="auto")
    c.learning_rate = 2e-3
    c.weight_decay = 5e-4
    c.warmup_steps = 200
    c.steps = 2000
    c.batch_size = 128
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 1000
    c.prune.method = "magnitude"
    c.prune.scope = "global"
    c.prune.schedule = "cubic"
    c.prune.sparsity = 0.9
    c.prune.begin_step = 200
    c.prune.end_step = 1400
    c.prune.frequency = 100
    return c
