"""Classic learners: clustering (k-means, mini-batch k-means, Gaussian mixtures by EM, spectral
clustering), their metrics and choosing k; anomaly detection (the isolation forest, `iforest.py`) and
ranking metrics (ROC-AUC, average precision).

These are not gradient-trained recipes on the supervised loop: each fit is one jitted function of
(key, points) with its own fixed-point iteration (`lax.while_loop`), so they live apart from
`jaxml/methods/` and stand only on `core/` (the mesh, plots, the registry). `jaxml/methods/cluster.py`
and `jaxml/methods/anomaly.py` are the experiment wrappers that `jaxml train` calls.

Importing this package imports nothing; the experiments' defaults live in `jaxml.defaults.cluster`
and `jaxml.defaults.anomaly`.
"""
