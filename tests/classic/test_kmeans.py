"""k-means: the D^2 weighting of k-means++ seeding (chi-square), the greedy step and the seeding's
potential against scikit-learn's kmeans_plusplus, a Lloyd step (with an empty-cluster relocation)
against a numpy reference, the blocked step against the one-matrix step (every nearest-centre and sums
strategy), the two-minimum nearest centre against argmin and float64, Lloyd from the same seeding
against scikit-learn's KMeans, the final inertia on blobs, 8 devices = 1, mini-batch k-means, and
argument errors."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from scipy import stats
from sklearn.cluster import KMeans, kmeans_plusplus

from cluster_data import blobs
from jaxml.classic import kmeans as km, minibatch
from jaxml.classic.points import make_points
from jaxml.core import sharding
from jaxml.errors import JaxmlError

pytestmark = pytest.mark.xdist_group("classic_kmeans")


def sq(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)


def test_plusplus_second_centre_follows_d2_weighting():
    """Greedy trials off (n_local_trials=1): P(first = i, second = j) = w_i / W * w_j D2_ij / sum_l w_l D2_il.
    20000 seedings; chi-square over the non-empty cells; zero-weight (padding) points are never drawn."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 2)).astype(np.float32)
    w = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 0.5, 0.0, 0.0], np.float32)  # the last two: padding
    keys = jax.random.split(jax.random.key(0), 20000)
    idx = np.asarray(jax.jit(jax.vmap(lambda k: km.kmeans_plusplus(k, jnp.asarray(x), jnp.asarray(w), 2, 1)[1]))(keys))
    d2 = sq(x.astype(np.float64), x.astype(np.float64))
    expected = (w / w.sum())[:, None] * (w[None, :] * d2) / (w[None, :] * d2).sum(1, keepdims=True).clip(1e-300)
    expected = np.nan_to_num(expected) * len(keys)
    observed = np.zeros_like(expected)
    np.add.at(observed, (idx[:, 0], idx[:, 1]), 1)
    assert observed[expected == 0].sum() == 0  # never a padding point, never the first centre twice
    cells = expected > 0
    chi2 = (((observed - expected) ** 2)[cells] / expected[cells]).sum()
    assert chi2 < stats.chi2.ppf(0.999, cells.sum() - 1), chi2


