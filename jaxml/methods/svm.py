"""Support vector machine experiments: a linear SVM and an RBF SVM through random Fourier (or
Nystroem) features (`jaxml/classic/svm.py`), each beside its scikit-learn reference, on a dataset of
`DATASETS`:

- "digits": sklearn's 1797 x 64 digits in a stratified train / test split (per class, the first
  round(test_fraction * n_class) points of a seeded permutation are test points), both standardised
  with the training set's per-feature mean and std (constant features left at 0);
- "kjv_genre": TF-IDF features (`classic/tfidf.py`, fitted on the training passages only) of KJV
  passages of `config.text.verses_per_passage` verses labelled by their book's genre
  (`data/genre_passages.py`; without the KJV text, Python's stdlib sources labelled by package, with
  a warning line); whole chapters are held out, stratified by genre. The scikit-learn references
  get the TF-IDF matrix as a scipy CSR matrix (the same numbers; libsvm is much faster on it).

`train(config, workdir)` loads the split, resolves gamma ("scale": 1 / (n_features * X_train.var()),
as sklearn's SVC) and, per kernel of `config.kernels`, maps the points through the kernel's features,
fits the one-vs-rest SVM and records its test accuracy and objective f (summed over the one-vs-rest
problems).

With `config.reference` (`svm_reference.py`):
- `LinearSVC` on the same features (the raw points for "linear", the same random Fourier / Nystroem
  features for "rbf" / "nystroem"), same C, loss and intercept: its weights are scored by jaxml's f in float64
  (`<kernel>_objective_excess` = (f_jaxml - f_sklearn) / f_sklearn, <= 0 when jaxml's solution is the
  better one) and their decision values compared (`<kernel>_decision_max_abs_diff`);
- the accuracy target's reference: `LinearSVC` on the raw points for "linear" and `SVC(kernel="rbf")`,
  the exact kernel, same C and gamma, for the RBF approximations (`sklearn_<kernel>_accuracy`,
  `<kernel>_accuracy_abs_diff`); for those also the difference from LinearSVC on the same features
  (`<kernel>_features_accuracy_abs_diff`), which isolates the solver from the approximation.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.classic import svm, tfidf
from jaxml.core.config import check_int, check_number
from jaxml.core.registry import choose
from jaxml.data import genre_passages
from jaxml.errors import JaxmlError
from jaxml.methods import svm_reference as reference


class Split(NamedTuple):
    x_train: np.ndarray  # standardised float64
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices), both sorted: per class, round(test_fraction * n_class) test points
    taken from a permutation drawn with numpy's default_rng(seed)."""
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        test.append(members[:int(round(test_fraction * len(members)))])
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(y)), test_idx), test_idx


