"""Customer segmentation: k-means (k = 7, k-means++, n_init = 20) of 5000 generated customers with six
planted segments and 3 % outliers (`jaxml.data.customers`: recency / frequency / monetary and five
behavioural features on mixed scales, heavy-tailed spend), log1p of the skewed features, then
standardised; scikit-learn's KMeans runs beside it on the same data (sklearn_* in the result). The
truth the found segments are scored against is the six planted segments plus the outliers as a
seventh group (k-means gives the outliers a cluster of their own: with k = 6 it spends one on them
and merges two planted segments).

Command:   jaxml train segment_customers
Expected:  over 20 seeds, the mean ARI of found vs planted segments within +-0.02 of scikit-learn's
           KMeans on the same data (`ari_mean_abs_diff`), the mean inertia within 1 % of it, and
           the mean ARI itself >= 0.75 (scikit-learn measured 0.81 on this data, docs/clustering.md).
Reference: scikit-learn KMeans (docs/references.md#clustering), run in the experiment; the targets
           are the project's (docs/references.md#project-targets).
Also:      segments.md / segment_profiles.json (each found segment's size, the planted segment it
           recovers and its purity, per-feature medians and means in raw units) and
           plots/segments.png (the profile heat map and the first two principal components).
Hardware:  2-core CPU, a few minutes (400 k-means fits on each side).
"""

from jaxml.defaults.cluster import segment_config

_REF = "scikit-learn KMeans on the same standardised customers, 20 seeds (docs/references.md#clustering)"
EXPECTED = {"metric": "ari_mean_abs_diff", "at_most": 0.02, "reference": _REF,
            "also": ({"metric": "inertia_mean_rel_diff", "at_most": 0.01},
                     {"metric": "ari_mean", "at_least": 0.75})}
SUITES = ("full",)


def get_config():
    return segment_config()
