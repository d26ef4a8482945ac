"""5-fold stratified cross-validation of the MLP on sklearn digits; reports mean +- std over folds.

Command:   jaxml train cv_digits
Expected:  cv_accuracy >= 0.96 (mean over the 5 held-out folds; std reported beside it).
Reference: sklearn MLPClassifier 5-fold CV on digits is about 0.97-0.98.
Hardware:  2-core CPU, under a minute.
"""

from jaxml.methods.classify import base_config

EXPECTED = {"metric": "cv_accuracy", "at_least": 0.96, "reference": "sklearn MLP 5-fold CV ~0.97-0.98"}
SUITES = ("quick", "full")


def get_config():
    c = base_config()
    c.dataset = "digits"
    c.cv_folds = 5
    c.steps = 1000
    c.eval_every = 1000
    c.checkpoint_every = 1000
    return c
