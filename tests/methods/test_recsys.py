"""Recommendation (`jaxml/methods/recsys.py`, `jaxml/data/implicit_feedback.py`): Recall / NDCG against a
plain-Python reference, masking of training items, the BPR gradient's sign, ALS solves against numpy
least squares, the in-batch softmax, the holdouts, and a tiny run."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.data import implicit_feedback
from jaxml.defaults.recsys import recsys_config
from jaxml.errors import JaxmlError
from jaxml.methods import recsys


def reference_metrics(scores: list[float], train: set[int], test: set[int], k: int) -> tuple[float, float]:
    ranked = sorted((i for i in range(len(scores)) if i not in train), key=lambda i: -scores[i])[:k]
    hits = [i in test for i in ranked]
    dcg = sum(1 / math.log2(j + 2) for j, h in enumerate(hits) if h)
    ideal = sum(1 / math.log2(j + 2) for j in range(min(k, len(test))))
    return sum(hits) / min(k, len(test)), dcg / ideal


def test_recall_and_ndcg_match_a_plain_python_reference_with_training_items_masked():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((4, 12)).astype(np.float32)
    train = [{0, 1, 2}, {5}, set(), {3, 4, 7, 8}]
    test = [{3, 11}, {0, 1, 2, 6, 9}, {10}, {2}]
    scores[0, [0, 1, 2]] = 100.0  # training items score highest: the mask must drop them
    lists = [recsys.item_lists(np.array([u for u, s in enumerate(sets) for _ in s]),
                               np.array([i for s in sets for i in sorted(s)]), 4) for sets in (train, test)]
    metrics = jax.jit(recsys.top_k_metrics, static_argnames="k")  # one compilation, not one per op
    recall, ndcg, top = metrics(jnp.asarray(scores), *map(jnp.asarray, lists), k=3)
    for u in range(4):
        ref_recall, ref_ndcg = reference_metrics(scores[u].tolist(), train[u], test[u], 3)
        assert float(recall[u]) == pytest.approx(ref_recall) and float(ndcg[u]) == pytest.approx(ref_ndcg)
        assert not set(np.asarray(top[u]).tolist()) & train[u]
    # a perfect ranking scores 1 on both
    perfect = np.zeros((1, 6), np.float32)
    perfect[0, [4, 5]] = [2.0, 1.0]
    r, n, _ = metrics(jnp.asarray(perfect), jnp.array([[0]]), jnp.array([[4, 5]]), k=3)
    assert float(r[0]) == 1.0 and float(n[0]) == pytest.approx(1.0)


def test_bpr_gradient_raises_the_positive_over_the_negative():
    rng = np.random.default_rng(1)
    params = {"user": jnp.asarray(rng.standard_normal((2, 4)), jnp.float32),
              "item": jnp.asarray(rng.standard_normal((3, 4)), jnp.float32), "bias": jnp.zeros(3)}
    users, pos, neg = jnp.array([0, 1]), jnp.array([0, 1]), jnp.array([2, 2])
    grads = jax.grad(recsys.bpr_loss)(params, users, pos, neg, 0.0)
    assert float(grads["bias"][0]) < 0 and float(grads["bias"][1]) < 0 and float(grads["bias"][2]) > 0
    stepped = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    margin = lambda p: recsys.bpr_score(p, users)[jnp.arange(2), pos] - recsys.bpr_score(p, users)[jnp.arange(2), neg]
    assert bool(jnp.all(margin(stepped) > margin(params)))


def test_als_solves_match_numpy_weighted_least_squares():
    rng = np.random.default_rng(2)
    num_users, num_items, k, alpha, lam = 5, 9, 3, 4.0, 0.5
    y = rng.standard_normal((num_items, k))
    pairs = {(u, i) for u in range(num_users) for i in rng.choice(num_items, 3, replace=False)}
    users, items = (np.array(a) for a in zip(*sorted(pairs)))
    args = (jnp.asarray(y, jnp.float32), jnp.asarray(users), jnp.asarray(items), num_users, alpha, lam,
            jnp.zeros((num_users, k)))
    exact = np.asarray(recsys.als_exact(*args, cg_steps=1))
    cg = np.asarray(recsys.als_cg(*args, cg_steps=k))
    for u in range(num_users):
        p = np.isin(np.arange(num_items), items[users == u]).astype(float)
        c = 1.0 + alpha * p  # min sum_i c_ui (p_ui - x . y_i)^2 + lam |x|^2
        a = np.vstack([np.sqrt(c)[:, None] * y, np.sqrt(lam) * np.eye(k)])
        b = np.concatenate([np.sqrt(c) * p, np.zeros(k)])
        ref = np.linalg.lstsq(a, b, rcond=None)[0]
        np.testing.assert_allclose(exact[u], ref, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(cg[u], ref, rtol=1e-3, atol=1e-4)


def test_in_batch_softmax_masks_duplicates_and_subtracts_log_q():
    params = {side: recsys.tower_init(jax.random.key(i), 6, 4, 8, 4) for i, side in enumerate(("user", "item"))}
    users, items = jnp.array([0, 1, 2]), jnp.array([3, 3, 5])
    log_q = jnp.log(jnp.array([0.1, 0.1, 0.1, 0.4, 0.1, 0.2]))
    u, v = recsys.tower(params["user"], users), recsys.tower(params["item"], items)
    logits = np.array(u @ v.T / 0.1 - log_q[items][None])
    logits[0, 1] = logits[1, 0] = -np.inf  # rows 0 and 1 share item 3
    ref = np.mean([np.log(np.exp(row - row.max()).sum()) + row.max() - row[i] for i, row in enumerate(logits)])
    assert float(recsys.in_batch_softmax_loss(params, users, items, log_q, 0.1)) == pytest.approx(ref, rel=1e-5)


def test_holdouts_and_planted_feedback():
    x = implicit_feedback.planted_interactions(50, 30, 4, 3, 8, 1.0, 0.5, seed=0)
    again = implicit_feedback.planted_interactions(50, 30, 4, 3, 8, 1.0, 0.5, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(x[:3], again[:3]))
    counts = np.bincount(x.users, minlength=50)
    assert counts.min() >= 3 and counts.max() <= 8
    assert len({(u, i) for u, i in zip(x.users, x.items)}) == len(x.users)  # no repeated (user, item)
    last = implicit_feedback.holdout(x, implicit_feedback.leave_last_out, 0.0, 1)
    assert np.array_equal(np.sort(last.test.users), np.arange(50))
    assert np.array_equal(last.test.position, counts - 1)
    rand = implicit_feedback.holdout(x, implicit_feedback.random_holdout, 0.25, 1)
    held = np.bincount(rand.test.users, minlength=50)
    assert np.array_equal(held, np.clip(np.round(0.25 * counts), 1, counts - 1))
    assert np.array_equal(np.bincount(rand.train.users, minlength=50), counts - held)


def tiny_config(**over):
    c = recsys_config()
    c.planted.num_users, c.planted.num_items, c.planted.min_items, c.planted.max_items = 200, 100, 5, 15
    c.models = ("popularity", "two_tower", "two_tower_logq", "als")  # bpr_mf: test_bpr_gradient_...
    c.num_seeds, c.eval_chunk, c.top_k = 2, 200, 10
    c.bpr.steps = c.two_tower.steps = 50
    c.als.sweeps = 1
    for k, v in over.items():
        c[k] = v
    return c


def test_a_tiny_run_reports_every_model(tmp_path):
    out = recsys.train(tiny_config(), tmp_path)
    for name in ("popularity", "two_tower", "two_tower_logq", "als"):
        assert 0.0 < out[f"{name}_recall_at_10"] <= 1.0 and len(out[f"{name}_ndcg_at_10_per_seed"]) == 2
        assert 0.0 < out[f"{name}_coverage_at_10"] <= 1.0
    # popularity: every user's top 10 lie among the (10 + their training items <= 15) most popular items
    assert out["popularity_coverage_at_10"] <= (10 + 15) / 100
    assert {"als_recall_at_10_vs_popularity", "logq_effect_ndcg_at_10", "logq_effect_recall_at_10"} <= set(out)
    assert (tmp_path / "plots" / "recall.png").exists()


def test_bad_keys_are_one_clear_error(tmp_path):
    with pytest.raises(JaxmlError, match="config.models='svd'.*popularity, bpr_mf, two_tower, two_tower_logq, als"):
        recsys.train(tiny_config(models=("svd",)), tmp_path)
    with pytest.raises(JaxmlError, match="config.holdout='temporal'.*leave_last_out, random"):
        recsys.train(tiny_config(holdout="temporal"), tmp_path)
    with pytest.raises(JaxmlError, match="config.top_k=500 must be <= the number of items"):
        recsys.train(tiny_config(top_k=500), tmp_path)
