"""CNN (conv16-pool-conv32-pool-dense64, BatchNorm, random shifts) on sklearn's 8x8 digits.

Command:   jaxml train cnn_digits
Expected:  test_accuracy >= 0.97.
Reference: sklearn on the same split (scripts/sklearn_baselines.py, 2026-11-22): MLPClassifier 256-128
           0.9722, logistic regression 0.9694; and mlp_digits.
Hardware:  2-core CPU, well under a minute.
"""

from jaxml.defaults.classify import base_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.97, "reference": "sklearn on the same split (scripts/sklearn_baselines.py): MLP 256-128 0.9722, logistic regression 0.9694"}
SUITES = ("quick", "full")


def get_config():
    c = base_config()
    c.dataset = "digits"
    c.model = dict(name="cnn", features=(16, 32), dense=(64,), batch_norm=True, dropout=0.1, conv_impl="auto",
                   pool_impl="auto")
    c.augment.shift = 1
    return c
