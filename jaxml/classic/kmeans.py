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
computes one block's squared distances to the centres, v_ij = max(||x_i||^2 - 2 x_i.c_j + ||c_j||^2, 0)
(one matrix product), its nearest centres, and adds its points into the per-cluster sums, weights
and inertia; no [n, k] matrix is ever built. How a block finds its nearest centres and adds up its sums
are strategies (`NEAREST`, `SUMS`), and a `LloydPlan` picks them and the block size from k
(`lloyd_plan`, a small rule table measured on XLA:CPU, see BENCHMARKS.md):

- `NEAREST["argmin"]`: `argmin` and `min` over the centres. On XLA:CPU `argmin` is a value-and-index
  reduction that XLA does not fuse into the matrix product, at large k several times slower than the
  product itself.
- `NEAREST["two_mins"]`: two plain minimum reductions, which XLA:CPU fuses with the product (both are
  float arithmetic): m_i = min_j v_ij, then label_i = min_j (j + k * sign(v_ij - m_i)). v_ij - m_i is
  >= 0 and is 0 exactly when v_ij == m_i (a float difference is zero only for equal operands; with
  flush-to-zero, only when both are below about 1e-31 in magnitude could a nonzero gap flush to 0), so
  the keys are j for the minimising centres and >= k for all others: the label is the first index of
  the minimum, bit-for-bit `argmin`'s answer, ties included. Chosen from k = TWO_MINS_FROM_K.
- `SUMS["scatter"]`: scatter-add (`segment_sum`, `cluster_sums`) of the weighted points by label,
  chosen from k = TWO_MINS_FROM_K (faster than the one-hot product at k = 256);
  `SUMS["one_hot"]`: a [k, rows] one-hot times the block, k times the arithmetic but a matrix product
  rather than a scatter, chosen below k = TWO_MINS_FROM_K (1.4x faster than the scatter-add at
  n = 100k, k = 10 on the idle 2-core VM).

The nearest centre's squared distance is min_j v_ij; the inertia sums it with the weights. Both
strategies reduce the same v, so they give the same labels and distances. Blocks hold about
BLOCK_FLOATS distances each, at most the plan's rows: at small k one block of up to 2^17 points (each
scan step and each scatter costs more than the arithmetic there), at large k about 4096 rows. The
points are padded to whole blocks with zero weight. Everything is written on the global arrays of
`points.Points`: on a mesh each shard's points are blocked on their own device ([shards, L] layout),
the partial sums are kept per shard through the scan and added once at the end, which XLA reduces
across devices (the `psum` of the update).
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


def block_sq_dists(x: jax.Array, x_sq: jax.Array, centers: jax.Array, c_sq: jax.Array) -> jax.Array:
    """[..., rows, k] squared distances max(||x||^2 - 2 x.c + ||c||^2, 0) of a block x [..., rows, d]
    (squared norms x_sq [..., rows]) to the centres (one matrix product)."""
    return jnp.maximum(x_sq[..., None] - 2.0 * dot(x, centers.T) + c_sq, 0.0)


