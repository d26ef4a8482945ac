"""The isolation forest against a plain-Python walk of the same tree arrays, c(n) against its
formula, the trees' invariants, its scores' range and its ROC-AUC beside scikit-learn's."""

import math

import jax
import numpy as np
import pytest

from jaxml.classic import iforest, ranking_metrics
from jaxml.errors import JaxmlError


def c_formula(n: int) -> float:
    """Liu et al.'s c(n) = 2 H(n - 1) - 2 (n - 1) / n, H(i) ~ ln i + Euler's constant."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (math.log(n - 1) + 0.5772156649015329) - 2.0 * (n - 1) / n


def with_outliers(n_in: int = 300, n_out: int = 10, dim: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(size=(n_in, dim)), rng.uniform(4.0, 6.0, size=(n_out, dim))
                        * rng.choice([-1.0, 1.0], size=(n_out, dim))])
    return x.astype(np.float32), np.r_[np.zeros(n_in, np.int32), np.ones(n_out, np.int32)]


@pytest.fixture(scope="module")
def small_forest():
    x, _ = with_outliers(54, 10)  # 64 points
    return iforest.fit(jax.random.key(3), x, num_trees=6, subsample=32), x


def test_average_path_length_is_its_formula():
    ns = [0, 1, 2, 3, 4, 7, 10, 100, 256, 1000]
    got = np.asarray(iforest.average_path_length(np.array(ns)))
    np.testing.assert_allclose(got, [c_formula(n) for n in ns], rtol=1e-6, atol=0)
    # c(n) is close to the exact mean unsuccessful-search length 2 H(n - 1) - 2 (n - 1) / n
    exact = 2 * sum(1 / i for i in range(1, 256)) - 2 * 255 / 256
    assert abs(float(iforest.average_path_length(256)) - exact) < 0.01


def test_max_depth_is_ceil_log2():
    assert [iforest.max_depth(s) for s in (2, 3, 4, 100, 256, 257)] == [1, 2, 2, 7, 8, 9]


def test_path_length_matches_a_python_tree_walk(small_forest):
    forest, x = small_forest
    feature, threshold = np.asarray(forest.feature), np.asarray(forest.threshold)
    split, size = np.asarray(forest.split), np.asarray(forest.size)
    got = np.asarray(iforest.path_lengths(forest, x))
    assert got.shape == (64, 6)
    for t in range(6):
        for i in range(64):
            node, edges = 0, 0
            while split[t, node]:
                node = 2 * node + (1 if x[i, feature[t, node]] < threshold[t, node] else 2)
                edges += 1
            assert edges <= forest.depth
            assert got[i, t] == pytest.approx(edges + c_formula(int(size[t, node])), rel=1e-6)


def test_trees_are_consistent(small_forest):
    """Root size psi, split nodes' sizes shared by their children, leaves holding all psi points, and
    splits only where 2 or more points arrived and the depth limit allows."""
    forest, _ = small_forest
    split, size = np.asarray(forest.split), np.asarray(forest.size)
    depth = forest.depth
    assert depth == 5 and split.shape == (6, 2 ** (depth + 1) - 1)
    assert np.all(size[:, 0] == 32)
    inner = np.flatnonzero(np.arange(split.shape[1]) < 2 ** depth - 1)
    for t in range(6):
        for node in inner:
            if split[t, node]:
                assert size[t, node] >= 2
                assert size[t, 2 * node + 1] + size[t, 2 * node + 2] == size[t, node]
                assert size[t, 2 * node + 1] >= 1 and size[t, 2 * node + 2] >= 1
            else:
                assert not split[t, 2 * node + 1] and not split[t, 2 * node + 2]
        assert not np.any(split[t, 2 ** depth - 1:])  # the last level is all leaves
        reached = np.zeros_like(split[t])
        reached[0] = True
        for node in inner:
            if split[t, node]:
                reached[2 * node + 1] = reached[2 * node + 2] = True
        assert np.sum(size[t][reached & ~split[t]]) == 32


def test_constant_features_are_never_split():
    x = np.zeros((40, 3), np.float32)
    x[:, 1] = np.arange(40)
    forest = iforest.fit(jax.random.key(0), x, num_trees=4, subsample=16)
    assert np.all(np.asarray(forest.feature)[np.asarray(forest.split)] == 1)
    same = iforest.fit(jax.random.key(0), np.ones((20, 2), np.float32), num_trees=2, subsample=8)
    assert not np.any(np.asarray(same.split))  # nothing to split: every point in the root leaf
    np.testing.assert_allclose(np.asarray(iforest.path_lengths(same, np.ones((3, 2), np.float32))), c_formula(8),
                               rtol=1e-6)


def test_scores_are_in_range_and_outliers_score_higher():
    x, y = with_outliers()
    s = np.asarray(iforest.score(iforest.fit(jax.random.key(0), x, 100, 256), x))
    assert np.all(s > 0) and np.all(s <= 1)
    assert s[y == 1].min() > np.quantile(s[y == 0], 0.99) and s[y == 1].mean() > 0.6 > s[y == 0].mean()


def test_roc_auc_close_to_sklearn_isolation_forest():
    """Harder toy set (outliers near the inliers' edge): mean ROC-AUC over 3 seeds within 0.02."""
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=(300, 3)), rng.normal(size=(10, 3)) * 0.5 + 2.0]).astype(np.float32)
    y = np.r_[np.zeros(300, np.int32), np.ones(10, np.int32)]
    ours = [float(ranking_metrics.roc_auc(y, iforest.score(iforest.fit(jax.random.key(s), x, 100, 256), x)))
            for s in range(3)]
    theirs = [float(ranking_metrics.roc_auc(y, -IsolationForest(n_estimators=100, max_samples=256, random_state=s)
                                            .fit(x).score_samples(x).astype(np.float32))) for s in range(3)]
    assert 0.8 < np.mean(theirs) < 0.99  # not a trivial set
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.02, (ours, theirs)


@pytest.mark.parametrize("trees, subsample, needle", [
    (0, 16, "n_trees must be an int >= 1"),
    (2.5, 16, "n_trees must be an int >= 1"),
    (4, 1, "subsample must be an int >= 2"),
    (4, 100, "subsample=100 must be <= the number of points (64)"),
])
def test_bad_arguments_are_one_error_naming_the_argument(trees, subsample, needle):
    with pytest.raises(JaxmlError, match=None) as err:
        iforest.fit(jax.random.key(0), np.zeros((64, 2), np.float32), trees, subsample)
    assert needle in str(err.value)
