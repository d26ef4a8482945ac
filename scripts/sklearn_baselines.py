#!/usr/bin/env python
"""Classic baselines on exactly the splits jaxml's digits experiments use (the reference numbers in
configs/mlp_digits.py, cnn_digits.py and cv_digits.py come from this script).

    python scripts/sklearn_baselines.py
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jaxml.data.datasets import load_dataset


def main() -> None:
    data = load_dataset("digits", seed=0)  # the split of mlp_digits / cnn_digits (data_seed 0)
    xtr = data.train["image"].reshape(len(data.train), -1).astype(np.float64) / 255.0
    xte = data.test["image"].reshape(len(data.test), -1).astype(np.float64) / 255.0
    models = {
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "mlp_256_128": make_pipeline(StandardScaler(), MLPClassifier((256, 128), max_iter=500, random_state=0)),
    }
    results = {}
    for name, model in models.items():
        test_acc = model.fit(xtr, data.train["label"]).score(xte, data.test["label"])
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)  # cv_digits' folds
        cv = cross_val_score(model, xtr, data.train["label"], cv=folds)
        results[name] = {"test_accuracy": round(test_acc, 4), "cv5_mean": round(cv.mean(), 4),
                         "cv5_std": round(cv.std(), 4)}
        print(f"{name:<20} test {test_acc:.4f}   5-fold CV {cv.mean():.4f} ± {cv.std():.4f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
