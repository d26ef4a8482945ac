"""5-fold stratified cross-validation of the MLP on sklearn digits; reports mean +- std over folds.

Command:   jaxml train cv_digits
Expected:  cv_accuracy >= 0.96 (mean over the 5 held-out folds; std reported beside it).
Reference: sklearn on the same folds (scripts/sklearn_baselines.py, 2026-11-22): MLPClassifier 256-128
           0.9777 +- 0.0084, logistic regression 0.9687 +- 0.0108.
Hardware:  2-core CPU, under a minute.
"""

from jaxml.defaults.classify import base_config

EXPECTED = {"metric": "cv_accuracy", "at_least": 0.96, "reference": "sklearn on the same folds: MLP 256-128 0.9777 ± 0.0084, logistic regression 0.9687 ± 0.0108"}
SUITES = ("quick", "full")


def get_config():
    c = base_config()
    c.dataset = "digits"
    c.cv_folds = 5
    c.steps = 1000
    c.eval_every = 1000
    c.checkpoint_every = 1000
    return c
