"""The generated fraud transactions: shape, fraud count, determinism, and fraud shifted in exactly
`shifted` of the informative features' distributions (on average, not per case)."""

import numpy as np

from jaxml.data import fraud


def test_transactions_shape_rate_and_determinism():
    x, y = fraud.transactions(5000, 0.01, seed=3)
    assert x.shape == (5000, len(fraud.FEATURES)) and y.dtype == np.int32 and y.sum() == 50
    x2, y2 = fraud.transactions(5000, 0.01, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(fraud.transactions(5000, 0.01, seed=4)[0], x)
    hour = x[:, fraud.FEATURES.index("hour")]
    assert hour.min() >= 0 and hour.max() < 24 and np.all(x[:, 0] > 0)
    assert x[:, fraud.FEATURES.index("account_age_days")].max() > 1000 > x[:, 0].mean()  # mixed scales


def test_fraud_is_shifted_in_some_features_only():
    x, y = fraud.transactions(40_000, 0.05, seed=0, shifted=2)
    fraud_rows, normal_rows = x[y == 1], x[y == 0]
    amount = fraud.FEATURES.index("amount")
    big = lambda rows: np.mean(rows[:, amount] > 150)  # ~7 % of normal amounts, ~76 % of shifted ones
    assert big(normal_rows) < 0.1
    assert 0.2 < big(fraud_rows) < 0.45  # 2 of 5 features shifted: about 40 % of frauds have big amounts
    age = fraud.FEATURES.index("account_age_days")
    assert abs(fraud_rows[:, age].mean() - normal_rows[:, age].mean()) < 100
