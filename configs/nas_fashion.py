"""Architecture search on Fashion-MNIST: regularised evolution vs random search over a small CNN/MLP
family (depth, width, kernel size, activation), 150 steps of 64 per candidate, 3 search seeds.

Command:   jaxml train nas_fashion
Expected:  to be filled in from the first reproduction run.
Reference: Real et al. 2019 (regularised evolution beats random search at equal budget on NASNet space);
           here a tiny space and budget that a 2-core CPU can search in minutes.
Hardware:  2-core CPU shared with other jobs; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from jaxml.methods.nas import base_config

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
