"""Tiny end-to-end runs of the node-classification method (`jaxml/methods/gnn.py`) and its errors."""

from __future__ import annotations

import pytest

from jaxml.defaults.gnn import gnn_config
from jaxml.errors import JaxmlError
from jaxml.methods import gnn


def tiny_sbm_config(model="gcn", **over):
    c = gnn_config(model, "sbm")
    c.sbm.num_nodes, c.sbm.feature_noise = 300, 1.5
    c.num_val, c.steps, c.eval_every, c.num_seeds = 50, 20, 10, 2
    for k, v in over.items():
        c[k] = v
    return c


def test_a_tiny_run_beats_chance_with_its_baselines(tmp_path):
    out = gnn.train(tiny_sbm_config("gcn", baselines=("mlp", "label_propagation")), tmp_path)
    assert out["test_accuracy"] > 0.5 and len(out["test_accuracy_per_seed"]) == 2
    assert {"mlp_test_accuracy", "gain_over_mlp", "label_propagation_test_accuracy"} <= set(out)
    assert (tmp_path / "plots" / "accuracy.png").exists()


def test_bad_keys_are_one_clear_error(tmp_path):
    with pytest.raises(JaxmlError, match="config.model='gin'.*gcn, gat, sage, mlp"):
        gnn.train(tiny_sbm_config("gin"), tmp_path)
    with pytest.raises(JaxmlError, match="config.training='sampled' needs config.model='sage'"):
        gnn.train(tiny_sbm_config("gcn", training="sampled"), tmp_path)
    with pytest.raises(JaxmlError, match="config.sampling.fanouts"):
        c = tiny_sbm_config("sage", training="sampled")
        c.sampling.fanouts = (3,)
        gnn.train(c, tmp_path)


def test_the_digits_graph_is_built_on_the_chosen_features():
    c = gnn_config("gcn", "digits_knn")
    pixels, _ = gnn.digits_knn_data(c)
    c.graph_features = "standardised"
    standardised, _ = gnn.digits_knn_data(c)
    assert (pixels.x == standardised.x).all()  # the node features are the same either way
    share = lambda g: float((g.y[g.senders] == g.y[g.receivers]).mean())  # edges within one digit
    assert share(pixels) > share(standardised) + 0.01
    c.graph_features = "scaled"
    with pytest.raises(JaxmlError, match="config.graph_features='scaled'.*'pixels', 'standardised'"):
        gnn.digits_knn_data(c)
