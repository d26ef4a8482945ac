"""GCN (Kipf & Welling: two layers, 16 hidden units, dropout 0.5, Adam 0.01, L2 5e-4, 200 steps) on
Zachary's karate club with one-hot node features and only the two leaders labelled (node 0, Mr. Hi,
and node 33, the officer); every other member is a test node, labelled by the club they joined.
Label propagation (alpha 0.9) runs beside it on the same two labels.

Command:   jaxml train gcn_karate
Expected:  test_accuracy >= 0.9 over the 32 other members (mean of 3 seeds).
Reference: the GCN target >= 0.9 and label propagation's 0.971 (33 of all 34 members, the two labelled
           leaders included) on this split; Kipf & Welling 2017 and
           Zachary 1977 (docs/references.md#graph-neural-networks).
Hardware:  2-core CPU, about 10 s.
"""

from jaxml.defaults.gnn import gnn_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.9,
            "reference": "GCN >= 0.9 from the two leaders' labels; label propagation 0.971 "
                         "(docs/references.md#graph-neural-networks)"}
SUITES = ("quick", "full")


def get_config():
    c = gnn_config("gcn", "karate")
    c.num_val = 0
    c.baselines = ("label_propagation",)
    c.label_propagation.alpha = 0.9  # 31 of the 32 other members (33 of all 34, the 0.971); alpha 0.99 gets 29 of 32
    return c
