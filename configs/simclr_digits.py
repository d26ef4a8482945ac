"""SimCLR on sklearn's 8x8 digits: simclr_fashion's encoder and probes on built-in data, for the quick
suite.

Encoder conv32-pool-conv64-pool, global average pool, Dense 128; 150 steps of 128 (13 epochs of the
1437 training digits); probes with 10 labels per class and with all labels; controls: the random
encoder and a supervised CNN (200 steps) on the 100 labels of the 10-per-class probe.

Command:   jaxml train simclr_digits   (in the quick suite: make demo)
Expected:  gain_knn_10 >= 0.10: with 10 labels per class, kNN on the SimCLR features beats kNN on the
           randomly initialised encoder's features by at least 10 points.
Reference: measured here (2026-12-01, 2-core CPU shared with other jobs): kNN with 10 labels per class
           0.8861 vs 0.6750 random (gain 0.211); linear probe all labels 0.9639 vs 0.9306 random; linear
           probe 10 per class 0.9083 vs the supervised CNN 0.9111. Method: Chen et al. 2020,
           docs/references.md#self-supervised-and-semi-supervised-learning.
Hardware:  2-core CPU: 37-52 s wall on the shared machine (load 10-16; 23 s of CPU time), so under 30 s
           on two free cores (extrapolated).
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "gain_knn_10", "at_least": 0.10,
            "reference": "measured here: kNN 10/class 0.886 vs 0.675 random (Chen et al. 2020 method)"}
SUITES = ("quick", "full")


def get_config():
    c = load_module(Path(__file__).with_name("simclr_fashion.py")).get_config()
    c.dataset = "digits"
    c.steps = 150
    c.batch_size = 128
    c.warmup_steps = 15
    c.log_every = 50
    c.checkpoint_every = 150
    c.probe.labels_per_class = (10, 0)
    c.probe.batch_size = 500
    c.baseline.update(per_class=10, steps=200, batch_size=50, shift=1)
    return c
