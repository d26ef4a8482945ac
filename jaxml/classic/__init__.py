"""Classic learners: clustering (k-means, mini-batch k-means, Gaussian mixtures by EM, spectral
clustering), their metrics and choosing k; anomaly detection (the isolation forest, `iforest.py`) and
ranking metrics (ROC-AUC, average precision); support vector machines (`svm.py`: linear, and the RBF
kernel through random Fourier or Nystroem features, solved by optax's L-BFGS); histogram trees
(`binning.py`, `trees.py`: one level-wise builder with a vectorised split search) for gradient
boosting (`gbdt.py`) and random forests (`forest.py`); segment profiles (`profiles.py`).

These are not gradient-trained recipes on the supervised loop: each fit is one jitted function of
(key, points) with its own fixed-point iteration (`lax.while_loop`), so they live apart from
`jaxml/methods/` and stand only on `core/` (the mesh, plots, the registry). `jaxml/methods/cluster.py`,
`jaxml/methods/anomaly.py`, `jaxml/methods/svm.py` and `jaxml/methods/trees.py` are the experiment wrappers that `jaxml train`
calls.

Importing this package imports nothing; the experiments' defaults live in `jaxml.defaults.cluster`,
`jaxml.defaults.anomaly`, `jaxml.defaults.svm` and `jaxml.defaults.trees`.
"""
