"""Support vector machines on sklearn digits (stratified 75 / 25 split, seed 0, standardised on the
training set): a linear SVM (squared hinge, C = 1) against scikit-learn's LinearSVC, and an RBF SVM
through 2000 random Fourier features (gamma = "scale") against scikit-learn's SVC(kernel="rbf") with
the same C and gamma; both references run in the experiment (sklearn_* in the result).

Command:   jaxml train svm_digits
Expected:  project target (docs/references.md#project-targets): test accuracy within 1 point of
           scikit-learn's on the same features -- the linear SVM's of LinearSVC (`linear_accuracy_abs_diff`)
           and the random-feature SVM's of the exact-kernel SVC (`rbf_accuracy_abs_diff`).
Reference: scikit-learn LinearSVC and SVC (docs/references.md#classic-learners), run in the experiment.
Also:      the objective of jaxml's solution against LinearSVC's on the same features, both scored by
           jaxml's objective in float64 (`*_objective_excess`, <= 0 when jaxml's is lower).
Hardware:  2-core CPU, well under a minute.
"""

from jaxml.defaults.svm import svm_config

_REF = "scikit-learn LinearSVC / SVC(kernel='rbf'), same split, C and gamma (docs/references.md#classic-learners)"
EXPECTED = {"metric": "linear_accuracy_abs_diff", "at_most": 0.01, "reference": _REF,
            "also": ({"metric": "rbf_accuracy_abs_diff", "at_most": 0.01},)}
SUITES = ("full",)


def get_config():
    return svm_config()
