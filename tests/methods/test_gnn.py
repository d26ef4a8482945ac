"""GNN layers against dense numpy references, the segment softmax, neighbour sampling in expectation
and the graph data."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.data import graphs
from jaxml.models import gnn as gnn_models


def random_graph(seed=0, n=7, m=12):
    rng = np.random.default_rng(seed)
    senders, receivers = graphs.undirected(rng.integers(0, n, (m, 2)))
    return rng.standard_normal((n, 5)).astype(np.float32), senders, receivers


def dense_adjacency(senders, receivers, n):
    a = np.zeros((n, n))
    a[receivers, senders] = 1.0
    return a


def test_gcn_layer_equals_the_dense_normalised_adjacency_product():
    x, s, r = random_graph()
    n = x.shape[0]
    layer = gnn_models.GCNConv(3)
    s2, r2, w = gnn_models.gcn_edge_weights(jnp.asarray(s), jnp.asarray(r), n)
    params = layer.init(jax.random.key(0), x, s2, r2, w)
    out = np.asarray(layer.apply(params, x, s2, r2, w), np.float64)
    a = dense_adjacency(s, r, n) + np.eye(n)
    d = 1 / np.sqrt(a.sum(1))
    kernel = np.asarray(params["params"]["linear"]["kernel"], np.float64)
    np.testing.assert_allclose(out, (d[:, None] * a * d[None, :]) @ x @ kernel, rtol=1e-5, atol=1e-5)


def test_gat_attention_sums_to_one_per_node_and_equals_a_numpy_reference():
    x, s, r = random_graph(1)
    n, heads, f = x.shape[0], 3, 4
    s2, r2 = gnn_models.with_self_loops(jnp.asarray(s), jnp.asarray(r), n)
    layer = gnn_models.GATConv(f, heads)
    params = layer.init(jax.random.key(1), x, s2, r2)
    out, state = layer.apply(params, x, s2, r2, mutable=["intermediates"])
    alpha = np.asarray(state["intermediates"]["attention"][0], np.float64)  # [E, H]
    np.testing.assert_allclose(np.asarray(jax.ops.segment_sum(alpha, r2, n)), 1.0, rtol=1e-5)
    p = jax.tree.map(lambda v: np.asarray(v, np.float64), params["params"])
    h = (x @ p["linear"]["kernel"]).reshape(n, heads, f)
    src, dst = (h * p["att_src"]).sum(-1), (h * p["att_dst"]).sum(-1)
    mask = dense_adjacency(s, r, n) + np.eye(n) > 0  # [receiver, sender]
    ref_out = np.zeros((n, heads, f))
    for k in range(heads):
        e = src[None, :, k] + dst[:, None, k]
        e = np.where(e > 0, e, 0.2 * e)
        e = np.where(mask, e, -np.inf)
        att = np.exp(e - e.max(1, keepdims=True))
        att /= att.sum(1, keepdims=True)
        np.testing.assert_allclose(alpha[:, k], att[np.asarray(r2), np.asarray(s2)], rtol=1e-5, atol=1e-6)
        ref_out[:, k] = att @ h[:, k]
    np.testing.assert_allclose(np.asarray(out), ref_out.reshape(n, -1) + p["bias"], rtol=1e-4, atol=1e-5)


def test_segment_softmax_is_stable_on_large_logits():
    logits = jnp.array([1000.0, 1001.0, -1000.0, 5e4, 5e4 - 1.0, 0.0])
    segments = jnp.array([0, 0, 0, 1, 1, 2])
    p = np.asarray(gnn_models.segment_softmax(logits, segments, 3))
    assert np.all(np.isfinite(p))
    e = np.exp([-1.0, 0.0])
    np.testing.assert_allclose(p, [e[0] / e.sum(), e[1] / e.sum(), 0.0, e[1] / e.sum(), e[0] / e.sum(), 1.0],
                               rtol=1e-6, atol=1e-30)


def test_sampled_mean_aggregation_equals_the_full_batch_mean_in_expectation():
    x, s, r = random_graph(2, n=8, m=14)
    n = x.shape[0]
    full = np.asarray(gnn_models.mean_aggregate(jnp.asarray(x), jnp.asarray(s), jnp.asarray(r), n))
    csr = graphs.csr(s, r, n)
    nodes = jnp.arange(n)
    draws = jax.vmap(lambda k: graphs.sample_neighbours(k, csr, nodes, 4))(jax.random.split(jax.random.key(0), 4000))
    sampled = np.asarray(jnp.asarray(x)[draws].mean(axis=(0, 2)))  # E over draws of the sample mean
    has = np.bincount(r, minlength=n) > 0
    np.testing.assert_allclose(sampled[has], full[has], atol=0.05)
    # every draw is a true neighbour
    neighbours = {i: set(s[r == i]) for i in range(n)}
    d = np.asarray(draws[:50])
    assert all(set(d[:, i].ravel()) <= neighbours[i] for i in range(n) if has[i])
    # and a 1-layer GraphSAGE on the sample equals the full-batch layer in expectation (linear in the mean)
    model = gnn_models.GraphSAGE(3, hidden=())
    params = model.init(jax.random.key(0), x, s, r, train=False)
    out_full = np.asarray(model.apply(params, x, s, r, train=False))
    out_sampled = jax.vmap(lambda hop: model.apply(params, [jnp.asarray(x), jnp.asarray(x)[hop]], train=False,
                                                   method=gnn_models.GraphSAGE.sampled))(draws)
    np.testing.assert_allclose(np.asarray(out_sampled.mean(0))[has], out_full[has], atol=0.1)


def test_karate_club_graph():
    g = graphs.karate_club()
    assert g.num_nodes == 34 and len(g.senders) == 2 * 78
    degree = np.bincount(g.receivers, minlength=34)
    assert degree[0] == 16 and degree[33] == 17 and degree[32] == 12
    assert g.y[0] == 0 and g.y[33] == 1 and g.y.sum() == 17


def test_sbm_is_deterministic_and_mostly_within_block():
    a = graphs.stochastic_block_model(400, 4, 8.0, 0.8, 3, 1.0, seed=3)
    b = graphs.stochastic_block_model(400, 4, 8.0, 0.8, 3, 1.0, seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    within = np.mean(a.y[a.senders] == a.y[a.receivers])
    assert 0.75 < within < 0.85 and 6.5 < len(a.senders) / 400 < 8.5


def test_labels_per_class_split():
    y = np.repeat(np.arange(3), 10)
    split = graphs.labels_per_class_split(y, 2, 5, seed=0)
    assert np.all(np.bincount(y[split.train]) == 2) and split.val.sum() == 5
    assert np.all(split.train.astype(int) + split.val + split.test == 1)
