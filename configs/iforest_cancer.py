"""Isolation forest (100 trees, psi = 256 points per tree, depth ceil(log2 256) = 8) on sklearn's
breast-cancer data as an outlier-detection set: all 357 benign cases plus 20 malignant ones (picked
with numpy default_rng(0)) as the outliers; scikit-learn's IsolationForest with the same settings
runs beside it. Five seeds each (jaxml keys 0..4, sklearn random_state 0..4).

Command:   jaxml train iforest_cancer
Expected:  mean ROC-AUC over the 5 seeds within +-0.02 of scikit-learn's (the project target).
           Measured here (docs/anomaly.md): jaxml and scikit-learn both about 0.94 on this pick of
           outliers; which 20 malignant cases are picked moves both by a few hundredths.
Reference: scikit-learn's IsolationForest, run in the experiment (docs/references.md#anomaly-detection).
Hardware:  2-core CPU, seconds.
"""

from jaxml.defaults.anomaly import anomaly_config

_REF = ("scikit-learn IsolationForest (n_estimators=100, max_samples=256) on the same data, mean over "
        "random_state 0..4 (docs/references.md#anomaly-detection)")
EXPECTED = {"metric": "roc_auc_mean_abs_diff", "at_most": 0.02, "reference": _REF}
SUITES = ("full",)


def get_config():
    return anomaly_config("breast_cancer")
