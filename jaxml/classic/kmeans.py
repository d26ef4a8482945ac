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

Lloyd is blocked (`to_blocks`, `assign_blocked`): a `lax.scan` over fixed-size blocks of points
computes one block's distances to the centres (||x||^2 - 2 x.c + ||c||^2, one matrix product), its
nearest centres, and adds its points into the per-cluster sums, weights and inertia by scatter-add
(`segment_sum`); no [n, k] matrix is ever built. The points are padded to whole blocks with zero
weight. Everything is written on the global arrays of `points.Points`: on a mesh each shard's points
are blocked on their own device ([shards, L] layout), the partial sums are kept per shard through
the scan and added once at the end, which XLA reduces across devices (the `psum` of the update).
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
    """(labels [n] of the nearest centre, squared distance to it [n]) -- the whole [n, k] distance
    matrix at once: for small point sets (mini-batches, seeding candidates); Lloyd uses `assign_blocked`."""
    d2 = sq_dists(x, centers, x_sq)
    return jnp.argmin(d2, axis=1).astype(jnp.int32), jnp.min(d2, axis=1)


def cluster_sums(x: jax.Array, w: jax.Array, labels: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """(weighted sums [k, d], weights [k]) of the points of each cluster (a scatter-add over the point
    axis, no [n, k] one-hot)."""
    return jax.ops.segment_sum(x * w[:, None], labels, k), jax.ops.segment_sum(w, labels, k)


# rows per block (auto): a block's [rows, k] distances and [rows, d] points about BLOCK_FLOATS floats each
BLOCK_FLOATS = 1 << 20
MIN_BLOCK, MAX_BLOCK = 128, 1 << 16


def block_rows(n_local: int, k: int, d: int, block_size: int = 0) -> int:
    """Rows per block for n_local points per shard: `block_size` if > 0 (at most n_local, rounded up to
    8), else about BLOCK_FLOATS / max(k, d) rows (in [MIN_BLOCK, MAX_BLOCK]), evened out over the blocks
    so that the padding is under 8 rows per block."""
    round8 = lambda r: -(-r // 8) * 8
    if block_size > 0:
        return min(round8(block_size), round8(n_local))
    target = min(max(BLOCK_FLOATS // max(k, d), MIN_BLOCK), MAX_BLOCK)
    blocks = -(-n_local // target)
    return round8(-(-n_local // blocks))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Blocks:
    """Points laid out for blocked Lloyd steps: [shards, L] with L = (blocks per shard) * rows, each
    shard's rows in their original order and zero-weight padding at each shard's end. Flattening the
    two leading axes gives the original point order (with the padding rows interleaved), so the
    empty-cluster relocation sees the points in the same order as unblocked."""
    x: jax.Array     # [S, L, d]
    x_sq: jax.Array  # [S, L]
    w: jax.Array     # [S, L]
    rows: int = dataclasses.field(metadata=dict(static=True))  # rows per block
    n_pad: int = dataclasses.field(metadata=dict(static=True))  # rows of the flat points

    def flat(self, a: jax.Array) -> jax.Array:
        """[S, L, ...] -> [S * L, ...]."""
        return a.reshape((-1,) + a.shape[2:])

    def unblock(self, a: jax.Array) -> jax.Array:
        """[S, L, ...] -> [n_pad, ...] in the flat points' order (the block padding dropped)."""
        shards = a.shape[0]
        return a[:, :self.n_pad // shards].reshape((self.n_pad,) + a.shape[2:])


def to_blocks(x: jax.Array, x_sq: jax.Array, w: jax.Array, k: int, shards: int = 1, block_size: int = 0) -> Blocks:
    """x [n_pad, d] (n_pad a multiple of `shards`: the points' batch shards, each shard's rows kept on
    its device) as `Blocks` of `block_rows` rows."""
    n_pad, d = x.shape
    n_local = n_pad // shards
    rows = block_rows(n_local, k, d, block_size)
    length = -(-n_local // rows) * rows
    pad = lambda a: jnp.pad(a.reshape((shards, n_local) + a.shape[1:]),
                            ((0, 0), (0, length - n_local)) + ((0, 0),) * (a.ndim - 1))
    return Blocks(pad(x), pad(x_sq), pad(w), rows, n_pad)


def assign_blocked(blocks: Blocks, centers: jax.Array):
    """Nearest centres block by block (a `lax.scan` over the blocks; per block one [S, rows, k] distance
    product), accumulating per-cluster weighted sums and weights by scatter-add and the inertia.
    Returns (labels [S, L], squared distance to the nearest centre [S, L], sums [k, d], weights [k],
    inertia); the per-shard partial sums are added once at the end (across devices when sharded)."""
    k = centers.shape[0]
    shards, length, d = blocks.x.shape
    c_sq = sq_norms(centers)
    split = lambda a: jnp.swapaxes(a.reshape((shards, length // blocks.rows, blocks.rows) + a.shape[2:]), 0, 1)
    per_shard_sums = jax.vmap(lambda x, w, labels: (jax.ops.segment_sum(x * w[:, None], labels, k),
                                                    jax.ops.segment_sum(w, labels, k)))

    def body(carry, block):
        sums, counts, inertia = carry
        x, x_sq, w = block                                      # [S, rows, d], [S, rows], [S, rows]
        d2 = jnp.maximum(x_sq[..., None] - 2.0 * dot(x, centers.T) + c_sq, 0.0)
        labels = jnp.argmin(d2, axis=-1).astype(jnp.int32)
        dist = jnp.min(d2, axis=-1)
        s, c = per_shard_sums(x, w, labels)
        return (sums + s, counts + c, inertia + jnp.sum(w * dist, axis=-1)), (labels, dist)

    zeros = (jnp.zeros((shards, k, d), centers.dtype), jnp.zeros((shards, k), centers.dtype),
             jnp.zeros((shards,), centers.dtype))
    (sums, counts, inertia), (labels, dist) = jax.lax.scan(
        body, zeros, (split(blocks.x), split(blocks.x_sq), split(blocks.w)))
    merge = lambda a: jnp.swapaxes(a, 0, 1).reshape(shards, length)
    return merge(labels), merge(dist), jnp.sum(sums, 0), jnp.sum(counts, 0), jnp.sum(inertia)


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


def blocked_step(blocks: Blocks, centers: jax.Array):
    """One Lloyd iteration on `Blocks`: (new centres, labels [S, L] w.r.t. `centers`, total squared shift)."""
    labels, dist_sq, sums, counts, _ = assign_blocked(blocks, centers)
    # the relocation's top_k over all points only when a cluster is empty (a select under vmap)
    sums, counts = jax.lax.cond(jnp.any(counts == 0), relocate_empty, lambda *a: a[-2:],
                                blocks.flat(blocks.x), blocks.flat(blocks.w), blocks.flat(labels),
                                blocks.flat(dist_sq), sums, counts)
    safe = jnp.where(counts > 0, counts, 1.0)
    heaviest = jnp.argmax(counts)
    new = jnp.where((counts > 0)[:, None], sums / safe[:, None], sums[heaviest] / safe[heaviest])
    return new, labels, jnp.sum((new - centers) ** 2)


def lloyd_step(x: jax.Array, x_sq: jax.Array, w: jax.Array, centers: jax.Array, block_size: int = 0,
               shards: int = 1):
    """One Lloyd iteration from `centers` on flat points x [n_pad, d] (blocked: `to_blocks`):
    (new centres, labels [n_pad] w.r.t. `centers`, total squared shift). The fit builds the blocks once
    and runs `blocked_step`; this is the same step for a single call."""
    blocks = to_blocks(x, x_sq, w, centers.shape[0], shards, block_size)
    new, labels, shift = blocked_step(blocks, centers)
    return new, blocks.unblock(labels), shift


def lloyd(x: jax.Array, w: jax.Array, centers: jax.Array, tol: jax.Array, max_iter: int, block_size: int = 0,
          shards: int = 1):
    """Lloyd iterations in one `lax.while_loop` (scikit-learn's stopping rule, module docstring), each a
    `blocked_step` over blocks of `block_size` rows (0: `block_rows`' default) of each of `shards` point
    shards. `tol` is absolute (already scaled by the data's mean variance). Returns (centres, labels,
    inertia, iterations)."""
    blocks = to_blocks(x, sq_norms(x), w, centers.shape[0], shards, block_size)

    def cond(carry):
        i, _, _, done = carry
        return (i < max_iter) & ~done

    def body(carry):
        i, centers, labels_old, _ = carry
        new, labels, shift = blocked_step(blocks, centers)
        strict = jnp.all((labels == labels_old) | (blocks.w == 0))
        return i + 1, new, labels, strict | (shift <= tol)

    labels0 = jnp.full(blocks.w.shape, -1, jnp.int32)
    n_iter, centers, _, _ = jax.lax.while_loop(cond, body, (jnp.int32(0), centers, labels0, jnp.bool_(False)))
    labels, _, _, _, inertia = assign_blocked(blocks, centers)
    return centers, blocks.unblock(labels), inertia, n_iter


# ----------------------------------------------------------------------------------------- the fit

def _single(key, x, w, tol, *, k, seeding, n_local_trials, max_iter, block_size, shards):
    init, _ = seeding(key, x, w, k, n_local_trials)
    centers, labels, inertia, n_iter = lloyd(x, w, init, tol, max_iter, block_size, shards)
    return KMeansResult(centers, labels, inertia, n_iter, init)


def best_of(results: KMeansResult) -> KMeansResult:
    """The restart with the lowest inertia from results batched over the last restart axis."""
    best = jnp.argmin(results.inertia, axis=-1)
    take = lambda a: jnp.take_along_axis(a, best.reshape(best.shape + (1,) * (a.ndim - best.ndim)), axis=best.ndim
                                          ).squeeze(best.ndim)
    return jax.tree.map(take, results)


@functools.partial(jax.jit, static_argnames=("k", "init", "n_init", "max_iter", "n_local_trials", "block_size"))
def _fit(keys, points: Points, tol, *, k, init, n_init, max_iter, n_local_trials, block_size):
    """keys [..., n_init]: one restart per key, the best of each row of restarts kept."""
    mean = weighted_mean(points)
    x = points.x - mean
    tol_abs = tol * mean_variance(points)
    single = functools.partial(_single, x=x, w=points.w, tol=tol_abs, k=k, seeding=INITS[init],
                               n_local_trials=n_local_trials, max_iter=max_iter, block_size=block_size,
                               shards=points.shards)
    run = lambda key: single(key)
    for _ in range(keys.ndim):
        run = jax.vmap(run)
    results = best_of(run(keys))
    return dataclasses.replace(results, centers=results.centers + mean, init_centers=results.init_centers + mean)


def check_args(n: int, k: int, init: str, n_init: int, max_iter: int, tol: float,
               n_local_trials: int | None = None, prefix: str = "", block_size: int = 0) -> None:
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
    check_int(block_size, f"{prefix}block_size", 0)


def kmeans(key: jax.Array, points: Points, k: int, *, init: str = "k-means++", n_init: int = 1,
           max_iter: int = 300, tol: float = 1e-4, n_local_trials: int | None = None,
           runs: int | None = None, block_size: int = 0) -> KMeansResult:
    """k-means of `points` into k clusters (module docstring). `n_init` restarts from keys split from
    `key`, best inertia kept. With `runs`, `runs` independent fits (each the best of its n_init) batched
    in one call: every result field gains a leading [runs] axis. `block_size`: points per block of the
    Lloyd steps on each shard (0: `block_rows`' default, a few MB of distances per block)."""
    check_args(points.n, k, init, n_init, max_iter, tol, n_local_trials, block_size=block_size)
    shape = (n_init,) if runs is None else (check_int(runs, "runs", 1), n_init)
    keys = jax.random.split(key, math.prod(shape)).reshape(shape)
    return _fit(keys, points, tol, k=k, init=init, n_init=n_init, max_iter=max_iter, n_local_trials=n_local_trials,
                block_size=block_size)

