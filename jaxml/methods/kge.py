"""Knowledge-graph embeddings: TransE, DistMult, ComplEx and RotatE trained by negative sampling (or
1-N scoring) and evaluated by filtered link prediction (docs/references.md#knowledge-graph-embeddings).

Score functions are values of `SCORES`, bundles `ScoreFunction(init, score)`; `score(h, r, t)` takes
entity rows h, t and relation rows r that broadcast over their leading axes (so one call scores a
query against every candidate entity) and returns higher-is-more-plausible scores:

- "transe" (Bordes et al. 2013): margin - ||h + r - t||_p, p = `config.transe_norm` (1 or 2).
- "distmult" (Yang et al. 2015): sum_k h_k r_k t_k -- symmetric in h and t, so it cannot tell
  parent_of(a, b) from parent_of(b, a).
- "complex" (Trouillon et al. 2016): Re(sum_k h_k r_k conj(t_k)) over complex vectors (stored as
  [..., 2, k], real and imaginary parts); antisymmetric where Im(r) != 0.
- "rotate" (Sun et al. 2019): margin - sum_k |h_k r_k - t_k| with r_k = exp(i theta_k), a unit-modulus
  rotation (the relation parameters are the phases theta, so |r_k| = 1 by construction).

Losses are values of `LOSSES`: "negative_sampling" -- -log sigma(s(h, r, t)) - sum_i w_i log
sigma(-s(h'_i, r, t'_i)) over `negatives` corruptions of each positive (head or tail replaced by a
uniform entity: the tail for the first half of the batch, the head for the second; the
`negatives` entities are drawn once per batch and shared by its positives, so a step scores a [B, n]
block without gathering B x n embedding rows), w_i uniform, or, with
`adversarial_temperature` alpha > 0, RotatE's self-adversarial weights softmax(alpha s_neg) (no
gradient through them); "one_to_n" -- the softmax cross-entropy of the true entity among all
entities (half the batch predicts tails, half heads). Both add `l2` times the mean square of the
batch's embeddings.

Evaluation (`filtered_ranks`): every test triple is two queries, (h, r, ?) and (?, r, t); the true
answer is ranked among all entities after removing every other entity that makes a known triple
(train, valid or test: the filtered protocol of Bordes et al.), ties counted half. It is one jitted
function: a `lax.map` over chunks of queries, each scoring its chunk against all entities. MRR is the
mean of 1 / rank, Hits@k the fraction of ranks <= k, over both directions.

`train(config, workdir)` trains every model of `config.models` for `config.num_seeds` seeds (`vmap`-ed;
each run one `lax.scan` of Adam steps on uniformly drawn training batches) on `config.dataset` (a value
of `DATASETS`: the generated "family_tree", or the files of "kinships", "umls", "nations" found by
data.small_kgs, searched from `config.data_dir` first) and ranks `config.eval_split` ("test"; "valid"
to tune hyper-parameters). result.json per model: `<model>_mrr` (+ `_std`, `_per_seed`),
`<model>_hits_at_{1,3,10}`, per relation pattern `<model>_mrr_<pattern>` (over the ranked triples whose
relation has that pattern: data.knowledge_graph.PATTERNS for the family tree, the patterns
data.small_kgs.observed_patterns measures for the benchmarks) and per relation `<model>_mrr_by_relation`; `random_mrr`, the expected
filtered MRR of a uniformly random ranking (about 1 / |E| times log |E|); `<model>_mrr_over_random`;
`<model>_minus_<baseline>_mrr` (and `_<pattern>`) for `config.mrr_baseline`; `summary_plot`: plots/mrr_by_pattern.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core.config import check_int, check_number
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.registry import choose
from jaxml.data import knowledge_graph, small_kgs
from jaxml.errors import JaxmlError


class ScoreFunction(NamedTuple):
    """init(key, num_entities, num_relations, dim) -> {"entity", "relation"}; score(h, r, t) -> scores."""
    init: Callable[[jax.Array, int, int, int], dict[str, jax.Array]]
    score: Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


def uniform_table(key: jax.Array, shape: tuple[int, ...], scale: float) -> jax.Array:
    return jax.random.uniform(key, shape, minval=-scale, maxval=scale)


def real_init(scale: float) -> Callable:
    def init(key, num_entities, num_relations, dim):
        ke, kr = jax.random.split(key)
        return {"entity": uniform_table(ke, (num_entities, dim), scale),
                "relation": uniform_table(kr, (num_relations, dim), scale)}
    return init


def complex_dim(dim: int) -> int:
    if dim % 2:
        raise JaxmlError(f"config.dim={dim} must be even for the complex models (dim / 2 complex coordinates)")
    return dim // 2


def complex_init(scale: float) -> Callable:
    def init(key, num_entities, num_relations, dim):
        ke, kr = jax.random.split(key)
        k = complex_dim(dim)
        return {"entity": uniform_table(ke, (num_entities, 2, k), scale),
                "relation": uniform_table(kr, (num_relations, 2, k), scale)}
    return init


def rotation(phase: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(Re r, Im r) of r = exp(i phase): RotatE's unit-modulus relation."""
    return jnp.cos(phase), jnp.sin(phase)


