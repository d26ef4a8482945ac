"""Graphs as edge lists with node features and labels, their node splits, and neighbour sampling.

A `Graph` holds x [N, D] float32 node features, y [N] int32 node labels and the directed edge list
`senders` / `receivers` [E] int32 (an undirected graph lists both directions; no self-loops: the models
add them). Generators here are deterministic functions of their arguments (numpy `default_rng(seed)`).

- `karate_club()`: Zachary's karate club (34 members, 78 friendships; docs/references.md#graph-data),
  the edge list as networkx's `karate_club_graph()` numbers it (0-based), hard-coded here so that no
  graph package is needed; labels: the club each member joined after the split (0 = Mr. Hi's, 1 = the
  officer's; networkx's `club` attribute). Features: one-hot node ids.
- `stochastic_block_model(...)`: a sparse planted-partition SBM with Gaussian class-mean features.
- `load_citation_graph(directory, name)`: Cora / Citeseer from their LINQS files (`.content`, `.cites`).
- `edges_from_affinity(a)`: the edge list of a dense symmetric affinity (kNN graphs of small sets).
- `labels_per_class_split(...)`: k labelled nodes per class, then validation and test nodes.
- `CSR` + `sample_neighbours`: fixed fan-out uniform neighbour sampling with replacement (GraphSAGE),
  so the mean over a node's sample is an unbiased estimate of the mean over all its neighbours.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.errors import JaxmlError


class Graph(NamedTuple):
    x: np.ndarray          # [N, D] float32 node features
    y: np.ndarray          # [N] int32 node labels
    senders: np.ndarray    # [E] int32
    receivers: np.ndarray  # [E] int32

    @property
    def num_nodes(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.y.max()) + 1


def undirected(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(senders, receivers) listing each undirected pair [M, 2] in both directions, self-loops and
    duplicates dropped, sorted by (receiver, sender)."""
    pairs = np.asarray(pairs, np.int64)
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = both[both[:, 0] != both[:, 1]]
    both = np.unique(both[:, ::-1], axis=0)[:, ::-1]  # unique over (receiver, sender) rows
    return both[:, 0].astype(np.int32), both[:, 1].astype(np.int32)


# Zachary (1977), as networkx.karate_club_graph() numbers it: member -> the members > it they are friends with.
KARATE_FRIENDS = {
    0: (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 17, 19, 21, 31), 1: (2, 3, 7, 13, 17, 19, 21, 30),
    2: (3, 7, 8, 9, 13, 27, 28, 32), 3: (7, 12, 13), 4: (6, 10), 5: (6, 10, 16), 6: (16,), 8: (30, 32, 33),
    9: (33,), 13: (33,), 14: (32, 33), 15: (32, 33), 18: (32, 33), 19: (33,), 20: (32, 33), 22: (32, 33),
    23: (25, 27, 29, 32, 33), 24: (25, 27, 31), 25: (31,), 26: (29, 33), 27: (33,), 28: (31, 33), 29: (32, 33),
    30: (32, 33), 31: (32, 33), 32: (33,)}
KARATE_MR_HI = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17, 19, 21)  # club "Mr. Hi"; the rest "Officer"
KARATE_LEADERS = (0, 33)  # Mr. Hi (the instructor) and the club's officer (John A.)


def karate_club() -> Graph:
    """Zachary's karate club: 34 nodes, 78 undirected edges (156 directed), one-hot features."""
    pairs = np.array([(i, j) for i, friends in KARATE_FRIENDS.items() for j in friends])
    senders, receivers = undirected(pairs)
    y = np.ones(34, np.int32)
    y[list(KARATE_MR_HI)] = 0
    return Graph(np.eye(34, dtype=np.float32), y, senders, receivers)


def stochastic_block_model(num_nodes: int, num_blocks: int, mean_degree: float, within_fraction: float,
                           num_features: int, feature_noise: float, seed: int) -> Graph:
    """A planted-partition SBM: node i in block i % num_blocks; between blocks a and b, a Poisson number
    of edges with mean p_ab n_a n_b (n_a n_a / 2 within a block), endpoints uniform in the blocks, so a
    node has about `mean_degree` neighbours, a fraction `within_fraction` of them in its own block.
    Features: the block's mean (a standard normal vector per block) plus N(0, feature_noise^2) noise.
    Labels: the blocks. Duplicate edges and self-loops are dropped."""
    if num_blocks < 2 or num_nodes < 2 * num_blocks:
        raise JaxmlError(f"an SBM needs num_blocks >= 2 and num_nodes >= 2 * num_blocks, got {num_blocks}, {num_nodes}")
    rng = np.random.default_rng(seed)
    y = (np.arange(num_nodes) % num_blocks).astype(np.int32)
    members = [np.flatnonzero(y == b) for b in range(num_blocks)]
    half_edges = num_nodes * mean_degree / 2  # undirected edges in all
    pairs = []
    for a in range(num_blocks):
        for b in range(a, num_blocks):
            between = 2 * (1 - within_fraction) / (num_blocks * (num_blocks - 1))
            share = within_fraction / num_blocks if a == b else between
            m = rng.poisson(half_edges * share)
            pairs.append(np.stack([rng.choice(members[a], m), rng.choice(members[b], m)], axis=1))
    senders, receivers = undirected(np.concatenate(pairs))
    means = rng.standard_normal((num_blocks, num_features))
    x = means[y] + feature_noise * rng.standard_normal((num_nodes, num_features))
    return Graph(x.astype(np.float32), y, senders, receivers)


CITATION_FILES = ("{name}.content", "{name}.cites")


