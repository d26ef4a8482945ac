"""Graph neural networks on edge lists: GCN, GAT and GraphSAGE (docs/references.md#graph-neural-networks).

A graph is an edge list: `senders` [E] and `receivers` [E] (int32 node indices; a message flows from
sender to receiver) over the N rows of the node features x [N, D]. Every layer is message passing by
`jax.ops.segment_sum` over the receivers -- no dense [N, N] adjacency -- so a layer costs O(E D).

- GCN (Kipf & Welling 2017): H' = D^-1/2 (A + I) D^-1/2 H W + b, the degrees D of A + I
  (`gcn_edge_weights` adds the self-loops and the symmetric normalisation).
- GAT (Velickovic et al. 2018): per head, e_ij = LeakyReLU_0.2(a_src . W h_j + a_dst . W h_i) over
  the edges j -> i (self-loops included), alpha_ij = the softmax of e_ij over i's incoming edges
  (`segment_softmax`), h'_i = sum_j alpha_ij W h_j; the heads concatenated (hidden layers) or
  averaged (the output layer). The attention weights are sown as `intermediates/attention`.
- GraphSAGE (Hamilton et al. 2017), mean aggregator: h'_i = W_self h_i + W_neigh mean_{j in N(i)} h_j
  + b. `GraphSAGE.__call__` aggregates over all neighbours (full batch); `GraphSAGE.sampled` runs the
  same layers on a fixed fan-out neighbour sample of a mini-batch of target nodes.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.mlp import MLP


def with_self_loops(senders: jax.Array, receivers: jax.Array, num_nodes: int) -> tuple[jax.Array, jax.Array]:
    """The edge list with one self-loop i -> i appended per node."""
    loops = jnp.arange(num_nodes, dtype=senders.dtype)
    return jnp.concatenate([senders, loops]), jnp.concatenate([receivers, loops])


def gcn_edge_weights(senders: jax.Array, receivers: jax.Array,
                     num_nodes: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(senders, receivers, weights) of D^-1/2 (A + I) D^-1/2: self-loops added, weight_ij =
    1 / sqrt(deg_i deg_j) with deg the in-degree in A + I (the degree, for an undirected edge list)."""
    senders, receivers = with_self_loops(senders, receivers, num_nodes)
    degree = jax.ops.segment_sum(jnp.ones(receivers.shape, jnp.float32), receivers, num_nodes)
    inv_sqrt = jax.lax.rsqrt(jnp.maximum(degree, 1.0))
    return senders, receivers, inv_sqrt[senders] * inv_sqrt[receivers]


def segment_softmax(logits: jax.Array, segment_ids: jax.Array, num_segments: int) -> jax.Array:
    """Softmax of logits [E, ...] within each segment (the edges sharing a receiver), stable for large
    logits: the segment's max is subtracted before the exponential."""
    maxes = jax.ops.segment_max(logits, segment_ids, num_segments)
    shifted = logits - jax.lax.stop_gradient(maxes)[segment_ids]
    exp = jnp.exp(shifted)
    return exp / jax.ops.segment_sum(exp, segment_ids, num_segments)[segment_ids]


def mean_aggregate(x: jax.Array, senders: jax.Array, receivers: jax.Array, num_nodes: int) -> jax.Array:
    """[N, D] the mean of each node's incoming neighbours' rows of x (0 for a node without any)."""
    total = jax.ops.segment_sum(x[senders], receivers, num_nodes)
    count = jax.ops.segment_sum(jnp.ones(receivers.shape, x.dtype), receivers, num_nodes)
    return total / jnp.maximum(count, 1.0)[:, None]


class GCNConv(nn.Module):
    """One GCN layer on a normalised edge list (`gcn_edge_weights`): [N, D] -> [N, features]."""

    features: int

    @nn.compact
    def __call__(self, x, senders, receivers, weights):
        h = nn.Dense(self.features, use_bias=False, name="linear")(x)
        out = jax.ops.segment_sum(h[senders] * weights[:, None], receivers, x.shape[0])
        return out + self.param("bias", nn.initializers.zeros, (self.features,))


