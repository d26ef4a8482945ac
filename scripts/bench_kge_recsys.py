#!/usr/bin/env python
"""Throughput of the graph, knowledge-graph, recommendation and bandit code paths, one JSON line each:

- kge: training triples/s of `methods.kge.make_fit` (negative sampling, shared negatives, Adam) for
  each score function on a random KG of `--kge-entities` entities and `--kge-relations` relations;
  `--kge-steps` steps of `--kge-batch` triples in one jitted scan, after a warm-up call (compilation
  excluded).
- topk: top-K retrieval queries/s over `--items` items: `methods.recsys.top_k_metrics` (the scores
  q . v of `--query-batch` queries against every item, training items masked, one `lax.top_k`) on
  random unit embeddings of `--embed-dim` dimensions, `--query-chunks` chunks in a jitted `lax.map`.
- gcn: edges/s of one `models.gnn.GCNConv` layer (segment_sum message passing, forward, and forward +
  backward) on a planted-partition graph with about `--edges` directed edges.
- bandit: environment steps/s of `rl.envs_bandit.ContextualBandit` vmapped over `--users` users
  (uniform random arms), `--bandit-steps` steps in one jitted scan.
- recsys_env: the same for the sequential recommender `rl.envs_recsys.SequentialRecsys`
  ("SeqRecsys-v0": users whose boredom and satisfaction drift; sessions auto-reset).
- recsys: the recommendation table: jaxml's `--recsys-models` (`methods.recsys.MODELS`, one seed) and
  the `implicit` package's ALS (CPU, conjugate gradient; the `bench` extra) fitted on recsys_synthetic's
  planted data and random 20 % holdout (`defaults.recsys`; `--recsys-users` / `--recsys-items` scale
  it), with the same factors, confidence, lambda, sweeps and CG steps for both ALS rows; Recall@20 and
  NDCG@20 on the held-out items (training items masked, `methods.recsys.evaluate` for every row, the
  implicit factors scored as jaxml's ALS scores its own) and fit_s, the median fit time (jaxml's after
  a compiling warm-up fit). Without implicit installed its row says so.

Every timing is the median of `--repeats` calls after the warm-up. No number here is recorded by the
smoke test; the lead times it on an idle machine:

    python scripts/bench_kge_recsys.py                  # the default sizes (1M items, 1M edges, 1024 users)
    python scripts/bench_kge_recsys.py --tiny           # a smoke test at tiny sizes
    python scripts/bench_kge_recsys.py --only recsys    # the recommendation table, implicit's ALS beside jaxml's
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def timed(fn, *args, repeats: int) -> float:
    """Median wall seconds of fn(*args) (blocked until ready) over `repeats` calls, after one warm-up."""
    import jax

    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_kge(a) -> list[dict]:
    import jax
    import jax.numpy as jnp

    from jaxml.defaults.kge import kge_config
    from jaxml.methods import kge

    rng = np.random.default_rng(0)
    n = max(a.kge_batch * 4, 1000)
    triples = jnp.asarray(np.stack([rng.integers(0, a.kge_entities, n), rng.integers(0, a.kge_relations, n),
                                    rng.integers(0, a.kge_entities, n)], 1).astype(np.int32))
    c = kge_config()
    c.steps, c.batch_size, c.dim, c.negatives = a.kge_steps, a.kge_batch, a.kge_dim, a.kge_negatives
    rows = []
    for name in a.kge_models:
        fit = jax.jit(kge.make_fit(kge.SCORES[name](c), c, a.kge_entities, a.kge_relations))
        seconds = timed(fit, jax.random.key(0), triples, repeats=a.repeats)
        rows.append({"bench": "kge", "model": name, "entities": a.kge_entities, "dim": a.kge_dim,
                     "batch": a.kge_batch, "negatives": a.kge_negatives,
                     "triples_per_s": a.kge_steps * a.kge_batch / seconds})
    return rows


def bench_topk(a) -> list[dict]:
    import jax
    import jax.numpy as jnp

    from jaxml.methods import recsys

    key_q, key_v = jax.random.split(jax.random.key(0))
    unit = lambda x: x / jnp.linalg.norm(x, axis=-1, keepdims=True)
    items = unit(jax.random.normal(key_v, (a.items, a.embed_dim)))
    queries = unit(jax.random.normal(key_q, (a.query_chunks, a.query_batch, a.embed_dim)))
    no_items = -jnp.ones((a.query_batch, 1), jnp.int32)

    @jax.jit
    def retrieve(queries, items):
        return jax.lax.map(lambda q: recsys.top_k_metrics(q @ items.T, no_items, no_items, a.top_k)[2], queries)

    seconds = timed(retrieve, queries, items, repeats=a.repeats)
    return [{"bench": "topk", "items": a.items, "dim": a.embed_dim, "k": a.top_k, "query_batch": a.query_batch,
             "queries_per_s": a.query_chunks * a.query_batch / seconds}]


def bench_gcn(a) -> list[dict]:
    import jax
    import jax.numpy as jnp

    from jaxml.data import graphs
    from jaxml.models import gnn

    nodes = max(a.edges // 10, 20)
    g = graphs.stochastic_block_model(nodes, 5, a.edges / nodes, 0.8, a.gcn_features, 1.0, seed=0)
    senders, receivers, weights = gnn.gcn_edge_weights(jnp.asarray(g.senders), jnp.asarray(g.receivers), nodes)
    layer = gnn.GCNConv(a.gcn_features)
    x = jnp.asarray(g.x)
    params = layer.init(jax.random.key(0), x, senders, receivers, weights)
    forward = jax.jit(lambda p, x: layer.apply(p, x, senders, receivers, weights))
    backward = jax.jit(jax.grad(lambda p, x: jnp.sum(layer.apply(p, x, senders, receivers, weights) ** 2)))
    edges = int(senders.shape[0])
    return [{"bench": "gcn", "pass": name, "nodes": nodes, "edges": edges, "features": a.gcn_features,
             "edges_per_s": edges / timed(fn, params, x, repeats=a.repeats)}
            for name, fn in (("forward", forward), ("forward+backward", backward))]


def env_steps_per_s(env, params, num_actions: int, a) -> float:
    """Env steps/s of `env` vmapped over `--users` envs (uniform random actions, auto-reset),
    `--bandit-steps` steps in one jitted scan."""
    import jax

    keys = jax.random.split(jax.random.key(1), a.users)

    @jax.jit
    def run(keys):
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)

        def step(state, t):
            step_keys = jax.vmap(lambda k: jax.random.fold_in(k, t))(keys)
            actions = jax.vmap(lambda k: jax.random.randint(k, (), 0, num_actions))(step_keys)
            _, state, reward, _, _, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(step_keys, state, actions, params)
            return state, reward.sum()

        return jax.lax.scan(step, state, jax.numpy.arange(a.bandit_steps))[1]

    return a.users * a.bandit_steps / timed(run, keys, repeats=a.repeats)


def bench_bandit(a) -> list[dict]:
    import jax

    from jaxml.rl.envs_bandit import ContextualBandit

    env = ContextualBandit(a.arms, a.context_dim)
    return [{"bench": "bandit", "users": a.users, "arms": a.arms, "context_dim": a.context_dim,
             "env_steps_per_s": env_steps_per_s(env, env.sample_params(jax.random.key(0)), a.arms, a)}]


def bench_recsys_env(a) -> list[dict]:
    from jaxml.rl.envs import make_env

    env, params = make_env("SeqRecsys-v0")
    return [{"bench": "recsys_env", "users": a.users, "categories": env.num_actions,
             "env_steps_per_s": env_steps_per_s(env, params, env.num_actions, a)}]


def recsys_setup(a):
    """(config, split, TrainData, users, train lists, test lists) of recsys_synthetic's data at the bench size."""
    import jax.numpy as jnp

    from jaxml.defaults.recsys import recsys_config
    from jaxml.methods import recsys

    c = recsys_config()
    c.planted.num_users, c.planted.num_items = a.recsys_users, a.recsys_items
    c.planted.max_items = min(c.planted.max_items, a.recsys_items)
    c.planted.min_items = min(c.planted.min_items, c.planted.max_items)
    c.top_k = min(c.top_k, a.recsys_items)
    if a.recsys_steps:
        c.bpr.steps = c.two_tower.steps = a.recsys_steps
    split = recsys.planted_data(c)
    tr, te = split.train, split.test
    freq = np.bincount(tr.items, minlength=tr.num_items) / len(tr.items)
    data = recsys.TrainData(jnp.asarray(tr.users), jnp.asarray(tr.items), jnp.asarray(freq, jnp.float32))
    users = np.unique(te.users).astype(np.int32)
    lists = [jnp.asarray(recsys.item_lists(x.users, x.items, tr.num_users)[users]) for x in (tr, te)]
    return c, split, data, jnp.asarray(users), lists


