"""A generated credit-risk set: loan applicants and whether they defaulted (jaxml's own generator; no
real data).

Ten features on mixed scales; the default probability is a logistic function of a score with
thresholds and interactions (what trees find and a linear model does not):

| feature | drawn as |
|---|---|
| `age` | uniform 21 .. 75 years |
| `income` | log-normal, median 45 000, sigma 0.5 |
| `debt_to_income` | Beta(2, 5) |
| `credit_history_years` | min(age - 18, gamma(shape 2, scale 5)) |
| `late_payments` | Poisson(0.3 + 1.5 * latent risk) in the past two years |
| `utilisation` | Beta(2, 3) + 0.3 * latent risk, clipped to [0, 1] |
| `credit_lines` | Poisson(4) |
| `loan_amount` | log-normal, median 12 000, sigma 0.7 |
| `employment_years` | min(age - 18, gamma(shape 1.5, scale 4)) |
| `home_owner` | Bernoulli(sigmoid((age - 40) / 8)) |

The latent risk is a per-applicant uniform(0, 1) that also enters the score. `SCORE` holds the
score's coefficients: intercept, latent risk, debt-to-income above 0.45, the loan-to-income ratio
above 0.35, late payments (at most 4), utilisation above 0.8 for applicants under 30, credit history
(years, at most 15) and home ownership. The draws are a function of the seed alone.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("age", "income", "debt_to_income", "credit_history_years", "late_payments", "utilisation",
            "credit_lines", "loan_amount", "employment_years", "home_owner")

SCORE = dict(intercept=-5.0, risk=3.0, high_dti=3.0, high_loan=2.5, late=1.0, young_maxed=3.0, history=-0.12,
             owner=-1.0)


def applicants(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(x [n, 10] float64 in FEATURES' order, default [n] int32 with 1 = defaulted)."""
    rng = np.random.default_rng(seed)
    risk = rng.uniform(0, 1, n)
    age = rng.uniform(21, 75, n)
    income = rng.lognormal(np.log(45_000), 0.5, n)
    dti = rng.beta(2, 5, n)
    history = np.minimum(age - 18, rng.gamma(2, 5, n))
    late = rng.poisson(0.3 + 1.5 * risk)
    utilisation = np.clip(rng.beta(2, 3, n) + 0.3 * risk, 0, 1)
    lines = rng.poisson(4, n)
    loan = rng.lognormal(np.log(12_000), 0.7, n)
    employment = np.minimum(age - 18, rng.gamma(1.5, 4, n))
    owner = rng.uniform(0, 1, n) < 1 / (1 + np.exp(-(age - 40) / 8))
    s = SCORE
    score = (s["intercept"] + s["risk"] * risk + s["high_dti"] * (dti > 0.45) + s["high_loan"] * (loan / income > 0.35)
             + s["late"] * np.minimum(late, 4) + s["young_maxed"] * ((age < 30) & (utilisation > 0.8))
             + s["history"] * np.minimum(history, 15) + s["owner"] * owner)
    default = rng.uniform(0, 1, n) < 1 / (1 + np.exp(-score))
    x = np.stack([age, income, dti, history, late, utilisation, lines, loan, employment, owner], axis=1).astype(np.float64)
    return x, default.astype(np.int32)
