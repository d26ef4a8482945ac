"""Pseudo-labelling: the ramp, the thresholded pseudo-label loss against a numpy reference, and a tiny
digits run in which weight 0 makes the pseudo-labelling run the supervised one exactly."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults.few_labels import pseudo_label_config
from jaxml.errors import JaxmlError
from jaxml.methods import pseudo_label


def test_ramp_and_thresholded_loss_match_numpy():
    np.testing.assert_allclose(np.asarray(pseudo_label.ramp(jnp.arange(6), 1, 4)), [0, 0, 1 / 3, 2 / 3, 1, 1])
    rng = np.random.default_rng(0)
    logits, clean = rng.normal(size=(20, 4)) * 3, rng.normal(size=(20, 4)) * 3
    p = np.exp(clean - clean.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    mask = p.max(1) >= 0.8
    log_q = logits - logits.max(1, keepdims=True)
    log_q -= np.log(np.exp(log_q).sum(1, keepdims=True))
    expected = np.mean(mask * -log_q[np.arange(20), p.argmax(1)])
    loss, confident = pseudo_label.pseudo_label_loss(jnp.asarray(logits), jnp.asarray(clean), 0.8)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_array_equal(np.asarray(confident), mask)


def tiny(**kw):
    c = pseudo_label_config()
    c.num_seeds, c.steps, c.ramp_start, c.ramp_end, c.model.hidden, c.reference = 2, 40, 10, 30, (), False
    c.update(kw)
    return c


def test_zero_weight_is_the_supervised_run(tmp_path):
    out = pseudo_label.train(tiny(unlabeled_weight=0.0), tmp_path)
    assert out["pseudo_label_accuracy_per_seed"] == out["supervised_accuracy_per_seed"]
    assert out["pseudo_label_gain"] == 0.0 and out["pool_size"] == 1437 - 50
    assert 0.3 < out["supervised_accuracy"] <= 1.0 and 0.0 <= out["pool_confident_fraction"] <= 1.0


@pytest.mark.parametrize("key,value,match", [("num_labels", 55, "config.num_labels"),
                                             ("threshold", 1.5, "config.threshold"),
                                             ("ramp_end", 5, "config.ramp_end")])
def test_bad_config_names_the_key(tmp_path, key, value, match):
    with pytest.raises(JaxmlError, match=match):
        pseudo_label.train(tiny(**{key: value}), tmp_path)
