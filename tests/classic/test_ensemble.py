"""Deep ensembles (methods/ensemble.py) and calibration (core/calibration.py): ECE, the reliability
bins and NLL against numpy references; a distinct population's members start apart and its vmapped CNN
step compiles to dots, not XLA convolutions, on the CPU; a tiny end-to-end ensemble on digits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.core import calibration, population, supervised
from jaxml.defaults.ensemble import base_config
from jaxml.methods import ensemble


def ece_reference(probs, labels, bins):
    """Guo et al.'s ECE written directly: bins (lo, hi], the first one closed at 0."""
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for b in range(bins):
        inside = (conf > edges[b]) & (conf <= edges[b + 1]) if b else (conf <= edges[1])
        if inside.any():
            total += inside.mean() * abs((pred[inside] == labels[inside]).mean() - conf[inside].mean())
    return total


def test_ece_and_nll_equal_numpy_references():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(500, 7)) * rng.uniform(0.2, 4.0, size=(500, 1))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, 7, 500)
    probs[0] = np.eye(7)[labels[0]]                    # confidence exactly 1: last bin
    probs[1, :] = 0.0; probs[1, :2] = 0.5              # confidence 0.5 on a bin edge of 10 bins: bin 4
    for bins in (1, 10, 15):
        ours = float(calibration.expected_calibration_error(jnp.asarray(probs, jnp.float32), jnp.asarray(labels), bins))
        assert ours == pytest.approx(ece_reference(probs, labels, bins), abs=1e-6)
    r = calibration.reliability(jnp.asarray(probs, jnp.float32), jnp.asarray(labels), 10)
    assert int(r.count.sum()) == 500 and int(r.count[4]) == int(((probs.max(1) > 0.4) & (probs.max(1) <= 0.5)).sum())
    nll = float(calibration.negative_log_likelihood(jnp.asarray(probs, jnp.float32), jnp.asarray(labels)))
    assert nll == pytest.approx(-np.mean(np.log(np.maximum(probs[np.arange(500), labels], 1e-12))), rel=1e-5)


def tiny_config():
    c = base_config()
    c.model = dict(name="cnn", features=(4,), convs_per_stage=1, dense=(8,), dropout=0.0, batch_norm=False,
                   conv_impl="auto", pool_impl="auto")
    c.steps, c.batch_size, c.log_every, c.warmup_steps, c.eval_batch_size = 4, 16, 4, 1, 200
    c.tensorboard = False
    c.parallel.num_devices = 1
    c.ensemble.ensembles, c.ensemble.members = 2, 2
    return c


def test_distinct_members_start_apart_and_the_vmapped_cnn_has_no_convolution():
    config = tiny_config()
    data = supervised.load_data(config)
    base = supervised.make_recipe(config, data.train, {"test": data.test}, data.num_classes,
                                  tx=population.population_optimizer(config))
    hypers = {"learning_rate": np.full(3, 1e-3, np.float32), "weight_decay": np.zeros(3, np.float32)}
    key = jax.random.key(0)
    distinct = population.population_recipe(base, hypers, distinct=True)
    state = distinct.init(key)
    for d in jax.tree.leaves(state.members.params):
        if d.ndim > 2:  # kernels: one initial state per member (the shared one is test_population's)
            assert not np.array_equal(d[0], d[1])
    one = jax.tree.leaves(base.init(jax.random.fold_in(key, 2)).params)  # member i is init(fold_in(key, i))
    for a, b in zip(one, jax.tree.leaves(state.members.params)):
        np.testing.assert_array_equal(a, b[2])
    batch = {"image": jnp.asarray(data.train["image"][:8]), "label": jnp.asarray(data.train["label"][:8])}
    hlo = jax.jit(distinct.train_step).lower(state, batch, jax.random.key(1)).compile().as_text()
    if jax.default_backend() == "cpu":  # "auto" is the matmul convolution on the CPU, under vmap too
        assert " convolution(" not in hlo and " dot(" in hlo


def test_ensemble_end_to_end_on_digits(tmp_path):
    config = tiny_config()
    result = ensemble.train(config, tmp_path)
    assert (result["ensembles"], result["members"]) == (2, 2) and result["conv_impl"] in ("slices", "xla")
    assert len(result["member_ece_per_member"]) == 4 and len(result["ensemble_ece_per_seed"]) == 2
    # the ensemble's NLL is at most its members' mean (Jensen: -log of a mean <= the mean of -logs)
    assert min(result["nll_gain_per_seed"]) >= -1e-6 and result["nll_gain_min"] == min(result["nll_gain_per_seed"])
    assert result["test_accuracy"] == result["ensemble_accuracy"]
    assert (tmp_path / "plots" / "reliability.png").exists()
