"""Mini-batch k-means (Sculley 2010) as scikit-learn's `MiniBatchKMeans` runs it, in one
`lax.while_loop` (docs/references.md).

- Seeding: `n_init` seedings (k-means++ or random, `kmeans.INITS`), each on `init_size` points drawn
  uniformly with replacement, are scored on one validation draw of `init_size` points; the lowest
  validation inertia wins (the seedings are vmapped).
- Step: draw `batch_size` points with probability w_i / sum(w) (with replacement), assign them to the
  current centres, and move every centre that got points to the running weighted mean of all points
  it has ever been given: c <- (c * W_c + sum_batch x) / (W_c + n_batch,c). The per-centre learning
  rate is therefore n_batch,c / W_c, which decays as the centre accumulates weight.
- Reassignment: after every 10 k points seen (or as soon as a centre has weight 0), the centres whose
  accumulated weight is below `reassignment_ratio` times the largest move to distinct random points of
  the current batch (at most half the batch size of them, the lightest first), and their weight is
  reset to the smallest weight among the others.
- Stopping, as scikit-learn: an exponentially weighted average of the batch inertia per point
  (alpha = 2 batch_size / (n + 1)); stop after `max_no_improvement` steps without a new minimum, when
  the total squared centre change is <= tol * mean variance (tol > 0 only), or after
  max_iter * n / batch_size steps. The first step's inertia (that of the seeding) is ignored.
- The final labels and inertia are over all points.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from jaxml.classic.distances import sq_norms
from jaxml.classic.kmeans import INITS, KMeansResult, assign, check_args, cluster_sums
from jaxml.classic.points import Points, mean_variance, weighted_mean
from jaxml.classic.sampling import weighted_index
from jaxml.core.config import check_int, check_number


@dataclasses.dataclass(frozen=True)
class MiniBatchSettings:
    batch_size: int = 1024
    max_iter: int = 100
    max_no_improvement: int = 10
    reassignment_ratio: float = 0.01
    tol: float = 0.0
    init_size: int | None = None  # default 3 * batch_size (at least k, at most n)

    def check(self, k: int, prefix: str = "") -> None:
        check_int(self.batch_size, f"{prefix}batch_size", 1)
        check_int(self.max_iter, f"{prefix}max_iter", 1)
        check_int(self.max_no_improvement, f"{prefix}max_no_improvement", 1)
        check_number(self.reassignment_ratio, f"{prefix}reassignment_ratio", 0.0)
        check_number(self.tol, f"{prefix}tol", 0.0)
        if self.init_size is not None:
            check_int(self.init_size, f"{prefix}init_size", k)

    def resolved_init_size(self, n: int, k: int) -> int:
        size = 3 * self.batch_size if self.init_size is None else self.init_size
        return max(min(size, n), k)


def update_centers(centers: jax.Array, counts: jax.Array, x: jax.Array, w: jax.Array, labels: jax.Array):
    """The per-centre running-mean update of one batch: (new centres, new accumulated weights)."""
    k = centers.shape[0]
    sums, batch_w = cluster_sums(x, w, labels, k)
    total = counts + batch_w
    moved = batch_w > 0
    new = jnp.where(moved[:, None], (centers * counts[:, None] + sums) / jnp.where(moved, total, 1.0)[:, None], centers)
    return new, total


def reassign_small(key: jax.Array, centers: jax.Array, counts: jax.Array, batch: jax.Array, ratio: float):
    """Moves the centres lighter than ratio * max(counts) onto distinct random batch points (at most
    half the batch, the lightest first) and resets their weight to the smallest other weight."""
    b = batch.shape[0]
    small = counts < ratio * jnp.max(counts)
    limit = int(0.5 * b)
    rank = jnp.argsort(jnp.argsort(counts, stable=True), stable=True)  # 0 = lightest
    small = jnp.where(jnp.sum(small) > 0.5 * b, small & (rank < limit), small)
    slot = jnp.clip(jnp.cumsum(small) - 1, 0, b - 1)
    chosen = jax.random.permutation(key, b)[slot]
    centers = jnp.where(small[:, None], batch[chosen], centers)
    others_min = jnp.min(jnp.where(small, jnp.inf, counts))
    counts = jnp.where(small & jnp.isfinite(others_min), others_min, counts)
    return centers, counts


def _seed(key, points: Points, x, *, k, init, n_init, init_size):
    """The best of `n_init` seedings on random subsets, scored on one validation subset."""
    valid_key, key = jax.random.split(key)
    val = jax.random.randint(valid_key, (init_size,), 0, points.n)
    xv, wv = x[val], points.w[val]

    def one(key):
        sub_key, seed_key = jax.random.split(key)
        sub = jax.random.randint(sub_key, (init_size,), 0, points.n)
        centers, _ = INITS[init](seed_key, x[sub], points.w[sub], k, None)
        _, d2 = assign(xv, sq_norms(xv), centers)
        return centers, jnp.sum(wv * d2)

    centers, inertia = jax.vmap(one)(jax.random.split(key, n_init))
    return centers[jnp.argmin(inertia)]


@functools.partial(jax.jit, static_argnames=("k", "init", "n_init", "settings"))
def _fit(key, points: Points, *, k, init, n_init, settings: MiniBatchSettings):
    mean = weighted_mean(points)
    x = points.x - mean
    n, b = points.n, settings.batch_size
    seed_key, key = jax.random.split(key)
    init_centers = _seed(seed_key, points, x, k=k, init=init, n_init=n_init,
                         init_size=settings.resolved_init_size(n, k))
    n_steps = max((settings.max_iter * n) // b, 1)
    tol = settings.tol * mean_variance(points)
    alpha = min(b * 2.0 / (n + 1), 1.0)
    ones = jnp.ones((b,), x.dtype)

    def cond(c):
        return (c["step"] < n_steps) & ~c["done"]

    def body(c):
        step_key = jax.random.fold_in(key, c["step"])
        batch_key, reassign_key = jax.random.split(step_key)
        batch = x[weighted_index(batch_key, points.w, (b,))]
        labels, d2 = assign(batch, sq_norms(batch), c["centers"])
        batch_inertia = jnp.sum(d2) / b
        centers, counts = update_centers(c["centers"], c["counts"], batch, ones, labels)
        seen = c["seen"] + b
        reassign = (jnp.any(c["counts"] == 0) | (seen >= 10 * k)) & (settings.reassignment_ratio > 0)
        moved = reassign_small(reassign_key, centers, counts, batch, settings.reassignment_ratio)
        centers, counts = jax.tree.map(lambda a, o: jnp.where(reassign, a, o), moved, (centers, counts))
        seen = jnp.where(reassign, 0, seen)
        # early stopping (the first step only starts the average)
        first = c["step"] == 0
        ewa = jnp.where(c["step"] == 1, batch_inertia, c["ewa"] * (1 - alpha) + batch_inertia * alpha)
        shift = jnp.sum((centers - c["centers"]) ** 2)
        small_shift = (settings.tol > 0) & (shift <= tol) & ~first
        improved = ewa < c["ewa_min"]
        no_improvement = jnp.where(first, 0, jnp.where(improved, 0, c["no_improvement"] + 1))
        ewa_min = jnp.where(first, jnp.inf, jnp.where(improved, ewa, c["ewa_min"]))
        done = small_shift | (no_improvement >= settings.max_no_improvement)
        return dict(step=c["step"] + 1, centers=centers, counts=counts, seen=seen, ewa=jnp.where(first, 0.0, ewa),
                    ewa_min=ewa_min, no_improvement=no_improvement, done=done)

    carry = dict(step=jnp.int32(0), centers=init_centers, counts=jnp.zeros((k,), x.dtype), seen=jnp.int32(0),
                 ewa=jnp.zeros((), x.dtype), ewa_min=jnp.full((), jnp.inf, x.dtype),
                 no_improvement=jnp.int32(0), done=jnp.bool_(False))
    carry = jax.lax.while_loop(cond, body, carry)
    labels, d2 = assign(x, sq_norms(x), carry["centers"])
    return KMeansResult(carry["centers"] + mean, labels, jnp.sum(points.w * d2), carry["step"], init_centers + mean)


def minibatch_kmeans(key: jax.Array, points: Points, k: int, *, init: str = "k-means++", n_init: int = 1,
                     settings: MiniBatchSettings = MiniBatchSettings()) -> KMeansResult:
    """Mini-batch k-means (module docstring); `n_iter` of the result counts mini-batch steps."""
    check_args(points.n, k, init, n_init, settings.max_iter, settings.tol)
    settings.check(k)
    return _fit(key, points, k=k, init=init, n_init=n_init, settings=settings)
