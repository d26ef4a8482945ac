"""Quantile binning of features for histogram trees (as scikit-learn's `HistGradientBoosting*` bins
them; docs/references.md#classic-learners).

Per feature, from the training points: with at most `max_bins` distinct values the thresholds are the
midpoints between consecutive distinct values; otherwise the `max_bins - 1` inner quantiles
(percentiles 100 i / max_bins, numpy's "averaged_inverted_cdf"), duplicates removed. A value x goes to bin i iff
threshold[i - 1] < x <= threshold[i]. Thresholds and the mapping of points to bins are computed on
the host in float64 (numpy, once per data set: a preprocessing step, as scikit-learn's binning is),
so that a float32 rounding of a threshold can never move a point to another bin; the trees then
work on the [n, F] int32 bins on the device. Every feature's
thresholds are padded with +inf to the widest feature's, so the bins of all features share one
static count `num_bins`: the widest feature's bins rounded up to a power of two (the bins above hold
no points), so that data sets whose widest feature differs by a few bins (the splits of one data set)
share one compiled fit.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.core.config import check_int, check_number


@dataclasses.dataclass(frozen=True)
class Bins:
    thresholds: np.ndarray  # [F, num_bins - 1] float64, increasing, +inf padded
    num_bins: int = dataclasses.field(metadata=dict(static=True))


def feature_thresholds(values: np.ndarray, max_bins: int) -> np.ndarray:
    """The bin thresholds of one feature (module docstring)."""
    distinct = np.unique(values)
    if len(distinct) <= 1:
        return np.zeros((0,))
    if len(distinct) <= max_bins:
        return (distinct[:-1] + distinct[1:]) / 2
    percentiles = np.linspace(0, 100, max_bins + 1)[1:-1]
    return np.unique(np.percentile(values, percentiles, method="averaged_inverted_cdf"))


def fit_bins(x: np.ndarray, max_bins: int = 255) -> Bins:
    """Thresholds of every feature of x [n, F] (training points) for at most `max_bins` bins each."""
    check_number(check_int(max_bins, "max_bins", 2), "max_bins", 2, 256)
    per_feature = [feature_thresholds(np.asarray(x[:, j], np.float64), max_bins) for j in range(x.shape[1])]
    width = max(1, max(len(t) for t in per_feature))
    table = np.full((x.shape[1], width), np.inf)
    for j, t in enumerate(per_feature):
        table[j, :len(t)] = t
    return Bins(table, 1 << width.bit_length())  # width + 1 bins, rounded up to a power of two


def apply_bins(bins: Bins, x: np.ndarray) -> jax.Array:
    """[n, F] int32 bin indices of x [n, F] (the number of thresholds below each value), on the device."""
    x = np.asarray(x, np.float64)
    cols = [np.searchsorted(bins.thresholds[j], x[:, j], side="left") for j in range(x.shape[1])]
    return jnp.asarray(np.stack(cols, axis=1).astype(np.int32))
