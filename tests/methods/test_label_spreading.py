"""Label spreading / propagation: the iteration matrix on the neighbour lists equals scikit-learn's
graph, the iteration reproduces LabelSpreading's / LabelPropagation's label distributions on the same
graph, vmapping over label sets changes nothing, and the digits experiment (tiny) matches scikit-learn."""

import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.semi_supervised import LabelPropagation, LabelSpreading

from jaxml.classic import label_spreading as lsp, spectral
from jaxml.defaults.few_labels import label_spreading_config
from jaxml.errors import JaxmlError
from jaxml.methods import label_spreading, label_spreading_reference

ESTIMATORS = {"spreading": (LabelSpreading, {"alpha": 0.2, "max_iter": 30}),
              "propagation": (LabelPropagation, {"max_iter": 200})}


def points(n=120, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 5)) * 3
    y = rng.integers(0, 3, n)
    labels = np.full(n, -1)
    labels[:12] = y[:12]
    return centres[y] + rng.normal(size=(n, 5)), y, labels


def dense(neighbours, weights):
    n = len(neighbours)
    s = np.zeros((n, n))
    s[np.arange(n)[:, None], neighbours] = weights
    return s


@pytest.mark.parametrize("variant", ["spreading", "propagation"])
def test_matches_sklearn_graph_and_distributions(variant):
    x, _, labels = points()
    neighbours = spectral.knn_indices(jnp.asarray(x, jnp.float32), 7)
    np.testing.assert_array_equal(np.sort(np.asarray(neighbours), 1),
                                  np.sort(label_spreading_reference.knn_indices(x, 7), 1))
    estimator, kw = ESTIMATORS[variant]
    model = estimator(kernel="knn", n_neighbors=7, tol=1e-3, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, labels)
    weights = lsp.VARIANTS[variant].weights(neighbours)
    np.testing.assert_allclose(dense(np.asarray(neighbours), np.asarray(weights)), model._build_graph().toarray(),
                               atol=1e-6)
    spread = lsp.propagate_labels(neighbours, jnp.asarray(labels), variant=variant, num_classes=3, alpha=0.2,
                                  max_iter=kw["max_iter"], tol=1e-3)
    assert int(spread.n_iter) == model.n_iter_
    np.testing.assert_allclose(np.asarray(spread.distributions), model.label_distributions_, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(spread.labels), model.transduction_)
    # a batch of label sets: each the same as alone, stopping at its own iteration
    other = np.where(np.arange(len(labels)) < 30, labels, -1)
    other[12:30] = points()[1][12:30]
    batch = lsp.propagate_labels(neighbours, jnp.asarray(np.stack([labels, other])), variant=variant, num_classes=3,
                                 alpha=0.2, max_iter=kw["max_iter"], tol=1e-3)
    np.testing.assert_allclose(np.asarray(batch.distributions[0]), np.asarray(spread.distributions), atol=1e-6)
    assert int(batch.n_iter[0]) == int(spread.n_iter)


def tiny(**kw):
    c = label_spreading_config()
    c.num_points, c.num_seeds, c.label_counts = 300, 2, (20,)
    c.max_iter.propagation = 100
    c.update(kw)
    return c


def test_digits_experiment_matches_sklearn(tmp_path):
    out = label_spreading.train(tiny(), tmp_path)
    for v in ("spreading", "propagation"):
        assert 0.5 < out[f"{v}_accuracy_20"] <= 1.0
        assert out[f"{v}_accuracy_abs_diff_max"] <= 0.02
        assert out[f"{v}_sklearn_graph_accuracy_abs_diff_max"] <= 0.01
    sets = label_spreading.labelled_sets(np.repeat(np.arange(10), 5), [20], 0, 2, 10)
    assert (np.bincount(sets[0, 0][sets[0, 0] >= 0], minlength=10) == 2).all()


@pytest.mark.parametrize("key,value,match", [("variants", ("spread",), "config.variants"),
                                             ("label_counts", (25,), "config.label_counts"),
                                             ("alpha", 1.5, "config.alpha")])
def test_bad_config_names_the_key(tmp_path, key, value, match):
    with pytest.raises(JaxmlError, match=match):
        label_spreading.train(tiny(**{key: value}), tmp_path)
