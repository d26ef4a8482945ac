"""The scikit-learn REFERENCE runs of the pseudo-labelling experiment, recorded beside jaxml's numbers as
`sklearn_*` (for the record only: nothing of jaxml's runs comes from here)."""

from __future__ import annotations

import numpy as np


def logistic_regression(x_l: np.ndarray, y_l: np.ndarray, x_u: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                        threshold: float) -> dict[str, float]:
    """Test accuracy of `LogisticRegression` on the labelled images alone (`supervised_accuracy`) and of
    `SelfTrainingClassifier` around it on labelled + pool (`self_training_accuracy`, pseudo-labels above
    `threshold` added until none is)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.semi_supervised import SelfTrainingClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        supervised = LogisticRegression(max_iter=1000).fit(x_l, y_l)
        x = np.concatenate([x_l, x_u])
        y = np.concatenate([y_l, np.full(len(x_u), -1)])
        self_training = SelfTrainingClassifier(LogisticRegression(max_iter=1000), threshold=threshold).fit(x, y)
    return {"supervised_accuracy": float(supervised.score(x_test, y_test)),
            "self_training_accuracy": float(self_training.score(x_test, y_test))}
