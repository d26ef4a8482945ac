"""Attributions of a small digits CNN (the quick suite's attribution experiment): saliency, SmoothGrad
and integrated gradients on 6 test images, as interpret_fashion on the always-present sklearn digits.

Command:   jaxml train interpret_digits
Expected:  ig_completeness_error <= 0.01: with 1024 trapezoid steps the integrated-gradients
           attributions sum to f(x) - f(black image) within 1% for every explained image
           (plots/attributions.png shows the maps); deletion AUCs reported beside a random map's, as in
           interpret_fashion. With interpret_fashion's 64 steps this small ReLU CNN's path integral is
           too coarse: 0.0077 at seed 0 but 0.0226 at seed 1; 256 steps: 0.0018 / 0.0086 / 0.0010
           (seeds 0-2); 1024 steps: 0.0049 / 0.0023 (seeds 1, 3) (2026-12-01 runs).
Reference: Sundararajan et al. 2017 (completeness); interpret_fashion 0.77 % on Fashion-MNIST.
Hardware:  2-core CPU, under half a minute.
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "ig_completeness_error", "at_most": 0.01,
            "reference": "integrated gradients' completeness axiom (Sundararajan 2017); interpret_fashion 0.77%"}
SUITES = ("quick", "full")


def get_config():
    """interpret_fashion's method and attribution settings on digits, a smaller CNN and 500 steps."""
    c = load_module(Path(__file__).with_name("interpret_fashion.py")).get_config()
    c.dataset = "digits"
    c.model.features = (8, 16)
    c.model.dense = (32,)
    c.steps = 500
    c.warmup_steps = 50
    c.batch_size = 64
    c.eval_batch_size = 500
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    c.interpret.ig_steps = 1024
    return c
