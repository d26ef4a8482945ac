"""Clustering experiments: k-means, Gaussian mixture (EM) and spectral clustering on sklearn's digits;
customer segmentation (k-means) on a generated customer set with planted segments.

`train(config, workdir)` loads `config.dataset` (`DATASETS`: the 1797 x 64 digits, or the generated
customers of `jaxml.data.customers` with log1p on their skewed features), standardises it
(StandardScaler: per-feature mean 0, std 1, constant features left at 0), runs the jaxml fit of
`config.algorithm` (`jaxml/classic/`), scores it against the true labels (digit classes / planted
segments: ARI, NMI) and the data (inertia, silhouette), and -- with
`config.reference` -- runs scikit-learn's estimator on the same data and initialisation scheme
(`cluster_reference.py`), recording its numbers as `sklearn_*` and the differences as `*_rel_diff`
(relative, |jaxml - sklearn| / |sklearn|) and `*_abs_diff` (|jaxml - sklearn|).

The algorithms are values in `ALGORITHMS`; each returns its flat dict of results. The points are split
over the devices of `config.parallel` (k-means, the GMM; spectral clustering's dense graph stays on one
device).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import ml_collections
import numpy as np

from jaxml.classic import cluster_metrics, kmeans as kmeans_lib, minibatch as minibatch_lib, mixture, spectral
from jaxml.classic.choose_k import k_curves, plot_k_curves
from jaxml.classic.profiles import plot_profiles, profile_markdown, segment_profiles
from jaxml.classic.points import Points, make_points
from jaxml.core import sharding
from jaxml.core.config import check_int, check_number
from jaxml.core.registry import choose
from jaxml.errors import JaxmlError
from jaxml.data import customers
from jaxml.methods import cluster_reference as reference

# init name -> the short name its results carry (kmeanspp_inertia, random_ari, ...)
INIT_PREFIX = {"k-means++": "kmeanspp", "random": "random"}


class Data(NamedTuple):
    x: np.ndarray   # [n, d] standardised float64 (what the reference gets)
    y: np.ndarray   # [n] true labels (digit classes, planted segments)
    points: Points  # x as jaxml points (float32, or float64 under config.float64), on the mesh
    info: dict | None = None  # what a data set adds (the customers: raw features, names, outlier mask)


def standardise(x: np.ndarray) -> np.ndarray:
    """Per-feature mean 0, std 1 (sklearn's StandardScaler; constant features left at 0)."""
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std == 0, 1.0, std)