def transe(c: ml_collections.ConfigDict) -> ScoreFunction:
    margin, p = float(c.margin), int(c.transe_norm)
    if p not in (1, 2):
        raise JaxmlError(f"config.transe_norm={p!r} is not valid; choose one of 1, 2")
    norm = {1: lambda d: jnp.sum(jnp.abs(d), -1), 2: lambda d: jnp.sqrt(jnp.sum(d * d, -1) + 1e-12)}[p]
    return ScoreFunction(real_init(float(c.init_scale)), lambda h, r, t: margin - norm(h + r - t))


def distmult(c: ml_collections.ConfigDict) -> ScoreFunction:
    return ScoreFunction(real_init(float(c.init_scale)), lambda h, r, t: jnp.sum(h * r * t, -1))


def complex_score(h: jax.Array, r: jax.Array, t: jax.Array) -> jax.Array:
    """Re(sum_k h_k r_k conj(t_k)), each [..., 2, k] (real, imaginary)."""
    hr, hi, rr, ri, tr, ti = h[..., 0, :], h[..., 1, :], r[..., 0, :], r[..., 1, :], t[..., 0, :], t[..., 1, :]
    return jnp.sum(rr * (hr * tr + hi * ti) + ri * (hr * ti - hi * tr), -1)


def complex_model(c: ml_collections.ConfigDict) -> ScoreFunction:
    return ScoreFunction(complex_init(float(c.init_scale)), complex_score)


def rotate(c: ml_collections.ConfigDict) -> ScoreFunction:
    margin, scale = float(c.margin), float(c.init_scale)

    def init(key, num_entities, num_relations, dim):
        ke, kr = jax.random.split(key)
        return {"entity": uniform_table(ke, (num_entities, 2, complex_dim(dim)), scale),
                "relation": uniform_table(kr, (num_relations, complex_dim(dim)), jnp.pi)}

    def score(h, phase, t):
        cos, sin = rotation(phase)
        re = h[..., 0, :] * cos - h[..., 1, :] * sin - t[..., 0, :]
        im = h[..., 0, :] * sin + h[..., 1, :] * cos - t[..., 1, :]
        return margin - jnp.sum(jnp.sqrt(re * re + im * im + 1e-12), -1)

    return ScoreFunction(init, score)


SCORES: dict[str, Callable[[ml_collections.ConfigDict], ScoreFunction]] = {
    "transe": transe, "distmult": distmult, "complex": complex_model, "rotate": rotate}


def score_candidates(fn: ScoreFunction, params: dict, anchors: jax.Array, relations: jax.Array,
                     candidates: jax.Array, predict_tail: bool) -> jax.Array:
    """[B, n] scores of (anchor, r, candidate) (predict_tail) or (candidate, r, anchor), candidates [B, n]
    or [n] (shared by every row)."""
    ent = params["entity"]
    a = ent[anchors][:, None]
    r = params["relation"][relations][:, None]
    cand = ent[candidates] if candidates.ndim == 2 else ent[candidates][None]
    return fn.score(a, r, cand) if predict_tail else fn.score(cand, r, a)


# ---------------------------------------------------------------------------------------- losses

def l2_penalty(params: dict, triples: jax.Array) -> jax.Array:
    ent, rel = params["entity"], params["relation"]
    return (jnp.mean(ent[triples[:, 0]] ** 2) + jnp.mean(ent[triples[:, 2]] ** 2) + jnp.mean(rel[triples[:, 1]] ** 2))


def negative_sampling(c: ml_collections.ConfigDict, num_entities: int) -> Callable:
    negatives = check_int(c.negatives, "config.negatives", 1)
    alpha = check_number(c.adversarial_temperature, "config.adversarial_temperature", 0.0)

    def loss(fn, params, triples, key):
        half = triples.shape[0] // 2
        random = jax.random.randint(key, (negatives,), 0, num_entities)  # shared by the batch's positives
        h, r, t = triples[:, 0], triples[:, 1], triples[:, 2]
        pos = fn.score(params["entity"][h], params["relation"][r], params["entity"][t])
        neg = jnp.concatenate([score_candidates(fn, params, h[:half], r[:half], random, True),
                               score_candidates(fn, params, t[half:], r[half:], random, False)])
        weights = jax.lax.stop_gradient(jax.nn.softmax(alpha * neg, -1)) if alpha > 0 else 1.0 / negatives
        return -jnp.mean(jax.nn.log_sigmoid(pos) + jnp.sum(weights * jax.nn.log_sigmoid(-neg), -1))

    return loss


