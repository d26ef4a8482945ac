"""k-means: k-means++ or random seeding, Lloyd iterations in one `lax.while_loop`, restarts vmapped.

What it does, in scikit-learn's terms (`sklearn.cluster.KMeans(algorithm="lloyd")`; docs/references.md):

- The data are centred on their weighted mean first (as scikit-learn does, for float precision); the
  centres are shifted back at the end.
- `init="k-means++"` (Arthur & Vassilvitskii 2007) with scikit-learn's greedy trials: the first centre
  is a point drawn with probability w_i / sum(w); every further centre draws `2 + int(log k)`
  candidates with probability w_i D(x_i)^2 / sum_j w_j D(x_j)^2 (D: distance to the nearest centre so
  far) and keeps the candidate whose addition leaves the lowest potential sum_i w_i D(x_i)^2.
  `n_local_trials=1` is plain D^2 sampling. `init="random"`: k distinct points, drawn with probability
  proportional to their weights.
- Lloyd: assign every point to its nearest centre, move each centre to the weighted mean of its
  points. Stop when the labels did not change (strict convergence) or the total squared centre shift
  is <= tol * mean_j var(x_j) (scikit-learn's `_tolerance`), or after `max_iter` iterations; the final
  labels are those of the final centres.
- Empty clusters (relocated as scikit-learn does): when a cluster gets no points, the points farthest
  from their own centre are moved into the empty clusters -- the j-th empty cluster (in index order)
  gets the j-th farthest point, whose weight leaves its old cluster's sums. If that empties the old
  cluster, its centre is placed on the heaviest cluster's centre (scikit-learn's fallback). If every
  point sits on its centre (more clusters than distinct points) nothing is relocated.
- `n_init` restarts are `vmap`ped over keys; the run with the lowest inertia is kept.

Everything is written on the global arrays of `points.Points`: on a mesh the per-cluster sums are
one-hot matrix products over the sharded point axis, which XLA reduces across devices.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable

import jax
import jax.numpy as jnp

from jaxml.classic.distances import dot, sq_dists, sq_norms
from jaxml.classic.points import Points, mean_variance, weighted_mean
from jaxml.classic.sampling import pick, weighted_index, weighted_without_replacement
from jaxml.core.config import check_int, check_number
from jaxml.core.registry import choose
from jaxml.errors import JaxmlError


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class KMeansResult:
    centers: jax.Array       # [k, d] (or [..., k, d] for batched fits)
    labels: jax.Array        # [n_pad] nearest final centre; padding rows are meaningless
    inertia: jax.Array       # sum_i w_i ||x_i - c_{label_i}||^2
    n_iter: jax.Array        # Lloyd iterations run
    init_centers: jax.Array  # [k, d] the seeding this run started from


# ------------------------------------------------------------------------------------------ seeding

def default_trials(k: int) -> int:
    """scikit-learn's number of greedy k-means++ candidates per centre: 2 + int(log k)."""
    return 2 + int(math.log(k))


def plusplus_step(x: jax.Array, x_sq: jax.Array, w: jax.Array, closest: jax.Array, u: jax.Array):
    """One greedy k-means++ step from uniforms u [trials] in [0, 1): candidates drawn by D^2 weighting
    (inverting cumsum(w * closest)), the one with the lowest potential kept.
    Returns (chosen index, its new closest-squared-distance vector [n], its potential)."""
    candidates = pick(jnp.cumsum(w * closest), u)
    d2 = jnp.minimum(closest[None, :], sq_dists(x[candidates], x, x_sq[candidates], x_sq))
    potentials = dot(d2, w)
    best = jnp.argmin(potentials)
    return candidates[best], d2[best], potentials[best]


