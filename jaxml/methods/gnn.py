"""Semi-supervised node classification with graph neural networks (`jaxml/models/gnn.py`): GCN, GAT and
GraphSAGE on edge lists, against a graph-blind MLP on the same labelled nodes and label propagation.

`train(config, workdir)` builds the graph of `config.dataset` (`DATASETS`) and its node split, then
trains `config.model` (`MODELS`) for `config.num_seeds` model seeds at once: the whole run -- init,
`config.steps` optimizer steps and an evaluation of the val / test masks every `config.eval_every`
steps -- is one jitted function of the seed's key (a `lax.scan` of scans), `vmap`-ed over the seeds.
The training loss is the mean cross-entropy over the labelled nodes; `config.training` (`TRAININGS`)
says how a step sees the graph: "full_batch" (every node and edge, the loss on the training mask) or
"sampled" (GraphSAGE: `sampling.batch_size` labelled target nodes drawn per step, their neighbours
sampled with fan-outs `sampling.fanouts`, `data.graphs.sample_hops`) or "labelled_nodes" (the MLP:
only the training nodes' rows). Evaluation is always full-batch.
Optimizer: Adam with coupled L2 weight decay, as Kipf & Welling train the GCN.

Every name of `config.baselines` (`BASELINES`) runs on the same graph and split in the same run:
"mlp" (`models.gnn.FeatureMLP`, `config.mlp`, the same seeds, steps and optimizer; trained on the
labelled nodes' rows alone, "labelled_nodes", the same loss as full batch for a graph-blind model) and
"label_propagation" (Zhou et al. 2004: F <- alpha S F + (1 - alpha) Y with S = D^-1/2 A D^-1/2).

result.json: `test_accuracy`, `val_accuracy` (means over seeds; no val_accuracy without validation
nodes), `test_accuracy_std`, `test_accuracy_per_seed`; per baseline `<baseline>_test_accuracy` (+ `_std`,
`_per_seed`), and `gain_over_<baseline>` = test_accuracy - <baseline>_test_accuracy; `num_nodes`, `num_edges` (directed),
`num_labelled`; `summary_plot`: plots/accuracy.png, test accuracy against steps (mean +- std over seeds).

Community detection (`config.communities`, `COMMUNITIES`; none by default): after training, the
nodes are clustered into as many communities as classes and scored against the true classes of
every node by ARI and NMI (`<name>_ari`, `<name>_nmi`, `classic.cluster_metrics`): "gnn_kmeans"
(k-means on the trained model's first-layer node embeddings, each seed), "spectral" (the graph
alone: the normalised adjacency's leading eigenvectors, `classic.spectral.spectral_embedding`, then
k-means) and "features_kmeans" (the node features alone).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.classic import cluster_metrics, kmeans
from jaxml.classic.points import make_points
from jaxml.classic.spectral import knn_affinity, spectral_embedding
from jaxml.core.config import check_int, check_number
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.registry import choose
from jaxml.data import graphs
from jaxml.errors import JaxmlError
from jaxml.models import gnn as gnn_models


class GraphArrays(NamedTuple):
    """A graph and its node split on the device."""
    x: jax.Array
    y: jax.Array
    senders: jax.Array
    receivers: jax.Array
    train: jax.Array  # [N] bool masks
    val: jax.Array
    test: jax.Array


def on_device(graph: graphs.Graph, split: graphs.NodeSplit) -> GraphArrays:
    return GraphArrays(*(jnp.asarray(a) for a in (graph.x, graph.y, graph.senders, graph.receivers, *split)))


# ------------------------------------------------------------------------------------------- data

def karate_data(config: ml_collections.ConfigDict) -> tuple[graphs.Graph, graphs.NodeSplit]:
    """Zachary's karate club, the two leaders (nodes 0 and 33) labelled, every other member a test node."""
    graph = graphs.karate_club()
    return graph, graphs.given_nodes_split(graph.num_nodes, graphs.KARATE_LEADERS)