def one_to_n(c: ml_collections.ConfigDict, num_entities: int) -> Callable:
    every = jnp.arange(num_entities)

    def loss(fn, params, triples, key):
        half = triples.shape[0] // 2
        tails, heads = triples[:half], triples[half:]
        s_tail = score_candidates(fn, params, tails[:, 0], tails[:, 1], every, True)
        s_head = score_candidates(fn, params, heads[:, 2], heads[:, 1], every, False)
        ce = jnp.concatenate([optax.softmax_cross_entropy_with_integer_labels(s_tail, tails[:, 2]),
                              optax.softmax_cross_entropy_with_integer_labels(s_head, heads[:, 0])])
        return jnp.mean(ce)

    return loss


LOSSES: dict[str, Callable[[ml_collections.ConfigDict, int], Callable]] = {
    "negative_sampling": negative_sampling, "one_to_n": one_to_n}


def make_fit(fn: ScoreFunction, config: ml_collections.ConfigDict, num_entities: int, num_relations: int
             ) -> Callable:
    """fit(key, train_triples) -> (params, losses [steps]): init, then `config.steps` Adam steps on
    `config.batch_size` training triples drawn uniformly (with replacement)."""
    steps, batch = check_int(config.steps, "config.steps", 1), check_int(config.batch_size, "config.batch_size", 2)
    dim = check_int(config.dim, "config.dim", 1)
    l2 = check_number(config.l2, "config.l2", 0.0)
    loss_fn = choose(LOSSES, config.loss, "config.loss")(config, num_entities)
    tx = optax.adam(check_number(config.learning_rate, "config.learning_rate", 0.0))

    def objective(params, triples, key):
        return loss_fn(fn, params, triples, key) + l2 * l2_penalty(params, triples)

    def fit(key, train):
        init_key, key = jax.random.split(key)
        params = fn.init(init_key, num_entities, num_relations, dim)

        def step(carry, i):
            params, opt = carry
            pick, loss_key = jax.random.split(jax.random.fold_in(key, i))
            triples = train[jax.random.randint(pick, (batch,), 0, train.shape[0])]
            loss, grads = jax.value_and_grad(objective)(params, triples, loss_key)
            updates, opt = tx.update(grads, opt, params)
            return (optax.apply_updates(params, updates), opt), loss

        (params, _), losses = jax.lax.scan(step, (params, tx.init(params)), jnp.arange(steps))
        return params, losses

    return fit


# ------------------------------------------------------------------------------------ evaluation

class Queries(NamedTuple):
    """One direction's queries: anchor entity, relation, true answer [Q], and the other known answers
    of each query [Q, M] (padded with -1; the true answer itself may be among them)."""
    anchors: np.ndarray
    relations: np.ndarray
    answers: np.ndarray
    known: np.ndarray


def queries(test: np.ndarray, known_triples: np.ndarray, predict_tail: bool) -> Queries:
    """The (h, r, ?) (predict_tail) or (?, r, t) queries of `test`, with every answer that
    `known_triples` (train + valid + test) gives for them."""
    anchor_col, answer_col = (0, 2) if predict_tail else (2, 0)
    answers_of: dict[tuple[int, int], list[int]] = {}
    for row in known_triples:
        answers_of.setdefault((int(row[anchor_col]), int(row[1])), []).append(int(row[answer_col]))
    width = max(len(answers_of[(int(row[anchor_col]), int(row[1]))]) for row in test)
    known = np.full((len(test), width), -1, np.int32)
    for i, row in enumerate(test):
        got = answers_of[(int(row[anchor_col]), int(row[1]))]
        known[i, :len(got)] = got
    return Queries(test[:, anchor_col].astype(np.int32), test[:, 1].astype(np.int32),
                   test[:, answer_col].astype(np.int32), known)


