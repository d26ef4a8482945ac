"""Fusion classifiers: every strategy's output shape, modality-dropout masks (never both modalities
dropped, the rates), late fusion's weights sum to 1 and a missing modality leaves the other's logits;
co-training's selection (confident only, never an index twice); a tiny run of each method (one
module fixture)."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxml.defaults.cotrain import base_config as cotrain_config
from jaxml.defaults.fusion import base_config as fusion_config
from jaxml.errors import JaxmlError
from jaxml.methods import cotrain, fusion
from jaxml.models.fusion import FUSIONS, late_weights, weighted_logits


def tiny_fusion_config() -> ml_collections.ConfigDict:
    c = fusion_config()
    c.dataset, c.steps, c.seeds, c.batch_size, c.eval_batch_size = "digits", 4, 2, 8, 64
    c.captions.train_size, c.captions.test_size = 64, 32
    c.image_model = ml_collections.ConfigDict({"name": "mlp", "hidden": (), "dropout": 0.0})  # cheapest to compile
    c.text_model.update(num_layers=0, embed_dim=8, num_heads=2, mlp_dim=8)
    c.fusion.update(width=8, patch_features=(4,), strategies=("late_learned",))
    return c


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    co = cotrain_config()
    co.dataset, co.seeds = "digits", 2
    co.model.hidden = (8,)
    co.cotrain.update(pool_size=300, test_size=50, rounds=2, steps=5, per_class=3, threshold=0.0, buckets=1)
    return (fusion.train(tiny_fusion_config(), tmp_path_factory.mktemp("fusion")),
            cotrain.train(co, tmp_path_factory.mktemp("cotrain")))


def test_every_strategy_gives_logits_of_each_example():
    c = tiny_fusion_config()
    images, tokens = jnp.zeros((3, 8, 8, 1)), jnp.array([[3, 4, 0, 0], [5, 0, 0, 0], [2, 2, 2, 2]])
    present = jnp.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    for name in FUSIONS:  # shapes only (traced, not run): the tiny run below runs two of them
        model = fusion.make_model(c, name, 20, 10, 4)
        params = jax.eval_shape(model.init, jax.random.key(0), images, tokens, present)
        logits = jax.eval_shape(model.apply, params, images, tokens, present)
        assert logits.shape == (3, 20), name
    with pytest.raises(JaxmlError, match="config.fusion.strategies"):
        fusion.make_model(c, "middle", 20, 10, 4)


def test_modality_dropout_never_drops_both_and_has_its_rate():
    draw = jax.jit(fusion.modality_present, static_argnums=1)  # one program instead of op-by-op dispatch
    present = np.asarray(draw(jax.random.key(1), 8000, 0.5))
    assert set(np.unique(present)) <= {0.0, 1.0} and np.all(present.sum(1) >= 1)
    np.testing.assert_allclose(1 - present.mean(0), [0.25, 0.25], atol=0.02)
    assert np.all(np.asarray(draw(jax.random.key(1), 8000, 0.0)) == 1)


def test_late_weights_sum_to_one_and_a_missing_modality_leaves_the_other():
    logits = np.random.default_rng(0).normal(size=(2, 4, 5)).astype(np.float32)
    w = np.asarray(late_weights(jnp.array([0.3, -1.2])))
    np.testing.assert_allclose(float(np.sum(w)), 1.0, rtol=1e-6)
    present = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    out = np.asarray(jax.jit(weighted_logits)(logits, w, present))
    np.testing.assert_allclose(out[0], w[0] * logits[0, 0] + w[1] * logits[1, 0], rtol=1e-5)
    np.testing.assert_allclose(out[1], logits[0, 1], rtol=1e-5)
    np.testing.assert_allclose(out[2], logits[1, 2], rtol=1e-5)
    for alpha in (None, np.array([2.0, -0.5]), np.array([[0.1, 0.4], [-3.0, 3.0]])):
        np.testing.assert_allclose(np.asarray(late_weights(alpha)).sum(-1), 1.0, rtol=1e-6)
    assert fusion.make_model(tiny_fusion_config(), "late_learned", 20, 10, 4).learned


def test_summary_margins_and_dropout_advantages():
    acc = {"image": {c: np.array([[0.40, 0.42]]) for c in fusion.CONDITIONS},
           "text": {c: np.array([[0.80, 0.82]]) for c in fusion.CONDITIONS},
           "early": {"both": np.array([[0.90, 0.92], [0.89, 0.91]]), "no_text": np.array([[0.30, 0.30], [0.40, 0.40]]),
                     "no_image": np.array([[0.50, 0.50], [0.80, 0.80]])}}
    out = fusion.summarise(acc)
    np.testing.assert_allclose([out["image_accuracy"], out["text_accuracy"], out["early_margin"]], [0.41, 0.81, 0.10])
    np.testing.assert_allclose(out["early_drop_loss_no_text"], 0.61)
    np.testing.assert_allclose(out["early_mdrop_drop_loss_no_image"], 0.10)
    np.testing.assert_allclose(out["early_dropout_advantage_no_text"], 0.61 - 0.50)
    np.testing.assert_allclose(out["early_dropout_advantage_no_image"], 0.41 - 0.10)
    np.testing.assert_allclose([out["fusion_margin_min"], out["dropout_advantage_min"]], [0.10, 0.11])


def test_selection_takes_only_confident_rows_and_never_one_twice():
    rng = np.random.default_rng(0)
    p1, p2 = (jax.nn.softmax(3 * rng.normal(size=(200, 4)), axis=1) for _ in range(2))
    p1, p2 = np.asarray(p1), np.asarray(p2)
    available = rng.random(200) < 0.8
    idx, labels = cotrain.cotrain_picks(p1, p2, available, per_class=5, threshold=0.7)
    assert len(np.unique(idx)) == len(idx) and np.all(available[idx])
    first = idx[:len(cotrain.select_confident(p1, available, 5, 0.7)[0])]
    conf = np.where(np.isin(idx, first), p1[idx].max(1), p2[idx].max(1))
    assert np.all(conf >= 0.7)
    for c in range(4):  # view 1's picks of class c: the 5 most confident available rows predicted c
        cand = np.flatnonzero(available & (p1.argmax(1) == c) & (p1.max(1) >= 0.7))
        top = cand[np.argsort(-p1[cand].max(1), kind="stable")[:5]]
        assert set(first[labels[:len(first)] == c]) == set(top)
    s = cotrain.LabelledSet(np.array([1, 2]), np.array([0, 1]), 2)
    s.add(np.array([3]), np.array([2]))
    with pytest.raises(JaxmlError, match="twice"):
        s.add(np.array([3]), np.array([2]))
    assert not s.available(5)[[1, 2, 3]].any() and s.available(5)[[0, 4]].all()


def test_tiny_runs_report_every_condition(runs):
    fused, co = runs
    for key in ("late_learned_both", "late_learned_mdrop_no_image", "late_learned_dropout_advantage_no_text",
                "dropout_advantage_min", "late_learned_image_weight"):
        assert np.isfinite(fused[key]), key
    assert 0.0 <= fused["late_learned_image_weight"] <= 1.0 and fused["num_classes"] == 20
    assert co["labelled_initial"] == 100 and 100 < co["labelled_final"] <= 100 + 2 * 2 * 3 * 10
    for key in ("cotrain_accuracy", "self_view1_accuracy", "self_combined_accuracy", "cotrain_gain"):
        assert np.isfinite(co[key]), key
