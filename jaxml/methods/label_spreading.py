"""Label spreading and label propagation on sklearn's digits from 50 and 100 labels
(`jaxml/classic/label_spreading.py`), beside scikit-learn's LabelSpreading / LabelPropagation.

`train(config, workdir)` takes all digits (raw pixel counts; the kNN graph does not depend on the
scale), draws per label count and seed a stratified labelled set (count / classes points of each class,
numpy's default_rng(seed + s)), builds the kNN connectivity once, and runs every variant of
`config.variants` on all label sets in one vmapped, jitted iteration. Its results, per variant v and
label count L:
- `{v}_accuracy_{L}` / `{v}_accuracy_{L}_std`: accuracy on the unlabelled points, mean / std over seeds;
- with `config.reference`: `sklearn_{v}_accuracy_{L}` (scikit-learn on the same points and labels, its
  own kNN graph), `{v}_accuracy_abs_diff_max` (the largest |jaxml - sklearn| over seeds and label
  counts: the target), `{v}_label_agreement` (the fraction of points both label alike, over all runs),
  `{v}_sklearn_graph_accuracy_abs_diff_max` (jaxml's iteration on scikit-learn's connectivity: the
  difference left once the graphs agree), and `graph_entries_differing` (the two connectivities differ
  only where neighbours tie in distance).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.classic import label_spreading as lsp, spectral
from jaxml.core.config import check_int, check_number
from jaxml.core.registry import choose
from jaxml.data.datasets import per_class_indices
from jaxml.errors import JaxmlError
from jaxml.methods import label_spreading_reference as reference


def digits(num_points: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's digits as float64 pixel counts [n, 64] and labels [n] (the first `num_points`, 0 = all)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    if num_points:
        x, y = x[:num_points], y[:num_points]
    return x.astype(np.float64), y.astype(np.int32)


def labelled_sets(y: np.ndarray, counts, seed: int, num_seeds: int, num_classes: int) -> np.ndarray:
    """[len(counts), num_seeds, n] labels with -1 for the unlabelled points: count / num_classes points of
    each class drawn by default_rng(seed + s)."""
    out = np.full((len(counts), num_seeds, len(y)), -1, np.int32)
    for ci, count in enumerate(counts):
        for s in range(num_seeds):
            members = per_class_indices(y, count // num_classes, num_classes, seed + s)
            out[ci, s, members] = y[members]
    return out


def connectivity_entries_differing(a: np.ndarray, b: np.ndarray) -> int:
    """The entries in which the [n, n] connectivities of the neighbour lists a and b [n, k] differ."""
    rows = np.arange(len(a))[:, None]
    dense_a, dense_b = np.zeros((len(a), len(a)), bool), np.zeros((len(b), len(b)), bool)
    dense_a[rows, a], dense_b[rows, b] = True, True
    return int(np.sum(dense_a != dense_b))


def accuracies(pred: np.ndarray, labels: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[...] accuracy of pred [..., n] on the points unlabelled in labels [..., n]."""
    unlabelled = labels < 0
    return np.sum((pred == y) & unlabelled, axis=-1) / np.sum(unlabelled, axis=-1)


def check_config(config: ml_collections.ConfigDict, y: np.ndarray, num_classes: int) -> None:
    if config.dataset != "digits":
        raise JaxmlError(f"config.dataset={config.dataset!r} is not valid; choose one of digits")
    if not config.variants:
        raise JaxmlError(f"config.variants=() is empty; choose from {', '.join(lsp.VARIANTS)}")
    for v in config.variants:
        choose(lsp.VARIANTS, v, "config.variants")
        check_int(config.max_iter[v], f"config.max_iter.{v}", 1)
    check_int(config.num_seeds, "config.num_seeds", 1)
    check_int(config.n_neighbors, "config.n_neighbors", 1)
    if config.n_neighbors > len(y):
        raise JaxmlError(f"config.n_neighbors={config.n_neighbors} must be <= the number of points ({len(y)})")
    check_number(config.alpha, "config.alpha", 0.0, 1.0)
    check_number(config.tol, "config.tol", 0.0)
    smallest = int(np.bincount(y, minlength=num_classes).min())
    for count in config.label_counts:
        check_int(count, "config.label_counts", num_classes)
        if count % num_classes or count // num_classes >= smallest:
            raise JaxmlError(f"config.label_counts has {count}: use a multiple of the {num_classes} classes below "
                             f"{num_classes * smallest} (the smallest class has {smallest} points)")


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    check_int(config.num_points, "config.num_points", 0)
    x, y = digits(int(config.num_points))
    num_classes = int(y.max()) + 1
    check_config(config, y, num_classes)
    counts = [int(c) for c in config.label_counts]
    sets = labelled_sets(y, counts, int(config.seed), int(config.num_seeds), num_classes)
    k, alpha, tol = int(config.n_neighbors), float(config.alpha), float(config.tol)
    out: dict[str, Any] = {"num_points": len(y), "n_neighbors": k, "alpha": alpha, "num_seeds": int(config.num_seeds)}
    with jax.enable_x64(True) if config.float64 else contextlib.nullcontext():
        dtype = jnp.float64 if config.float64 else jnp.float32
        neighbours = spectral.knn_indices(jnp.asarray(x, dtype), k)
        sk_neighbours = reference.knn_indices(x, k) if config.reference else None
        if sk_neighbours is not None:
            out["graph_entries_differing"] = connectivity_entries_differing(np.asarray(neighbours), sk_neighbours)
        for v in config.variants:
            max_iter = int(config.max_iter[v])
            run = lambda nb: lsp.propagate_labels(nb, jnp.asarray(sets), variant=v, num_classes=num_classes,
                                                  alpha=alpha, max_iter=max_iter, tol=tol)
            spread = run(neighbours)
            pred = np.asarray(spread.labels)
            acc = accuracies(pred, sets, y)  # [counts, seeds]
            out[f"{v}_n_iter_max"] = int(np.max(spread.n_iter))
            for ci, count in enumerate(counts):
                out[f"{v}_accuracy_{count}"] = float(acc[ci].mean())
                out[f"{v}_accuracy_{count}_std"] = float(acc[ci].std())
            if sk_neighbours is None:
                continue
            refs = [[reference.transduction(v, x, sets[ci, s], k, alpha, max_iter, tol) for s in range(sets.shape[1])]
                    for ci in range(len(counts))]
            sk_pred = np.asarray([[r["labels"] for r in row] for row in refs])
            sk_acc = accuracies(sk_pred, sets, y)
            for ci, count in enumerate(counts):
                out[f"sklearn_{v}_accuracy_{count}"] = float(sk_acc[ci].mean())
            out[f"{v}_accuracy_abs_diff_max"] = float(np.abs(acc - sk_acc).max())
            out[f"{v}_label_agreement"] = float(np.mean(pred == sk_pred))
            on_sk = accuracies(np.asarray(run(jnp.asarray(sk_neighbours, jnp.int32)).labels), sets, y)
            out[f"{v}_sklearn_graph_accuracy_abs_diff_max"] = float(np.abs(on_sk - sk_acc).max())
    return out