def kmeans_plusplus(key: jax.Array, x: jax.Array, w: jax.Array, k: int, n_local_trials: int | None = None):
    """k-means++ seeding of k centres (greedy, scikit-learn style). Returns (centres [k, d], indices [k])."""
    trials = default_trials(k) if n_local_trials is None else n_local_trials
    x_sq = sq_norms(x)
    first_key, key = jax.random.split(key)
    first = weighted_index(first_key, w)
    closest = sq_dists(x[first][None], x, x_sq[first][None], x_sq)[0]
    indices = jnp.zeros((k,), jnp.int32).at[0].set(first)

    def body(c, carry):
        indices, closest = carry
        u = jax.random.uniform(jax.random.fold_in(key, c), (trials,), dtype=x.dtype)
        chosen, closest, _ = plusplus_step(x, x_sq, w, closest, u)
        return indices.at[c].set(chosen), closest

    indices, _ = jax.lax.fori_loop(1, k, body, (indices, closest))
    return x[indices], indices


def random_seeding(key: jax.Array, x: jax.Array, w: jax.Array, k: int, n_local_trials: int | None = None):
    """k distinct points drawn with probability proportional to their weights. Returns (centres, indices)."""
    del n_local_trials
    indices = weighted_without_replacement(key, w, k)
    return x[indices], indices


# name -> seeding(key, x, w, k, n_local_trials) -> (centres [k, d], indices [k])
INITS: dict[str, Callable] = {"k-means++": kmeans_plusplus, "random": random_seeding}


# ------------------------------------------------------------------------------------------- Lloyd