def digits_knn_data(config: ml_collections.ConfigDict) -> tuple[graphs.Graph, graphs.NodeSplit]:
    """sklearn's 1797 digits as nodes of the symmetrised graph of each point's `n_neighbors` nearest
    other points (`classic.spectral.knn_affinity`), the distances taken on `config.graph_features`
    ("pixels": the raw intensities, the default; "standardised": each pixel scaled to unit variance,
    which lets the near-constant border pixels count as much as the strokes and lowers the share of
    edges within a class from 0.972 to 0.949 at 5 neighbours); the node features are the standardised
    pixels (std 0 -> 1) either way; `labels_per_class` labelled nodes per digit."""
    from sklearn.datasets import load_digits

    pixels, y = load_digits(return_X_y=True)
    std = pixels.std(axis=0)
    x = ((pixels - pixels.mean(axis=0)) / np.where(std == 0, 1.0, std)).astype(np.float32)
    check_int(config.n_neighbors, "config.n_neighbors", 1)
    graph_features = {"pixels": (pixels / 16.0).astype(np.float32), "standardised": x}
    if config.graph_features not in graph_features:
        raise JaxmlError(f"config.graph_features={config.graph_features!r} is not one of {sorted(graph_features)}")
    affinity = knn_affinity(jnp.asarray(graph_features[config.graph_features]), int(config.n_neighbors) + 1)  # + 1: itself
    senders, receivers = graphs.edges_from_affinity(np.asarray(affinity))
    graph = graphs.Graph(x, y.astype(np.int32), senders, receivers)
    return graph, node_split(config, graph)


def sbm_data(config: ml_collections.ConfigDict) -> tuple[graphs.Graph, graphs.NodeSplit]:
    """`data.graphs.stochastic_block_model` with `config.sbm`, seeded by `data_seed`."""
    s = config.sbm
    check_int(s.num_nodes, "config.sbm.num_nodes", 4)
    check_int(s.num_blocks, "config.sbm.num_blocks", 2)
    check_int(s.num_features, "config.sbm.num_features", 1)
    check_number(s.mean_degree, "config.sbm.mean_degree", 0.0)
    check_number(s.within_fraction, "config.sbm.within_fraction", 0.0, 1.0)
    check_number(s.feature_noise, "config.sbm.feature_noise", 0.0)
    graph = graphs.stochastic_block_model(int(s.num_nodes), int(s.num_blocks), float(s.mean_degree),
                                          float(s.within_fraction), int(s.num_features), float(s.feature_noise),
                                          int(config.data_seed))
    return graph, node_split(config, graph)


def citation_data(config: ml_collections.ConfigDict) -> tuple[graphs.Graph, graphs.NodeSplit]:
    """Cora / Citeseer (`config.citation.name`) from their LINQS files in `config.citation.data_dir`
    (`data.graphs.load_citation_graph`; nothing is downloaded), `labels_per_class` labelled nodes per
    class and `num_val` validation nodes drawn by `data_seed` -- not the fixed Planetoid split."""
    c = config.citation
    if c.name not in CITATION_GRAPHS:
        raise JaxmlError(f"config.citation.name={c.name!r} is not one of {', '.join(CITATION_GRAPHS)}")
    if not c.data_dir:
        raise JaxmlError("config.citation.data_dir is empty: give the folder with the LINQS files "
                         f"{c.name}.content and {c.name}.cites")
    graph = graphs.load_citation_graph(c.data_dir, c.name)
    return graph, node_split(config, graph)


CITATION_GRAPHS = ("cora", "citeseer")


def node_split(config: ml_collections.ConfigDict, graph: graphs.Graph) -> graphs.NodeSplit:
    check_int(config.labels_per_class, "config.labels_per_class", 1)
    check_int(config.num_val, "config.num_val", 0)
    return graphs.labels_per_class_split(graph.y, int(config.labels_per_class), int(config.num_val),
                                         int(config.data_seed))


DATASETS: dict[str, Callable[[ml_collections.ConfigDict], tuple[graphs.Graph, graphs.NodeSplit]]] = {
    "karate": karate_data, "digits_knn": digits_knn_data, "sbm": sbm_data, "citation": citation_data}


# ----------------------------------------------------------------------------------------- models

