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
(standardisation) changes nothing but rounding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import jax
import ml_collections
import numpy as np

from jaxml.classic import iforest, ranking_metrics
from jaxml.core.config import check_int
from jaxml.core.registry import choose
from jaxml.errors import JaxmlError
from jaxml.methods import anomaly_reference as reference

METRICS = {"roc_auc": ranking_metrics.roc_auc, "average_precision": ranking_metrics.average_precision}


def breast_cancer(config: ml_collections.ConfigDict) -> tuple[np.ndarray, np.ndarray]:
    """(x [357 + num_outliers, 30] float64, labels: 1 for the malignant outliers)."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)  # y: 0 malignant, 1 benign
    malignant = np.flatnonzero(y == 0)
    num = check_int(config.num_outliers, "config.num_outliers", 1)
    if num > len(malignant):
        raise JaxmlError(f"config.num_outliers={num} must be <= the number of malignant cases ({len(malignant)})")
    check_int(config.outlier_seed, "config.outlier_seed", 0)
    chosen = np.random.default_rng(int(config.outlier_seed)).choice(malignant, num, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(y == 1), chosen]))
    return x[keep], (y[keep] == 0).astype(np.int32)


# dataset name -> loader(config) -> (x [n, d], labels [n] with 1 = outlier)
DATASETS: dict[str, Callable[[ml_collections.ConfigDict], tuple[np.ndarray, np.ndarray]]] = {
    "breast_cancer": breast_cancer,
}


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


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    x, labels = choose(DATASETS, config.dataset, "config.dataset")(config)
    check_config(config, len(x))
    c = config.iforest
    seeds = [int(config.seed) + i for i in range(int(config.num_seeds))]
    points = jax.numpy.asarray(x, jax.numpy.float32)
    scores = [iforest.score(iforest.fit(jax.random.key(s), points, int(c.n_trees), int(c.subsample)), points)
              for s in seeds]
    runs = [jax_metrics(labels, s) for s in scores]
    out: dict[str, Any] = {"dataset": config.dataset, "num_points": len(x), "num_outliers": int(labels.sum()),
                           "n_trees": int(c.n_trees), "subsample": int(c.subsample),
                           "max_depth": iforest.max_depth(int(c.subsample)), "seeds": seeds,
                           "score_min": float(min(np.min(s) for s in scores)),
                           "score_max": float(max(np.max(s) for s in scores)),
                           **summary("", runs)}
    if not config.reference:
        return out
    checks = [reference.ranking_scores(labels, np.asarray(s, np.float64)) for s in scores]
    out["metrics_check_max_abs_diff"] = max(abs(r[m] - ch[m]) for r, ch in zip(runs, checks) for m in r)
    theirs = [jax_metrics(labels, s) for s in reference.iforest_scores(x, int(c.n_trees), int(c.subsample), seeds)]
    out.update(summary("sklearn_", theirs))
    for metric in METRICS:
        out[f"{metric}_mean_abs_diff"] = abs(out[f"{metric}_mean"] - out[f"sklearn_{metric}_mean"])
    return out
