"""Deep ensembles of small CNNs on Fashion-MNIST: 3 ensembles (the seeds) of 4 members each, all 12
members trained in ONE vmapped program (`jaxml/core/population.py`, each member from its own initial
state and with its own step keys; shared batches), conv16-conv32-dense64, 800 steps of 64 (AdamW 3e-3)
on 6000 training examples drawn at random, about 8.5 epochs, so that single members over-fit and
become over-confident as fully trained networks do; each ensemble predicts the mean of its members'
probabilities; scored on the 10,000 test images.

Command:   jaxml train ensemble_fashion
Expected:  the ensemble lowers the expected calibration error (15 bins) and the NLL of its single
           members (`ece_gain_min`, `nll_gain_min`: the smallest, over the 3 ensembles, of its members'
           mean minus its own value; > 0 for every seed); accuracy, NLL and ECE of ensembles and
           members (mean +- std) in the result.
Reference: Lakshminarayanan, Pritzel & Blundell 2017 (deep ensembles) and Guo et al. 2017 (ECE), in
           docs/references.md#classic-learners: ensembles of independently initialised networks are
           better calibrated and have a lower NLL than their members.
Hardware:  2-core CPU, 247 s recorded (12 members x 800 steps of 64 in one program); needs Debian's
           dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from jaxml.defaults.classify import small_fashion_cnn_budget
from jaxml.defaults.ensemble import base_config

EXPECTED = {"metric": "ece_gain_min", "at_least": 0.0,
            "reference": "deep ensembles lower ECE and NLL against their members (Lakshminarayanan 2017, Guo 2017)",
            "also": ({"metric": "nll_gain_min", "at_least": 0.0},)}
SUITES = ("full",)


def get_config():
    c = small_fashion_cnn_budget(base_config())
    c.learning_rate = 3e-3
    c.ensemble.train_examples = 6000  # 800 x 64 = 8.5 epochs of them: the members over-fit, as long runs do
    return c