MODELS: dict[str, Callable[[ml_collections.ConfigDict, int], nn.Module]] = {
    "gcn": lambda c, k: gnn_models.GCN(k, tuple(c.hidden), float(c.dropout)),
    "gat": lambda c, k: gnn_models.GAT(k, tuple(c.hidden), int(c.heads), dropout=float(c.dropout)),
    "sage": lambda c, k: gnn_models.GraphSAGE(k, tuple(c.hidden), float(c.dropout)),
    "mlp": lambda c, k: gnn_models.FeatureMLP(k, tuple(c.hidden), float(c.dropout)),
}


def masked_cross_entropy(logits: jax.Array, y: jax.Array, mask: jax.Array) -> jax.Array:
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    return jnp.sum(ce * mask) / jnp.maximum(jnp.sum(mask), 1)


def masked_accuracy(logits: jax.Array, y: jax.Array, mask: jax.Array) -> jax.Array:
    return jnp.sum((jnp.argmax(logits, -1) == y) * mask) / jnp.maximum(jnp.sum(mask), 1)


# ---------------------------------------------------------------------------- how a step sees the graph

def full_batch_loss(model: nn.Module, g: GraphArrays, config: ml_collections.ConfigDict) -> tuple[Any, Callable]:
    """loss(params, key, g, _): every node and edge forward (dropout on), the loss on the training mask."""
    def loss(params, key, g, _):
        logits = model.apply(params, g.x, g.senders, g.receivers, train=True, rngs={"dropout": key})
        return masked_cross_entropy(logits, g.y, g.train)
    return (), loss


def sampled_loss(model: nn.Module, g: GraphArrays, config: ml_collections.ConfigDict) -> tuple[Any, Callable]:
    """(the graph's CSR and training nodes, loss(params, key, g, those)): `sampling.batch_size`
    training nodes drawn uniformly (with replacement), their
    neighbourhoods sampled with fan-outs `sampling.fanouts` (one per layer), GraphSAGE on the sample."""
    if not isinstance(model, gnn_models.GraphSAGE):
        raise JaxmlError(f"config.training='sampled' needs config.model='sage', got {config.model!r}")
    fanouts = tuple(int(check_int(k, "config.sampling.fanouts", 1)) for k in config.sampling.fanouts)
    if len(fanouts) != len(config.hidden) + 1:
        raise JaxmlError(f"config.sampling.fanouts={fanouts} needs one fan-out per layer "
                         f"({len(config.hidden) + 1} for config.hidden={tuple(config.hidden)})")
    batch = check_int(config.sampling.batch_size, "config.sampling.batch_size", 1)
    csr = graphs.csr(np.asarray(g.senders), np.asarray(g.receivers), g.x.shape[0])
    train_nodes = jnp.asarray(np.flatnonzero(np.asarray(g.train)), jnp.int32)

    def loss(params, key, g, aux):
        csr, train_nodes = aux
        pick, hop_key, drop = jax.random.split(key, 3)
        targets = train_nodes[jax.random.randint(pick, (batch,), 0, train_nodes.shape[0])]
        hops = graphs.sample_hops(hop_key, csr, targets, fanouts)
        logits = model.apply(params, [g.x[h] for h in hops], train=True, method=gnn_models.GraphSAGE.sampled,
                             rngs={"dropout": drop})
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, g.y[targets]))
    return (csr, train_nodes), loss


def labelled_nodes_loss(model: nn.Module, g: GraphArrays, config: ml_collections.ConfigDict) -> tuple[Any, Callable]:
    """(the training nodes, loss(params, key, g, those)): a graph-blind model (the MLP) forward on the
    training nodes' rows only, with no edges -- the same loss as "full_batch" for such a model, without
    the forward pass over every node of a large graph."""
    if not isinstance(model, gnn_models.FeatureMLP):
        raise JaxmlError(f"config.training='labelled_nodes' needs config.model='mlp', got {config.model!r}")
    train_nodes = jnp.asarray(np.flatnonzero(np.asarray(g.train)), jnp.int32)
    no_edges = jnp.zeros((0,), jnp.int32)

    def loss(params, key, g, train_nodes):
        logits = model.apply(params, g.x[train_nodes], no_edges, no_edges, train=True, rngs={"dropout": key})
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, g.y[train_nodes]))
    return train_nodes, loss


