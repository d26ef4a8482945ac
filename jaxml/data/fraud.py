"""A generated card-transaction set for fraud detection (jaxml's own generator; no real data).

Six features on mixed scales, one row per transaction:

| feature | normal transactions | fraud (shifted in `shifted` of the first five, chosen per case) |
|---|---|---|
| `amount` | log-normal, median e^3.5 ~ 33 | log-normal, median e^5.5 ~ 245 |
| `hour` | time of day, normal around 14h (sd 4), wrapped to [0, 24) | around 3h (sd 2) |
| `category_frequency` | share of the customer's past purchases in this merchant category, Beta(5, 2) | Beta(1, 6): rare categories |
| `velocity_1h` | the customer's transactions in the past hour, Poisson(0.4) | Poisson(4) |
| `distance_km` | from the customer's home, log-normal, median e^1.5 ~ 4.5 km | median e^4.5 ~ 90 km |
| `account_age_days` | uniform 30 .. 3650 | the same (an uninformative feature) |

Each fraud case is shifted in only `shifted` of the five informative features (a random subset per
case) and drawn like a normal transaction in the others, so no single feature separates the classes.
The draws are a function of the seed alone.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("amount", "hour", "category_frequency", "velocity_1h", "distance_km", "account_age_days")


# Per-feature parameters of the normal and the fraudulent transactions (account age is the same for
# both: it carries no signal).
NORMAL = dict(amount_mu=3.5, hour_mu=14.0, hour_sd=4.0, category_beta=(5.0, 2.0), velocity_rate=0.4,
              distance_mu=1.5)
FRAUD = dict(amount_mu=5.5, hour_mu=3.0, hour_sd=2.0, category_beta=(1.0, 6.0), velocity_rate=4.0,
             distance_mu=4.5)


def _draw(rng: np.random.Generator, n: int, *, amount_mu: float, hour_mu: float, hour_sd: float,
          category_beta: tuple[float, float], velocity_rate: float, distance_mu: float) -> np.ndarray:
    """[n, 6] transactions in FEATURES' order with the given per-feature parameters."""
    return np.stack([
        rng.lognormal(amount_mu, 1.0, n),
        np.mod(rng.normal(hour_mu, hour_sd, n), 24.0),
        rng.beta(*category_beta, n),
        rng.poisson(velocity_rate, n).astype(np.float64),
        rng.lognormal(distance_mu, 1.0, n),
        rng.uniform(30.0, 3650.0, n),
    ], axis=1)


def transactions(n: int, fraud_rate: float, seed: int, shifted: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(x [n, 6] float64 in FEATURES' order, labels [n] int32 with 1 = fraud); round(n * fraud_rate)
    fraud cases at random rows."""
    rng = np.random.default_rng(seed)
    num_fraud = int(round(n * fraud_rate))
    x = _draw(rng, n, **NORMAL)
    rows = rng.choice(n, num_fraud, replace=False)
    fraud = _draw(rng, num_fraud, **FRAUD)
    informative = len(FEATURES) - 1
    for i, row in enumerate(rows):
        cols = rng.choice(informative, shifted, replace=False)
        x[row, cols] = fraud[i, cols]
    labels = np.zeros(n, np.int32)
    labels[rows] = 1
    return x, labels
