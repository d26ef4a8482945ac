"""A generated customer set with planted segments, for customer segmentation (jaxml's own generator;
no real data).

One row per customer, eight features on mixed scales: the RFM triple (recency, frequency, monetary)
and five behavioural ones.

| feature | unit | drawn as |
|---|---|---|
| `recency_days` | days since the last order | gamma(shape 2, scale recency / 2) |
| `frequency` | orders in the past year | 1 + Poisson(gamma(shape 4, scale (frequency - 1) / 4)): over-dispersed counts |
| `monetary` | spend in the past year | the sum of `frequency` log-normal order values (median `order_value`, sigma 0.6): heavy-tailed |
| `basket_items` | mean items per order | 1 + Poisson(basket - 1) |
| `discount_share` | share of orders with a discount | Beta(a, b) |
| `online_share` | share of orders placed online | Beta(a, b) |
| `return_rate` | share of items returned | Beta(a, b) |
| `tenure_months` | months since the first order | gamma(shape 3, scale tenure / 3) |

`SEGMENTS` is the parameter table, one row per planted segment (mixing weight and the parameters
above). A fraction `outlier_fraction` of the customers (at random rows) are outliers: they keep
their segment's label but their monetary value is multiplied by a log-normal factor (median e^2.5
~ 12: corporate accounts, resellers) and their basket by 1 + Poisson(20). The draws are a function
of the seed alone.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("recency_days", "frequency", "monetary", "basket_items", "discount_share", "online_share",
            "return_rate", "tenure_months")

# name: (weight, recency, frequency, order_value, basket, discount Beta(a, b), online Beta(a, b),
#        return Beta(a, b), tenure)
SEGMENTS: dict[str, tuple] = {
    "champions":       (0.12, 8.0, 26.0, 95.0, 4.0, (2, 12), (6, 3), (1, 20), 48.0),
    "loyal":           (0.20, 25.0, 11.0, 55.0, 3.0, (3, 9), (3, 4), (1, 14), 36.0),
    "new":             (0.15, 14.0, 2.0, 45.0, 2.0, (6, 5), (7, 2), (1, 10), 3.0),
    "bargain_hunters": (0.18, 35.0, 8.0, 22.0, 6.0, (12, 3), (5, 3), (3, 9), 24.0),
    "at_risk":         (0.15, 150.0, 5.0, 60.0, 3.0, (3, 8), (2, 5), (1, 14), 40.0),
    "hibernating":     (0.20, 320.0, 1.5, 30.0, 2.0, (4, 6), (3, 3), (2, 10), 30.0),
}


def _draw(rng: np.random.Generator, n: int, weight: float, recency: float, frequency: float, order_value: float,
          basket: float, discount: tuple, online: tuple, returns: tuple, tenure: float) -> np.ndarray:
    """[n, 8] customers of one segment in FEATURES' order."""
    del weight
    freq = 1 + rng.poisson(rng.gamma(4.0, (frequency - 1.0) / 4.0, n))
    # the sum of freq log-normal order values, drawn exactly (one value per order)
    orders = rng.lognormal(np.log(order_value), 0.6, int(freq.sum()))
    monetary = np.add.reduceat(orders, np.concatenate([[0], np.cumsum(freq)[:-1]]))
    return np.stack([
        rng.gamma(2.0, recency / 2.0, n),
        freq.astype(np.float64),
        monetary,
        1.0 + rng.poisson(basket - 1.0, n),
        rng.beta(*discount, n),
        rng.beta(*online, n),
        rng.beta(*returns, n),
        rng.gamma(3.0, tenure / 3.0, n),
    ], axis=1)


def customers(n: int, seed: int, outlier_fraction: float = 0.03) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x [n, 8] float64 in FEATURES' order, planted segment [n] int32 (index into SEGMENTS), outlier
    mask [n] bool). Segment sizes are the rounded mixing weights (the last takes the remainder); rows
    are shuffled."""
    rng = np.random.default_rng(seed)
    weights = np.array([row[0] for row in SEGMENTS.values()])
    sizes = np.floor(weights / weights.sum() * n).astype(int)
    sizes[-1] = n - sizes[:-1].sum()
    x = np.concatenate([_draw(rng, size, *row) for size, row in zip(sizes, SEGMENTS.values())])
    labels = np.repeat(np.arange(len(SEGMENTS), dtype=np.int32), sizes)
    order = rng.permutation(n)
    x, labels = x[order], labels[order]
    outliers = np.zeros(n, bool)
    outliers[rng.choice(n, int(round(n * outlier_fraction)), replace=False)] = True
    m = int(outliers.sum())
    x[outliers, FEATURES.index("monetary")] *= rng.lognormal(2.5, 0.5, m)
    x[outliers, FEATURES.index("basket_items")] += rng.poisson(20.0, m)
    return x, labels, outliers
