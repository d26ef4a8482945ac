"""Default config of the recommendation experiments (`jaxml/methods/recsys.py`). Imports only
ml_collections, so config files can build on it without importing jax."""

from __future__ import annotations

import ml_collections


def recsys_config() -> ml_collections.ConfigDict:
    """Planted implicit feedback (2000 users, 1000 items, Zipfian popularity), a random 20 % holdout per
    user; popularity, BPR-MF, the two-tower model without and with the log-Q correction, and ALS; 3 seeds."""
    c = ml_collections.ConfigDict()
    c.method = "recsys"
    c.dataset = "planted"        # or "movielens" (TFDS, config.movielens; a network the first time)
    c.planted = ml_collections.ConfigDict(dict(num_users=2000, num_items=1000, dim=16, min_items=10, max_items=40,
                                               popularity_skew=0.7, temperature=0.35))
    c.movielens = ml_collections.ConfigDict(dict(name="100k-ratings", min_rating=4.0, size=0, data_dir=""))
    # dataset="movielens": TFDS movielens/<name>, ratings >= min_rating stars (size > 0: the first size ratings)
    c.holdout = "random"         # or "leave_last_out" (data.implicit_feedback.HOLDOUTS)
    c.holdout_fraction = 0.2     # random: each user's share of test items
    c.data_seed = 0
    c.seed = 0
    c.num_seeds = 3              # model seeds, vmapped; the data and its split are fixed by data_seed
    c.models = ("popularity", "bpr_mf", "two_tower", "two_tower_logq", "als")
    c.top_k = 20
    c.eval_chunk = 500           # users scored against all items at once
    c.bpr = ml_collections.ConfigDict(dict(dim=32, l2=1e-4, batch_size=1024, learning_rate=0.01, steps=1500))
    c.two_tower = ml_collections.ConfigDict(dict(dim=32, hidden=64, out=32, temperature=0.1, batch_size=512,
                                                 learning_rate=0.003, steps=1500))
    c.als = ml_collections.ConfigDict(dict(dim=32, alpha=10.0, l2=1.0, sweeps=10, solve="cg", cg_steps=3))
    return c