def nearest_by_argmin(v: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(first index of the minimum over the last axis, the minimum): a value-and-index reduction."""
    return jnp.argmin(v, axis=-1).astype(jnp.int32), jnp.min(v, axis=-1)


def nearest_by_two_mins(v: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The same (index, minimum) as `nearest_by_argmin`, bit for bit, from two plain minimum
    reductions (module docstring): m = min_j v_j, label = min_j (j + k * sign(v_j - m))."""
    k = v.shape[-1]
    m = jnp.min(v, axis=-1)
    keys = jnp.arange(k, dtype=v.dtype) + k * jnp.sign(v - m[..., None])
    return jnp.min(keys, axis=-1).astype(jnp.int32), m


def sums_by_one_hot(x: jax.Array, w: jax.Array, labels: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """The same sums as `cluster_sums` (scatter-add) as a [k, rows] weighted one-hot times the block."""
    one_hot = (labels[None, :] == jnp.arange(k)[:, None]).astype(x.dtype) * w[None, :]
    return dot(one_hot, x), jnp.sum(one_hot, axis=1)


# name -> nearest(squared distances [..., rows, k]) -> (labels [..., rows] int32, the minimum [..., rows])
NEAREST: dict[str, Callable] = {"argmin": nearest_by_argmin, "two_mins": nearest_by_two_mins}
# name -> sums(x [rows, d], w [rows], labels [rows], k) -> (weighted sums [k, d], weights [k])
SUMS: dict[str, Callable] = {"scatter": cluster_sums, "one_hot": sums_by_one_hot}

# The rule table of `lloyd_plan`: rows (smallest k, nearest, sums, most rows per block); the last row
# whose smallest k is <= k applies. Measured on XLA:CPU (2-core Sapphire Rapids, jax 0.10.2, interleaved
# A/B rounds; BENCHMARKS.md): at k = 10 argmin in one large block beat the two reductions and smaller
# blocks, and on the idle machine the one-hot product for the sums beat the scatter-add 1.6x (5.1 vs
# 8.4 ms an iteration at n = 100k, d = 64); from k = 32 the fused two reductions in blocks of about
# 4096 rows win (about 2.5x over argmin at k = 32 and 256), and there the scatter-add beat the one-hot
# product (k = 256).
TWO_MINS_FROM_K = 32
PLAN_BY_K = ((1, "argmin", "one_hot", 1 << 17), (TWO_MINS_FROM_K, "two_mins", "scatter", 4096))

# rows per block (auto): a block's [rows, k] distances about BLOCK_FLOATS floats, at most the plan's rows
BLOCK_FLOATS = 1 << 20
MIN_BLOCK, MAX_BLOCK = 128, max(row[3] for row in PLAN_BY_K)


def plan_row(k: int) -> tuple[int, str, str, int]:
    """The row of PLAN_BY_K for k centres."""
    return [row for row in PLAN_BY_K if k >= row[0]][-1]


@dataclasses.dataclass(frozen=True)
class LloydPlan:
    """How blocked Lloyd runs: rows per block and the `NEAREST` / `SUMS` strategies by name."""
    rows: int
    nearest: str
    sums: str


def block_rows(n_local: int, k: int, block_size: int = 0) -> int:
    """Rows per block for n_local points per shard: `block_size` if > 0 (at most n_local, rounded up to
    8), else about BLOCK_FLOATS / k rows (at least MIN_BLOCK, at most PLAN_BY_K's rows for k), evened
    out over the blocks so that the padding is under 8 rows per block. The dimension does not enter:
    what a block's size bounds is its [rows, k] distances."""
    round8 = lambda r: -(-r // 8) * 8
    if block_size > 0:
        return min(round8(block_size), round8(n_local))
    target = min(max(BLOCK_FLOATS // k, MIN_BLOCK), plan_row(k)[3])
    blocks = -(-n_local // target)
    return round8(-(-n_local // blocks))


def lloyd_plan(n_local: int, k: int, block_size: int = 0, nearest: str | None = None,
               sums: str | None = None) -> LloydPlan:
    """The plan for n_local points per shard and k centres: `block_rows`, and the strategies of
    PLAN_BY_K unless named (`nearest`, `sums`: one JaxmlError for an unknown name)."""
    _, by_k_nearest, by_k_sums, _ = plan_row(k)
    nearest = by_k_nearest if nearest is None else nearest
    sums = by_k_sums if sums is None else sums
    choose(NEAREST, nearest, "nearest")
    choose(SUMS, sums, "sums")
    return LloydPlan(block_rows(n_local, k, block_size), nearest, sums)


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
    plan: LloydPlan = dataclasses.field(metadata=dict(static=True))  # rows per block, strategies
    n_pad: int = dataclasses.field(metadata=dict(static=True))  # rows of the flat points

    @property
    def rows(self) -> int:
        return self.plan.rows

    def flat(self, a: jax.Array) -> jax.Array:
        """[S, L, ...] -> [S * L, ...]."""
        return a.reshape((-1,) + a.shape[2:])

    def unblock(self, a: jax.Array) -> jax.Array:
        """[S, L, ...] -> [n_pad, ...] in the flat points' order (the block padding dropped)."""
        shards = a.shape[0]
        return a[:, :self.n_pad // shards].reshape((self.n_pad,) + a.shape[2:])


def to_blocks(x: jax.Array, x_sq: jax.Array, w: jax.Array, k: int, shards: int = 1, block_size: int = 0,
              nearest: str | None = None, sums: str | None = None) -> Blocks:
    """x [n_pad, d] (n_pad a multiple of `shards`: the points' batch shards, each shard's rows kept on
    its device) as `Blocks` laid out by `lloyd_plan` (its strategies by k unless named)."""
    n_pad = x.shape[0]
    n_local = n_pad // shards
    plan = lloyd_plan(n_local, k, block_size, nearest, sums)
    length = -(-n_local // plan.rows) * plan.rows
    pad = lambda a: jnp.pad(a.reshape((shards, n_local) + a.shape[1:]),
                            ((0, 0), (0, length - n_local)) + ((0, 0),) * (a.ndim - 1))
    return Blocks(pad(x), pad(x_sq), pad(w), plan, n_pad)


def assign_blocked(blocks: Blocks, centers: jax.Array):
    """Nearest centres block by block (a `lax.scan` over the blocks; per block one [S, rows, k] distance
    product and the plan's `NEAREST` strategy), accumulating per-cluster weighted sums and weights
    (the plan's `SUMS` strategy, per shard) and the inertia.
    Returns (labels [S, L], squared distance to the nearest centre [S, L], sums [k, d], weights [k],
    inertia); the per-shard partial sums are added once at the end (across devices when sharded)."""
    k = centers.shape[0]
    shards, length, d = blocks.x.shape
    rows = blocks.rows
    c_sq = sq_norms(centers)
    nearest = NEAREST[blocks.plan.nearest]
    per_shard_sums = jax.vmap(functools.partial(SUMS[blocks.plan.sums], k=k))
    split = lambda a: jnp.swapaxes(a.reshape((shards, length // rows, rows) + a.shape[2:]), 0, 1)

    def body(carry, block):
        sums, counts, inertia = carry
        x, x_sq, w = block                                      # [S, rows, d], [S, rows], [S, rows]
        labels, dist = nearest(block_sq_dists(x, x_sq, centers, c_sq))
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

