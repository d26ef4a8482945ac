"""Anomaly-detection experiments: jaxml's isolation forest (`jaxml/classic/iforest.py`) against
scikit-learn's IsolationForest.

`train(config, workdir)` builds the data set of `config.dataset` (a registry of loaders), fits
`config.num_seeds` forests (seeds config.seed, config.seed + 1, ...), scores every point and records
ROC-AUC and average precision (in JAX, `classic/ranking_metrics.py`) per seed, their means and stds;
with `config.reference` it runs IsolationForest with the same tree count and subsample size over
random_state = the same seeds (`anomaly_reference.py`) and records `sklearn_*`, the differences of
the means (`*_mean_abs_diff`), and `sklearn.metrics` on jaxml's own scores as a check of the JAX
metrics (`metrics_check_max_abs_diff`).

breast_cancer: sklearn's Wisconsin breast-cancer set (569 x 30; 357 benign, 212 malignant); all
benign cases are the inliers and `config.num_outliers` malignant ones, chosen by
`np.random.default_rng(config.outlier_seed).choice(malignant indices, num_outliers, replace=False)`,
the outliers (label 1), in the data's order. The raw features are used: an isolation forest draws
each threshold uniformly in a node's range of one feature, so a per-feature affine rescaling
(standardisation) changes nothing but rounding. The forests are fitted on all points and score them.

fraud: `jaxml.data.fraud`'s generated transactions (`config.fraud`: size, fraud rate, data seed),
split at random into a training part (the forests' fit, unsupervised: frauds included) and a test
part of `config.fraud.test_fraction` that every detector scores. With a `config.autoencoder` group,
the reconstruction-error autoencoder, and with a `config.deep_svdd` group the one-class Deep SVDD
(both `anomaly_deep.py`), trained on the normal-labelled training points only, are reported beside
the forests (`autoencoder_*`, `deep_svdd_*`, same seeds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import ml_collections
import numpy as np

from jaxml.classic import iforest, ranking_metrics
from jaxml.core.config import check_number
from jaxml.core.config import check_int
from jaxml.core.registry import choose
from jaxml.errors import JaxmlError
from jaxml.data import fraud as fraud_data
from jaxml.methods import anomaly_deep, anomaly_reference as reference

METRICS = {"roc_auc": ranking_metrics.roc_auc, "average_precision": ranking_metrics.average_precision}


class Data(NamedTuple):
    train_x: np.ndarray  # [n_train, d] float64: what the detectors are fitted on
    train_y: np.ndarray  # [n_train] int32, 1 = outlier (used only to keep the autoencoder's normal points)
    test_x: np.ndarray   # [n_test, d]: what they score
    test_y: np.ndarray   # [n_test]


def breast_cancer(config: ml_collections.ConfigDict) -> Data:
    """357 benign + num_outliers malignant cases (label 1), fitted and scored as one set."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)  # y: 0 malignant, 1 benign
    malignant = np.flatnonzero(y == 0)
    num = check_int(config.num_outliers, "config.num_outliers", 1)
    if num > len(malignant):
        raise JaxmlError(f"config.num_outliers={num} must be <= the number of malignant cases ({len(malignant)})")
    check_int(config.outlier_seed, "config.outlier_seed", 0)
    chosen = np.random.default_rng(int(config.outlier_seed)).choice(malignant, num, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(y == 1), chosen]))
    x, labels = x[keep], (y[keep] == 0).astype(np.int32)
    return Data(x, labels, x, labels)


def fraud(config: ml_collections.ConfigDict) -> Data:
    """The generated transactions, split at random (data_seed) into training and test parts."""
    c = config.fraud
    n = check_int(c.num_transactions, "config.fraud.num_transactions", 100)
    rate = check_number(c.fraud_rate, "config.fraud.fraud_rate", 0.0, 0.5)
    test_fraction = check_number(c.test_fraction, "config.fraud.test_fraction", 0.05, 0.95)
    if round(n * rate) < 1:
        raise JaxmlError(f"config.fraud.fraud_rate={rate} gives no fraud case in {n} transactions")
    seed = check_int(c.data_seed, "config.fraud.data_seed", 0)
    x, y = fraud_data.transactions(n, rate, seed)
    order = np.random.default_rng(seed + 1).permutation(n)
    test, train = order[:int(round(n * test_fraction))], order[int(round(n * test_fraction)):]
    return Data(x[train], y[train], x[test], y[test])