def implicit_als_fit(c, split, threads: int):
    """fit() -> {"user", "item"} factors of the implicit package's CPU ALS with jaxml's ALS settings.
    implicit takes each stored value as the confidence c_ui itself (A_u = Y^T Y + lambda I + sum (c - 1)
    y y^T, b_u = sum c y), so jaxml's c = 1 + alpha for an observed pair is its alpha = 1 + config.als.alpha."""
    import scipy.sparse
    from implicit.cpu.als import AlternatingLeastSquares

    tr = split.train
    user_items = scipy.sparse.csr_matrix((np.ones(len(tr.users), np.float32), (tr.users, tr.items)),
                                         shape=(tr.num_users, tr.num_items))

    def fit():
        model = AlternatingLeastSquares(factors=c.als.dim, regularization=c.als.l2, alpha=1.0 + c.als.alpha,
                                        iterations=c.als.sweeps, use_cg=True, calculate_training_loss=False,
                                        num_threads=threads, random_state=0)
        model.cg_steps = c.als.cg_steps  # an attribute, not a constructor argument (3 by default)
        model.fit(user_items, show_progress=False)
        return {"user": np.asarray(model.user_factors), "item": np.asarray(model.item_factors)}

    return fit


def bench_recsys(a) -> list[dict]:
    import importlib.metadata
    import importlib.util

    import jax

    from jaxml.methods import recsys

    c, split, data, users, lists = recsys_setup(a)
    k = int(c.top_k)
    size = {"users": split.train.num_users, "items": split.train.num_items, "train": len(split.train.users),
            "test": len(split.test.users)}

    def quality(model, params):
        recall, ndcg, _ = jax.device_get(recsys.evaluate(model, k, int(c.eval_chunk))(params, users, *lists))
        return {f"recall_at_{k}": float(recall.mean()), f"ndcg_at_{k}": float(ndcg.mean())}

    rows = []
    for name in a.recsys_models:
        model = recsys.MODELS[name](c, size["users"], size["items"])
        fit = jax.jit(model.fit)
        seconds = timed(fit, jax.random.key(0), data, repeats=a.repeats)
        rows.append({"bench": "recsys", "model": name, "impl": "jaxml", **size,
                     **quality(model, fit(jax.random.key(0), data)), "fit_s": seconds})
    if importlib.util.find_spec("implicit") is None:
        rows.append({"bench": "recsys", "model": "als", "impl": "implicit", **size,
                     "skipped": "the implicit package is not installed (pip install implicit, or the bench extra)"})
        return rows
    fit = implicit_als_fit(c, split, a.implicit_threads)
    seconds = timed(fit, repeats=a.repeats)
    als = recsys.MODELS["als"](c, size["users"], size["items"])  # its score: user factors . item factors
    rows.append({"bench": "recsys", "model": "als", "impl": f"implicit {importlib.metadata.version('implicit')}",
                 **size, **quality(als, jax.tree.map(jax.numpy.asarray, fit())), "fit_s": seconds})
    return rows