def test_greedy_step_matches_numpy_rule():
    """Candidates by inverting cumsum(w D^2) at u * potential (scikit-learn's searchsorted), the one
    with the lowest resulting potential kept."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3))
    w = rng.random(40) + 0.1
    closest = sq(x, x[[3]])[:, 0]
    step = jax.jit(km.plusplus_step)
    for s in range(5):
        u = rng.random(4)
        cum = np.cumsum(w * closest)
        cand = np.searchsorted(cum, u * cum[-1], side="right")
        d2 = np.minimum(closest[None], sq(x[cand], x))
        pots = d2 @ w
        with jax.enable_x64(True):
            chosen, new_closest, pot = step(jnp.asarray(x), jnp.sum(jnp.asarray(x) ** 2, 1), jnp.asarray(w),
                                                        jnp.asarray(closest), jnp.asarray(u))
        assert int(chosen) == cand[np.argmin(pots)]
        np.testing.assert_allclose(float(pot), pots.min(), rtol=1e-10)
        np.testing.assert_allclose(np.asarray(new_closest), d2[np.argmin(pots)], rtol=1e-9, atol=1e-9)


def test_seeding_potential_distribution_matches_sklearn():
    """The potential of a k-means++ seeding (default greedy trials) over 200 seeds, jaxml vs
    sklearn.cluster.kmeans_plusplus: a two-sample Kolmogorov-Smirnov test."""
    x, _ = blobs()
    x = x[:, :2] * np.array([1.0, 0.3])  # overlap the blobs a little: seedings differ more
    pot = lambda c: sq(x, c).min(1).sum()
    ref = np.array([pot(kmeans_plusplus(x, 6, random_state=s)[0]) for s in range(200)])
    xs = jnp.asarray(x, jnp.float32)
    seeds = jax.jit(jax.vmap(lambda k: km.kmeans_plusplus(k, xs, jnp.ones(len(x)), 6)[0]))(
        jax.random.split(jax.random.key(1), 200))
    ours = np.array([pot(np.asarray(c, np.float64)) for c in seeds])
    assert stats.ks_2samp(ref, ours).pvalue > 1e-3


def test_random_seeding_distinct_and_never_padding():
    w = jnp.asarray([1.0] * 10 + [0.0] * 6)
    idx = jax.vmap(lambda k: km.random_seeding(k, jnp.zeros((16, 2)), w, 10)[1])(jax.random.split(jax.random.key(0), 50))
    idx = np.asarray(idx)
    assert idx.max() < 10 and all(len(set(row)) == 10 for row in idx)


def numpy_lloyd_step(x, w, centers):
    """scikit-learn's Lloyd iteration, loops and all: assign, weighted sums, relocate empty clusters
    to the farthest points, average (an emptied cluster goes to the heaviest one's centre)."""
    k = len(centers)
    d2 = sq(x, centers)
    labels = d2.argmin(1)
    dist = d2[np.arange(len(x)), labels]
    sums, counts = np.zeros_like(centers), np.zeros(k)
    for i, c in enumerate(labels):
        sums[c] += w[i] * x[i]
        counts[c] += w[i]
    empty = np.flatnonzero(counts == 0)
    far = np.argsort(-dist, kind="stable")[:len(empty)]
    for e, p in zip(empty, far):
        sums[labels[p]] -= w[p] * x[p]
        counts[labels[p]] -= w[p]
        sums[e], counts[e] = w[p] * x[p], w[p]
    heaviest = counts.argmax()
    new = np.where(counts[:, None] > 0, sums / np.where(counts > 0, counts, 1)[:, None], sums[heaviest] / counts[heaviest])
    return new, labels


def test_lloyd_step_matches_numpy_reference_with_empty_clusters():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 3))
    w = rng.random(60) + 0.5
    centers = np.concatenate([x[:3], [[50.0, 50.0, 50.0], [-40.0, 0.0, 0.0]]])  # two far centres: empty
    expected, labels = numpy_lloyd_step(x, w, centers)
    with jax.enable_x64(True):
        xj = jnp.asarray(x)
        new, got_labels, shift = km.lloyd_step(xj, jnp.sum(xj ** 2, 1), jnp.asarray(w), jnp.asarray(centers))
    np.testing.assert_array_equal(np.asarray(got_labels), labels)
    np.testing.assert_allclose(np.asarray(new), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(float(shift), ((expected - centers) ** 2).sum(), rtol=1e-10)
    assert sq(np.asarray(new)[3:], x).min(1).max() < 1e-20  # the empty clusters now sit on data points


def unblocked_step(x, x_sq, w, centers):
    """The Lloyd step on the whole [n, k] distance matrix at once (the step before blocking)."""
    k = centers.shape[0]
    labels, dist_sq = km.assign(x, x_sq, centers)
    sums, counts = km.cluster_sums(x, w, labels, k)
    sums, counts = km.relocate_empty(x, w, labels, dist_sq, sums, counts)
    safe = jnp.where(counts > 0, counts, 1.0)
    new = jnp.where((counts > 0)[:, None], sums / safe[:, None], sums[jnp.argmax(counts)] / safe[jnp.argmax(counts)])
    return new, labels


@pytest.mark.parametrize("block_size, shards, nearest, sums", [
    (16, 1, None, None), (1000, 1, None, None), (8, 4, None, None), (16, 4, "two_mins", "one_hot"),
])
def test_blocked_step_equals_unblocked(block_size, shards, nearest, sums):
    """n = 204 (not a multiple of any block here; zero-weight rows as point padding): blocked labels,
    centres and inertia are those of the one-matrix step, for several block sizes, shard layouts and
    strategies (None: the plan's for k), one far centre left empty (the relocation sees the points in
    their original order)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(204, 5))
    w = np.where(np.arange(204) < 201, rng.random(204) + 0.5, 0.0)
    centers = np.concatenate([x[:6], [[30.0] * 5]])
    with jax.enable_x64(True):
        xj, wj, cj = jnp.asarray(x), jnp.asarray(w), jnp.asarray(centers)
        x_sq = jnp.sum(xj ** 2, 1)
        ref_new, ref_labels = unblocked_step(xj, x_sq, wj, cj)
        blocks = km.to_blocks(xj, x_sq, wj, 7, shards, block_size, nearest, sums)
        new, labels, _ = km.blocked_step(blocks, cj)
        labels = blocks.unblock(labels)
        if nearest is None:  # lloyd_step is the same step
            np.testing.assert_array_equal(np.asarray(km.lloyd_step(xj, x_sq, wj, cj, block_size, shards)[1]),
                                          np.asarray(labels))
        assert blocks.x.shape[1] % blocks.rows == 0 and blocks.x.shape[1] >= 204 // shards
        got_labels, dist, _, _, inertia = km.assign_blocked(blocks, cj)
        ref_d2 = sq(x, centers).min(1)
    np.testing.assert_array_equal(np.asarray(labels)[:201], np.asarray(ref_labels)[:201])
    np.testing.assert_allclose(np.asarray(new), np.asarray(ref_new), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(float(inertia), (w * ref_d2).sum(), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(blocks.unblock(dist)), ref_d2, rtol=1e-9, atol=1e-12)


def test_two_mins_is_argmin_bit_for_bit_with_ties():
    """The two-minimum nearest centre gives argmin's first index of the minimum and the same minimum,
    also with exact ties (repeated columns) and rows that are all equal."""
    rng = np.random.default_rng(6)
    v = rng.normal(size=(64, 40)).astype(np.float32)
    v[:, 30] = v[:, 7]                        # an exact tie everywhere: the first index wins
    v[5] = 1.5                                # a row of equal scores: index 0
    v[9, 3] = v[9].min()                      # a tie at the minimum itself
    got, got_min = km.nearest_by_two_mins(jnp.asarray(v))
    ref, ref_min = km.nearest_by_argmin(jnp.asarray(v))
    np.testing.assert_array_equal(np.asarray(got), np.asarray(ref))
    np.testing.assert_array_equal(np.asarray(got_min), np.asarray(ref_min))
    assert int(got[5]) == 0 and int(got[9]) == min(3, int(v[9].argmin()))


def test_blocked_two_mins_matches_float64_and_argmin():
    """k = 40 (the plan picks two_mins): float32 blocked labels equal argmin's exactly and the float64
    nearest centre except for true near-ties (gap to the second-nearest under 1e-5 relative); inertia
    within 1e-5 of float64."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1000, 16)) + rng.normal(scale=2.0, size=(40, 16))[rng.integers(0, 40, 1000)]
    centers = x[rng.choice(1000, 40, replace=False)]
    x32, c32 = jnp.asarray(x, jnp.float32), jnp.asarray(centers, jnp.float32)
    w = jnp.ones(1000)
    blocks = km.to_blocks(x32, jnp.sum(x32 ** 2, 1), w, 40, 1, 128)
    assert blocks.plan.nearest == "two_mins"
    argmin_blocks = km.to_blocks(x32, jnp.sum(x32 ** 2, 1), w, 40, 1, 128, nearest="argmin")
    labels, _, _, _, inertia = km.assign_blocked(blocks, c32)
    ref_labels = km.assign_blocked(argmin_blocks, c32)[0]
    np.testing.assert_array_equal(np.asarray(blocks.unblock(labels)), np.asarray(argmin_blocks.unblock(ref_labels)))
    d2 = sq(x, centers)
    two = np.sort(d2, 1)[:, :2]
    labels = np.asarray(blocks.unblock(labels))
    differ = labels != d2.argmin(1)
    assert np.all((two[differ, 1] - two[differ, 0]) <= 1e-5 * two[differ, 1])
    np.testing.assert_allclose(float(inertia), d2.min(1).sum(), rtol=1e-5)


def test_plan_by_k_and_bad_strategy_names():
    small = km.lloyd_plan(100_000, 10)
    assert (small.nearest, small.sums, small.rows) == ("argmin", "one_hot", 100_000)
    plan = km.lloyd_plan(1_000_000, 256)
    assert (plan.nearest, plan.sums) == ("two_mins", "scatter") and 4000 < plan.rows <= 4096  # evened out
    for key, kwargs in (("nearest", dict(nearest="argmax")), ("sums", dict(sums="sort"))):
        with pytest.raises(JaxmlError, match=rf"^{key}\b") as err:
            km.lloyd_plan(100, 4, **kwargs)
        assert ", ".join(getattr(km, key.upper())) in str(err.value)


def test_block_rows_default_and_override():
    assert km.block_rows(100_000, 10) % 8 == 0 and km.block_rows(100_000, 10) <= km.MAX_BLOCK
    rows = km.block_rows(100_000, 10)
    assert -(-100_000 // rows) * rows - 100_000 < 8 * -(-100_000 // rows)  # padding under 8 rows a block
    assert km.block_rows(1_000_000, 256) * 256 <= 2 * km.BLOCK_FLOATS
    assert km.block_rows(301, 4) == 304 and km.block_rows(301, 4, block_size=50) == 56


def test_fit_with_small_blocks_matches_one_block():
    """The whole fit (seeding, Lloyd, n_init restarts) with 24-row blocks gives the centres, labels and
    inertia of the fit in one block (n = 301)."""
    x, _ = blobs()
    p = make_points(x)
    one = km.kmeans(jax.random.key(3), p, 4, n_init=2)  # the default here: one block of 304 rows
    small = km.kmeans(jax.random.key(3), p, 4, n_init=2, block_size=24)
    np.testing.assert_array_equal(np.asarray(small.labels), np.asarray(one.labels))
    np.testing.assert_allclose(np.asarray(small.centers), np.asarray(one.centers), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(float(small.inertia), float(one.inertia), rtol=1e-5)
    assert int(small.n_iter) == int(one.n_iter)


@pytest.mark.parametrize("tol", [1e-4, 1e-1])
def test_lloyd_from_same_seeding_matches_sklearn(tol):
    """Same initial centres: the same iterations (the tolerance rule: shift <= tol * mean variance, or
    unchanged labels), labels and inertia as KMeans(algorithm="lloyd", n_init=1)."""
    x, _ = blobs()
    x = x * np.array([1.0, 1.0, 4.0])
    x = x + 0.6 * np.random.default_rng(3).normal(size=x.shape)
    init = x[[0, 1, 2, 3, 4, 5]]
    ref = KMeans(6, init=init, n_init=1, tol=tol, algorithm="lloyd").fit(x)
    p = make_points(x.astype(np.float32))
    mean = np.asarray(x.astype(np.float32).mean(0))
    tol_abs = tol * float(x.var(0).mean())
    xc = p.x - mean
    centers, labels, inertia, n_iter = jax.jit(km.lloyd, static_argnums=4)(xc, p.w, jnp.asarray(init - mean, jnp.float32),
                                                                           tol_abs, 300)
    assert int(n_iter) == ref.n_iter_
    np.testing.assert_array_equal(np.asarray(labels), ref.labels_)
    np.testing.assert_allclose(float(inertia), ref.inertia_, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(centers) + mean, ref.cluster_centers_, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_final_inertia_matches_sklearn_on_blobs(init):
    x, y = blobs()
    ref = KMeans(4, init=init, n_init=4, random_state=0).fit(x)
    result = km.kmeans(jax.random.key(0), make_points(x), 4, init=init, n_init=4)
    np.testing.assert_allclose(float(result.inertia), ref.inertia_, rtol=1e-4)
    assert result.centers.shape == (4, 3) and int(result.n_iter) >= 1


def test_restarts_keep_the_lowest_inertia():
    """best_of picks, per row of restarts, every field of the run with the lowest inertia."""
    inertia = jnp.asarray([[3.0, 1.0, 2.0], [0.5, 4.0, 0.7]])
    runs = km.KMeansResult(centers=jnp.arange(6.0).reshape(2, 3, 1, 1), labels=jnp.arange(6).reshape(2, 3, 1),
                           inertia=inertia, n_iter=jnp.arange(6).reshape(2, 3), init_centers=jnp.zeros((2, 3, 1, 1)))
    best = km.best_of(runs)
    np.testing.assert_array_equal(np.asarray(best.inertia), [1.0, 0.5])
    np.testing.assert_array_equal(np.asarray(best.n_iter), [1, 3])
    np.testing.assert_array_equal(np.asarray(best.centers).ravel(), [1.0, 3.0])
    np.testing.assert_array_equal(np.asarray(best.labels).ravel(), [1, 3])


def test_eight_devices_give_the_centroids_of_one():
    """n = 301 points padded to 304 and split over 8 devices: the same seeding, iterations, labels
    and centres as on 1 device (sums reduced by XLA, so up to float reassociation)."""
    x, _ = blobs()
    assert jax.device_count() == 8
    out = {}
    for devices in (1, 8):
        mesh = sharding.make_mesh(ml_collections.ConfigDict({"num_devices": devices}))
        p = make_points(x, mesh=mesh)
        assert len(p.x.sharding.device_set) == devices
        out[devices] = km.kmeans(jax.random.key(7), p, 4, n_init=4)
    one, eight = out[1], out[8]
    np.testing.assert_allclose(np.asarray(eight.centers), np.asarray(one.centers), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(eight.init_centers), np.asarray(one.init_centers), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(eight.labels)[:301], np.asarray(one.labels)[:301])
    assert int(eight.n_iter) == int(one.n_iter)
    np.testing.assert_allclose(float(eight.inertia), float(one.inertia), rtol=1e-5)


def test_minibatch_update_is_the_running_mean():
    """c <- (c W_c + sum of its batch points) / (W_c + n_c); a centre without points does not move."""
    rng = np.random.default_rng(4)
    centers, counts = rng.normal(size=(3, 2)), np.array([5.0, 0.0, 2.0])
    x, labels = rng.normal(size=(7, 2)), np.array([0, 0, 1, 0, 1, 1, 0])
    new, total = minibatch.update_centers(jnp.asarray(centers), jnp.asarray(counts), jnp.asarray(x), jnp.ones(7),
                                          jnp.asarray(labels))
    for c in range(3):
        members = x[labels == c]
        ref = (centers[c] * counts[c] + members.sum(0)) / (counts[c] + len(members)) if len(members) else centers[c]
        np.testing.assert_allclose(np.asarray(new[c]), ref, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(total), [9.0, 3.0, 2.0])


def test_minibatch_reassigns_light_centres_to_distinct_batch_points():
    """Centres below ratio * max weight move onto distinct batch points (at most half the batch, the
    lightest first) and take the smallest remaining weight; the others stay."""
    centers = jnp.arange(10.0).reshape(5, 2)
    batch = 100.0 + jnp.arange(8.0).reshape(4, 2)
    counts = jnp.asarray([50.0, 0.1, 30.0, 0.2, 0.0])
    new, new_counts = jax.jit(minibatch.reassign_small, static_argnums=4)(jax.random.key(0), centers, counts, batch, 0.01)
    new, new_counts = np.asarray(new), np.asarray(new_counts)
    moved = [1, 4]  # three are light, but half the batch (2) at most: the two lightest (ids 4, 1)
    np.testing.assert_array_equal(new[[0, 2, 3]], np.asarray(centers)[[0, 2, 3]])
    assert all(any((new[c] == row).all() for row in np.asarray(batch)) for c in moved)
    assert not (new[1] == new[4]).all()
    np.testing.assert_allclose(new_counts, [50.0, 0.2, 30.0, 0.2, 0.2], rtol=1e-6)


def test_minibatch_reaches_the_full_kmeans_inertia():
    x, _ = blobs()
    p = make_points(x)
    full = km.kmeans(jax.random.key(0), p, 4, n_init=4)
    mb = minibatch.minibatch_kmeans(jax.random.key(0), p, 4, n_init=3,
                                    settings=minibatch.MiniBatchSettings(batch_size=64, max_iter=50))
    assert float(mb.inertia) <= 1.02 * float(full.inertia)
    assert 1 <= int(mb.n_iter) <= 50 * 301 // 64


@pytest.mark.parametrize("kwargs, key", [
    (dict(k=0), "k"), (dict(k=400), "k"), (dict(n_init=0), "n_init"), (dict(init="kmeans||"), "init"),
    (dict(max_iter=0), "max_iter"), (dict(tol=-1.0), "tol"), (dict(block_size=-1), "block_size"),
])
def test_bad_arguments_are_one_error_naming_the_argument(kwargs, key):
    p = make_points(blobs()[0])
    args = dict(k=4) | kwargs
    with pytest.raises(JaxmlError, match=rf"^{key}\b") as err:
        km.kmeans(jax.random.key(0), p, args.pop("k"), **args)
    assert "\n" not in str(err.value)
    if key == "init":
        assert "k-means++, random" in str(err.value)
