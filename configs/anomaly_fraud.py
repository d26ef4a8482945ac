"""Fraud detection on generated card transactions (jaxml.data.fraud: 20,000 transactions, 1 % fraud,
six features on mixed scales -- amount, time of day, merchant-category frequency, velocity, distance,
account age -- each fraud case shifted in 2 of the first five). 70 % training part, 30 % test part.
jaxml's isolation forest (100 trees, psi = 256) against scikit-learn's IsolationForest, both fitted
on the training part without labels; beside them a small autoencoder (MLP 6-16-3-16-6, scored by
reconstruction error) and one-class Deep SVDD (a bias-free MLP 6-16-8, scored by the squared distance
to its centre), both trained on the training part's normal transactions. Five seeds each.

Command:   jaxml train anomaly_fraud
Expected:  the isolation forest's mean test ROC-AUC within +-0.02 of scikit-learn's (the project
           target carried over from iforest_cancer); the autoencoder and Deep SVDD are reported, with no target.
           Measured numbers: docs/anomaly.md.
Reference: scikit-learn's IsolationForest, run in the experiment (docs/references.md#anomaly-detection).
Hardware:  2-core CPU, about a minute.
"""

from jaxml.defaults.anomaly import anomaly_config

_REF = ("scikit-learn IsolationForest (n_estimators=100, max_samples=256) fitted on the same training part, "
        "mean test ROC-AUC over random_state 0..4 (docs/references.md#anomaly-detection)")
EXPECTED = {"metric": "roc_auc_mean_abs_diff", "at_most": 0.02, "reference": _REF}
SUITES = ("full",)


def get_config():
    return anomaly_config("fraud")
