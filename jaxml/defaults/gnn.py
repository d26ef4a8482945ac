"""Default configs of the node-classification experiments (`jaxml/methods/gnn.py`). Imports only
ml_collections, so config files can build on it without importing jax."""

from __future__ import annotations

import ml_collections


def gnn_config(model: str, dataset: str) -> ml_collections.ConfigDict:
    """`model` ("gcn", "gat", "sage", "mlp") on `dataset` ("karate", "digits_knn", "sbm", "citation"), full-batch
    Adam with coupled L2 (Kipf & Welling's recipe: lr 0.01, weight decay 5e-4, 200 steps), 3 seeds."""
    c = ml_collections.ConfigDict()
    c.method = "gnn"
    c.model = model
    c.dataset = dataset
    c.seed = 0
    c.num_seeds = 3             # model seeds, vmapped; the node split is fixed by data_seed
    c.data_seed = 0
    c.labels_per_class = 20     # digits_knn / sbm: labelled training nodes per class
    c.num_val = 500             # validation nodes (after the labelled ones)
    c.n_neighbors = 5           # digits_knn: the kNN graph of jaxml.classic.spectral
    c.graph_features = "pixels"  # digits_knn: distances on the raw "pixels" or the "standardised" ones
    c.sbm = ml_collections.ConfigDict(dict(num_nodes=2000, num_blocks=5, mean_degree=10.0, within_fraction=0.8,
                                           num_features=16, feature_noise=2.0))
    c.citation = ml_collections.ConfigDict(dict(name="cora", data_dir=""))  # citation: the LINQS files' folder
    c.hidden = (16,)
    c.heads = 8                 # gat: attention heads of the hidden layers
    c.dropout = 0.5
    c.learning_rate = 0.01
    c.weight_decay = 5e-4
    c.steps = 200
    c.eval_every = 20           # val / test accuracy recorded every eval_every steps (curves)
    c.training = "full_batch"   # or "sampled": mini-batches of target nodes with sampled neighbours (sage)
    c.sampling = ml_collections.ConfigDict(dict(batch_size=512, fanouts=(10, 5)))
    c.baselines = ("mlp",)      # trained on the same labelled nodes in the same run ("mlp", "label_propagation")
    c.mlp = ml_collections.ConfigDict(dict(hidden=(64,), dropout=0.5))
    c.label_propagation = ml_collections.ConfigDict(dict(alpha=0.99, iterations=200))
    c.communities = ()          # community detection after training: "gnn_kmeans", "spectral", "features_kmeans"
    return c
