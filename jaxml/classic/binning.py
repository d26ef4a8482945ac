"""Quantile binning of features for histogram trees (as scikit-learn's `HistGradientBoosting*` bins
them; docs/references.md#classic-learners).

Per feature, from the training points: with at most `max_bins` distinct values the thresholds are the
midpoints between consecutive distinct values; otherwise the `max_bins - 1` inner quantiles
(percentiles 100 i / max_bins, numpy's "averaged_inverted_cdf"). A value x goes to bin i iff
threshold[i - 1] < x <= threshold[i]. The thresholds are found on the host (numpy, once); the
mapping of the points to bins is a `searchsorted` per feature on the device. Every feature's
thresholds are padded with +inf to the widest feature's, so the bins of all features share one
static count `num_bins`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.core.config import check_int, check_number


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Bins:
    thresholds: jax.Array  # [F, num_bins - 1] increasing, +inf padded
    num_bins: int = dataclasses.field(metadata=dict(static=True))


def feature_thresholds(values: np.ndarray, max_bins: int) -> np.ndarray:
    """The bin thresholds of one feature (module docstring)."""
    distinct = np.unique(values)
    if len(distinct) <= 1:
        return np.zeros((0,))
    if len(distinct) <= max_bins:
        return (distinct[:-1] + distinct[1:]) / 2
    percentiles = np.linspace(0, 100, max_bins + 1)[1:-1]
    return np.percentile(values, percentiles, method="averaged_inverted_cdf")


def fit_bins(x: np.ndarray, max_bins: int = 255) -> Bins:
    """Thresholds of every feature of x [n, F] (training points) for at most `max_bins` bins each."""
    check_number(check_int(max_bins, "max_bins", 2), "max_bins", 2, 256)
    per_feature = [feature_thresholds(np.asarray(x[:, j], np.float64), max_bins) for j in range(x.shape[1])]
    width = max(1, max(len(t) for t in per_feature))
    table = np.full((x.shape[1], width), np.inf)
    for j, t in enumerate(per_feature):
        table[j, :len(t)] = t
    return Bins(jnp.asarray(table, jnp.float32), width + 1)


@jax.jit
def apply_bins(bins: Bins, x: jax.Array) -> jax.Array:
    """[n, F] int32 bin indices of x [n, F] (the number of thresholds below each value)."""
    x = jnp.asarray(x, bins.thresholds.dtype)
    return jax.vmap(lambda t, col: jnp.searchsorted(t, col, side="left"), in_axes=(0, 1), out_axes=1)(
        bins.thresholds, x).astype(jnp.int32)
