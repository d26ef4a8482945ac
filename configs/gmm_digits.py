"""Gaussian mixture (10 components, full covariances, reg_covar 1e-6) of the standardised sklearn
digits by EM, initialised as scikit-learn does by default (the labels of one k-means++ k-means run);
scikit-learn's GaussianMixture runs from the same labels as the reference.

Command:   jaxml train gmm_digits
Expected:  log_likelihood (mean per point, final parameters) within 1 % of scikit-learn's
           GaussianMixture started from the same k-means labels (log_likelihood_rel_diff <= 0.01).
           Runs in float64: full 64 x 64 covariances with reg_covar 1e-6 on constant pixels have
           condition numbers ~1e7, beyond float32's Cholesky (docs/clustering.md).
Reference: scikit-learn GaussianMixture (docs/references.md#clustering), run in the experiment, also
           once with its own default initialisation (recorded, not compared: another k-means run).
Hardware:  2-core CPU, under a minute.
"""

from jaxml.defaults.cluster import cluster_config

EXPECTED = {"metric": "log_likelihood_rel_diff", "at_most": 0.01,
            "reference": "scikit-learn GaussianMixture from the same k-means labels (docs/references.md#clustering)"}
SUITES = ("full",)


def get_config():
    c = cluster_config("gmm")
    c.float64 = True
    return c
