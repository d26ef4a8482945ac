"""Knowledge-graph embeddings (`jaxml/methods/kge.py`) and the family-tree KG (`jaxml/data/knowledge_graph.py`):
score functions against numpy, RotatE's unit-modulus relations, the filtered ranking on a hand-made graph,
the generated graph's rules and split, and a tiny run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.data import knowledge_graph as kgdata
from jaxml.defaults.kge import kge_config
from jaxml.errors import JaxmlError
from jaxml.methods import kge


def complex_of(a: np.ndarray) -> np.ndarray:
    return a[..., 0, :] + 1j * a[..., 1, :]


def test_each_score_function_matches_numpy():
    c = kge_config()
    rng = np.random.default_rng(0)
    real = [rng.standard_normal((5, 8)).astype(np.float32) for _ in range(3)]
    cplx = [rng.standard_normal((5, 2, 4)).astype(np.float32) for _ in range(3)]
    phase = rng.uniform(-np.pi, np.pi, (5, 4)).astype(np.float32)
    h, r, t = real
    for norm, ref in ((1, lambda d: np.abs(d).sum(-1)), (2, lambda d: np.sqrt((d ** 2).sum(-1)))):
        c.transe_norm = norm
        np.testing.assert_allclose(kge.SCORES["transe"](c).score(h, r, t), c.margin - ref(h + r - t), rtol=1e-5)
    np.testing.assert_allclose(kge.SCORES["distmult"](c).score(h, r, t), (h * r * t).sum(-1), rtol=1e-5)
    hc, rc, tc = map(complex_of, cplx)
    np.testing.assert_allclose(kge.SCORES["complex"](c).score(*cplx), np.real((hc * rc * np.conj(tc)).sum(-1)),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(kge.SCORES["rotate"](c).score(cplx[0], phase, cplx[2]),
                               c.margin - np.abs(hc * np.exp(1j * phase) - tc).sum(-1), rtol=1e-5)
    # DistMult cannot tell (h, r, t) from (t, r, h); ComplEx can
    np.testing.assert_allclose(kge.SCORES["distmult"](c).score(t, r, h), (h * r * t).sum(-1), rtol=1e-5)
    assert not np.allclose(kge.SCORES["complex"](c).score(cplx[2], cplx[1], cplx[0]),
                           kge.SCORES["complex"](c).score(*cplx))


def test_rotate_relations_are_unit_modulus_rotations():
    c = kge_config()
    params = kge.SCORES["rotate"](c).init(jax.random.key(0), 7, 3, 16)
    cos, sin = kge.rotation(params["relation"])
    assert params["relation"].shape == (3, 8)
    np.testing.assert_allclose(cos ** 2 + sin ** 2, 1.0, rtol=1e-6)
    h = complex_of(np.asarray(params["entity"][:3]))
    rotated = h * (np.asarray(cos) + 1j * np.asarray(sin))
    np.testing.assert_allclose(np.abs(rotated), np.abs(h), rtol=1e-5)  # a rotation keeps every modulus


def table_scores(score_table: np.ndarray) -> kge.ScoreFunction:
    """A score function that looks s(h, r, t) up in a [R, E, E] table (one-hot entities)."""
    def score(h, r, t):
        return jnp.sum(h[..., :, None] * r * t[..., None, :], (-2, -1))
    return kge.ScoreFunction(None, score), {"entity": jnp.eye(score_table.shape[1]), "relation": jnp.asarray(score_table)}


def reference_rank(scores: np.ndarray, answer: int, known: set[int]) -> float:
    live = [e for e in range(len(scores)) if e == answer or e not in known]
    others = [scores[e] for e in live if e != answer]
    return 1 + sum(s > scores[answer] for s in others) + 0.5 * sum(s == scores[answer] for s in others)


def test_filtered_ranking_on_a_hand_made_graph():
    s = np.zeros((1, 5, 5), np.float32)
    s[0, 0] = [0.1, 0.9, 0.5, 0.7, 0.5]        # tails of head 0
    s[0, :, 2] = [0.5, 0.6, 0.8, 0.2, 0.4]     # heads of tail 2 (s[0, 0, 2] = 0.5 in both)
    known = np.array([[0, 0, 1], [0, 0, 2], [1, 0, 2], [3, 0, 4]], np.int32)
    test = np.array([[0, 0, 2]], np.int32)
    fn, params = table_scores(s)
    tail_q, head_q = kge.queries(test, known, True), kge.queries(test, known, False)
    tail, head = kge.filtered_ranks(fn, 5, chunk=4)(params, tail_q, head_q)
    # tail query (0, r, ?): entity 1 is a known tail (filtered), 3 scores higher, 4 ties: rank 2.5
    assert float(tail[0]) == 2.5 == reference_rank(s[0, 0], 2, {1, 2})
    # head query (?, r, 2): entity 1 is a known head (filtered), 2 scores higher, none ties: rank 2
    assert float(head[0]) == 2.0 == reference_rank(s[0, :, 2], 0, {0, 1})
    assert kge.ranking_metrics(np.array([2.5, 2.0])) == {"mrr": (0.4 + 0.5) / 2, "hits_at_1": 0.0,
                                                         "hits_at_3": 1.0, "hits_at_10": 1.0}
    # random ordering: H_n / n with n = 4 candidates each side after filtering one
    assert kge.random_mrr(tail_q, head_q, 5) == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)


def test_both_losses_match_numpy():
    c = kge_config()
    c.negatives, c.adversarial_temperature = 3, 0.0
    fn = kge.SCORES["distmult"](c)
    params = fn.init(jax.random.key(0), 6, 2, 4)
    ent, rel = np.asarray(params["entity"]) * 10, np.asarray(params["relation"]) * 10
    params = {"entity": jnp.asarray(ent), "relation": jnp.asarray(rel)}
    triples = jnp.array([[0, 0, 1], [2, 1, 3], [4, 0, 5], [1, 1, 0]], jnp.int32)
    t = np.asarray(triples)
    s = lambda h, r, tt: (ent[h] * rel[r] * ent[tt]).sum(-1)
    log_sig = lambda x: -np.logaddexp(0.0, -x)
    key = jax.random.key(1)
    corrupt = np.asarray(jax.random.randint(key, (3,), 0, 6))  # the batch's shared negatives
    pos = s(t[:, 0], t[:, 1], t[:, 2])
    neg = np.stack([s(t[:2, 0, None], t[:2, 1, None], corrupt[None]),            # first half: tails replaced
                    s(corrupt[None], t[2:, 1, None], t[2:, 2, None])]).reshape(4, 3)  # second half: heads
    ref = -np.mean(log_sig(pos) + log_sig(-neg).mean(-1))
    jitted = lambda loss: jax.jit(lambda p, tr, k: loss(fn, p, tr, k))  # one compilation, not one per op
    assert float(jitted(kge.LOSSES["negative_sampling"](c, 6))(params, triples, key)) == pytest.approx(ref, rel=1e-4)
    c.adversarial_temperature = 1.0
    w = np.exp(neg - neg.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    ref = -np.mean(log_sig(pos) + (w * log_sig(-neg)).sum(-1))
    assert float(jitted(kge.LOSSES["negative_sampling"](c, 6))(params, triples, key)) == pytest.approx(ref, rel=1e-4)
    every = np.arange(6)
    tail_scores, head_scores = s(t[:2, 0, None], t[:2, 1, None], every[None]), s(every[None], t[2:, 1, None], t[2:, 2, None])
    ce = lambda sc, y: np.log(np.exp(sc).sum(-1)) - sc[np.arange(len(y)), y]
    ref = np.mean(np.concatenate([ce(tail_scores, t[:2, 2]), ce(head_scores, t[2:, 0])]))
    assert float(jitted(kge.LOSSES["one_to_n"](c, 6))(params, triples, key)) == pytest.approx(ref, rel=1e-4)


def test_the_family_tree_follows_its_rules_and_splits_on_seen_entities():
    kg = kgdata.family_tree(num_families=5, generations=4, seed=3)
    again = kgdata.family_tree(num_families=5, generations=4, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(kg[:3], again[:3]))
    triples = {tuple(t) for t in kg.all_triples.tolist()}
    rel = {name: i for i, name in enumerate(kg.relations)}
    of = {name: {(h, t) for h, r, t in triples if r == rel[name]} for name in kg.relations}
    for name in ("married_to", "sibling_of", "cousin_of"):
        assert of[name] == {(t, h) for h, t in of[name]} and of[name], name
    for name, inverse in (("parent_of", "child_of"), ("grandparent_of", "grandchild_of"),
                          ("uncle_or_aunt_of", "nephew_or_niece_of")):
        assert of[inverse] == {(t, h) for h, t in of[name]} and not of[name] & {(t, h) for h, t in of[name]}, name
    assert of["grandparent_of"] == {(g, c) for g, p in of["parent_of"] for q, c in of["parent_of"] if p == q}
    assert all(r in kgdata.PATTERNS for r in kg.relations)
    assert len(kg.test) == round(0.1 * len(triples)) and len(kg.valid) == round(0.05 * len(triples))
    seen = set(kg.train[:, [0, 2]].ravel().tolist())
    assert set(kg.test[:, [0, 2]].ravel().tolist()) <= seen and set(kg.valid[:, [0, 2]].ravel().tolist()) <= seen


def tiny_config(**over):
    c = kge_config()
    c.family.num_families, c.family.generations = 6, 3
    c.models, c.num_seeds, c.steps, c.batch_size, c.negatives, c.dim = ("distmult", "complex"), 1, 120, 128, 16, 16
    c.learning_rate = 0.01
    for k, v in over.items():
        c[k] = v
    return c


def test_a_tiny_run_beats_random_and_reports_patterns(tmp_path):
    out = kge.train(tiny_config(), tmp_path)
    assert out["complex_mrr"] > 3 * out["random_mrr"] and out["distmult_mrr"] > 3 * out["random_mrr"]
    assert {"complex_mrr_symmetric", "complex_mrr_antisymmetric", "complex_mrr_inverse", "complex_mrr_composition",
            "complex_hits_at_10", "complex_minus_distmult_mrr", "complex_minus_distmult_mrr_antisymmetric"} <= set(out)
    assert set(out["complex_mrr_by_relation"]) == set(kgdata.RELATIONS)
    assert (tmp_path / "plots" / "mrr_by_pattern.png").exists()


def test_bad_keys_are_one_clear_error(tmp_path):
    with pytest.raises(JaxmlError, match="config.models='rescal'.*transe, distmult, complex, rotate"):
        kge.train(tiny_config(models=("rescal",)), tmp_path)
    with pytest.raises(JaxmlError, match="config.mrr_baseline='transe'.*config.models: rotate"):
        kge.train(tiny_config(models=("rotate",), mrr_baseline="transe"), tmp_path)
    with pytest.raises(JaxmlError, match="config.transe_norm=3"):
        kge.SCORES["transe"](tiny_config(transe_norm=3))
    with pytest.raises(JaxmlError, match="config.dim=15 must be even"):
        kge.SCORES["complex"](tiny_config()).init(jax.random.key(0), 3, 2, 15)


def test_a_benchmark_kg_from_files_ranks_the_valid_split(tmp_path):
    # a Kinships-like folder: three generations, parent_of / child_of (antisymmetric, inverse), married_to
    kg = kgdata.family_tree(num_families=3, generations=3, seed=1)
    folder = tmp_path / "kinships"
    folder.mkdir()
    for split, rows in (("train", kg.train), ("valid", kg.valid), ("test", kg.test)):
        (folder / f"{split}.txt").write_text("".join(f"p{h}\t{kg.relations[r]}\tp{t}\n" for h, r, t in rows))
    c = tiny_config(dataset="kinships", data_dir=str(tmp_path), eval_split="valid", models=("distmult",), steps=30)
    out = kge.train(c, tmp_path / "work")
    assert (out["num_train"], out["num_valid"], out["eval_split"]) == (len(kg.train), len(kg.valid), "valid")
    assert out["num_relations"] == len(set(kg.all_triples[:, 1].tolist())) and 0 < out["distmult_mrr"] <= 1
    assert "distmult_mrr_symmetric" in out and "distmult_mrr_antisymmetric" in out  # measured patterns
    with pytest.raises(JaxmlError, match="config.eval_split='train' is not valid; choose one of test, valid"):
        kge.train(tiny_config(eval_split="train"), tmp_path)