BENCHES = {"kge": bench_kge, "topk": bench_topk, "gcn": bench_gcn, "bandit": bench_bandit,
           "recsys_env": bench_recsys_env, "recsys": bench_recsys}
TINY = dict(kge_entities=50, kge_relations=3, kge_dim=8, kge_batch=16, kge_negatives=4, kge_steps=3, items=500,
            embed_dim=8, query_batch=4, query_chunks=2, top_k=5, edges=400, gcn_features=4, users=8, arms=3,
            context_dim=2, bandit_steps=3, repeats=1, recsys_users=60, recsys_items=40, recsys_steps=5)


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", choices=list(BENCHES), default=list(BENCHES))
    p.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    p.add_argument("--kge-models", nargs="*", default=["transe", "distmult", "complex", "rotate"])
    p.add_argument("--kge-entities", type=int, default=14_541)  # FB15k-237's entity and relation counts
    p.add_argument("--kge-relations", type=int, default=237)
    p.add_argument("--kge-dim", type=int, default=128)
    p.add_argument("--kge-batch", type=int, default=1024)
    p.add_argument("--kge-negatives", type=int, default=256)
    p.add_argument("--kge-steps", type=int, default=50)
    p.add_argument("--items", type=int, default=1_000_000)
    p.add_argument("--embed-dim", type=int, default=64)
    p.add_argument("--query-batch", type=int, default=256)
    p.add_argument("--query-chunks", type=int, default=4)
    p.add_argument("--top-k", type=int, default=20)
    p.add_argument("--edges", type=int, default=1_000_000)
    p.add_argument("--gcn-features", type=int, default=64)
    p.add_argument("--users", type=int, default=1024)
    p.add_argument("--arms", type=int, default=10)
    p.add_argument("--context-dim", type=int, default=10)
    p.add_argument("--bandit-steps", type=int, default=1000)
    p.add_argument("--recsys-models", nargs="*", default=["popularity", "bpr_mf", "two_tower_logq", "als"])
    p.add_argument("--recsys-users", type=int, default=2000)  # recsys_synthetic's sizes
    p.add_argument("--recsys-items", type=int, default=1000)
    p.add_argument("--recsys-steps", type=int, default=0, help="BPR / two-tower Adam steps (0: the config's)")
    p.add_argument("--implicit-threads", type=int, default=0, help="the implicit package's threads (0: all cores)")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    if a.tiny:
        for k, v in TINY.items():
            setattr(a, k, v)
    rows = []
    for name in a.only:
        for row in BENCHES[name](a):
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


if __name__ == "__main__":
    main()