class GATConv(nn.Module):
    """One multi-head GAT layer on an edge list with self-loops: [N, D] -> [N, heads * features]
    (concat) or [N, features] (mean of the heads)."""

    features: int
    heads: int = 1
    concat: bool = True
    negative_slope: float = 0.2

    @nn.compact
    def __call__(self, x, senders, receivers):
        n = x.shape[0]
        h_NxHxF = nn.Dense(self.heads * self.features, use_bias=False, name="linear")(x).reshape(
            n, self.heads, self.features)
        init = nn.initializers.glorot_uniform(in_axis=-1, out_axis=-2)
        a_src = self.param("att_src", init, (self.heads, self.features))
        a_dst = self.param("att_dst", init, (self.heads, self.features))
        score_src, score_dst = jnp.sum(h_NxHxF * a_src, -1), jnp.sum(h_NxHxF * a_dst, -1)  # [N, H]
        logits_ExH = nn.leaky_relu(score_src[senders] + score_dst[receivers], self.negative_slope)
        alpha_ExH = segment_softmax(logits_ExH, receivers, n)
        self.sow("intermediates", "attention", alpha_ExH)
        out = jax.ops.segment_sum(alpha_ExH[..., None] * h_NxHxF[senders], receivers, n)
        out = out.reshape(n, -1) if self.concat else out.mean(axis=1)
        return out + self.param("bias", nn.initializers.zeros, (out.shape[-1],))


class GCN(nn.Module):
    """GCN node classifier: (GCNConv, ReLU, dropout) per hidden width, then a GCNConv to the logits."""

    num_classes: int
    hidden: Sequence[int] = (16,)
    dropout: float = 0.5

    @nn.compact
    def __call__(self, x, senders, receivers, *, train: bool):
        senders, receivers, weights = gcn_edge_weights(senders, receivers, x.shape[0])
        for width in self.hidden:
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
            x = nn.relu(GCNConv(width)(x, senders, receivers, weights))
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return GCNConv(self.num_classes)(x, senders, receivers, weights)


class GAT(nn.Module):
    """GAT node classifier: multi-head GATConv (concat, ELU, dropout) per hidden width, then a GATConv
    to the logits averaged over `output_heads` heads."""

    num_classes: int
    hidden: Sequence[int] = (8,)
    heads: int = 8
    output_heads: int = 1
    dropout: float = 0.6

    @nn.compact
    def __call__(self, x, senders, receivers, *, train: bool):
        senders, receivers = with_self_loops(senders, receivers, x.shape[0])
        for width in self.hidden:
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
            x = nn.elu(GATConv(width, self.heads)(x, senders, receivers))
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return GATConv(self.num_classes, self.output_heads, concat=False)(x, senders, receivers)


class SAGEConv(nn.Module):
    """One GraphSAGE mean-aggregator layer: (h_self [..., D], the neighbours' mean [..., D]) -> [..., features]."""

    features: int

    @nn.compact
    def __call__(self, x_self, neighbour_mean):
        return (nn.Dense(self.features, name="self")(x_self)
                + nn.Dense(self.features, use_bias=False, name="neighbour")(neighbour_mean))


class GraphSAGE(nn.Module):
    """GraphSAGE node classifier (mean aggregator): len(hidden) + 1 SAGEConv layers, ReLU and dropout
    between them.

    `__call__(x, senders, receivers)`: full batch, every neighbour. `sampled(hops)`: hops[0] [B, D]
    are the target nodes' features, hops[l] [B, k_1, ..., k_l, D] those of the neighbours sampled at
    depth l (fan-out k_l per node of depth l - 1); layer by layer, each depth is updated from its own
    row and the mean over its sampled neighbours, so after the last layer only the targets remain."""

    num_classes: int
    hidden: Sequence[int] = (64,)
    dropout: float = 0.0

    def setup(self):
        widths = [*self.hidden, self.num_classes]
        self.convs = [SAGEConv(w) for w in widths]
        self.drop = nn.Dropout(self.dropout)

    def activate(self, h, last: bool, train: bool):
        return h if last else self.drop(nn.relu(h), deterministic=not train)

    def __call__(self, x, senders, receivers, *, train: bool):
        for i, conv in enumerate(self.convs):
            x = self.activate(conv(x, mean_aggregate(x, senders, receivers, x.shape[0])),
                              i == len(self.convs) - 1, train)
        return x

    def sampled(self, hops: Sequence[jax.Array], *, train: bool):
        if len(hops) != len(self.convs) + 1:
            raise ValueError(f"{len(self.convs)} layers need {len(self.convs) + 1} hops, got {len(hops)}")
        hops = list(hops)
        for i, conv in enumerate(self.convs):
            last = i == len(self.convs) - 1
            hops = [self.activate(conv(hops[d], hops[d + 1].mean(axis=-2)), last, train) for d in range(len(hops) - 1)]
        return hops[0]


class FeatureMLP(nn.Module):
    """The graph-blind baseline: `models.mlp.MLP` on the node features, the edges ignored."""

    num_classes: int
    hidden: Sequence[int] = (64,)
    dropout: float = 0.5

    @nn.compact
    def __call__(self, x, senders, receivers, *, train: bool):
        return MLP(self.num_classes, tuple(self.hidden), self.dropout)(x, train=train)
