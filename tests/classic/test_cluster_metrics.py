"""Clustering metrics against sklearn.metrics: ARI and NMI on random label sets and their edge cases,
the silhouette on random data (with a singleton cluster and with zero-weight padding), inertia."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics

from jaxml.classic import cluster_metrics as cm

N, LA, LB = 200, 7, 5  # one shape for every label test: one compilation per dtype


def label_sets():
    rng = np.random.default_rng(0)
    sets = [(rng.integers(0, LA, N), rng.integers(0, LB, N)) for _ in range(6)]
    a = rng.integers(0, LA, N)
    sets.append((a, np.where(rng.random(N) < 0.8, a % LB, rng.integers(0, LB, N))))  # correlated
    sets.append((a, a % LB))                                  # b a coarsening of a
    sets.append((np.zeros(N, int), np.zeros(N, int)))         # both one cluster (sklearn: 1.0)
    sets.append((np.zeros(N, int), rng.integers(0, LB, N)))   # one trivial labeling
    sets.append((a, a))                                       # identical
    sets.append((np.full(N, 3), np.full(N, 4)))               # both one cluster, other ids, empty ids present
    return sets


@pytest.mark.parametrize("x64", [True, False])
def test_ari_and_nmi_match_sklearn(x64):
    """float64: 1e-12. float32: pair counts are exact integers below 2^24 (n = 200) and the ratios are
    O(1), so the float32 rounding of a handful of products and logs bounds the error (1e-5)."""
    tol = 1e-12 if x64 else 1e-5
    with jax.enable_x64(x64):
        for a, b in label_sets():
            ja, jb = jnp.asarray(a, jnp.int32), jnp.asarray(b, jnp.int32)
            np.testing.assert_allclose(float(cm.adjusted_rand_index(ja, jb, LA, LB)), metrics.adjusted_rand_score(a, b),
                                       atol=tol, rtol=0)
            np.testing.assert_allclose(float(cm.normalized_mutual_info(ja, jb, LA, LB)),
                                       metrics.normalized_mutual_info_score(a, b), atol=tol, rtol=0)


def test_ari_all_singletons_and_weights():
    """Every point its own cluster in both labelings (sklearn: 1.0); zero weights drop points."""
    a = np.arange(12)
    assert float(cm.adjusted_rand_index(jnp.asarray(a), jnp.asarray(a[::-1]), 12, 12)) == 1.0
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 4, 40), rng.integers(0, 3, 40)
    w = (np.arange(40) < 31).astype(np.float32)
    ours = cm.adjusted_rand_index(jnp.asarray(a), jnp.asarray(b), 4, 3, jnp.asarray(w))
    np.testing.assert_allclose(float(ours), metrics.adjusted_rand_score(a[:31], b[:31]), atol=1e-6)
    ours = cm.normalized_mutual_info(jnp.asarray(a), jnp.asarray(b), 4, 3, jnp.asarray(w))
    np.testing.assert_allclose(float(ours), metrics.normalized_mutual_info_score(a[:31], b[:31]), atol=1e-6)


@pytest.mark.parametrize("x64", [True, False])
def test_silhouette_matches_sklearn(x64):
    """Random data, 4 clusters, one of them a single point (silhouette 0 there), rows in blocks that do
    not divide n. float32 tolerance: distances from the expansion carry ~1e-7 ||x||^2 / d error (||x||
    ~ 3 here), the means over ~30 points average it down; 2e-5 on s in [-1, 1]."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(97, 5)) + np.repeat(np.eye(5)[:4] * 3, [30, 30, 36, 1], axis=0)
    labels = np.repeat(np.arange(4), [30, 30, 36, 1])
    rng.shuffle(labels)
    ref_samples = metrics.silhouette_samples(x, labels)
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        s = cm.silhouette_samples(jnp.asarray(x, dtype), jnp.asarray(labels), 4, block=32)
        score = cm.silhouette_score(jnp.asarray(x, dtype), jnp.asarray(labels), 4, block=32)
    tol = 1e-12 if x64 else 2e-5
    np.testing.assert_allclose(np.asarray(s), ref_samples, atol=tol)
    np.testing.assert_allclose(float(score), metrics.silhouette_score(x, labels), atol=tol)
    assert float(s[labels == 3][0]) == 0.0


def test_silhouette_ignores_zero_weight_points():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    labels = rng.integers(0, 3, 40)
    w = (np.arange(40) < 33).astype(np.float32)
    score = cm.silhouette_score(jnp.asarray(x, jnp.float32), jnp.asarray(labels), 3, jnp.asarray(w), block=16)
    np.testing.assert_allclose(float(score), metrics.silhouette_score(x[:33], labels[:33]), atol=2e-5)


def test_inertia_matches_numpy():
    rng = np.random.default_rng(4)
    x, c = rng.normal(size=(50, 3)), rng.normal(size=(4, 3))
    labels = rng.integers(0, 4, 50)
    w = rng.random(50)
    expected = np.sum(w * np.sum((x - c[labels]) ** 2, axis=1))
    with jax.enable_x64(True):
        np.testing.assert_allclose(float(cm.inertia(jnp.asarray(x), jnp.asarray(c), jnp.asarray(labels), jnp.asarray(w))),
                                   expected, rtol=1e-12)