def standardised_digits(num_points: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The digits (first `num_points`, 0 = all) standardised like sklearn's StandardScaler."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    if num_points:
        x, y = x[:num_points], y[:num_points]
    return standardise(x), y.astype(np.int32)


def digits_data(config: ml_collections.ConfigDict) -> tuple[np.ndarray, np.ndarray, dict | None]:
    return (*standardised_digits(int(config.num_points)), None)


def customers_data(config: ml_collections.ConfigDict) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """`config.num_points` generated customers (`data.customers`, seed config.segment.data_seed), log1p of
    config.segment.log_features, standardised. The labels are the planted segments with the outliers as
    one more group (label len(SEGMENTS), `SEGMENT_NAMES`' last); info: the raw features and the outlier
    mask."""
    if "segment" not in config:
        raise JaxmlError("config.dataset='customers' needs a config.segment group (as configs/segment_customers.py)")
    c = config.segment
    check_int(config.num_points, "config.num_points", 10)
    check_number(c.outlier_fraction, "config.segment.outlier_fraction", 0.0, 0.5)
    for name in c.log_features:
        if name not in customers.FEATURES:
            raise JaxmlError(f"config.segment.log_features={name!r} is not valid; choose from "
                             f"{', '.join(customers.FEATURES)}")
    raw, planted, outliers = customers.customers(int(config.num_points), int(c.data_seed), float(c.outlier_fraction))
    x = raw.copy()
    cols = [customers.FEATURES.index(name) for name in c.log_features]
    x[:, cols] = np.log1p(x[:, cols])
    labels = np.where(outliers, len(customers.SEGMENTS), planted).astype(np.int32)
    return standardise(x), labels, {"raw": raw, "outliers": outliers}


SEGMENT_NAMES = (*customers.SEGMENTS, "outliers")  # the customers' label names


# name -> load(config) -> (standardised x [n, d] float64, labels [n] int32, info or None)
DATASETS: dict[str, Callable[[ml_collections.ConfigDict], tuple]] = {"digits": digits_data,
                                                                     "customers": customers_data}


def rel_diff(value: float, ref: float) -> float:
    return abs(value - ref) / abs(ref)


def label_scores(data: Data, labels: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """(ARI, NMI) against the digit labels of labels [..., n_pad] (leading axes vmapped)."""
    classes = int(data.y.max()) + 1
    y = jax.numpy.asarray(data.y)
    score = lambda pred: (cluster_metrics.adjusted_rand_index(y, pred[:data.points.n], classes, k),
                          cluster_metrics.normalized_mutual_info(y, pred[:data.points.n], classes, k))
    for _ in range(labels.ndim - 1):
        score = jax.vmap(score)
    return score(labels)


def jaxml_scores(data: Data, labels: jax.Array, k: int, silhouette: bool = True) -> dict[str, float]:
    """ARI and NMI against the digit labels, and the silhouette on the data (all in JAX)."""
    ari, nmi = label_scores(data, labels, k)
    out = {"ari": float(ari), "nmi": float(nmi)}
    if silhouette:
        out["silhouette"] = float(cluster_metrics.silhouette_score(data.points.x, labels, k, data.points.w))
    return out


# metrics compared as |jaxml - sklearn| / |sklearn| (*_rel_diff) and as |jaxml - sklearn| (*_abs_diff)
RELATIVE = ("inertia", "inertia_mean", "log_likelihood")
ABSOLUTE = ("ari", "nmi", "silhouette", "ari_mean", "nmi_mean")


def seed_summary(inertias: Any, aris: Any, nmis: Any) -> dict[str, float]:
    """Means (and stds) over independent runs of their inertia, ARI and NMI."""
    return {"inertia_mean": float(np.mean(inertias)), "inertia_std": float(np.std(inertias)),
            "ari_mean": float(np.mean(aris)), "ari_std": float(np.std(aris)), "nmi_mean": float(np.mean(nmis))}


def compare(out: dict[str, Any], prefix: str, ours: dict[str, float], ref: dict[str, float]) -> None:
    """Writes <prefix><metric>, sklearn_<prefix><metric> and their difference into `out`."""
    for metric, value in ours.items():
        out[f"{prefix}{metric}"] = value
        if metric not in ref:
            continue
        out[f"sklearn_{prefix}{metric}"] = ref[metric]
        if metric in RELATIVE:
            out[f"{prefix}{metric}_rel_diff"] = rel_diff(value, ref[metric])
        elif metric in ABSOLUTE:
            out[f"{prefix}{metric}_abs_diff"] = abs(value - ref[metric])


# ------------------------------------------------------------------------------------------ k-means

def run_kmeans(config: ml_collections.ConfigDict, data: Data, workdir: Path) -> dict[str, Any]:
    """Per init scheme: `num_seeds` independent fits (each the best of n_init restarts, vmapped in one
    call) against scikit-learn's KMeans with random_state seed..seed+num_seeds-1. The first seed is the
    sklearn example's single run; the seed means are the comparison that does not depend on which
    random numbers each library draws. Then the same-initialisation check (sklearn's Lloyd from the
    first run's seeding), mini-batch k-means, and the elbow / silhouette curves."""
    c, k = config.kmeans, int(config.k)
    seeds = [int(config.seed) + s for s in range(int(c.num_seeds))]
    out: dict[str, Any] = {"k": k, "n_init": int(c.n_init), "num_seeds": len(seeds)}
    key = jax.random.key(int(config.seed))
    for init in c.inits:
        prefix = INIT_PREFIX[init] + "_"
        runs = kmeans_lib.kmeans(jax.random.fold_in(key, list(INIT_PREFIX).index(init)), data.points, k, init=init,
                                 n_init=int(c.n_init), max_iter=int(c.max_iter), tol=float(c.tol), runs=len(seeds),
                                 block_size=int(c.block_size))
        inertias = np.asarray(runs.inertia, np.float64)
        aris, nmis = (np.asarray(a, np.float64) for a in label_scores(data, runs.labels, k))  # [num_seeds] each
        first = {"inertia": float(inertias[0]), "n_iter": int(runs.n_iter[0]),
                 **jaxml_scores(data, runs.labels[0], k)}
        means = seed_summary(inertias, aris, nmis)
        if not config.reference:
            out.update({prefix + m: v for m, v in {**first, **means}.items()})
            continue
        refs = reference.kmeans_runs(data.x, data.y, k, init, int(c.n_init), int(c.max_iter), float(c.tol), seeds)
        ref_means = seed_summary(*([r[m] for r in refs] for m in ("inertia", "ari", "nmi")))
        compare(out, prefix, {**first, **means}, {**refs[0], **ref_means})
        same = reference.kmeans_from(data.x, np.asarray(runs.init_centers[0], np.float64), int(c.max_iter),
                                     float(c.tol))
        out[f"{prefix}same_init_inertia_rel_diff"] = rel_diff(first["inertia"], same["inertia"])
        out[f"{prefix}same_init_n_iter"] = first["n_iter"]
        out[f"sklearn_{prefix}same_init_n_iter"] = same["n_iter"]
        out[f"{prefix}same_init_label_ari"] = float(cluster_metrics.adjusted_rand_index(
            runs.labels[0][:data.points.n], jax.numpy.asarray(same["labels"], np.int32), k, k))
    out.update(run_minibatch(config, data))
    if config.choose_k.ks:
        out.update(run_choose_k(config, data, workdir))
    return out


def run_minibatch(config: ml_collections.ConfigDict, data: Data) -> dict[str, Any]:
    """Mini-batch k-means (k-means++ seeding), for the record beside sklearn's MiniBatchKMeans."""
    c, k = config.minibatch, int(config.k)
    settings = minibatch_lib.MiniBatchSettings(batch_size=int(c.batch_size), max_iter=int(c.max_iter))
    result = minibatch_lib.minibatch_kmeans(jax.random.key(int(config.seed) + 1), data.points, k, n_init=int(c.n_init),
                                            settings=settings)
    ours = {"inertia": float(result.inertia), "n_steps": int(result.n_iter),
            **jaxml_scores(data, result.labels, k, silhouette=False)}
    out: dict[str, Any] = {}
    ref = reference.minibatch(data.x, data.y, k, int(c.batch_size), int(c.max_iter), int(c.n_init),
                              int(config.seed)) if config.reference else {}
    compare(out, "minibatch_", ours, ref)
    return out


def run_choose_k(config: ml_collections.ConfigDict, data: Data, workdir: Path) -> dict[str, Any]:
    """Elbow and silhouette curves over config.choose_k.ks -> plots/choose_k.png."""
    c = config.choose_k
    curves = k_curves(jax.random.key(int(config.seed) + 2), data.points, c.ks, n_init=int(c.n_init))
    ref = reference.k_curve(data.x, c.ks, int(c.n_init), int(config.seed)) if config.reference else None
    if jax.process_index() == 0:
        plot_k_curves(curves, Path(workdir) / "plots" / "choose_k.png",
                      title=f"k-means on standardised digits (n_init={int(c.n_init)})", reference=ref)
    sil = np.asarray(curves["silhouette"])
    out = {"choose_k_best_silhouette_k": int(curves["k"][int(np.nanargmax(sil))]),
           "summary_plot": "plots/choose_k.png"}  # what RESULTS.md shows for this run
    if ref is not None:
        out["sklearn_choose_k_best_silhouette_k"] = int(ref["k"][int(np.nanargmax(ref["silhouette"]))])
    return out


# -------------------------------------------------------------------------------------------- GMM

def run_gmm(config: ml_collections.ConfigDict, data: Data, workdir: Path) -> dict[str, Any]:
    """scikit-learn's default GMM initialisation -- the labels of one k-means++ k-means run (n_init=1)
    -- from jaxml's k-means, then EM; the reference runs EM from the same labels (same init), and once
    with its own default initialisation (recorded, not compared)."""
    c, k = config.gmm, int(config.k)
    init = kmeans_lib.kmeans(jax.random.key(int(config.seed)), data.points, k, n_init=1)
    fit = mixture.gaussian_mixture(data.points, init.labels, k, covariance_type=c.covariance_type,
                                   max_iter=int(c.max_iter), tol=float(c.tol), reg_covar=float(c.reg_covar))
    bounds = np.asarray(fit.lower_bounds, np.float64)
    bounds = bounds[np.isfinite(bounds)]
    out: dict[str, Any] = {"k": k, "covariance_type": c.covariance_type, "init_kmeans_inertia": float(init.inertia),
                           "lower_bound_min_increase": float(np.diff(bounds).min()) if len(bounds) > 1 else 0.0,
                           "converged": bool(fit.converged)}
    ours = {"log_likelihood": float(fit.log_likelihood), "n_iter": int(fit.n_iter),
            **jaxml_scores(data, fit.labels, k, silhouette=False)}
    if not config.reference:
        out.update(ours)
        return out
    labels = np.asarray(init.labels[:data.points.n])
    same = reference.gmm_from_labels(data.x, labels, k, c.covariance_type, int(c.max_iter), float(c.tol),
                                     float(c.reg_covar))
    compare(out, "", ours, {"log_likelihood": same["log_likelihood"], "n_iter": same["n_iter"],
                            **reference.scores(data.x, data.y, same["labels"], silhouette=False)})
    out["label_agreement_ari"] = float(cluster_metrics.adjusted_rand_index(
        fit.labels[:data.points.n], jax.numpy.asarray(same["labels"], np.int32), k, k))
    default = reference.gmm_default(data.x, k, c.covariance_type, int(c.max_iter), float(c.tol), float(c.reg_covar),
                                    int(config.seed))
    out["sklearn_default_init_log_likelihood"] = default["log_likelihood"]
    out["sklearn_default_init_ari"] = reference.scores(data.x, data.y, default["labels"], silhouette=False)["ari"]
    return out


# --------------------------------------------------------------------------------------- spectral

def run_spectral(config: ml_collections.ConfigDict, data: Data, workdir: Path) -> dict[str, Any]:
    """jaxml's kNN graph, embedding and k-means (n_init restarts) against sklearn's SpectralClustering
    on its own kNN graph (the target) and on jaxml's graph (precomputed affinity)."""
    c, k = config.spectral, int(config.k)
    x = data.points.x[:data.points.n]
    labels, affinity, _ = spectral.spectral_clustering(jax.random.key(int(config.seed)), x, k,
                                                       n_neighbors=int(c.n_neighbors), n_init=int(c.n_init))
    points = make_points(np.asarray(x))
    ours = {**jaxml_scores(data._replace(points=points), labels, k)}
    out: dict[str, Any] = {"k": k, "n_neighbors": int(c.n_neighbors)}
    if not config.reference:
        out.update(ours)
        return out
    ref = reference.spectral(data.x, k, int(c.n_neighbors), int(c.n_init), int(config.seed))
    compare(out, "", ours, reference.scores(data.x, data.y, ref["labels"]))
    affinity = np.asarray(affinity, np.float64)
    out["graph_entries_differing"] = int(np.sum(affinity != ref["affinity"]))
    on_ours = reference.spectral_precomputed(affinity, k, int(c.n_init), int(config.seed))
    out["sklearn_on_jaxml_graph_ari"] = reference.scores(data.x, data.y, on_ours, silhouette=False)["ari"]
    out["label_agreement_ari"] = float(cluster_metrics.adjusted_rand_index(
        jax.numpy.asarray(labels), jax.numpy.asarray(ref["labels"], np.int32), k, k))
    return out


# ------------------------------------------------------------------------------------ segmentation

def run_segment(config: ml_collections.ConfigDict, data: Data, workdir: Path) -> dict[str, Any]:
    """k-means segmentation of the generated customers: `num_seeds` independent fits (each the best of
    n_init k-means++ restarts) scored against the planted segments and the outlier group (ARI, NMI;
    `ari_inliers`: the first fit on the inliers only, against their segments)
    beside scikit-learn's KMeans with random_state seed..seed+num_seeds-1; the first fit's segment
    profiles (raw-unit medians and means, the planted segment each recovers) go to segments.md and
    segment_profiles.json, their heat map and a 2-D projection to plots/segments.png."""
    c, k, n = config.segment, int(config.k), data.points.n
    seeds = [int(config.seed) + s for s in range(int(c.num_seeds))]
    runs = kmeans_lib.kmeans(jax.random.key(int(config.seed)), data.points, k, init=c.init, n_init=int(c.n_init),
                             max_iter=int(c.max_iter), tol=float(c.tol), runs=len(seeds), block_size=int(c.block_size))
    aris, nmis = (np.asarray(a, np.float64) for a in label_scores(data, runs.labels, k))
    labels = np.asarray(runs.labels[0][:n])
    inliers = ~data.info["outliers"]
    classes = int(data.y.max()) + 1
    ours = {"inertia": float(runs.inertia[0]), "n_iter": int(runs.n_iter[0]), **jaxml_scores(data, runs.labels[0], k),
            **seed_summary(np.asarray(runs.inertia, np.float64), aris, nmis)}
    out: dict[str, Any] = {"k": k, "n_init": int(c.n_init), "num_seeds": len(seeds),
                           "num_outliers": int((~inliers).sum()), "planted_segments": classes,
                           "ari_inliers": float(cluster_metrics.adjusted_rand_index(
                               jax.numpy.asarray(data.y[inliers]), jax.numpy.asarray(labels[inliers]), classes, k))}
    if config.reference:
        refs = reference.kmeans_runs(data.x, data.y, k, c.init, int(c.n_init), int(c.max_iter), float(c.tol), seeds)
        compare(out, "", ours, {**refs[0], **seed_summary(*([r[m] for r in refs] for m in ("inertia", "ari", "nmi")))})
    else:
        out.update(ours)
    rows = segment_profiles(data.info["raw"], labels, k, customers.FEATURES, data.y, SEGMENT_NAMES)
    out["segments_recovered"] = len({r["planted"] for r in rows if "planted" in r})
    out["purity_min"] = min(r.get("purity", 0.0) for r in rows)
    if jax.process_index() == 0:
        title = f"k-means (k={k}, n_init={int(c.n_init)}) of {n} generated customers: ARI {ours['ari']:.3f}"
        (workdir / "segments.md").write_text(profile_markdown(rows, customers.FEATURES, title))
        (workdir / "segment_profiles.json").write_text(json.dumps(rows, indent=1) + "\n")
        plot_profiles(data.x, labels, rows, customers.FEATURES, workdir / "plots" / "segments.png", title=title)
    out.update(summary_plot="plots/segments.png", profile_table="segments.md")
    return out


# name -> run(config, data, workdir) -> results
ALGORITHMS: dict[str, Callable[..., dict[str, Any]]] = {"kmeans": run_kmeans, "gmm": run_gmm, "spectral": run_spectral,
                                                        "segment": run_segment}


def check_config(config: ml_collections.ConfigDict, n: int) -> None:
    """One JaxmlError naming the key for a bad value (n: the number of points)."""
    algorithm = choose(ALGORITHMS, config.algorithm, "config.algorithm")
    check_int(config.k, "config.k", 1)
    if config.k > n:
        raise JaxmlError(f"config.k={config.k} must be <= the number of points ({n})")
    if config.algorithm not in config:
        raise JaxmlError(f"config.algorithm={config.algorithm!r} needs a config.{config.algorithm} group")
    if algorithm is run_kmeans:
        c = config.kmeans
        if not c.inits:
            raise JaxmlError(f"config.kmeans.inits=() is empty; choose from {', '.join(kmeans_lib.INITS)}")
        for init in c.inits:
            choose(kmeans_lib.INITS, init, "config.kmeans.inits")
        kmeans_lib.check_args(n, int(config.k), c.inits[0], c.n_init, c.max_iter, c.tol, prefix="config.kmeans.",
                              block_size=c.block_size)
        check_int(c.num_seeds, "config.kmeans.num_seeds", 1)
        kmeans_lib.check_args(n, int(config.k), "k-means++", config.minibatch.n_init, config.minibatch.max_iter, 0.0,
                              prefix="config.minibatch.")
        minibatch_lib.MiniBatchSettings(batch_size=config.minibatch.batch_size).check(int(config.k), "config.minibatch.")
        check_int(config.choose_k.n_init, "config.choose_k.n_init", 1)
        for kk in config.choose_k.ks:
            check_int(kk, "config.choose_k.ks", 1)
            if kk > n:
                raise JaxmlError(f"config.choose_k.ks has k={kk} > the number of points ({n})")
    elif algorithm is run_segment:
        c = config.segment
        if config.dataset != "customers":
            raise JaxmlError(f"config.algorithm='segment' needs config.dataset='customers', got {config.dataset!r}")
        kmeans_lib.check_args(n, int(config.k), c.init, c.n_init, c.max_iter, c.tol, prefix="config.segment.",
                              block_size=c.block_size)
        check_int(c.num_seeds, "config.segment.num_seeds", 1)
    elif algorithm is run_gmm:
        c = config.gmm
        mixture.check_args(int(config.k), c.covariance_type, c.max_iter, c.tol, c.reg_covar, prefix="config.gmm.")
    else:
        c = config.spectral
        check_int(c.n_neighbors, "config.spectral.n_neighbors", 1)
        if c.n_neighbors > n:
            raise JaxmlError(f"config.spectral.n_neighbors={c.n_neighbors} must be <= the number of points ({n})")
        check_int(c.n_init, "config.spectral.n_init", 1)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    check_int(config.num_points, "config.num_points", 0)
    choose(ALGORITHMS, config.algorithm, "config.algorithm")
    x, y, info = choose(DATASETS, config.dataset, "config.dataset")(config)
    check_config(config, len(x))
    mesh = sharding.make_mesh(config.parallel)
    with jax.enable_x64(True) if config.float64 else contextlib.nullcontext():
        data = Data(x, y, make_points(x if config.float64 else x.astype(np.float32), mesh=mesh), info)
        result = ALGORITHMS[config.algorithm](config, data, Path(workdir))
    return {"algorithm": config.algorithm, "num_points": len(x), "float64": bool(config.float64), **result}
