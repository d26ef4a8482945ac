"""Architecture search on Fashion-MNIST: regularised evolution vs random search over a small CNN/MLP
family (depth, width, kernel size, activation), 150 steps of 64 per candidate, 3 search seeds.

Command:   jaxml train nas_fashion
Expected:  measured by `jaxml reproduce --suite full --only nas_fashion` (2026-11-23, 2-core CPU shared
           with many other jobs, 2023 s wall, 39 distinct candidates trained): best validation accuracy
           evolution 0.8491 +- 0.0005 vs random search 0.8470 +- 0.0068 over 3 search seeds (15 candidate
           trainings each; evolution ahead on 1 of 3 seeds); test accuracy of evolution's best
           0.8449 +- 0.0031 (random's 0.8373 +- 0.0080); best: CNN, 1 stage of 16 3x3 filters, relu,
           31,530 parameters. Pass mark: test_accuracy >= 0.80. Tables: docs/quantization_nas.md.
Reference: Real et al. 2019 (regularised evolution beats random search at equal budget on NASNet space);
           here a tiny space and budget that a 2-core CPU can search in minutes.
Hardware:  2-core CPU shared with other jobs; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from jaxml.defaults.nas import base_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.80,
            "reference": "evolution's best vs random search's best at equal candidate trainings (Real 2019)"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.steps = 150
    c.batch_size = 64
    c.learning_rate = 3e-3
    c.warmup_steps = 15
    c.log_every = 75
    c.nas.families = ("cnn", "mlp")
    c.nas.depths = (1, 2)
    c.nas.widths = (8, 16)
    c.nas.kernel_sizes = (3, 5)
    c.nas.activations = ("relu", "gelu", "silu", "tanh")
    c.nas.population = 6
    c.nas.sample = 3
    c.nas.children = 3
    c.nas.generations = 3
    c.nas.search_seeds = 3
    c.nas.validation_examples = 5000
    return c
