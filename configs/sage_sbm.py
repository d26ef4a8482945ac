"""GraphSAGE (mean aggregator, two layers, 64 hidden) trained on sampled mini-batches -- 256 labelled
target nodes per step, fan-outs (10, 5) -- on a 100 000-node stochastic block model (5 blocks, mean
degree 10, 80 % of the edges within a block; features: the block's mean plus N(0, 3^2) noise in 16
dimensions), 200 labelled nodes per block, evaluated full-batch on the rest; an MLP on the same labels
in the same experiment; 3 seeds.

Command:   jaxml train sage_sbm
Expected:  test_accuracy >= 0.9 and gain_over_mlp >= 0.1.
Reference: GraphSAGE's neighbour sampling (Hamilton et al. 2017) and the planted-partition SBM
           (docs/references.md#graph-neural-networks); the target is this project's: the graph's
           80 % within-block edges make the neighbourhood mean far more informative than one node's
           noisy features.
Hardware:  2-core CPU, a few minutes.
"""

from jaxml.defaults.gnn import gnn_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.9,
            "also": ({"metric": "gain_over_mlp", "at_least": 0.1},),
            "reference": "sampled GraphSAGE on a >= 100k-node SBM (docs/references.md#graph-neural-networks)"}
SUITES = ("full",)


def get_config():
    c = gnn_config("sage", "sbm")
    c.sbm.num_nodes = 100_000
    c.sbm.feature_noise = 3.0
    c.labels_per_class = 200
    c.num_val = 1000
    c.hidden = (64,)
    c.dropout = 0.0
    c.training = "sampled"
    c.sampling.batch_size = 256
    c.sampling.fanouts = (10, 5)
    c.steps = 300
    c.eval_every = 150
    return c
