"""CLIP-style dual encoder: symmetric InfoNCE against a float64 reference and symmetric in its two
modalities; all-gathered over 8 devices equal to one device (value and gradients, learned scale
included); Recall@K and ranks on hand-built similarity matrices; the zero-shot report; a tiny run."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxml.core import sharding
from jaxml.core.zero_shot_metrics import accuracy_among, harmonic_mean, zero_shot_report
from jaxml.defaults.contrastive import base_config
from jaxml.errors import JaxmlError
from jaxml.methods import contrastive


def info_nce64(u, v, scale):
    """Float64 symmetric InfoNCE: mean of the image->text and text->image cross-entropies at the diagonal."""
    u = np.asarray(u, np.float64)
    v = np.asarray(v, np.float64)
    u, v = u / np.linalg.norm(u, axis=1, keepdims=True), v / np.linalg.norm(v, axis=1, keepdims=True)
    logits = scale * u @ v.T
    total = 0.0
    for rows in (logits, logits.T):
        for i, row in enumerate(rows):
            m = row.max()
            total += m + np.log(np.exp(row - m).sum()) - row[i]
    return total / (2 * len(u))


@pytest.mark.parametrize("scale", [1.0, 14.3, 100.0])
def test_info_nce_matches_float64_reference_and_is_symmetric(scale):
    rng = np.random.default_rng(int(scale))
    u, v = rng.normal(size=(2, 20, 12))
    v = v + 0.7 * u
    f = lambda a, b: float(contrastive.info_nce(jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32),
                                                jnp.log(jnp.float32(scale)), max_scale=100.0))
    np.testing.assert_allclose(f(u, v), info_nce64(u, v, scale), rtol=1e-5)
    np.testing.assert_allclose(f(v, u), f(u, v), rtol=1e-6)
    capped = float(contrastive.info_nce(jnp.asarray(u, jnp.float32), jnp.asarray(v, jnp.float32), jnp.log(500.0),
                                        max_scale=100.0))
    np.testing.assert_allclose(capped, info_nce64(u, v, 100.0), rtol=1e-5)  # the scale is capped


def test_info_nce_gathered_over_8_devices_equals_one_device():
    assert jax.device_count() == 8
    mesh = sharding.make_mesh(base_config().parallel)
    assert mesh.shape["data"] == 8
    rng = np.random.default_rng(0)
    u, v = (jnp.asarray(a, jnp.float32) for a in rng.normal(size=(2, 32, 8)))
    log_scale = jnp.log(jnp.float32(10.0))
    spread = NamedSharding(mesh, P(sharding.BATCH_AXES))
    global_loss = contrastive.batch_global_info_nce(mesh)
    grad = lambda fn: jax.value_and_grad(fn, argnums=(0, 1, 2))
    loss8, grads8 = jax.jit(grad(global_loss))(jax.device_put(u, spread), jax.device_put(v, spread), log_scale)
    loss1, grads1 = grad(contrastive.info_nce)(u, v, log_scale)
    np.testing.assert_allclose(float(loss8), float(loss1), rtol=1e-6)
    np.testing.assert_allclose(float(loss8), info_nce64(u, v, 10.0), rtol=1e-5)
    for g8, g1 in zip(grads8, grads1):
        np.testing.assert_allclose(np.asarray(g8), np.asarray(g1), rtol=1e-5, atol=1e-7)


def test_recall_at_k_and_ranks_on_hand_built_similarities():
    # row i: the rank of item i is 1, 2, 3, 4 for rows 0..3
    sim = jnp.asarray([[9.0, 1.0, 2.0, 3.0],
                       [5.0, 4.0, 1.0, 0.0],
                       [7.0, 8.0, 6.0, 0.0],
                       [3.0, 2.0, 1.0, 0.0]])
    np.testing.assert_array_equal(np.asarray(contrastive.ranks(sim)), [1, 2, 3, 4])
    recall = {k: float(v) for k, v in contrastive.recall_at_k(sim, (1, 2, 3, 4)).items()}
    assert recall == {1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0}
    np.testing.assert_array_equal(np.asarray(contrastive.top_k_retrieval(jnp.eye(3), jnp.eye(3)[::-1], 1)),
                                  [[2], [1], [0]])


def test_retrieval_metrics_both_ways_and_median_rank():
    u = jnp.eye(4)
    v = jnp.eye(4)[jnp.asarray([0, 1, 3, 2])]  # pairs 2 and 3 swapped: their texts sit at each other's place
    m = {k: float(x) for k, x in contrastive.retrieval_metrics(u, v, (1, 2)).items()}
    assert m["i2t_r1"] == m["t2i_r1"] == 0.5
    # the swapped items score 0 against their own text, tied with the two texts before it: ranks 1, 1, 4, 4
    assert m["i2t_r2"] == 0.5
    assert m["i2t_median_rank"] == 2.5


def test_zero_shot_report_and_harmonic_mean():
    scores = np.asarray([[1, 0, 0], [0, 1, 0], [0, 0.6, 0.5], [0, 0, 1]], np.float32)
    labels = np.asarray([0, 1, 2, 2])
    r = zero_shot_report(scores, labels, held_out=(2,))
    assert r["unseen_accuracy"] == 1.0  # among the held-out class alone
    assert r["gzsl_seen"] == 1.0 and r["gzsl_unseen"] == 0.5
    assert r["gzsl_h"] == pytest.approx(2 / 3)
    assert accuracy_among(scores, labels, (1, 2)) == 0.5  # rows 1 and 3; row 0 (class 0) cannot be right
    assert harmonic_mean(0.0, 0.0) == 0.0


def tiny_config():
    c = base_config()
    c.dataset = "digits"
    c.captions.update(train_size=128, test_size=64)
    c.image_model.update(features=(8,), dense=())
    c.text_model.update(num_layers=1, embed_dim=16, num_heads=2)
    c.clip.embed_dim = 16
    c.retrieval.size = 64
    c.zeroshot.held_out = (8, 9)
    c.update(steps=2, batch_size=32, eval_batch_size=64, log_every=2, checkpoint_every=0, warmup_steps=1,
             tensorboard=False)
    c.parallel.num_devices = 1  # the 8-device loss is checked above; one device keeps this run's compile small
    return c


def test_bad_held_out_classes_and_ks_are_one_clear_error():
    data = contrastive.load_pairs(tiny_config())
    c = tiny_config()
    c.zeroshot.held_out = (3, 12)
    with pytest.raises(JaxmlError, match="config.zeroshot.held_out"):
        contrastive.make_recipe(c, data)
    c = tiny_config()
    c.retrieval.ks = (1, 100)
    with pytest.raises(JaxmlError, match="config.retrieval.ks"):
        contrastive.make_recipe(c, data)


def test_tiny_run_on_digits_writes_retrieval_zero_shot_and_the_embedding_plot(tmp_path):
    result = contrastive.train(tiny_config(), tmp_path)
    for k in ("retrieval_i2t_r1", "retrieval_t2i_r10", "retrieval_i2t_median_rank", "zeroshot_all_accuracy",
              "zeroshot_unseen_accuracy", "zeroshot_gzsl_h", "r1_over_chance", "unseen_chance"):
        assert np.isfinite(result[k]), k
    assert 0.0 <= result["retrieval_i2t_r1"] <= result["retrieval_i2t_r5"] <= result["retrieval_i2t_r10"] <= 1.0
    assert result["chance_r1"] == 1 / 64 and result["unseen_chance"] == 0.5
    assert (tmp_path / "embeddings.png").exists()
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in rows} >= {"train", "retrieval", "zeroshot"}
