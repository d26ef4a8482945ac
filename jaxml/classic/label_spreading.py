"""Graph-based semi-supervised classification on a k-nearest-neighbour graph: label spreading (Zhou et
al. 2004) and label propagation (Zhu & Ghahramani 2002), as scikit-learn's `LabelSpreading` and
`LabelPropagation` with `kernel="knn"` (docs/references.md#learning-from-few-labels).

Both start from the neighbour lists of `spectral.knn_indices` (the k nearest points of each x_i, the
point itself included), i.e. the connectivity A with A_ij = 1 when x_j is one of the k nearest points of
x_i (not symmetrised), and the one-hot labels Y (zero rows for the unlabelled points), and iterate
F <- update(S F) from F = Y until the L1 change of F falls below `tol` or `max_iter` iterations ran; the
label of a point is the argmax of its row of F. The two variants differ only in S and in the update:

- spreading: S = D^-1/2 A D^-1/2 with a zero diagonal, D the column sums of A without its diagonal
  (scipy's normalised graph Laplacian, negated; an isolated point gets degree 1);
  F <- alpha S F + (1 - alpha) Y.
- propagation: S = A row-normalised (a random walk); F <- S F with each row normalised to sum 1, the
  labelled rows clamped back to Y.

S is held as weights [n, k] on the neighbour lists (S F is a gather and a k-term sum: O(n k) per
iteration, not a dense [n, n] product). The iteration is one jitted `lax.while_loop`; leading axes of
the labels (seeds, label budgets) are vmapped, each label set stopping at its own iteration.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


class Variant(NamedTuple):
    """One graph-based variant: `weights(neighbours) -> S` as [n, k] weights on the neighbour lists, and
    `update(SF, Y, labelled, alpha) -> F`."""
    weights: Callable[[jax.Array], jax.Array]
    update: Callable[[jax.Array, jax.Array, jax.Array, float], jax.Array]


def spreading_weights(neighbours: jax.Array) -> jax.Array:
    """[n, k] the entries of D^-1/2 A D^-1/2 (zero diagonal) at the neighbour lists; D the column sums of
    A without its diagonal (how often a point is someone else's neighbour)."""
    n = neighbours.shape[0]
    off_diagonal = (neighbours != jnp.arange(n)[:, None]).astype(jnp.result_type(float))
    degree = jnp.zeros(n, off_diagonal.dtype).at[neighbours].add(off_diagonal)
    dd = jnp.sqrt(jnp.where(degree == 0, 1.0, degree))
    return off_diagonal / dd[:, None] / dd[neighbours]


def propagation_weights(neighbours: jax.Array) -> jax.Array:
    """[n, k] the row-normalised connectivity: 1 / k on every neighbour (the point itself included)."""
    return jnp.full(neighbours.shape, 1.0 / neighbours.shape[1], jnp.result_type(float))


def spreading_update(sf: jax.Array, y: jax.Array, labelled: jax.Array, alpha: float) -> jax.Array:
    return alpha * sf + (1.0 - alpha) * y


def propagation_update(sf: jax.Array, y: jax.Array, labelled: jax.Array, alpha: float) -> jax.Array:
    total = jnp.sum(sf, axis=1, keepdims=True)
    return jnp.where(labelled[:, None], y, sf / jnp.where(total == 0, 1.0, total))


VARIANTS: dict[str, Variant] = {
    "spreading": Variant(spreading_weights, spreading_update),
    "propagation": Variant(propagation_weights, propagation_update),
}


class Spread(NamedTuple):
    distributions: jax.Array  # [..., n, classes], rows normalised to sum 1 (zero rows stay 0)
    labels: jax.Array         # [..., n] argmax of the distributions
    n_iter: jax.Array         # [...] iterations run


def one_hot_labels(labels: jax.Array, num_classes: int) -> tuple[jax.Array, jax.Array]:
    """(Y [n, classes], labelled [n] bool) from labels [n] with -1 for the unlabelled points."""
    labelled = labels >= 0
    return jax.nn.one_hot(jnp.where(labelled, labels, 0), num_classes) * labelled[:, None], labelled


def graph_product(neighbours: jax.Array, weights: jax.Array, f: jax.Array) -> jax.Array:
    """S F for S given as `weights` [n, k] on `neighbours` [n, k]; f [n, c]."""
    return jnp.einsum("nk,nkc->nc", weights, f[neighbours], precision=jax.lax.Precision.HIGHEST)


@functools.partial(jax.jit, static_argnames=("variant", "num_classes", "max_iter"))
def propagate_labels(neighbours: jax.Array, labels: jax.Array, *, variant: str, num_classes: int, alpha: float,
                     max_iter: int, tol: float) -> Spread:
    """Iterates `VARIANTS[variant]` on the kNN graph of `neighbours` [n, k] from the labels [..., n]
    (-1: unlabelled); leading axes vmapped."""
    weights_fn, update = VARIANTS[variant]
    weights = weights_fn(neighbours)

    def run(lab: jax.Array) -> Spread:
        y, labelled = one_hot_labels(lab, num_classes)

        def cond(carry):
            f, prev, it = carry
            return (it < max_iter) & (jnp.sum(jnp.abs(f - prev)) >= tol)

        def body(carry):
            f, _, it = carry
            return update(graph_product(neighbours, weights, f), y, labelled, alpha), f, it + 1

        f, _, n_iter = jax.lax.while_loop(cond, body, (y, jnp.zeros_like(y), jnp.int32(0)))
        total = jnp.sum(f, axis=1, keepdims=True)
        f = f / jnp.where(total == 0, 1.0, total)
        return Spread(f, jnp.argmax(f, axis=1).astype(jnp.int32), n_iter)

    for _ in range(labels.ndim - 1):
        run = jax.vmap(run)
    return run(labels)