# dataset name -> loader(config) -> Data
DATASETS: dict[str, Callable[[ml_collections.ConfigDict], Data]] = {"breast_cancer": breast_cancer, "fraud": fraud}


def summary(prefix: str, runs: list[dict[str, float]]) -> dict[str, Any]:
    """Per-seed lists, means and (population) stds of every metric of `runs`."""
    out: dict[str, Any] = {}
    for metric in runs[0]:
        values = [r[metric] for r in runs]
        out[f"{prefix}{metric}_per_seed"] = values
        out[f"{prefix}{metric}_mean"] = float(np.mean(values))
        out[f"{prefix}{metric}_std"] = float(np.std(values))
    return out


def jax_metrics(labels: np.ndarray, scores) -> dict[str, float]:
    y = jax.numpy.asarray(labels)
    return {name: float(fn(y, jax.numpy.asarray(scores))) for name, fn in METRICS.items()}


def check_config(config: ml_collections.ConfigDict, n: int) -> None:
    check_int(config.seed, "config.seed", 0)
    check_int(config.num_seeds, "config.num_seeds", 1)
    iforest.check_args(n, config.iforest.n_trees, config.iforest.subsample, prefix="config.iforest.")
    for kind in anomaly_deep.DETECTORS:
        if kind not in config:
            continue
        c, key = config[kind], f"config.{kind}"
        if not c.hidden:
            raise JaxmlError(f"{key}.hidden=() is empty; give the layer widths, e.g. (16, 3, 16)")
        for width in c.hidden:
            check_int(width, f"{key}.hidden", 1)
        check_int(c.steps, f"{key}.steps", 1)
        check_int(c.batch_size, f"{key}.batch_size", 1)
        check_number(c.learning_rate, f"{key}.learning_rate", 0.0)
        check_number(c.get("weight_decay", 0.0), f"{key}.weight_decay", 0.0)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    data = choose(DATASETS, config.dataset, "config.dataset")(config)
    check_config(config, len(data.train_x))
    c = config.iforest
    seeds = [int(config.seed) + i for i in range(int(config.num_seeds))]
    fit_x = jax.numpy.asarray(data.train_x, jax.numpy.float32)
    test_x = jax.numpy.asarray(data.test_x, jax.numpy.float32)
    scores = [iforest.score(iforest.fit(jax.random.key(s), fit_x, int(c.n_trees), int(c.subsample)), test_x)
              for s in seeds]
    runs = [jax_metrics(data.test_y, s) for s in scores]
    out: dict[str, Any] = {"dataset": config.dataset, "num_points": len(data.test_x) + (
                               0 if data.test_x is data.train_x else len(data.train_x)),
                           "num_fit": len(data.train_x), "num_scored": len(data.test_x),
                           "num_outliers": int(data.test_y.sum()),
                           "n_trees": int(c.n_trees), "subsample": int(c.subsample),
                           "max_depth": iforest.max_depth(int(c.subsample)), "seeds": seeds,
                           "score_min": float(min(np.min(s) for s in scores)),
                           "score_max": float(max(np.max(s) for s in scores)),
                           **summary("", runs)}
    for kind in anomaly_deep.DETECTORS:  # the deep detectors the config has a group for, on normal points only
        if kind in config:
            a = config[kind]
            scores_k = anomaly_deep.fit_and_score(kind, seeds, data.train_x[data.train_y == 0], data.test_x, a.hidden,
                                                  int(a.steps), int(a.batch_size), float(a.learning_rate),
                                                  weight_decay=float(a.get("weight_decay", 0.0)))
            out.update(summary(f"{kind}_", [jax_metrics(data.test_y, e) for e in scores_k]))
    if not config.reference:
        return out
    checks = [reference.ranking_scores(data.test_y, np.asarray(s, np.float64)) for s in scores]
    out["metrics_check_max_abs_diff"] = max(abs(r[m] - ch[m]) for r, ch in zip(runs, checks) for m in r)
    theirs = reference.iforest_scores(data.train_x, data.test_x, int(c.n_trees), int(c.subsample), seeds)
    out.update(summary("sklearn_", [jax_metrics(data.test_y, s) for s in theirs]))
    for metric in METRICS:
        out[f"{metric}_mean_abs_diff"] = abs(out[f"{metric}_mean"] - out[f"sklearn_{metric}_mean"])
    return out
