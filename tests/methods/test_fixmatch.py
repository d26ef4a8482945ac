"""FixMatch: the confidence mask and unlabelled loss against a float64 numpy reference, the weak logits
carry no gradient, config errors, and a tiny run on digits with its supervised control."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults.fixmatch import base_config
from jaxml.errors import JaxmlError
from jaxml.methods import fixmatch


def unlabelled_loss64(weak, strong, threshold):
    weak, strong = np.asarray(weak, np.float64), np.asarray(strong, np.float64)
    total, mask = 0.0, []
    for w, s in zip(weak, strong):
        p = np.exp(w - w.max())
        p /= p.sum()
        keep = p.max() >= threshold
        mask.append(float(keep))
        if keep:
            log_q = s - s.max() - np.log(np.exp(s - s.max()).sum())
            total += -log_q[p.argmax()]
    return total / len(weak), np.array(mask)


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.95, 1.0])
def test_mask_and_unlabelled_loss_match_float64_reference(threshold):
    rng = np.random.default_rng(int(threshold * 100))
    weak = rng.normal(size=(64, 10)) * rng.uniform(0.5, 6, size=(64, 1))  # a spread of confidences
    strong = rng.normal(size=(64, 10)) * 2
    loss, mask = fixmatch.fixmatch_unlabelled_loss(jnp.asarray(weak, jnp.float32), jnp.asarray(strong, jnp.float32),
                                                   threshold)
    ref_loss, ref_mask = unlabelled_loss64(weak, strong, threshold)
    np.testing.assert_array_equal(np.asarray(mask), ref_mask)
    np.testing.assert_allclose(float(loss), ref_loss, rtol=1e-5, atol=1e-7)
    if threshold == 0.0:
        assert ref_mask.all()
    if 0.0 < threshold < 1.0:
        assert 0 < ref_mask.sum() < len(ref_mask)  # the reference sees both kept and masked examples


def test_weak_logits_carry_no_gradient():
    rng = np.random.default_rng(0)
    weak, strong = (jnp.asarray(rng.normal(size=(8, 5)) * 4, jnp.float32) for _ in range(2))
    grad_weak = jax.grad(lambda w: fixmatch.fixmatch_unlabelled_loss(w, strong, 0.5)[0])(weak)
    assert not np.any(np.asarray(grad_weak))
    grad_strong = jax.grad(lambda s: fixmatch.fixmatch_unlabelled_loss(weak, s, 0.5)[0])(strong)
    assert np.any(np.asarray(grad_strong))


def test_labels_not_divisible_by_classes_is_one_clear_error(tmp_path):
    c = base_config()
    c.fixmatch.labels = 55
    with pytest.raises(JaxmlError, match="config.fixmatch.labels=55 must be a multiple of the 10 classes"):
        fixmatch.train(c, tmp_path)


def test_tiny_run_on_digits_reports_fixmatch_and_the_supervised_control(tmp_path):
    c = base_config()
    c.update(steps=4, log_every=2, eval_every=4, checkpoint_every=4, warmup_steps=0, seeds=2, batch_size=56,
             tensorboard=False)
    c.parallel.num_devices = 1
    result = fixmatch.train(c, tmp_path)
    assert result["labels"] == 50 and len(result["test_accuracy_per_seed"]) == 2
    assert result["gain"] == pytest.approx(result["test_accuracy"] - result["supervised_accuracy"])
    assert (tmp_path / "fixmatch_seed1").is_dir() and (tmp_path / "supervised_seed1").is_dir()


def test_validation_holds_out_training_images_for_fixmatch_and_its_control():
    c = base_config()
    full = fixmatch.load_data(c)
    c.fixmatch.validation = 300
    held = fixmatch.load_data(c)
    assert len(held.test) == 300 and len(held.train) == len(full.train) - 300
    rows = lambda s: {bytes(x) for x in np.asarray(s["image"]).reshape(len(s), -1)}
    assert rows(held.test) | rows(held.train) == rows(full.train) and not rows(held.test) & rows(held.train)
    assert not rows(fixmatch.labelled_split(c, held)) & rows(held.test)  # no labelled image is scored
    for bad in (len(full.train), -1):
        c.fixmatch.validation = bad
        with pytest.raises(JaxmlError, match="config.fixmatch.validation"):
            fixmatch.load_data(c)