TRAININGS: dict[str, Callable[..., tuple[Any, Callable]]] = {
    "full_batch": full_batch_loss, "sampled": sampled_loss, "labelled_nodes": labelled_nodes_loss}


# ------------------------------------------------------------------------------------------ the run

def evaluator(model: nn.Module) -> Callable:
    """fn(params, g) -> {"val": accuracy, "test": accuracy} on their masks, from one full-batch forward
    pass (dropout off)."""
    def evaluate(params, g):
        logits = model.apply(params, g.x, g.senders, g.receivers, train=False)
        return {"val": masked_accuracy(logits, g.y, g.val), "test": masked_accuracy(logits, g.y, g.test)}
    return evaluate


def make_fit(model: nn.Module, g: GraphArrays, config: ml_collections.ConfigDict) -> tuple[Any, Callable]:
    """(aux, fit(key, g, aux) -> {"loss" [num_evals], "val" [num_evals], "test" [num_evals], "params"
    (the final parameters)}: init, then
    num_evals = steps / eval_every chunks of eval_every steps (one scan each) with the evaluator
    after every chunk, all one function to jit and vmap over keys. The graph and the training's aux
    arrays are arguments, not constants of the compiled function."""
    steps, every = check_int(config.steps, "config.steps", 1), check_int(config.eval_every, "config.eval_every", 1)
    if steps % every:
        raise JaxmlError(f"config.steps={steps} must be a multiple of config.eval_every={every}")
    check_number(config.learning_rate, "config.learning_rate", 0.0)
    check_number(config.weight_decay, "config.weight_decay", 0.0)
    check_number(config.dropout, "config.dropout", 0.0, 0.99)
    tx = optax.chain(optax.add_decayed_weights(float(config.weight_decay)), optax.adam(float(config.learning_rate)))
    aux, loss_fn = choose(TRAININGS, config.training, "config.training")(model, g, config)
    evaluate = evaluator(model)

    def fit(key, g, aux):
        init_key, train_key = jax.random.split(key)
        params = model.init(init_key, g.x, g.senders, g.receivers, train=False)

        def step(carry, i):
            params, opt = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, jax.random.fold_in(train_key, i), g, aux)
            updates, opt = tx.update(grads, opt, params)
            return (optax.apply_updates(params, updates), opt), loss

        def chunk(carry, c):
            carry, losses = jax.lax.scan(step, carry, c * every + jnp.arange(every))
            return carry, {"loss": losses.mean(), **evaluate(carry[0], g)}

        (params, _), curves = jax.lax.scan(chunk, (params, tx.init(params)), jnp.arange(steps // every))
        return {**curves, "params": params}

    return aux, fit


def seed_keys(config: ml_collections.ConfigDict) -> jax.Array:
    num = check_int(config.num_seeds, "config.num_seeds", 1)
    return jax.vmap(lambda s: jax.random.key(s))(int(config.seed) + jnp.arange(num))


def train_model(model: nn.Module, g: GraphArrays, config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
    """The curves of `model` per seed: {"loss" | "val" | "test": [num_seeds, num_evals]}, and "params":
    the final parameters, stacked over seeds."""
    aux, fit = make_fit(model, g, config)
    return jax.device_get(jax.jit(jax.vmap(fit, in_axes=(0, None, None)))(seed_keys(config), g, aux))


def accuracy_summary(prefix: str, test: np.ndarray, val: np.ndarray | None = None) -> dict[str, Any]:
    """<prefix>test_accuracy (mean over seeds), _std, _per_seed (and val_accuracy unless val is None)
    from the final values."""
    out = {f"{prefix}test_accuracy": float(np.mean(test)), f"{prefix}test_accuracy_std": float(np.std(test)),
           f"{prefix}test_accuracy_per_seed": [float(a) for a in test]}
    if val is not None:
        out[f"{prefix}val_accuracy"] = float(np.mean(val))
    return out


# -------------------------------------------------------------------------------------- baselines

def mlp_baseline(config, g: GraphArrays, num_classes: int) -> tuple[dict[str, Any], np.ndarray]:
    """The MLP on the node features, same seeds, labelled nodes, steps and optimizer as the model."""
    mlp_config = ml_collections.ConfigDict(config.to_dict())
    mlp_config.hidden, mlp_config.dropout = tuple(config.mlp.hidden), float(config.mlp.dropout)
    mlp_config.training = "labelled_nodes"
    curves = train_model(MODELS["mlp"](mlp_config, num_classes), g, mlp_config)
    val = curves["val"][:, -1] if has_val(g) else None
    return accuracy_summary("mlp_", curves["test"][:, -1], val), curves["test"]


def has_val(g: GraphArrays) -> bool:
    return bool(np.asarray(g.val).any())


def label_propagation(g: GraphArrays, num_classes: int, alpha: float, iterations: int) -> jax.Array:
    """[N, K] scores F after `iterations` of F <- alpha S F + (1 - alpha) Y (Zhou et al. 2004), Y the
    one-hot labels of the training nodes, S = D^-1/2 A D^-1/2 by segment sums over the edges."""
    n = g.x.shape[0]
    degree = jax.ops.segment_sum(jnp.ones(g.receivers.shape), g.receivers, n)
    inv_sqrt = jax.lax.rsqrt(jnp.maximum(degree, 1.0))
    w = inv_sqrt[g.senders] * inv_sqrt[g.receivers]
    y0 = jax.nn.one_hot(g.y, num_classes) * g.train[:, None]

    def body(f, _):
        return alpha * jax.ops.segment_sum(w[:, None] * f[g.senders], g.receivers, n) + (1 - alpha) * y0, None

    return jax.lax.scan(body, y0, None, length=iterations)[0]


def label_propagation_baseline(config, g: GraphArrays, num_classes: int) -> tuple[dict[str, Any], None]:
    c = config.label_propagation
    alpha = check_number(c.alpha, "config.label_propagation.alpha", 0.0, 1.0)
    scores = label_propagation(g, num_classes, alpha, check_int(c.iterations, "config.label_propagation.iterations", 1))
    return {"label_propagation_test_accuracy": float(masked_accuracy(scores, g.y, g.test))}, None


BASELINES: dict[str, Callable[..., tuple[dict[str, Any], np.ndarray | None]]] = {
    "mlp": mlp_baseline, "label_propagation": label_propagation_baseline}


# ------------------------------------------------------------------------------ community detection

MESSAGE_LAYERS = (gnn_models.GCNConv, gnn_models.GATConv, gnn_models.SAGEConv)


def first_layer_embedding(model: nn.Module, params: Any, g: GraphArrays) -> jax.Array:
    """[N, H] the output of the model's first message-passing layer (before its activation), full
    batch, dropout off: the node embedding the trained GNN has learned."""
    _, state = model.apply(params, g.x, g.senders, g.receivers, train=False,
                           capture_intermediates=lambda mdl, _: isinstance(mdl, MESSAGE_LAYERS))
    layers = state.get("intermediates", {})
    if not layers:
        raise JaxmlError(f"config.communities: the model {type(model).__name__} has no message-passing layer")
    return layers[sorted(layers)[0]]["__call__"][0]


def kmeans_labels(key: jax.Array, x: jax.Array, k: int) -> jax.Array:
    """[N] k-means (k-means++, 10 restarts) cluster of every row of x."""
    return kmeans.kmeans(key, make_points(x), k, n_init=10).labels[:x.shape[0]]


SPECTRAL_MAX_NODES = 20_000  # the dense [N, N] adjacency and its eigen-decomposition: 1.6 GB at this size


def check_dense_size(num_nodes: int) -> None:
    if num_nodes > SPECTRAL_MAX_NODES:
        raise JaxmlError(f"config.communities='spectral' is dense: {num_nodes} nodes exceed {SPECTRAL_MAX_NODES}; "
                         "drop it for this graph")


def dense_adjacency(g: GraphArrays) -> jax.Array:
    n = g.x.shape[0]
    check_dense_size(n)
    return jnp.zeros((n, n), jnp.float32).at[g.receivers, g.senders].set(1.0)


# name -> fn(key, g, embeddings [num_seeds, N, H], k) -> community labels [num_seeds or 1, N]
COMMUNITIES: dict[str, Callable[..., jax.Array]] = {
    "gnn_kmeans": lambda key, g, emb, k: jnp.stack([kmeans_labels(jax.random.fold_in(key, i), e, k)
                                                    for i, e in enumerate(emb)]),
    "spectral": lambda key, g, emb, k: kmeans_labels(key, spectral_embedding(dense_adjacency(g), k), k)[None],
    "features_kmeans": lambda key, g, emb, k: kmeans_labels(key, g.x, k)[None],
}


def community_summary(config, model: nn.Module, params: Any, g: GraphArrays, num_classes: int) -> dict[str, Any]:
    """<name>_ari / <name>_nmi (means over seeds, against the true classes of every node) for each
    name of `config.communities`: "gnn_kmeans", k-means on each seed's `first_layer_embedding`;
    "spectral", the normalised-adjacency spectral embedding of the graph alone (its k leading
    eigenvectors; dense, so for graphs of a few thousand nodes) and k-means; "features_kmeans",
    k-means on the node features alone. k = the number of classes."""
    detect = {name: choose(COMMUNITIES, name, "config.communities") for name in config.get("communities", ())}
    emb = (jax.vmap(lambda p: first_layer_embedding(model, p, g))(params)
           if "gnn_kmeans" in detect else None)
    out: dict[str, Any] = {}
    for i, (name, fn) in enumerate(detect.items()):
        labels = fn(jax.random.fold_in(jax.random.key(int(config.seed)), i), g, emb, num_classes)
        ari = [float(cluster_metrics.adjusted_rand_index(g.y, l, num_classes, num_classes)) for l in labels]
        nmi = [float(cluster_metrics.normalized_mutual_info(g.y, l, num_classes, num_classes)) for l in labels]
        out.update({f"{name}_ari": float(np.mean(ari)), f"{name}_nmi": float(np.mean(nmi))})
    return out


def plot_curves(curves: dict[str, np.ndarray], steps: np.ndarray, title: str, out: Path) -> Path:
    """Test accuracy against steps, mean +- std over seeds, one line per model."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, acc in curves.items():
        mean, std = acc.mean(0), acc.std(0)
        ax.plot(steps, mean, "o-", ms=3, label=f"{name} ({acc.shape[0]} seeds)")
        ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("step"); ax.set_ylabel("test accuracy"); ax.grid(alpha=0.3); ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    graph, split = choose(DATASETS, config.dataset, "config.dataset")(config)
    model = choose(MODELS, config.model, "config.model")(config, graph.num_classes)
    for name in config.baselines:
        choose(BASELINES, name, "config.baselines")
    for name in config.get("communities", ()):
        choose(COMMUNITIES, name, "config.communities")
    if "spectral" in config.get("communities", ()):
        check_dense_size(graph.num_nodes)  # before training
    g = on_device(graph, split)
    curves = train_model(model, g, config)
    out: dict[str, Any] = {"model": config.model, "dataset": config.dataset, "training": config.training,
                           "num_nodes": graph.num_nodes, "num_edges": int(len(graph.senders)),
                           "num_labelled": int(split.train.sum()), "num_seeds": int(config.num_seeds),
                           "steps": int(config.steps),
                           **accuracy_summary("", curves["test"][:, -1], curves["val"][:, -1] if has_val(g) else None)}
    plotted = {config.model: curves["test"]}
    for name in config.baselines:
        summary, baseline_curves = BASELINES[name](config, g, graph.num_classes)
        out.update(summary)
        out[f"gain_over_{name}"] = out["test_accuracy"] - summary[f"{name}_test_accuracy"]
        if baseline_curves is not None:
            plotted[name] = baseline_curves
    if jax.process_index() == 0:
        steps = int(config.eval_every) * np.arange(1, curves["test"].shape[1] + 1)
        plot_curves(plotted, steps, f"{config.model} on {config.dataset}", Path(workdir) / "plots" / "accuracy.png")
    out.update(community_summary(config, model, curves["params"], g, graph.num_classes))
    out["summary_plot"] = "plots/accuracy.png"
    return out
