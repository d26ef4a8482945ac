"""Weighted point sets, optionally sharded over a device mesh.

A `Points` holds x [n_pad, d] and weights w [n_pad]: the n real points first, then zero-weight padding
up to a multiple of the mesh's batch shards (`shards`, static: the blocked k-means keeps each shard's
rows on its device). Every fit weighs each point's contribution (centroid sums,
inertia, responsibilities, the D^2 sampling of k-means++) by w, so padding changes nothing, and
scikit-learn's `sample_weight` comes for free. The point count `n` is static (metadata, not a leaf).

On a mesh, x and w are global arrays split over the batch axes (`core.sharding.batch_sharding`, the
same placement the supervised steps use) and the fits are written on the whole global arrays: XLA
inserts the reductions (centroid sums, counts, potentials) across devices.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxml.core import sharding
from jaxml.errors import JaxmlError


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Points:
    x: jax.Array  # [n_pad, d]
    w: jax.Array  # [n_pad]; 0 for padding
    n: int = dataclasses.field(metadata=dict(static=True))  # real points: the first n rows
    shards: int = dataclasses.field(default=1, metadata=dict(static=True))  # row shards over the mesh

    def valid(self) -> jax.Array:
        """[n_pad] bool: the real points."""
        return jnp.arange(self.x.shape[0]) < self.n


def make_points(x, weights=None, mesh: Mesh | None = None) -> Points:
    """`x` [n, d] (numpy or jax) and optional positive `weights` [n] as `Points`, float32 unless x is
    float64 with x64 enabled; with `mesh`, padded to a multiple of its batch shards and split over them."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 1:
        raise JaxmlError(f"points must be an [n, d] array with n >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise JaxmlError("points contain NaN or inf values")
    dtype = jnp.result_type(float) if x.dtype == np.float64 else jnp.float32
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (x.shape[0],) or np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
        raise JaxmlError(f"weights must be [n]={x.shape[0]} finite values >= 0 with a positive sum")
    n = x.shape[0]
    shards = 1 if mesh is None else math.prod(mesh.shape[a] for a in sharding.BATCH_AXES if a in mesh.shape)
    n_pad = -(-n // shards) * shards
    xp = np.zeros((n_pad, x.shape[1]), dtype)
    xp[:n] = x
    wp = np.zeros((n_pad,), dtype)
    wp[:n] = w
    if mesh is None:
        return Points(jnp.asarray(xp), jnp.asarray(wp), n)
    rows = sharding.batch_sharding(mesh)
    place = lambda a, s: jax.make_array_from_callback(a.shape, s, lambda idx: a[idx])
    return Points(place(xp, rows), place(wp, NamedSharding(mesh, P(sharding.batch_axes(mesh)))), n, shards)


def weighted_mean(points: Points) -> jax.Array:
    """[d] the weighted mean of the points."""
    return jnp.sum(points.w[:, None] * points.x, axis=0) / jnp.sum(points.w)


def mean_variance(points: Points) -> jax.Array:
    """The mean over features of each feature's variance over the real points (unweighted, as
    scikit-learn's k-means tolerance takes `np.var(X, axis=0).mean()`)."""
    valid = points.valid().astype(points.x.dtype)
    mean = jnp.sum(valid[:, None] * points.x, axis=0) / points.n
    return jnp.mean(jnp.sum(valid[:, None] * (points.x - mean) ** 2, axis=0) / points.n)
