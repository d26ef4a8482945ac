"""Spectral clustering on a k-nearest-neighbour graph, as scikit-learn's
`SpectralClustering(affinity="nearest_neighbors", assign_labels="kmeans")` (docs/references.md;
von Luxburg 2007 for the method):

1. Connectivity A: A_ij = 1 when x_j is one of the `n_neighbors` nearest points of x_i, the point
   itself included (scikit-learn's `kneighbors_graph(include_self=True)`); affinity W = (A + A^T) / 2.
2. Normalised Laplacian of W without its self-loops (as `scipy.sparse.csgraph.laplacian(normed=True)`):
   L = I - D^-1/2 W D^-1/2, D the degrees; an isolated point gets degree 1 and a 0 on the diagonal.
3. Embedding: the eigenvectors of the `n_components` smallest eigenvalues of L (dense
   `jnp.linalg.eigh`: fine for a few thousand points), each row divided by sqrt(degree), every vector's
   sign fixed so that its largest-magnitude entry is positive.
4. Labels: k-means (k-means++, `n_init` restarts) of the embedding's rows.

The graph, the Laplacian and the eigendecomposition are dense [n, n] arrays on one device.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxml.classic.distances import sq_dists
from jaxml.classic.kmeans import kmeans
from jaxml.classic.points import make_points
from jaxml.core.config import check_int
from jaxml.errors import JaxmlError


@functools.partial(jax.jit, static_argnames=("n_neighbors",))
def knn_indices(x: jax.Array, n_neighbors: int) -> jax.Array:
    """[n, n_neighbors] int32: the indices of the `n_neighbors` nearest points of each x_i, nearest
    first, every point its own first neighbour (scikit-learn's `kneighbors` of the fitted points)."""
    n = x.shape[0]
    d2 = sq_dists(x, x)
    d2 = jnp.where(jnp.eye(n, dtype=bool), -1.0, d2)  # the point itself first, also among duplicates
    _, neighbours = jax.lax.top_k(-d2, n_neighbors)
    return neighbours.astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("n_neighbors",))
def knn_connectivity(x: jax.Array, n_neighbors: int) -> jax.Array:
    """[n, n] kNN connectivity A (not symmetric): A_ij = 1 when x_j is one of the `n_neighbors` nearest
    points of x_i, every point its own first neighbour (scikit-learn's `kneighbors_graph` of the
    fitted points)."""
    n = x.shape[0]
    return jnp.zeros((n, n), x.dtype).at[jnp.arange(n)[:, None], knn_indices(x, n_neighbors)].set(1.0)


@functools.partial(jax.jit, static_argnames=("n_neighbors",))
def knn_affinity(x: jax.Array, n_neighbors: int) -> jax.Array:
    """[n, n] symmetrised kNN connectivity (A + A^T) / 2, every point its own first neighbour."""
    a = knn_connectivity(x, n_neighbors)
    return 0.5 * (a + a.T)


@functools.partial(jax.jit, static_argnames=("n_components",))
def spectral_embedding(affinity: jax.Array, n_components: int) -> jax.Array:
    """[n, n_components] the normalised-Laplacian embedding of a symmetric affinity matrix (step 2-3)."""
    n = affinity.shape[0]
    off_diagonal = jnp.where(jnp.eye(n, dtype=bool), 0.0, affinity)
    degree = jnp.sum(off_diagonal, axis=0)
    isolated = degree == 0
    dd = jnp.where(isolated, 1.0, jnp.sqrt(degree))
    laplacian = -off_diagonal / dd[:, None] / dd[None, :]
    laplacian = laplacian + jnp.diag(jnp.where(isolated, 0.0, 1.0))
    _, vectors = jnp.linalg.eigh(laplacian, symmetrize_input=True)
    embedding = vectors[:, :n_components] / dd[:, None]
    biggest = jnp.argmax(jnp.abs(embedding), axis=0)
    signs = jnp.sign(embedding[biggest, jnp.arange(n_components)])
    return embedding * jnp.where(signs == 0, 1.0, signs)[None, :]


def spectral_clustering(key: jax.Array, x, k: int, *, n_neighbors: int = 10, n_components: int | None = None,
                        n_init: int = 10):
    """Labels [n] of `x` [n, d] in k clusters (module docstring); also returns the affinity and the
    embedding: (labels, affinity [n, n], embedding [n, n_components])."""
    x = jnp.asarray(x)
    n = x.shape[0]
    check_int(k, "k", 1)
    check_int(n_neighbors, "n_neighbors", 1)
    check_int(n_init, "n_init", 1)
    if n_neighbors > n:
        raise JaxmlError(f"n_neighbors={n_neighbors} must be <= the number of points ({n})")
    n_components = k if n_components is None else check_int(n_components, "n_components", 1)
    if n_components > n:
        raise JaxmlError(f"n_components={n_components} must be <= the number of points ({n})")
    affinity = knn_affinity(x, n_neighbors)
    embedding = spectral_embedding(affinity, n_components)
    result = kmeans(key, make_points(embedding), k, init="k-means++", n_init=n_init)
    return result.labels[:n], affinity, embedding
