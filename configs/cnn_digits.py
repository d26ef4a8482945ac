"""CNN (conv16-pool-conv32-pool-dense64, BatchNorm, random shifts) on sklearn's 8x8 digits.

Command:   jaxml train cnn_digits
Expected:  test_accuracy >= 0.97.
Reference: the MLP on the same split (mlp_digits); small CNNs reach ~0.98-0.99 on digits.
Hardware:  2-core CPU, well under a minute.
"""

from jaxml.methods.classify import base_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.97, "reference": "small CNNs ~0.98-0.99 on digits"}
SUITES = ("quick", "full")


def get_config():
    c = base_config()
    c.dataset = "digits"
    c.model = dict(name="cnn", features=(16, 32), dense=(64,), batch_norm=True, dropout=0.1, conv_impl="slices",
                   pool_impl="reshape")
    c.augment.shift = 1
    return c
