"""Tree-ensemble experiments: gradient-boosted trees (`classic/gbdt.py`) and random forests
(`classic/forest.py`) on histogram-binned features, each beside its scikit-learn reference.

`train(config, workdir)` loads each of `config.datasets` (`DATASETS`: the generated credit-risk
applicants of `jaxml.data.credit`, sklearn's breast-cancer or digits), splits it into a stratified
train / test split (`test_fraction`, seeded), bins the features on the training points
(`classic/binning.py`, `max_bins`) and runs `config.algorithm` (`ALGORITHMS`), recording per data
set `<data>_accuracy` (and `<data>_auc` for two classes) on the test split. Boosting holds out a
stratified `validation_fraction` of the training split for early stopping; its scikit-learn
reference (`HistGradientBoostingClassifier`) gets the same three parts (X_val / y_val). With
`config.reference` the references' numbers are `sklearn_<data>_*` and the differences
`<data>_accuracy_abs_diff`. Every number is the mean over `config.num_splits` splits (split seeds
seed, seed + 1, ...): on a test split of 143 breast-cancer points one point of accuracy is 1.4 points,
and trees that split on different but equally good features (ties broken by rounding, differently
in each library) move single test points.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.classic import binning, forest, gbdt, ranking_metrics
from jaxml.core.config import check_int, check_number
from jaxml.core.registry import choose
from jaxml.data import credit
from jaxml.errors import JaxmlError
from jaxml.methods import trees_reference as reference


def credit_data(config: ml_collections.ConfigDict) -> tuple[np.ndarray, np.ndarray]:
    check_int(config.num_points, "config.num_points", 100)
    return credit.applicants(int(config.num_points), int(config.data_seed))


def sklearn_data(loader: str) -> Callable[[ml_collections.ConfigDict], tuple[np.ndarray, np.ndarray]]:
    def load(config: ml_collections.ConfigDict) -> tuple[np.ndarray, np.ndarray]:
        import sklearn.datasets

        x, y = getattr(sklearn.datasets, loader)(return_X_y=True)
        return x.astype(np.float64), y.astype(np.int32)
    return load


# name -> load(config) -> (x [n, F] float64, labels [n] int32)
DATASETS: dict[str, Callable] = {"credit": credit_data, "cancer": sklearn_data("load_breast_cancer"),
                                 "digits": sklearn_data("load_digits")}


class Split(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> Split:
    """A stratified split: `fraction` of the points (per class) to the second part (sklearn's
    train_test_split with stratify, random_state=seed: a data split, not a learner)."""
    from sklearn.model_selection import train_test_split

    a, b, c, d = train_test_split(x, y, test_size=fraction, random_state=seed, stratify=y)
    return Split(a, c, b, d)


def binary_scores(y: np.ndarray, p1: jax.Array) -> dict[str, float]:
    """Accuracy of p > 0.5 and ROC-AUC of P(y = 1) (jaxml's ranking metrics)."""
    return {"accuracy": float(np.mean((np.asarray(p1) > 0.5) == y)),
            "auc": float(ranking_metrics.roc_auc(jnp.asarray(y), p1))}


def run_gbdt(config: ml_collections.ConfigDict, name: str, data: Split) -> dict[str, Any]:
    c = config.gbdt
    if int(data.y_train.max()) > 1:
        raise JaxmlError(f"config.datasets has {name!r} with {int(data.y_train.max()) + 1} classes; "
                         "config.algorithm='gbdt' is binary (choose credit, cancer)")
    settings = boosting_settings(config)
    fit_part = split(data.x_train, data.y_train, float(c.validation_fraction), int(config.seed))
    bins = binning.fit_bins(fit_part.x_train, int(config.max_bins))
    xb, xb_val, xb_test = (binning.apply_bins(bins, a) for a in (fit_part.x_train, fit_part.x_test, data.x_test))
    model = gbdt.fit(xb, jnp.asarray(fit_part.y_train), xb_val, jnp.asarray(fit_part.y_test), settings=settings,
                     num_bins=bins.num_bins)
    ours = {**binary_scores(data.y_test, gbdt.predict_proba(model, xb_test)), "n_trees": int(model.n_trees)}
    out = {"num_bins": bins.num_bins, "n_val": len(fit_part.y_test)}
    if config.reference:
        ref = reference.hist_gbdt(fit_part.x_train, fit_part.y_train, fit_part.x_test, fit_part.y_test, data.x_test,
                                  data.y_test, max_iter=settings.max_iter, learning_rate=settings.learning_rate,
                                  max_depth=settings.max_depth, l2=settings.l2,
                                  min_samples_leaf=settings.min_samples_leaf, max_bins=int(config.max_bins),
                                  early_stopping=settings.early_stopping, n_iter_no_change=settings.n_iter_no_change,
                                  tol=settings.tol, seed=int(config.seed))
        out.update({f"sklearn_{m}": v for m, v in ref.items()})
    return {**out, **ours}


def run_forest(config: ml_collections.ConfigDict, name: str, data: Split) -> dict[str, Any]:
    settings = forest_settings(config, data.x_train.shape[1])
    bins = binning.fit_bins(data.x_train, int(config.max_bins))
    xb, xb_test = binning.apply_bins(bins, data.x_train), binning.apply_bins(bins, data.x_test)
    classes = int(data.y_train.max()) + 1
    key = jax.random.fold_in(jax.random.key(int(config.seed)), list(DATASETS).index(name))
    trees = forest.fit(key, xb, jnp.asarray(data.y_train), settings=settings, num_bins=bins.num_bins,
                       num_classes=classes)
    proba = forest.predict_proba(trees, xb_test)
    ours = ({**binary_scores(data.y_test, proba[:, 1])} if classes == 2
            else {"accuracy": float(np.mean(np.asarray(proba).argmax(1) == data.y_test))})
    out: dict[str, Any] = {"num_bins": bins.num_bins, "features_per_node": settings.features_per_node(xb.shape[1])}
    if config.reference:
        depth = int(config.forest.sklearn_max_depth)
        ref = reference.random_forest(data.x_train, data.y_train, data.x_test, data.y_test,
                                      num_trees=settings.num_trees, max_depth=depth or None,
                                      min_samples_leaf=settings.min_samples_leaf, seed=int(config.seed))
        out.update({f"sklearn_{m}": v for m, v in ref.items()})
    return {**out, **ours}


# name -> run(config, dataset name, split) -> results without the data set's prefix
ALGORITHMS: dict[str, Callable[..., dict[str, Any]]] = {"gbdt": run_gbdt, "forest": run_forest}


def boosting_settings(config: ml_collections.ConfigDict) -> gbdt.BoostingSettings:
    c = config.gbdt
    return gbdt.BoostingSettings(max_iter=c.max_iter, learning_rate=float(c.learning_rate), max_depth=c.max_depth,
                                 l2=float(c.l2), min_samples_leaf=c.min_samples_leaf, min_hessian=float(c.min_hessian),
                                 early_stopping=bool(c.early_stopping), n_iter_no_change=c.n_iter_no_change,
                                 tol=float(c.tol))


def forest_settings(config: ml_collections.ConfigDict, num_features: int) -> forest.ForestSettings:
    c = config.forest
    return forest.ForestSettings(num_trees=c.num_trees, max_depth=c.max_depth, max_features=c.max_features,
                                 min_samples_leaf=c.min_samples_leaf, chunk=c.chunk)


def check_config(config: ml_collections.ConfigDict) -> None:
    """One JaxmlError naming the key for a bad value."""
    choose(ALGORITHMS, config.algorithm, "config.algorithm")
    if not config.datasets:
        raise JaxmlError(f"config.datasets=() is empty; choose from {', '.join(DATASETS)}")
    for name in config.datasets:
        choose(DATASETS, name, "config.datasets")
    check_number(config.test_fraction, "config.test_fraction", 0.05, 0.9)
    check_int(config.num_splits, "config.num_splits", 1)
    check_number(check_int(config.max_bins, "config.max_bins", 2), "config.max_bins", 2, 256)
    if config.algorithm == "gbdt":
        check_number(config.gbdt.validation_fraction, "config.gbdt.validation_fraction", 0.05, 0.5)
        boosting_settings(config).check("config.gbdt.")
    else:
        check_int(config.forest.sklearn_max_depth, "config.forest.sklearn_max_depth", 0)
        forest_settings(config, 1 << 16).check(1 << 16, "config.forest.")


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    check_config(config)
    out: dict[str, Any] = {"algorithm": config.algorithm, "float64": bool(config.float64)}
    for name in config.datasets:
        x, y = DATASETS[name](config)
        with jax.enable_x64(True) if config.float64 else contextlib.nullcontext():
            out.update(run_dataset(config, name, x, y))
    return out


def run_dataset(config: ml_collections.ConfigDict, name: str, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """One data set over `num_splits` stratified splits (split seeds seed, seed + 1, ...): every number
    the mean over the splits, the test accuracies also per split (`<name>_accuracy_per_split`), all
    prefixed `<name>_` (`sklearn_<name>_` for the reference)."""
    if config.algorithm == "forest":
        check_number(config.forest.max_features, "config.forest.max_features", 0, x.shape[1])
    runs = []
    for s in range(int(config.num_splits)):
        split_config = config.copy_and_resolve_references()
        split_config.seed = int(config.seed) + s
        data = split(x, y, float(config.test_fraction), int(split_config.seed))
        result = ALGORITHMS[config.algorithm](split_config, name, data)
        result.update(n_train=len(data.y_train), n_test=len(data.y_test))
        runs.append(result)
    same = lambda m: all(r[m] == runs[0][m] for r in runs)
    out = {m: runs[0][m] if same(m) else float(np.mean([r[m] for r in runs])) for m in runs[0]}
    out["accuracy_per_split"] = [r["accuracy"] for r in runs]
    if "sklearn_accuracy" in out:
        out["sklearn_accuracy_per_split"] = [r["sklearn_accuracy"] for r in runs]
        out["accuracy_abs_diff"] = abs(out["accuracy"] - out["sklearn_accuracy"])
    return {f"sklearn_{name}_{m[8:]}" if m.startswith("sklearn_") else f"{name}_{m}": v for m, v in out.items()}
