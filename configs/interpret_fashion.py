"""Attributions of a Fashion-MNIST CNN: saliency, SmoothGrad and integrated gradients on 6 test images.

Command:   jaxml train interpret_fashion
Expected:  ig_completeness_error <= 0.01: with 64 trapezoid steps the integrated-gradients attributions
           sum to f(x) - f(black image) within 1% for every explained image; plots/attributions.png shows
           the maps. The deletion AUCs (mean target probability while the most-attributed pixels are
           deleted first; lower = the map found what the model uses) are reported beside a random map's.
Reference: Sundararajan et al. 2017 (completeness); Smilkov et al. 2017 (SmoothGrad).
Hardware:  2-core CPU; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from jaxml.defaults.classify import small_fashion_cnn
from jaxml.defaults.interpret import base_config

EXPECTED = {"metric": "ig_completeness_error", "at_most": 0.01,
            "reference": "integrated gradients' completeness axiom (Sundararajan 2017)"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.model = small_fashion_cnn()
    c.learning_rate = 2e-3
    c.warmup_steps = 100
    c.steps = 1500
    c.batch_size = 128
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 1500
    c.checkpoint_every = 1500
    c.interpret.num_examples = 6
    c.interpret.ig_steps = 64
    return c
