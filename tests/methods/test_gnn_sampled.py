"""Sampled mini-batch training of GraphSAGE end to end (`config.training="sampled"`)."""

from __future__ import annotations

from jaxml.defaults.gnn import gnn_config
from jaxml.methods import gnn


def test_sampled_training(tmp_path):
    c = gnn_config("sage", "sbm")
    c.sbm.num_nodes, c.sbm.feature_noise = 300, 1.5
    c.num_val, c.steps, c.eval_every, c.num_seeds = 50, 20, 20, 1
    c.training, c.baselines = "sampled", ()
    c.sampling.batch_size = 32
    out = gnn.train(c, tmp_path)
    assert out["test_accuracy"] > 0.5
