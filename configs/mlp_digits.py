"""MLP (256-128, dropout 0.1) on sklearn's 8x8 digits (1437 train / 360 test, stratified).

Command:   jaxml train mlp_digits
Expected:  test_accuracy >= 0.97 (RESULTS.md has the measured value).
Reference: sklearn on the same split (scripts/sklearn_baselines.py, 2026-11-22): MLPClassifier 256-128
           0.9722, logistic regression 0.9694.
Hardware:  2-core CPU, well under a minute including compilation.
"""

from jaxml.defaults.classify import base_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.97, "reference": "sklearn on the same split (scripts/sklearn_baselines.py): MLP 256-128 0.9722, logistic regression 0.9694"}
SUITES = ("quick", "full")


def get_config():
    c = base_config()  # its defaults are this experiment: digits, MLP 256-128, 1500 steps of 64
    c.dataset = "digits"
    c.model.name = "mlp"
    return c
