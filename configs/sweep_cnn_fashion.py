"""A population of 16 CNN configs on Fashion-MNIST that differ only in the learning rate (1e-4 to 1e-1,
log-spaced), trained together under vmap (one compile, one pass over the data); the same population
as a fixed grid, with successive halving and with population-based training (exploit / explore
every 100 steps).

Command:   jaxml train sweep_cnn_fashion
Expected:  PBT's member (chosen on 5000 held-out training examples) beats the median fixed member's
           test accuracy (pbt_minus_median > 0), and so does successive halving's.
Recorded:  (`jaxml reproduce --record --suite full --only sweep_cnn_fashion`, 2026-12-02, shared 2-core
           CPU, 2653 s) met: PBT 0.8910, halving 0.8903, the median fixed member 0.8730 (+1.8 / +1.7 points).
Reference: Jaderberg et al. 2017 (PBT) and Jamieson & Talwalkar 2016 (successive halving), in
           docs/references.md: exploiting the better members during training reaches the good
           learning rates without knowing them in advance.
Hardware:  2-core CPU (3 populations of 16 x 800 steps of 64); needs Debian's dataset-fashion-mnist
           (or JAXML_DATA_DIR).
"""

from jaxml.defaults.classify import small_fashion_cnn_budget
from jaxml.defaults.sweep import base_config, log_grid

EXPECTED = {"metric": "pbt_minus_median", "at_least": 0.0,
            "reference": "PBT / successive halving beat the median fixed member (Jaderberg 2017, Jamieson 2016)",
            "also": ({"metric": "halving_minus_median", "at_least": 0.0},)}
SUITES = ("full",)


def get_config():
    c = small_fashion_cnn_budget(base_config())
    c.sweep.learning_rates = log_grid(1e-4, 1e-1, 16)
    c.sweep.rounds = 8
    c.sweep.validation_examples = 5000
    return c
