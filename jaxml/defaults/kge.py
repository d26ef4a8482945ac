"""Default config of the knowledge-graph-embedding experiments (`jaxml/methods/kge.py`). Imports only
ml_collections, so config files can build on it without importing jax."""

from __future__ import annotations

import ml_collections


def kge_config() -> ml_collections.ConfigDict:
    """TransE, DistMult, ComplEx and RotatE on the generated family-tree KG, negative sampling with
    self-adversarial weights, Adam, 3 seeds."""
    c = ml_collections.ConfigDict()
    c.method = "kge"
    c.dataset = "family_tree"    # or "kinships", "umls", "nations" (their files: data.small_kgs)
    c.data_dir = ""              # a folder with <dataset>/{train,valid,test}.txt, searched first ("" for none)
    c.eval_split = "test"        # the split ranked; "valid" to tune hyper-parameters
    c.family = ml_collections.ConfigDict(dict(num_families=40, generations=4, max_children=3, marriage_prob=0.8,
                                              valid_fraction=0.05, test_fraction=0.1))
    c.data_seed = 0
    c.seed = 0
    c.num_seeds = 3              # model seeds, vmapped; the graph and its split are fixed by data_seed
    c.models = ("transe", "distmult", "complex", "rotate")
    c.mrr_baseline = "distmult"  # <model>_minus_<this>_mrr for every other model ("" for none)
    c.dim = 64                   # real coordinates per entity (complex models: dim / 2 complex ones)
    c.margin = 6.0               # transe, rotate: score = margin - distance
    c.transe_norm = 1
    c.init_scale = 0.1           # embeddings ~ U(-init_scale, init_scale); RotatE phases ~ U(-pi, pi)
    c.loss = "negative_sampling"  # or "one_to_n"
    c.negatives = 32             # corrupted entities per batch, shared by its positives
    c.adversarial_temperature = 1.0  # 0: uniform weights over the negatives
    c.l2 = 0.0
    c.batch_size = 256
    c.learning_rate = 0.01
    c.steps = 1500
    c.eval_chunk = 256           # test queries scored against all entities at once
    return c
