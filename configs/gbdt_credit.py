"""Gradient-boosted decision trees on histograms (logistic loss, depth 5 level-wise, learning rate 0.1,
at most 100 trees, early stopping on a stratified 10 % validation split) on 20 000 generated
credit-risk applicants (`jaxml.data.credit`, 20 % defaults) and on sklearn's breast-cancer, each with
a stratified 75 / 25 train / test split; scikit-learn's HistGradientBoostingClassifier with the same
settings and the same train / validation / test parts runs beside it (sklearn_* in the result).

Command:   jaxml train gbdt_credit
Expected:  project target (docs/references.md#project-targets): test accuracy within 1 point of
           HistGradientBoostingClassifier's on the same split, on both data sets
           (`credit_accuracy_abs_diff`, `cancer_accuracy_abs_diff` <= 0.01).
Reference: scikit-learn HistGradientBoostingClassifier (docs/references.md#classic-learners), run in
           the experiment.
Also:      ROC-AUC (`*_auc`) and the number of trees early stopping kept (`*_n_trees`) on both sides.
Hardware:  2-core CPU, about a minute of CPU time (165 s wall on a shared machine).
"""

from jaxml.defaults.trees import trees_config

_REF = "scikit-learn HistGradientBoostingClassifier, same split and settings (docs/references.md#classic-learners)"
EXPECTED = {"metric": "credit_accuracy_abs_diff", "at_most": 0.01, "reference": _REF,
            "also": ({"metric": "cancer_accuracy_abs_diff", "at_most": 0.01},)}
SUITES = ("full",)


def get_config():
    return trees_config("gbdt")