def load_citation_graph(directory: str | Path, name: str) -> Graph:
    """A citation graph in the LINQS layout of Cora and Citeseer (docs/references.md#graph-data), read
    from `directory` (nothing is downloaded):

    - `<name>.content`: one paper per line, whitespace-separated: its id, its binary bag-of-words
      attributes (1433 for Cora, 3703 for Citeseer), its class name;
    - `<name>.cites`: one citation per line: the cited paper's id, then the citing paper's id.

    Nodes are the papers in file order; labels the class names' indices in sorted order; features the
    bag-of-words rows normalised to sum 1 (Kipf & Welling's preprocessing; an empty row stays 0);
    edges every citation in both directions, self-citations and duplicates dropped, and citations of
    papers missing from `.content` (Citeseer has some) skipped."""
    directory = Path(directory)
    content, cites = (directory / f.format(name=name) for f in CITATION_FILES)
    missing = [str(f) for f in (content, cites) if not f.is_file()]
    if missing:
        raise JaxmlError(f"citation graph {name!r}: {', '.join(missing)} not found; put the LINQS files "
                         f"{', '.join(f.format(name=name) for f in CITATION_FILES)} in config.citation.data_dir")
    rows = [line.split() for line in content.read_text().splitlines() if line.strip()]
    widths = {len(r) for r in rows}
    if len(widths) != 1 or widths.pop() < 3:
        raise JaxmlError(f"{content}: every line must be '<id> <attributes...> <class>' with the same number of attributes")
    index = {r[0]: i for i, r in enumerate(rows)}
    if len(index) != len(rows):
        raise JaxmlError(f"{content}: paper ids repeat")
    words = np.asarray([r[1:-1] for r in rows], np.float32)
    classes = sorted({r[-1] for r in rows})
    y = np.asarray([classes.index(r[-1]) for r in rows], np.int32)
    pairs = [(index[a], index[b]) for a, b in (line.split()[:2] for line in cites.read_text().splitlines()
                                               if line.strip()) if a in index and b in index]
    senders, receivers = undirected(np.asarray(pairs, np.int64).reshape(-1, 2))
    total = words.sum(axis=1, keepdims=True)
    return Graph(words / np.where(total == 0, 1.0, total), y, senders, receivers)


def edges_from_affinity(affinity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(senders, receivers) of the nonzero off-diagonal entries of a symmetric [N, N] affinity."""
    a = np.asarray(affinity)
    a = a * (1 - np.eye(a.shape[0], dtype=a.dtype))
    receivers, senders = np.nonzero(a)
    return senders.astype(np.int32), receivers.astype(np.int32)


class NodeSplit(NamedTuple):
    train: np.ndarray  # [N] bool masks
    val: np.ndarray
    test: np.ndarray


def labels_per_class_split(y: np.ndarray, per_class: int, num_val: int, seed: int) -> NodeSplit:
    """`per_class` training nodes of every class (the first of a seeded permutation), then `num_val`
    validation nodes from the rest of that permutation; every other node is a test node."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    train = np.zeros(len(y), bool)
    for label in np.unique(y):
        of_class = order[y[order] == label]
        if len(of_class) < per_class:
            raise JaxmlError(f"per_class={per_class} exceeds the {len(of_class)} nodes of class {label}")
        train[of_class[:per_class]] = True
    rest = order[~train[order]]
    val = np.zeros(len(y), bool)
    val[rest[:num_val]] = True
    return NodeSplit(train, val, ~(train | val))


def given_nodes_split(num_nodes: int, labelled) -> NodeSplit:
    """The nodes `labelled` for training, every other node a test node (no validation nodes)."""
    train = np.zeros(num_nodes, bool)
    train[list(labelled)] = True
    return NodeSplit(train, np.zeros(num_nodes, bool), ~train)


class CSR(NamedTuple):
    """Incoming neighbours by node: those of node i are neighbours[offsets[i]:offsets[i + 1]]."""
    offsets: jax.Array     # [N + 1] int32
    neighbours: jax.Array  # [E] int32 senders, sorted by receiver


def csr(senders: np.ndarray, receivers: np.ndarray, num_nodes: int) -> CSR:
    order = np.argsort(receivers, kind="stable")
    offsets = np.searchsorted(receivers[order], np.arange(num_nodes + 1)).astype(np.int32)
    return CSR(jnp.asarray(offsets), jnp.asarray(senders[order].astype(np.int32)))


def sample_neighbours(key: jax.Array, graph: CSR, nodes: jax.Array, fanout: int) -> jax.Array:
    """[..., fanout] neighbours of each of `nodes` [...], drawn uniformly with replacement from its
    incoming neighbours (a node without any gets itself)."""
    start, degree = graph.offsets[nodes], graph.offsets[nodes + 1] - graph.offsets[nodes]
    u = jax.random.uniform(key, (*nodes.shape, fanout))
    offset = jnp.minimum((u * degree[..., None]).astype(jnp.int32), jnp.maximum(degree, 1)[..., None] - 1)
    pick = start[..., None] + offset
    return jnp.where(degree[..., None] > 0, graph.neighbours[jnp.minimum(pick, graph.neighbours.shape[0] - 1)],
                     nodes[..., None])


def sample_hops(key: jax.Array, graph: CSR, targets: jax.Array, fanouts) -> list[jax.Array]:
    """[targets [B], depth-1 neighbours [B, k1], depth-2 [B, k1, k2], ...]: each depth sampled from the
    previous one with `sample_neighbours`, fan-out fanouts[l] at depth l + 1."""
    hops = [targets]
    for depth, k in enumerate(fanouts):
        hops.append(sample_neighbours(jax.random.fold_in(key, depth), graph, hops[-1], int(k)))
    return hops
