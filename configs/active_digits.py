"""Pool-based active learning on sklearn's digits: the 1437 training images as the pool, 20 random
initial labels, 20 queried per round up to 200 (5 seeds vmapped), a one-hidden-layer MLP with dropout
retrained from scratch each round; random, least-confidence, margin, entropy, BALD (20 MC-dropout
samples) and k-center greedy core-set queries; learning curves in plots/active_learning.png.

Command:   jaxml train active_digits
Expected:  margin sampling beats random sampling by >= 2 points of test accuracy at both 100 and 200
           labels (margin_minus_random_min >= 0.02); BALD and core-set reported.
Reference: the target's scikit-learn logistic-regression reference: random 0.894 / 0.931, margin
           0.936 / 0.960 at 100 / 200 labels (docs/references.md#learning-from-few-labels); Settles 2009
           for the strategies.
Recorded:  (`jaxml reproduce --suite full --only active_digits`, 2026-12-01, 2-core CPU, 130 s) random
           0.895 / 0.921, margin 0.929 / 0.970 at 100 / 200 labels (+3.4 / +4.9 points); least
           confidence 0.920 / 0.963, entropy 0.907 / 0.968, BALD 0.919 / 0.967, k-center 0.928 / 0.959.
Hardware:  2-core CPU, about 2 minutes (6 strategies x 10 rounds x 5 seeds).
"""

from jaxml.defaults.few_labels import active_config

EXPECTED = {"metric": "margin_minus_random_min", "at_least": 0.02,
            "reference": "margin beats random by >= 2 points at 100 and 200 labels (logistic-regression reference: "
                         "random 0.894 / 0.931, margin 0.936 / 0.960; docs/references.md#learning-from-few-labels)"}
SUITES = ("full",)


def get_config():
    return active_config()
