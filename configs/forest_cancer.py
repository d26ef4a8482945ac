"""A random forest (100 Gini trees on bootstrap samples, sqrt(F) features a node, grown to depth 10 on
histogram-binned features, the trees vmapped) on sklearn's breast-cancer and digits, each with a
stratified 75 / 25 train / test split; scikit-learn's RandomForestClassifier (100 full-depth trees)
runs beside it on the same split (sklearn_* in the result).

Command:   jaxml train forest_cancer
Expected:  project target (docs/references.md#project-targets): test accuracy within 1 point of
           RandomForestClassifier's on the same split, on both data sets
           (`cancer_accuracy_abs_diff`, `digits_accuracy_abs_diff` <= 0.01).
Reference: scikit-learn RandomForestClassifier (docs/references.md#classic-learners), run in the
           experiment.
Hardware:  2-core CPU, about 5 minutes of CPU time (12 min wall on a shared machine), 1.5 GB.
"""

from jaxml.defaults.trees import trees_config

_REF = "scikit-learn RandomForestClassifier, same split, 100 trees (docs/references.md#classic-learners)"
EXPECTED = {"metric": "cancer_accuracy_abs_diff", "at_most": 0.01, "reference": _REF,
            "also": ({"metric": "digits_accuracy_abs_diff", "at_most": 0.01},)}
SUITES = ("full",)


def get_config():
    return trees_config("forest")
