"""MLP (256-128, dropout 0.1) on sklearn's 8x8 digits (1437 train / 360 test, stratified).

Command:   jaxml train mlp_digits
Expected:  test_accuracy >= 0.97 (RESULTS.md has the measured value).
Reference: sklearn MLPClassifier on digits reaches about 0.97-0.98; logistic regression about 0.96.
Hardware:  2-core CPU, well under a minute including compilation.
"""

from jaxml.methods.classify import base_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.97, "reference": "sklearn MLP on digits ~0.97-0.98"}
SUITES = ("quick", "full")


def get_config():
    c = base_config()  # its defaults are this experiment: digits, MLP 256-128, 1500 steps of 64
    c.dataset = "digits"
    c.model.name = "mlp"
    return c
