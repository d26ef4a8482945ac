"""Active learning: each acquisition function against a numpy reference, the loop never re-queries a
labelled index, and a loop interrupted and resumed between rounds queries the same indices as an
uninterrupted one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults.few_labels import active_config
from jaxml.errors import JaxmlError
from jaxml.methods import active
from jaxml.methods.acquisition import ACQUISITIONS


def np_entropy(p):
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0), -1)


NUMPY_SCORES = {  # higher = queried first
    "least_confidence": lambda p: 1 - p.mean(0).max(-1),
    "margin": lambda p: -np.diff(np.sort(p.mean(0), -1)[:, -2:], axis=-1)[:, 0],
    "entropy": lambda p: np_entropy(p.mean(0)),
    "bald": lambda p: np_entropy(p.mean(0)) - np_entropy(p).mean(0),
}


def np_kcenter(x, labelled, batch):
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    nearest = d[:, labelled].min(1)
    chosen = []
    for _ in range(batch):
        nearest[labelled] = -np.inf
        nearest[chosen] = -np.inf
        i = int(np.argmax(nearest))
        chosen.append(i)
        nearest = np.minimum(nearest, d[i])
    return chosen


@pytest.fixture
def pool():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 60, 5)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labelled = np.zeros(60, bool)
    labelled[rng.choice(60, 10, replace=False)] = True
    return probs.astype(np.float32), rng.normal(size=(60, 3)).astype(np.float32), labelled


@pytest.mark.parametrize("name", sorted(NUMPY_SCORES))
def test_score_acquisitions_match_numpy(pool, name):
    probs, x, labelled = pool
    chosen = np.asarray(ACQUISITIONS[name].select(jax.random.key(0), jnp.asarray(probs), jnp.asarray(x),
                                                  jnp.asarray(labelled), 8))
    score = np.where(labelled, -np.inf, NUMPY_SCORES[name](probs.astype(np.float64)))
    np.testing.assert_array_equal(np.sort(chosen), np.sort(np.argsort(-score, kind="stable")[:8]))


def test_kcenter_and_random_match_numpy(pool):
    probs, x, labelled = pool
    chosen = ACQUISITIONS["kcenter"].select(jax.random.key(0), jnp.asarray(probs), jnp.asarray(x),
                                            jnp.asarray(labelled), 8)
    assert np.asarray(chosen).tolist() == np_kcenter(x.astype(np.float64), labelled, 8)
    picks = np.asarray(ACQUISITIONS["random"].select(jax.random.key(1), jnp.asarray(probs), jnp.asarray(x),
                                                     jnp.asarray(labelled), 50))
    assert len(set(picks.tolist())) == 50 and set(picks.tolist()) == set(np.flatnonzero(~labelled).tolist())


def tiny(**kw):
    c = active_config()
    c.num_seeds, c.initial_labels, c.query_batch, c.max_labels, c.report_labels = 2, 10, 10, 40, (20, 40)
    c.steps, c.model.hidden, c.mc_samples, c.strategies = 30, (), 3, ("margin",)
    c.warm_start = True  # a resumed run must restore the weights as well as the labelled indices
    c.update(kw)
    return c


def test_never_requeries_and_resumes_to_the_same_queries(tmp_path):
    config = tiny()
    out = active.train(config, tmp_path / "full")
    assert (tmp_path / "full" / "plots" / "active_learning.png").exists()
    assert set(out) >= {"margin_accuracy_10", "margin_accuracy_40", "margin_accuracy_40_std"}
    ds = active.load_dataset("digits", seed=0)
    data = (active.images(ds.train), np.asarray(ds.train["label"]), active.images(ds.test),
            np.asarray(ds.test["label"]), 10)
    for name in config.strategies:
        indices = np.load(tmp_path / "full" / "active" / f"{name}.npz")["indices"]
        assert all(len(set(row.tolist())) == 40 for row in indices), name  # no index queried twice
    # interrupted after 2 of 4 rounds, then resumed in the same workdir
    partial = active.run_strategy(config, "margin", data, tmp_path / "resumed", stop_after=2)
    assert partial["accuracy"].shape == (2, 2)
    resumed = active.run_strategy(config, "margin", data, tmp_path / "resumed")
    full = np.load(tmp_path / "full" / "active" / "margin.npz")
    np.testing.assert_array_equal(resumed["indices"], full["indices"])
    np.testing.assert_allclose(resumed["accuracy"], full["accuracy"])


@pytest.mark.parametrize("key,value,match", [("strategies", ("margins",), "config.strategies"),
                                             ("max_labels", 45, "config.max_labels"),
                                             ("report_labels", (25,), "config.report_labels"),
                                             ("strategies", ("bald",), "config.model.dropout"),
                                             ("dataset", "mnist", "config.dataset='mnist' is not valid; choose one "
                                                                  "of digits, fashion_mnist")])
def test_bad_config_names_the_key(tmp_path, key, value, match):
    with pytest.raises(JaxmlError, match=match):
        active.train(tiny(**{key: value}), tmp_path)


def test_chunked_pass_equals_one_pass():
    x = jnp.arange(7 * 3, dtype=jnp.float32).reshape(7, 3)
    fn = lambda c, a: jnp.stack([a * 2.0, a + 1.0])  # [2, n, 3]: the example axis is 1
    np.testing.assert_array_equal(np.asarray(active.chunked(fn, x, 3, axis=1)), np.asarray(fn(None, x)))
    np.testing.assert_array_equal(np.asarray(active.chunked(lambda c, a: a.sum(-1), x, 4, axis=0)),
                                  np.asarray(x.sum(-1)))


def test_cnn_rounds_with_minibatches_and_chunked_mc_dropout_scoring(tmp_path):
    """The active_fashion path on 8x8 digits: a CNN with dropout, minibatch training, BALD's MC-dropout
    pool scoring in chunks, a pool subset; queries stay distinct and a run resumed after 2 rounds keeps them."""
    config = tiny(strategies=("bald",), steps=5, train_batch=16, score_chunk=64, pool_size=300, mc_samples=2,
                  max_labels=30, report_labels=(30,))
    config.model = dict(name="cnn", features=(4,), convs_per_stage=1, dense=(8,), dropout=0.25, batch_norm=False)
    ds = active.load_dataset("digits", seed=0)
    pool = active.pool_split(ds.train, 300, 0)
    assert len(pool) == 300 and len(active.pool_split(ds.train, 0, 0)) == len(ds.train)
    cnn_inputs = active.INPUTS["cnn"]
    data = (cnn_inputs(pool), np.asarray(pool["label"]), cnn_inputs(ds.test)[:100], np.asarray(ds.test["label"])[:100],
            10)
    assert data[0].shape == (300, 8, 8, 1)
    partial = active.run_strategy(config, "bald", data, tmp_path, stop_after=2)
    done = active.run_strategy(config, "bald", data, tmp_path)
    assert done["accuracy"].shape == (2, 3) and np.all((done["accuracy"] >= 0) & (done["accuracy"] <= 1))
    assert all(len(set(row.tolist())) == 30 for row in done["indices"])
    np.testing.assert_array_equal(partial["accuracy"], done["accuracy"][:, :2])
