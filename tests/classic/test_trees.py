"""Histogram trees: binning as scikit-learn bins, the vectorised split gain against a brute-force split
search, the Gini reading of the gain, a hand-built tree's predictions, the early-stopping rule,
boosting against HistGradientBoostingClassifier on tie-free data, and a small random forest."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.classic import binning, forest, gbdt, trees

pytestmark = pytest.mark.xdist_group("classic_trees")


def test_bins_match_sklearn_bin_mapper():
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper

    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(size=600), rng.integers(0, 7, 600).astype(float), np.round(rng.exponential(size=600), 2)], 1)
    ours = binning.fit_bins(x, 32)
    ref = _BinMapper(n_bins=33).fit(x)
    for j in range(3):
        t = ours.thresholds[j][np.isfinite(ours.thresholds[j])]
        np.testing.assert_allclose(t, ref.bin_thresholds_[j], rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(binning.apply_bins(ours, x)), ref.transform(x))
    assert ours.num_bins == 32 and np.isfinite(ours.thresholds).sum(1).max() <= 31


def brute_force_gains(xb, node, g, h, w, nodes, num_bins, l2, min_leaf, min_hess):
    """Every (node, feature, bin) candidate by direct sums over the points, in float64."""
    out = np.full((nodes, xb.shape[1], num_bins), -np.inf)
    score = lambda G, H: (G ** 2).sum() / (H + l2) if H + l2 > 0 else 0.0
    for v in range(nodes):
        inside = node == v
        G, H = (g * w[:, None])[inside].sum(0), (h * w)[inside].sum()
        for f in range(xb.shape[1]):
            for b in range(num_bins):
                left = inside & (xb[:, f] <= b)
                right = inside & (xb[:, f] > b)
                GL, HL, NL = (g * w[:, None])[left].sum(0), (h * w)[left].sum(), w[left].sum()
                GR, HR, NR = G - GL, H - HL, w[right].sum()
                if NL >= min_leaf and NR >= min_leaf and HL >= min_hess and HR >= min_hess:
                    out[v, f, b] = score(GL, HL) + score(GR, HR) - score(G, H)
    return out


@pytest.mark.parametrize("channels, l2, min_leaf", [(1, 0.5, 3.0), (2, 0.0, 1.0)])
def test_histogram_split_gain_equals_brute_force(channels, l2, min_leaf):
    rng = np.random.default_rng(1)
    n, num_features, num_bins, nodes = 50, 3, 6, 2
    xb = rng.integers(0, num_bins, (n, num_features))
    node = rng.integers(0, nodes, n)
    g, h, w = rng.normal(size=(n, channels)), rng.random(n) + 0.1, rng.integers(0, 3, n).astype(float)
    expected = brute_force_gains(xb, node, g, h, w, nodes, num_bins, l2, min_leaf, 0.2)
    with jax.enable_x64(True):
        stats = jnp.concatenate([jnp.asarray(g * w[:, None]), jnp.asarray(h * w)[:, None], jnp.asarray(w)[:, None]], 1)
        search = jax.jit(lambda xb, node, stats: trees.split_gains(trees.histograms(xb, node, stats, nodes, num_bins),
                                                                   l2, min_leaf, 0.2))
        gains = np.asarray(search(jnp.asarray(xb), jnp.asarray(node), stats))
        feature, threshold, best = jax.jit(trees.best_splits)(jnp.asarray(gains))
    assert np.array_equal(np.isinf(gains), np.isinf(expected))
    np.testing.assert_allclose(gains[np.isfinite(gains)], expected[np.isfinite(expected)], rtol=1e-10, atol=1e-12)
    for v in range(nodes):
        f, b = np.unravel_index(np.argmax(expected[v]), expected[v].shape)
        assert (int(feature[v]), int(threshold[v])) == (f, b) and float(best[v]) == pytest.approx(expected[v].max())


def test_gain_with_one_hot_gradients_is_the_gini_decrease():
    """g = -one-hot, h = 1, lambda = 0: gain = N gini - N_L gini_L - N_R gini_R."""
    rng = np.random.default_rng(2)
    y, xb = rng.integers(0, 3, 40), rng.integers(0, 5, (40, 1))
    gini = lambda labels: len(labels) * (1 - ((np.bincount(labels, minlength=3) / max(len(labels), 1)) ** 2).sum())
    stats = jnp.concatenate([-jax.nn.one_hot(y, 3), jnp.ones((40, 2))], 1)
    gains_of = jax.jit(lambda xb, stats: trees.split_gains(trees.histograms(xb, jnp.zeros(40, jnp.int32), stats, 1, 5),
                                                           0.0, 1.0, 0.0))
    gains = np.asarray(gains_of(jnp.asarray(xb), stats))[0, 0]
    for b in range(4):
        left, right = y[xb[:, 0] <= b], y[xb[:, 0] > b]
        if len(left) and len(right):
            assert gains[b] == pytest.approx(gini(y) - gini(left) - gini(right), rel=1e-5)


def test_hand_built_tree_predictions():
    """Depth 2: root splits feature 1 at bin 3; left child feature 0 at bin 0, right child no split."""
    tree = trees.Tree(feature=jnp.asarray([1, 0, 0]), threshold=jnp.asarray([3, 0, 10]),
                      value=jnp.asarray([[1.0], [2.0], [3.0], [4.0]]))
    xb = jnp.asarray([[0, 0], [1, 3], [0, 4], [5, 9], [2, 2]])
    # [0,0]: f1=0<=3 left, f0=0<=0 left -> leaf 0; [1,3]: left, f0=1>0 right -> leaf 1;
    # [0,4], [5,9]: f1>3 right, no split (all left) -> leaf 2; [2,2]: left then right -> leaf 1
    np.testing.assert_array_equal(np.asarray(trees.leaf_index(tree, xb)), [0, 1, 2, 2, 1])
    np.testing.assert_array_equal(np.asarray(trees.predict(tree, xb))[:, 0], [1.0, 2.0, 3.0, 3.0, 2.0])


def test_pure_node_does_not_split():
    xb = jnp.asarray(np.random.default_rng(3).integers(0, 8, (30, 2)))
    grow = jax.jit(trees.grow_tree, static_argnames=("depth", "num_bins"))
    tree = grow(xb, jnp.full((30, 1), 0.3), jnp.full((30,), 0.21), jnp.ones(30), depth=2, num_bins=8)
    assert (np.asarray(tree.threshold) == 8).all()  # all left everywhere: one leaf holds everything
    np.testing.assert_allclose(np.asarray(tree.value)[0, 0], -0.3 / 0.21, rtol=1e-6)


def sklearn_should_stop(scores, patience, tol):
    if len(scores) < patience + 1:
        return False
    reference = scores[-patience - 1] + tol
    return not any(s > reference for s in scores[-patience:])


def test_early_stopping_rule_is_sklearns():
    rng = np.random.default_rng(4)
    scores = np.cumsum(rng.normal(size=30) * 0.1)
    padded = jnp.asarray(np.concatenate([scores, np.full(5, np.nan)]))
    stop = jax.jit(gbdt.should_stop, static_argnums=(2, 3))
    for count in range(1, 31):
        assert bool(stop(padded, jnp.int32(count), 3, 1e-3)) == sklearn_should_stop(list(scores[:count]), 3, 1e-3)


def test_boosting_matches_hist_gradient_boosting_on_tie_free_data():
    """Continuous features (no ties between features), no early stopping: the same trees, so the same
    decision function up to float32 rounding."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] ** 2 + 0.3 * rng.normal(size=300) > 0.5).astype(np.int32)
    bins = binning.fit_bins(x)
    xb = binning.apply_bins(bins, x)
    settings = gbdt.BoostingSettings(max_iter=8, max_depth=3, early_stopping=False, l2=1.0)
    model = gbdt.fit(xb, jnp.asarray(y), xb[:10], jnp.asarray(y[:10]), settings=settings, num_bins=bins.num_bins)
    ref = HistGradientBoostingClassifier(max_iter=8, max_depth=3, max_leaf_nodes=None, l2_regularization=1.0,
                                         early_stopping=False).fit(x, y)
    assert int(model.n_trees) == 8
    np.testing.assert_allclose(np.asarray(gbdt.decision_function(model, xb)), ref.decision_function(x), atol=2e-4)


def test_small_forest_fits_and_its_trees_differ():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(120, 3))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0.5)).astype(np.int32)
    bins = binning.fit_bins(x, 16)
    xb = binning.apply_bins(bins, x)
    settings = forest.ForestSettings(num_trees=6, max_depth=4, max_features=2, chunk=3)
    model = forest.fit(jax.random.key(0), xb, jnp.asarray(y), settings=settings, num_bins=bins.num_bins, num_classes=2)
    proba = np.asarray(forest.predict_proba(model, xb))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    assert np.mean(proba.argmax(1) == y) > 0.9
    assert model.feature.shape == (6, 15) and len({tuple(np.asarray(f)) for f in model.feature}) > 1