def standardised(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both scaled with the training set's per-feature mean and std (std 0 -> 1)."""
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.where(std == 0, 1.0, std)
    return (x_train - mean) / std, (x_test - mean) / std


def digits_split(test_fraction: float, seed: int) -> Split:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    train_idx, test_idx = stratified_split(y, test_fraction, seed)
    x_train, x_test = standardised(x[train_idx].astype(np.float64), x[test_idx].astype(np.float64))
    return Split(x_train, y[train_idx].astype(np.int32), x_test, y[test_idx].astype(np.int32))


class Loaded(NamedTuple):
    split: Split
    num_classes: int
    info: dict[str, Any]  # recorded in the result


def digits_data(config: ml_collections.ConfigDict) -> Loaded:
    split = digits_split(float(config.test_fraction), int(config.seed))
    return Loaded(split, int(split.y_train.max()) + 1, {})


def tfidf_options(config: ml_collections.ConfigDict) -> tfidf.TfidfOptions:
    t = config.text
    return tfidf.TfidfOptions(lowercase=bool(t.lowercase), min_df=t.min_df, max_df=t.max_df,
                              max_features=t.max_features, sublinear_tf=bool(t.sublinear_tf),
                              smooth_idf=bool(t.smooth_idf), norm=t.norm)


def text_data(config: ml_collections.ConfigDict) -> Loaded:
    """TF-IDF of KJV genre passages (or the stdlib fallback), whole chapters held out per genre."""
    passages = genre_passages.load_passages(config.text.verses_per_passage, fallback=bool(config.corpus_fallback))
    train_idx, test_idx = genre_passages.held_out_groups(passages, float(config.test_fraction), int(config.seed))
    train_docs = [passages.texts[i] for i in train_idx]
    model = tfidf.fit(train_docs, tfidf_options(config), prefix="config.text.")
    dtype = jnp.float64 if config.float64 else jnp.float32
    with jax.enable_x64(True) if config.float64 else contextlib.nullcontext():
        x_train = np.asarray(tfidf.transform(model, train_docs, dtype), np.float64)
        x_test = np.asarray(tfidf.transform(model, [passages.texts[i] for i in test_idx], dtype), np.float64)
    split = Split(x_train, passages.labels[train_idx], x_test, passages.labels[test_idx])
    info = {"corpus": passages.corpus, "classes": list(passages.label_names), "vocabulary": len(model.terms),
            "n_passages": len(passages.texts), "n_test_chapters": int(len(np.unique(passages.groups[test_idx]))),
            "train_density": float(np.mean(x_train > 0))}
    return Loaded(split, len(passages.label_names), info)


class Dataset(NamedTuple):
    load: Callable[[ml_collections.ConfigDict], Loaded]
    sparse: bool  # the references get scipy CSR matrices of the raw features


DATASETS: dict[str, Dataset] = {"digits": Dataset(digits_data, sparse=False),
                                "kjv_genre": Dataset(text_data, sparse=True)}


def reference_input(x: np.ndarray, sparse: bool) -> Any:
    if not sparse:
        return x
    from scipy import sparse as scipy_sparse

    return scipy_sparse.csr_matrix(x)


def parse_gamma(value: Any) -> str | float:
    """config.kernel_gamma as "scale" or a number > 0 (an override of the "scale" default arrives as a
    string: "0.5" is the number 0.5)."""
    if isinstance(value, str) and value != "scale":
        try:
            value = float(value)
        except ValueError:
            raise JaxmlError(f"config.kernel_gamma={value!r} is not valid; use \"scale\" or a number > 0") from None
    return value if value == "scale" else svm.check_positive(value, "config.kernel_gamma")


def resolve_gamma(value: Any, x_train: np.ndarray) -> float:
    """"scale" -> 1 / (n_features * X_train.var()) (sklearn's SVC default); a number > 0 as it is."""
    gamma = parse_gamma(value)
    return float(1.0 / (x_train.shape[1] * x_train.var())) if gamma == "scale" else gamma


def objective_sum(weights: jax.Array, x_aug: jax.Array, targets: jax.Array, C: float) -> float:
    """f summed over the one-vs-rest problems, in float64."""
    with jax.enable_x64(True):
        w, xa, t = (jnp.asarray(np.asarray(a, np.float64)) for a in (weights, x_aug, targets))
        return float(jnp.sum(jax.vmap(lambda wk, tk: svm.objective(wk, xa, tk, C))(w, t)))


def exact_reference(split: Split, C: float, gamma: float, sparse: bool) -> Callable[[], dict[str, Any]]:
    """The exact-kernel SVC's fit, computed once however many kernel approximations ask for it."""
    return functools.cache(lambda: reference.rbf_svc(reference_input(split.x_train, sparse), split.y_train,
                                                     reference_input(split.x_test, sparse), split.y_test, C, gamma))


def run_kernel(config: ml_collections.ConfigDict, name: str, split: Split, gamma: float,
               num_classes: int, sparse: bool = False,
               exact: Callable[[], dict[str, Any]] | None = None) -> dict[str, Any]:
    kernel = svm.KERNELS[name]
    C, fit_intercept, scaling = float(config.C), bool(config.fit_intercept), float(config.intercept_scaling)
    dtype = jnp.float64 if config.float64 else jnp.float32
    key = jax.random.fold_in(jax.random.key(int(config.seed)), list(svm.KERNELS).index(name))
    params = kernel.make(key, jnp.asarray(split.x_train, dtype), num_features=int(config.num_features), gamma=gamma,
                         dtype=dtype)
    z_train = kernel.apply(params, jnp.asarray(split.x_train, dtype))
    z_test = kernel.apply(params, jnp.asarray(split.x_test, dtype))
    model = svm.fit(z_train, jnp.asarray(split.y_train), num_classes, C, tol=float(config.tol),
                    max_iter=int(config.max_iter), memory_size=int(config.memory_size), fit_intercept=fit_intercept,
                    intercept_scaling=scaling)
    accuracy = float(np.mean(np.asarray(svm.predict(model, z_test)) == split.y_test))
    x_aug = np.asarray(svm.augment(z_train, fit_intercept, scaling), np.float64)
    targets = np.asarray(svm.one_vs_rest(jnp.asarray(split.y_train), num_classes, jnp.float32))
    objective = objective_sum(svm.weights(model, fit_intercept, scaling), x_aug, targets, C)
    out: dict[str, Any] = {f"{name}_accuracy": accuracy, f"{name}_objective": objective,
                           f"{name}_n_iter_max": int(jnp.max(model.n_iter)),
                           f"{name}_grad_ratio_max": float(jnp.max(model.grad_ratio))}
    if not config.reference:
        return out
    zt, zs = np.asarray(z_train, np.float64), np.asarray(z_test, np.float64)
    raw = not kernel.uses_gamma  # the linear kernel's features are the points themselves
    same = reference.linear_svc(reference_input(zt, sparse and raw), split.y_train, reference_input(zs, sparse and raw),
                                split.y_test, C, fit_intercept, scaling, int(config.seed))
    ref_objective = objective_sum(same["weights"], x_aug, targets, C)
    ours_w = np.asarray(svm.weights(model, fit_intercept, scaling), np.float64)
    x_test_aug = np.asarray(svm.augment(jnp.asarray(zs), fit_intercept, scaling), np.float64)
    out[f"sklearn_{name}_objective"] = ref_objective
    out[f"{name}_objective_excess"] = (objective - ref_objective) / ref_objective
    out[f"{name}_decision_max_abs_diff"] = float(np.abs(x_test_aug @ (ours_w - same["weights"]).T).max())
    if not kernel.uses_gamma:  # linear: the target is LinearSVC on the raw points
        target = same["accuracy"]
    else:
        out[f"sklearn_{name}_features_linear_svc_accuracy"] = same["accuracy"]
        out[f"{name}_features_accuracy_abs_diff"] = abs(accuracy - same["accuracy"])
        fitted = (exact or exact_reference(split, C, gamma, sparse))()
        target = fitted["accuracy"]
        out[f"sklearn_{name}_n_support"] = fitted["n_support"]
    out[f"sklearn_{name}_accuracy"] = target
    out[f"{name}_accuracy_abs_diff"] = abs(accuracy - target)
    return out


def check_config(config: ml_collections.ConfigDict, num_train: int) -> None:
    """One JaxmlError naming the key for a bad value (num_train: the training points)."""
    if not config.kernels:
        raise JaxmlError(f"config.kernels=() is empty; choose from {', '.join(svm.KERNELS)}")
    for name in config.kernels:
        choose(svm.KERNELS, name, "config.kernels")
    gamma = parse_gamma(config.kernel_gamma)
    gamma = 1.0 if gamma == "scale" else gamma  # "scale" is resolved with the data
    for name in config.kernels:
        svm.check_args(name, config.C, gamma, config.num_features, config.tol, config.max_iter, prefix="config.",
                       gamma_key="kernel_gamma", num_points=num_train)
    svm.check_positive(config.intercept_scaling, "config.intercept_scaling")
    check_int(config.memory_size, "config.memory_size", 1)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    dataset = choose(DATASETS, config.dataset, "config.dataset")
    check_number(config.test_fraction, "config.test_fraction", 0.01, 0.99)
    split, num_classes, info = dataset.load(config)
    check_config(config, len(split.y_train))
    gamma = resolve_gamma(config.kernel_gamma, split.x_train)
    out: dict[str, Any] = {"n_train": len(split.y_train), "n_test": len(split.y_test), "C": float(config.C),
                           "gamma": gamma, "num_features": int(config.num_features), "float64": bool(config.float64),
                           **info}
    exact = exact_reference(split, float(config.C), gamma, dataset.sparse)
    with jax.enable_x64(True) if config.float64 else contextlib.nullcontext():
        for name in config.kernels:
            out.update(run_kernel(config, name, split, gamma, num_classes, dataset.sparse, exact))
    return out