def rank_chunk(fn: ScoreFunction, params: dict, q: Queries, num_entities: int, predict_tail: bool) -> jax.Array:
    """Filtered ranks [C] of a chunk of queries: other known answers removed, ties counted half."""
    scores = score_candidates(fn, params, q.anchors, q.relations, jnp.arange(num_entities), predict_tail)
    true = jnp.take_along_axis(scores, q.answers[:, None], 1)
    rows = jnp.arange(q.anchors.shape[0])[:, None]
    known = jnp.zeros(scores.shape, bool).at[rows, jnp.where(q.known < 0, num_entities, q.known)].set(
        True, mode="drop")
    others = known.at[jnp.arange(q.anchors.shape[0]), q.answers].set(False)
    live = ~others & (jnp.arange(num_entities)[None] != q.answers[:, None])
    greater = jnp.sum(live & (scores > true), 1)
    ties = jnp.sum(live & (scores == true), 1)
    return 1.0 + greater + 0.5 * ties


def filtered_ranks(fn: ScoreFunction, num_entities: int, chunk: int) -> Callable:
    """ranks(params, tail_queries, head_queries) -> ([Q] tail ranks, [Q] head ranks), one jitted pass:
    a `lax.map` over chunks of `chunk` queries (padded), each scored against all entities."""
    def one_side(params, q: Queries, predict_tail: bool):
        n = q.anchors.shape[0]
        pad = -n % chunk
        padded = Queries(*(jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)) for a in q))
        blocks = Queries(*(a.reshape(-1, chunk, *a.shape[1:]) for a in padded))
        ranks = jax.lax.map(lambda b: rank_chunk(fn, params, b, num_entities, predict_tail), blocks)
        return ranks.reshape(-1)[:n]

    @jax.jit
    def ranks(params, tail_queries, head_queries):
        return one_side(params, tail_queries, True), one_side(params, head_queries, False)

    return ranks


def ranking_metrics(ranks: np.ndarray) -> dict[str, float]:
    return {"mrr": float(np.mean(1.0 / ranks)), **{f"hits_at_{k}": float(np.mean(ranks <= k)) for k in (1, 3, 10)}}


def random_mrr(tail: Queries, head: Queries, num_entities: int) -> float:
    """E[1 / rank] of a uniformly random ordering: H_n / n per query, n its candidates after filtering."""
    def per_side(q: Queries):
        others = np.array([len(set(row[row >= 0].tolist()) - {a}) for row, a in zip(q.known, q.answers)])
        n = num_entities - others
        harmonic = np.cumsum(1.0 / np.arange(1, num_entities + 1))
        return harmonic[n - 1] / n
    return float(np.mean(np.concatenate([per_side(tail), per_side(head)])))


# ------------------------------------------------------------------------------------------- data

def family_data(config: ml_collections.ConfigDict) -> knowledge_graph.KnowledgeGraph:
    f = config.family
    return knowledge_graph.family_tree(
        check_int(f.num_families, "config.family.num_families", 1), check_int(f.generations, "config.family.generations", 3),
        check_int(f.max_children, "config.family.max_children", 1),
        check_number(f.marriage_prob, "config.family.marriage_prob", 0.0, 1.0),
        check_number(f.valid_fraction, "config.family.valid_fraction", 0.0, 0.5),
        check_number(f.test_fraction, "config.family.test_fraction", 0.0, 0.5), int(config.data_seed))


def benchmark_data(name: str) -> Callable[[ml_collections.ConfigDict], knowledge_graph.KnowledgeGraph]:
    """The loader of small benchmark KG `name` (data.small_kgs), searched from `config.data_dir`."""
    return lambda config: small_kgs.load(small_kgs.find_directory(name, config.get("data_dir") or None))


DATASETS: dict[str, Callable[[ml_collections.ConfigDict], knowledge_graph.KnowledgeGraph]] = {
    "family_tree": family_data, **{name: benchmark_data(name) for name in small_kgs.NAMES}}
# each dataset's relation -> patterns: the family tree's by construction, the benchmarks' measured
PATTERNS: dict[str, Callable[[knowledge_graph.KnowledgeGraph], dict[str, tuple[str, ...]]]] = {
    "family_tree": lambda kg: knowledge_graph.PATTERNS, **{name: small_kgs.observed_patterns for name in small_kgs.NAMES}}
# the split ranked by `train`: "test" for the recorded numbers, "valid" to tune hyper-parameters on
EVAL_SPLITS: dict[str, Callable[[knowledge_graph.KnowledgeGraph], np.ndarray]] = {
    "test": lambda kg: kg.test, "valid": lambda kg: kg.valid}


