"""Tiny end-to-end runs of the node-classification method (`jaxml/methods/gnn.py`) and its errors."""

from __future__ import annotations

import jax
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


def test_community_detection_scores_every_method_against_the_planted_blocks():
    # 5 hidden units and 5 features for 5 blocks: every k-means below clusters [300, 5] rows, so all
    # three share one compiled k-means; the GCN is untrained (its parameters per seed from init)
    c = tiny_sbm_config("gcn", hidden=(5,), communities=("gnn_kmeans", "spectral", "features_kmeans"))
    c.sbm.num_features = 5
    graph, split = gnn.sbm_data(c)
    g = gnn.on_device(graph, split)
    model = gnn.MODELS["gcn"](c, graph.num_classes)
    params = jax.vmap(lambda k: model.init(k, g.x, g.senders, g.receivers, train=False))(gnn.seed_keys(c))
    out = gnn.community_summary(c, model, params, g, graph.num_classes)
    assert set(out) == {f"{n}_{m}" for n in c.communities for m in ("ari", "nmi")}
    for name in c.communities:
        assert -0.5 <= out[f"{name}_ari"] <= 1.0 and 0.0 <= out[f"{name}_nmi"] <= 1.0
    assert out["spectral_ari"] > 0.5            # the graph alone recovers the blocks far above chance


def test_the_first_layer_embedding_of_each_gnn():
    c = tiny_sbm_config("gcn")
    graph, split = gnn.sbm_data(c)
    g = gnn.on_device(graph, split)

    def embedding_shape(model):  # traced, not run
        m = gnn.MODELS[model](c, graph.num_classes)
        return jax.eval_shape(lambda: gnn.first_layer_embedding(
            m, m.init(jax.random.key(0), g.x, g.senders, g.receivers, train=False), g)).shape
    for model, width in (("gcn", 16), ("gat", 16 * 8), ("sage", 16)):
        assert embedding_shape(model) == (graph.num_nodes, width)
    with pytest.raises(JaxmlError, match="config.communities: the model FeatureMLP has no message-passing layer"):
        embedding_shape("mlp")


def test_bad_keys_are_one_clear_error(tmp_path):
    with pytest.raises(JaxmlError, match="config.model='gin'.*gcn, gat, sage, mlp"):
        gnn.train(tiny_sbm_config("gin"), tmp_path)
    with pytest.raises(JaxmlError, match="config.communities='louvain'.*gnn_kmeans, spectral, features_kmeans"):
        gnn.train(tiny_sbm_config("gcn", communities=("louvain",)), tmp_path)
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
