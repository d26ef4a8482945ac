"""Support vector machines on TF-IDF features of KJV text: book-genre classification (law, history,
poetry, prophets, gospels, epistles) of passages of 5 consecutive verses, a quarter of each genre's
chapters held out (seed 0); TF-IDF written in jaxml (`jaxml/classic/tfidf.py`, fitted on the training
passages: terms in >= 2 of them, the 4000 most frequent, sublinear tf, l2 rows). A linear SVM (squared
hinge, C = 1) against scikit-learn's LinearSVC on the same matrix; RBF SVMs (gamma = "scale") through
3000 random Fourier features and 3000 Nystroem landmarks, each against LinearSVC on the same features
and against the exact-kernel SVC(kernel="rbf"); all references run in the experiment (sklearn_*).

Command:   jaxml train svm_text
Expected:  project target (docs/references.md#project-targets): test accuracy within 1 point of
           scikit-learn's on the same features -- the linear SVM's of LinearSVC
           (`linear_accuracy_abs_diff`), the random-Fourier SVM's of LinearSVC on the same random
           features (`rbf_features_accuracy_abs_diff`) and the Nystroem SVM's of the exact-kernel
           SVC's (`nystroem_accuracy_abs_diff`). The random-Fourier SVM's gap to the exact SVC is
           recorded beside (`rbf_accuracy_abs_diff`, about 10 points): on sparse, nearly orthogonal
           TF-IDF rows 3000 random Fourier features approximate the kernel poorly, Nystroem well.
Reference: scikit-learn LinearSVC and SVC (docs/references.md#classic-learners), run in the experiment;
           the TF-IDF matrix equals scikit-learn's TfidfVectorizer's with the same options (tested).
Data:      Debian's bible-kjv; without it, passages of Python's stdlib sources labelled by package
           (a warning line says so; result `corpus`).
Hardware:  2-core CPU: 822 s recorded on the shared machine (scikit-learn's SVC and LinearSVC on 3000
           dense features, and the float64 feature maps, dominate).
"""

from jaxml.defaults.svm import text_config

_REF = "scikit-learn LinearSVC on the same TF-IDF / random-Fourier features, same split and C (docs/references.md#classic-learners)"
EXPECTED = {"metric": "linear_accuracy_abs_diff", "at_most": 0.01, "reference": _REF,
            "also": ({"metric": "rbf_features_accuracy_abs_diff", "at_most": 0.01},
                     {"metric": "nystroem_accuracy_abs_diff", "at_most": 0.01})}
SUITES = ("full",)


def get_config():
    return text_config()