def plot_patterns(per_pattern: dict[str, dict[str, float]], patterns: tuple[str, ...], out: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    width = 0.8 / max(len(per_pattern), 1)
    for j, (model, values) in enumerate(per_pattern.items()):
        ax.bar(np.arange(len(patterns)) + j * width, [values[p] for p in patterns], width, label=model)
    ax.set_xticks(np.arange(len(patterns)) + 0.4 - width / 2, patterns)
    ax.set_ylabel("filtered test MRR"); ax.set_ylim(0, 1); ax.grid(alpha=0.3, axis="y"); ax.legend(fontsize=8)
    ax.set_title("MRR by relation pattern")
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    kg = choose(DATASETS, config.dataset, "config.dataset")(config)
    patterns = PATTERNS[config.dataset](kg)
    split_name = config.get("eval_split", "test")
    evaluated = choose(EVAL_SPLITS, split_name, "config.eval_split")(kg)
    if not len(evaluated):
        raise JaxmlError(f"config.eval_split={split_name!r}: the {split_name} split of {config.dataset} is empty")
    scorers = {name: choose(SCORES, name, "config.models")(config) for name in config.models}
    if not scorers:
        raise JaxmlError(f"config.models=() is empty; choose from {', '.join(SCORES)}")
    if config.mrr_baseline and config.mrr_baseline not in scorers:
        raise JaxmlError(f"config.mrr_baseline={config.mrr_baseline!r} is not valid; choose one of config.models: "
                         f"{', '.join(scorers)}")
    num_seeds = check_int(config.num_seeds, "config.num_seeds", 1)
    chunk = check_int(config.eval_chunk, "config.eval_chunk", 1)
    tail_q, head_q = (queries(evaluated, kg.all_triples, side) for side in (True, False))
    keys = jax.vmap(jax.random.key)(int(config.seed) + jnp.arange(num_seeds))
    train_triples = jnp.asarray(kg.train)
    rel_of_query = np.concatenate([evaluated[:, 1], evaluated[:, 1]])
    out: dict[str, Any] = {"dataset": config.dataset, "num_entities": kg.num_entities,
                           "num_relations": kg.num_relations, "num_train": len(kg.train), "num_valid": len(kg.valid),
                           "num_test": len(kg.test), "eval_split": split_name, "num_seeds": num_seeds, "steps": int(config.steps),
                           "random_mrr": random_mrr(tail_q, head_q, kg.num_entities)}
    pattern_names = tuple(p for p in knowledge_graph.PATTERN_NAMES
                          if np.isin(rel_of_query, [i for i, rel in enumerate(kg.relations) if p in patterns[rel]]).any())
    per_pattern: dict[str, dict[str, float]] = {}
    for name, fn in scorers.items():
        params, losses = jax.jit(jax.vmap(make_fit(fn, config, kg.num_entities, kg.num_relations),
                                          in_axes=(0, None)))(keys, train_triples)
        rank_fn = jax.vmap(filtered_ranks(fn, kg.num_entities, chunk), in_axes=(0, None, None))
        tail, head = jax.device_get(rank_fn(params, Queries(*map(jnp.asarray, tail_q)),
                                            Queries(*map(jnp.asarray, head_q))))
        ranks = np.concatenate([tail, head], axis=1)  # [seeds, 2Q]
        seeds = [ranking_metrics(r) for r in ranks]
        for metric in seeds[0]:
            out[f"{name}_{metric}"] = float(np.mean([s[metric] for s in seeds]))
        out[f"{name}_mrr_std"] = float(np.std([s["mrr"] for s in seeds]))
        out[f"{name}_mrr_per_seed"] = [s["mrr"] for s in seeds]
        out[f"{name}_final_loss"] = float(np.mean(np.asarray(losses)[:, -100:]))
        by_relation = {rel: float(np.mean(1.0 / ranks[:, rel_of_query == i])) for i, rel in enumerate(kg.relations)
                       if np.any(rel_of_query == i)}
        out[f"{name}_mrr_by_relation"] = by_relation
        per_pattern[name] = {}
        for p in pattern_names:
            rows = np.isin(rel_of_query, [i for i, rel in enumerate(kg.relations) if p in patterns[rel]])
            per_pattern[name][p] = out[f"{name}_mrr_{p}"] = float(np.mean(1.0 / ranks[:, rows]))
        out[f"{name}_mrr_over_random"] = out[f"{name}_mrr"] / out["random_mrr"]
    base = config.mrr_baseline
    if base:
        for name in scorers:
            if name != base:
                for suffix in ("", *(f"_{p}" for p in pattern_names)):
                    out[f"{name}_minus_{base}_mrr{suffix}"] = out[f"{name}_mrr{suffix}"] - out[f"{base}_mrr{suffix}"]
    if jax.process_index() == 0:
        plot_patterns(per_pattern, pattern_names, Path(workdir) / "plots" / "mrr_by_pattern.png")
    out["summary_plot"] = "plots/mrr_by_pattern.png"
    return out
