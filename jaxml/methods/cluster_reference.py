"""The scikit-learn REFERENCE runs of the clustering experiments, recorded beside jaxml's numbers as
`sklearn_*` (for the record and the comparison only: nothing of jaxml's fits comes from here).

Every function takes the same standardised float64 data jaxml clusters, and its scores (ARI, NMI,
silhouette) come from `sklearn.metrics`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def scores(x: np.ndarray, y: np.ndarray, labels: np.ndarray, silhouette: bool = True) -> dict[str, float]:
    from sklearn import metrics

    out = {"ari": float(metrics.adjusted_rand_score(y, labels)),
           "nmi": float(metrics.normalized_mutual_info_score(y, labels))}
    if silhouette:
        out["silhouette"] = float(metrics.silhouette_score(x, labels, metric="euclidean"))
    return out


def kmeans_runs(x: np.ndarray, y: np.ndarray, k: int, init: str, n_init: int, max_iter: int, tol: float,
                seeds: Sequence[int]) -> list[dict[str, Any]]:
    """`KMeans(algorithm="lloyd")` once per random_state in `seeds`: inertia, n_iter, ARI, NMI (and the
    silhouette of the first)."""
    from sklearn.cluster import KMeans

    out = []
    for i, seed in enumerate(seeds):
        km = KMeans(n_clusters=k, init=init, n_init=n_init, max_iter=max_iter, tol=tol, algorithm="lloyd",
                    random_state=int(seed)).fit(x)
        out.append({"inertia": float(km.inertia_), "n_iter": int(km.n_iter_),
                    **scores(x, y, km.labels_, silhouette=i == 0)})
    return out


def kmeans_from(x: np.ndarray, centers: np.ndarray, max_iter: int, tol: float) -> dict[str, Any]:
    """`KMeans` from given initial centres (n_init=1): the same-initialisation check of Lloyd's iterations."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=len(centers), init=np.asarray(centers, np.float64), n_init=1, max_iter=max_iter, tol=tol,
                algorithm="lloyd").fit(x)
    return {"inertia": float(km.inertia_), "n_iter": int(km.n_iter_), "labels": km.labels_}


def minibatch(x: np.ndarray, y: np.ndarray, k: int, batch_size: int, max_iter: int, n_init: int,
              seed: int) -> dict[str, Any]:
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(n_clusters=k, batch_size=batch_size, max_iter=max_iter, n_init=n_init,
                         random_state=seed).fit(x)
    return {"inertia": float(km.inertia_), "n_steps": int(km.n_steps_), **scores(x, y, km.labels_, silhouette=False)}


def k_curve(x: np.ndarray, ks: Sequence[int], n_init: int, seed: int) -> dict[str, list]:
    from sklearn import metrics
    from sklearn.cluster import KMeans

    out: dict[str, list] = {"k": [], "inertia": [], "silhouette": []}
    for k in ks:
        km = KMeans(n_clusters=int(k), n_init=n_init, random_state=seed).fit(x)
        out["k"].append(int(k))
        out["inertia"].append(float(km.inertia_))
        out["silhouette"].append(float(metrics.silhouette_score(x, km.labels_)) if k > 1 else float("nan"))
    return out


def gmm_from_labels(x: np.ndarray, labels: np.ndarray, k: int, covariance_type: str, max_iter: int, tol: float,
                    reg_covar: float) -> dict[str, Any]:
    """`GaussianMixture` started from hard labels: the weights, means and precisions scikit-learn's own
    `init_params="kmeans"` computes from one-hot responsibilities (N_k + 10 eps, reg_covar on the
    diagonal), passed as weights_init / means_init / precisions_init."""
    from sklearn.mixture import GaussianMixture

    resp = np.eye(k)[labels]
    nk = resp.sum(0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ x / nk[:, None]
    if covariance_type == "full":
        cov = np.stack([(resp[:, j] * (x - means[j]).T) @ (x - means[j]) / nk[j] + reg_covar * np.eye(x.shape[1])
                        for j in range(k)])
        precisions = np.linalg.inv(cov)
    elif covariance_type == "diag":
        precisions = 1.0 / (resp.T @ (x * x) / nk[:, None] - means ** 2 + reg_covar)
    else:
        raise ValueError(covariance_type)
    g = GaussianMixture(n_components=k, covariance_type=covariance_type, max_iter=max_iter, tol=tol,
                        reg_covar=reg_covar, weights_init=nk / nk.sum(), means_init=means,
                        precisions_init=precisions).fit(x)
    return {"log_likelihood": float(g.score(x)), "n_iter": int(g.n_iter_), "converged": bool(g.converged_),
            "labels": g.predict(x)}


def gmm_default(x: np.ndarray, k: int, covariance_type: str, max_iter: int, tol: float, reg_covar: float,
                seed: int) -> dict[str, Any]:
    """`GaussianMixture` with its default initialisation (its own k-means, random_state=seed)."""
    from sklearn.mixture import GaussianMixture

    g = GaussianMixture(n_components=k, covariance_type=covariance_type, max_iter=max_iter, tol=tol,
                        reg_covar=reg_covar, random_state=seed).fit(x)
    return {"log_likelihood": float(g.score(x)), "n_iter": int(g.n_iter_), "labels": g.predict(x)}


def spectral(x: np.ndarray, k: int, n_neighbors: int, n_init: int, seed: int) -> dict[str, Any]:
    """`SpectralClustering(affinity="nearest_neighbors")` and its affinity matrix (dense)."""
    from sklearn.cluster import SpectralClustering

    sc = SpectralClustering(n_clusters=k, affinity="nearest_neighbors", n_neighbors=n_neighbors, n_init=n_init,
                            random_state=seed).fit(x)
    return {"labels": sc.labels_, "affinity": sc.affinity_matrix_.toarray()}


def spectral_precomputed(affinity: np.ndarray, k: int, n_init: int, seed: int) -> np.ndarray:
    """`SpectralClustering(affinity="precomputed")` on a given affinity matrix: labels."""
    from sklearn.cluster import SpectralClustering

    sc = SpectralClustering(n_clusters=k, affinity="precomputed", n_init=n_init, random_state=seed)
    return sc.fit(np.asarray(affinity, np.float64)).labels_