def assign(x: jax.Array, x_sq: jax.Array, centers: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(labels [n] of the nearest centre, squared distance to it [n])."""
    d2 = sq_dists(x, centers, x_sq)
    return jnp.argmin(d2, axis=1).astype(jnp.int32), jnp.min(d2, axis=1)


def cluster_sums(x: jax.Array, w: jax.Array, labels: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """(weighted sums [k, d], weights [k]) of the points of each cluster: one-hot products over the point
    axis (reduced across devices by XLA when the points are sharded)."""
    onehot = (labels[:, None] == jnp.arange(k)[None, :]).astype(x.dtype) * w[:, None]
    return dot(onehot.T, x), jnp.sum(onehot, axis=0)


def relocate_empty(x: jax.Array, w: jax.Array, labels: jax.Array, dist_sq: jax.Array,
                   sums: jax.Array, counts: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Moves the farthest points (from their own centre) into the empty clusters (see the module
    docstring); returns the updated (sums, counts)."""
    k = counts.shape[0]
    empty = counts == 0
    far_dist = jnp.where(w > 0, dist_sq, -jnp.inf)
    _, far = jax.lax.top_k(far_dist, k)                         # the k farthest, farthest first
    rank = jnp.cumsum(empty) - 1                                # j for the j-th empty cluster
    point = far[jnp.clip(rank, 0, k - 1)]                       # [k] the point each cluster would get
    move = empty & (jnp.max(far_dist) > 0)
    pw = jnp.where(move, w[point], 0.0)
    px = x[point] * pw[:, None]
    old = labels[point]
    sums = jnp.where(move[:, None], px, sums).at[old].add(-px)
    counts = jnp.where(move, pw, counts).at[old].add(-pw)
    return sums, counts


def lloyd_step(x: jax.Array, x_sq: jax.Array, w: jax.Array, centers: jax.Array):
    """One Lloyd iteration from `centers`: (new centres, labels w.r.t. `centers`, total squared shift)."""
    k = centers.shape[0]
    labels, dist_sq = assign(x, x_sq, centers)
    sums, counts = cluster_sums(x, w, labels, k)
    # the relocation's top_k over all points only when a cluster is empty (a select under vmap)
    sums, counts = jax.lax.cond(jnp.any(counts == 0), relocate_empty, lambda *a: a[-2:],
                                x, w, labels, dist_sq, sums, counts)
    safe = jnp.where(counts > 0, counts, 1.0)
    heaviest = jnp.argmax(counts)
    new = jnp.where((counts > 0)[:, None], sums / safe[:, None], sums[heaviest] / safe[heaviest])
    return new, labels, jnp.sum((new - centers) ** 2)


def lloyd(x: jax.Array, w: jax.Array, centers: jax.Array, tol: jax.Array, max_iter: int):
    """Lloyd iterations in one `lax.while_loop` (scikit-learn's stopping rule, module docstring).
    `tol` is absolute (already scaled by the data's mean variance). Returns (centres, labels, inertia,
    iterations)."""
    x_sq = sq_norms(x)

    def cond(carry):
        i, _, _, done = carry
        return (i < max_iter) & ~done

    def body(carry):
        i, centers, labels_old, _ = carry
        new, labels, shift = lloyd_step(x, x_sq, w, centers)
        strict = jnp.all((labels == labels_old) | (w == 0))
        return i + 1, new, labels, strict | (shift <= tol)

    labels0 = jnp.full((x.shape[0],), -1, jnp.int32)
    n_iter, centers, _, _ = jax.lax.while_loop(cond, body, (jnp.int32(0), centers, labels0, jnp.bool_(False)))
    labels, dist_sq = assign(x, x_sq, centers)
    return centers, labels, jnp.sum(w * dist_sq), n_iter


# ----------------------------------------------------------------------------------------- the fit

def _single(key, x, w, tol, *, k, seeding, n_local_trials, max_iter):
    init, _ = seeding(key, x, w, k, n_local_trials)
    centers, labels, inertia, n_iter = lloyd(x, w, init, tol, max_iter)
    return KMeansResult(centers, labels, inertia, n_iter, init)


def best_of(results: KMeansResult) -> KMeansResult:
    """The restart with the lowest inertia from results batched over the last restart axis."""
    best = jnp.argmin(results.inertia, axis=-1)
    take = lambda a: jnp.take_along_axis(a, best.reshape(best.shape + (1,) * (a.ndim - best.ndim)), axis=best.ndim
                                          ).squeeze(best.ndim)
    return jax.tree.map(take, results)


@functools.partial(jax.jit, static_argnames=("k", "init", "n_init", "max_iter", "n_local_trials"))
def _fit(keys, points: Points, tol, *, k, init, n_init, max_iter, n_local_trials):
    """keys [..., n_init]: one restart per key, the best of each row of restarts kept."""
    mean = weighted_mean(points)
    x = points.x - mean
    tol_abs = tol * mean_variance(points)
    single = functools.partial(_single, x=x, w=points.w, tol=tol_abs, k=k, seeding=INITS[init],
                               n_local_trials=n_local_trials, max_iter=max_iter)
    run = lambda key: single(key)
    for _ in range(keys.ndim):
        run = jax.vmap(run)
    results = best_of(run(keys))
    return dataclasses.replace(results, centers=results.centers + mean, init_centers=results.init_centers + mean)


def check_args(n: int, k: int, init: str, n_init: int, max_iter: int, tol: float,
               n_local_trials: int | None = None, prefix: str = "") -> None:
    """One JaxmlError naming the argument (`prefix` + name, e.g. "config.kmeans.") for a bad value;
    n is the number of points."""
    check_int(k, f"{prefix}k", 1)
    if k > n:
        raise JaxmlError(f"{prefix}k={k} must be <= the number of points ({n})")
    choose(INITS, init, f"{prefix}init")
    check_int(n_init, f"{prefix}n_init", 1)
    check_int(max_iter, f"{prefix}max_iter", 1)
    check_number(tol, f"{prefix}tol", 0.0)
    if n_local_trials is not None:
        check_int(n_local_trials, f"{prefix}n_local_trials", 1)


def kmeans(key: jax.Array, points: Points, k: int, *, init: str = "k-means++", n_init: int = 1,
           max_iter: int = 300, tol: float = 1e-4, n_local_trials: int | None = None,
           runs: int | None = None) -> KMeansResult:
    """k-means of `points` into k clusters (module docstring). `n_init` restarts from keys split from
    `key`, best inertia kept. With `runs`, `runs` independent fits (each the best of its n_init) batched
    in one call: every result field gains a leading [runs] axis."""
    check_args(points.n, k, init, n_init, max_iter, tol, n_local_trials)
    shape = (n_init,) if runs is None else (check_int(runs, "runs", 1), n_init)
    keys = jax.random.split(key, math.prod(shape)).reshape(shape)
    return _fit(keys, points, tol, k=k, init=init, n_init=n_init, max_iter=max_iter, n_local_trials=n_local_trials)

