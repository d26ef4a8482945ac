"""Spectral clustering (k = 10) of the standardised sklearn digits on the symmetrised 10-nearest-neighbour
connectivity graph, normalised-Laplacian embedding, k-means (n_init = 10) on it; scikit-learn's
SpectralClustering(affinity="nearest_neighbors") runs beside it as the reference.

Command:   jaxml train spectral_digits
Expected:  ARI within +-0.03 of scikit-learn's SpectralClustering on the same graph construction
           (ari_abs_diff <= 0.03).
Reference: scikit-learn SpectralClustering (docs/references.md#clustering), run in the experiment,
           also on jaxml's own affinity matrix (sklearn_on_jaxml_graph_ari).
Hardware:  2-core CPU, under a minute (a dense 1797 x 1797 eigendecomposition).
"""

from jaxml.defaults.cluster import cluster_config

EXPECTED = {"metric": "ari_abs_diff", "at_most": 0.03,
            "reference": "scikit-learn SpectralClustering(affinity='nearest_neighbors') (docs/references.md#clustering)"}
SUITES = ("quick", "full")  # 27 s on the shared 2-core CPU


def get_config():
    return cluster_config("spectral")
