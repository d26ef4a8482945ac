"""Spectral clustering: the kNN affinity equals scikit-learn's symmetrised kneighbors_graph, the
embedding spans scikit-learn's spectral_embedding subspace, and the ARI on blobs matches
SpectralClustering(affinity="nearest_neighbors")."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.cluster import SpectralClustering
from sklearn.manifold import spectral_embedding
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import kneighbors_graph

from cluster_data import blobs
from jaxml.classic import spectral

pytestmark = [pytest.mark.xdist_group("classic_spectral"),
              pytest.mark.filterwarnings("ignore:Graph is not fully connected")]  # the blobs' kNN graph: 4 components


def test_affinity_is_sklearns_symmetrised_connectivity():
    x, _ = blobs()
    a = kneighbors_graph(x, 10, include_self=True).toarray()
    np.testing.assert_array_equal(np.asarray(spectral.knn_affinity(jnp.asarray(x, jnp.float32), 10)), 0.5 * (a + a.T))


def test_embedding_spans_sklearns_subspace():
    """Same normalised-Laplacian eigenvectors (up to rotation within the near-null space): principal
    angles between the two 4-dimensional embeddings below 1e-3."""
    x, _ = blobs()
    affinity = spectral.knn_affinity(jnp.asarray(x, jnp.float32), 10)
    ours = np.asarray(spectral.spectral_embedding(affinity, 4), np.float64)
    ref = spectral_embedding(np.asarray(affinity, np.float64), n_components=4, norm_laplacian=True, drop_first=False,
                             random_state=0)
    assert np.max(subspace_angles(ours, ref)) < 1e-3


def test_spectral_ari_on_blobs_matches_sklearn():
    x, y = blobs()
    x = x * np.array([1.0, 0.3, 0.3])  # bring two blobs close enough that the ARI is below 1
    ref = SpectralClustering(4, affinity="nearest_neighbors", n_neighbors=10, random_state=0).fit(x)
    labels, _, _ = spectral.spectral_clustering(jax.random.key(0), x.astype(np.float32), 4, n_neighbors=10)
    ours, theirs = adjusted_rand_score(y, np.asarray(labels)), adjusted_rand_score(y, ref.labels_)
    assert ours > 0.8 and abs(ours - theirs) <= 0.03
