"""Distillation: the loss against a float64 reference, its limits (T=1 one-hot teacher, T² scaling), and
fixed / consistent students on digits with a trained or a loaded teacher."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml import experiments
from jaxml.core.metrics import read_metrics
from jaxml.defaults import classify as classify_defaults, distill as distill_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import distill


def softmax64(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def reference_loss_and_grad(s, t, y, T, alpha):
    """Float64: mean over examples of α T² KL(p_t ‖ p_s^T) + (1 − α) CE(y, p_s), and its gradient."""
    s, t, y = (np.asarray(a, np.float64) for a in (s, t, y))
    pt, ps_T, ps = softmax64(t / T), softmax64(s / T), softmax64(s)
    kl = np.sum(np.where(pt > 0, pt * np.log(np.where(pt > 0, pt, 1) / ps_T), 0.0), -1)
    ce = -np.sum(y * np.log(ps), -1)
    loss = np.mean(alpha * T ** 2 * kl + (1 - alpha) * ce)
    grad = (alpha * T * (ps_T - pt) + (1 - alpha) * (ps - y)) / s.shape[0]
    return loss, grad


@pytest.mark.parametrize("T,alpha", [(1.0, 1.0), (4.0, 0.9), (20.0, 0.5), (2.5, 0.0)])
def test_loss_and_gradient_match_float64_reference(T, alpha):
    rng = np.random.default_rng(int(T * 10 + alpha * 100))
    s, t = 3 * rng.normal(size=(2, 32, 10))
    y = rng.dirichlet(np.ones(10), size=32)  # soft (e.g. mixed-up) labels
    fn = lambda s_: distill.distillation_loss(s_, distill.soft_targets(jnp.asarray(t, jnp.float32), T),
                                              jnp.asarray(y, jnp.float32), T, alpha).mean()
    loss, grad = jax.value_and_grad(fn)(jnp.asarray(s, jnp.float32))
    ref_loss, ref_grad = reference_loss_and_grad(s, t, y, T, alpha)
    np.testing.assert_allclose(float(loss), ref_loss, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(grad), ref_grad, rtol=1e-4, atol=1e-6)


def test_T1_alpha1_onehot_teacher_is_cross_entropy():
    rng = np.random.default_rng(0)
    logits = jnp.asarray(rng.normal(size=(16, 10)) * 4, jnp.float32)
    labels = jnp.asarray(rng.integers(0, 10, 16))
    onehot = jax.nn.one_hot(labels, 10)
    other = jax.nn.one_hot((labels + 3) % 10, 10)  # the hard-label term must carry no weight at α=1
    loss = distill.distillation_loss(logits, onehot, other, 1.0, 1.0)
    np.testing.assert_allclose(loss, optax.softmax_cross_entropy_with_integer_labels(logits, labels), rtol=1e-6)


def test_T_squared_keeps_soft_gradient_magnitude_constant():
    rng = np.random.default_rng(1)
    s = jnp.asarray(rng.normal(size=(64, 10)), jnp.float32)
    t = jnp.asarray(2 * rng.normal(size=(64, 10)), jnp.float32)

    def grad_norm(T, scale):
        probs = distill.soft_targets(t, T)
        g = jax.grad(lambda s_: scale(T) * distill.soft_target_loss(s_, probs, T).mean())(s)
        return float(jnp.linalg.norm(g)), g

    temps = (1.0, 2.0, 4.0, 8.0, 20.0)
    scaled = [grad_norm(T, lambda T: 1.0)[0] for T in temps]
    unscaled = [grad_norm(T, lambda T: 1.0 / T ** 2)[0] for T in temps]  # the plain KL at temperature T
    assert max(scaled) / min(scaled) < 1.15, scaled
    assert unscaled[0] / unscaled[-1] > 100, unscaled  # without T² the soft gradient vanishes as 1/T²
    # high-T limit (Hinton 2015, eq. 3-4): the gradient tends to (z - v) / N with zero-mean logits
    _, g = grad_norm(500.0, lambda T: 1.0)
    zc = np.asarray(s) - np.asarray(s).mean(-1, keepdims=True)
    vc = np.asarray(t) - np.asarray(t).mean(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(g), (zc - vc) / 10 / 64, atol=1e-4)


def tiny(**kw):
    c = distill_defaults.base_config()
    c.model.hidden = (16,)
    c.steps = 200
    c.teacher.model = dict(name="mlp", hidden=(64,), dropout=0.0)
    c.teacher.steps = 300
    c.teacher.augment.shift = 0
    for cc in (c, c.teacher):
        cc.log_every = 50
        cc.eval_every = cc.steps
        cc.checkpoint_every = cc.steps
        cc.tensorboard = False
    c.parallel.num_devices = 1
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_fixed_mode_trains_teacher_student_and_scratch(tmp_path):
    c = tiny(seeds=2)
    result = distill.train(c, tmp_path)
    assert result["teacher_accuracy"] > 0.93
    assert len(result["test_accuracy_per_seed"]) == len(result["scratch_accuracy_per_seed"]) == 2
    assert result["test_accuracy"] == pytest.approx(np.mean(result["test_accuracy_per_seed"]))
    assert min(result["test_accuracy_per_seed"]) > 0.85
    gap = result["teacher_accuracy"] - result["scratch_accuracy"]
    assert result["gap_closed"] == pytest.approx((result["test_accuracy"] - result["scratch_accuracy"]) / gap)
    assert result["params"] == 64 * 16 + 16 + 16 * 10 + 10 and result["teacher_params"] == 64 * 64 + 64 + 650
    assert {p.name for p in tmp_path.iterdir()} >= {"teacher", "distill_seed0", "distill_seed1", "scratch_seed0",
                                                    "scratch_seed1", "plots"}
    # the student's checkpoint reloads and evaluates to the same accuracy
    assert distill.evaluate(c, tmp_path)["test_accuracy"] == pytest.approx(result["test_accuracy_per_seed"][0])
    # re-running resumes every sub-run (nothing retrained) with identical numbers
    again = distill.train(c, tmp_path)
    assert again["test_accuracy_per_seed"] == result["test_accuracy_per_seed"]
    # the in-command teacher is reusable; students can train on a per-class subset (the transfer set)
    few = tiny(seeds=1, teacher_workdir=str(tmp_path / "teacher"), student_per_class=20)
    few.distill.mixup_alpha = 0.2
    sub = distill.train(few, tmp_path / "few")
    assert sub["teacher_accuracy"] == pytest.approx(result["teacher_accuracy"])
    assert sub["student_train_examples"] == 200 and not (tmp_path / "few" / "teacher").exists()
    assert sub["student_model"] == "MLP in-16-out" and sub["mixup_alpha"] == 0.2
    assert distill.scratch_config(few).augment.mixup_alpha == 0.2  # the control gets the same mixup


def test_fixed_equals_consistent_without_augmentation(tmp_path):
    """With no augmentation or mixup the teacher's view is the clean image in both modes, so the stored
    logits (carried by the training split as the named array `teacher_logits`, batches sharded over 2
    devices) must reproduce the online teacher."""
    runs = {}
    for mode in distill.MODES:
        c = tiny(seeds=1, scratch=False, steps=100)
        c.distill.mode = mode
        c.parallel.num_devices = 2
        runs[mode] = distill.train(c, tmp_path / mode)
    rows = {m: [r["loss"] for r in read_metrics(tmp_path / m / "distill_seed0") if r["split"] == "train"]
            for m in distill.MODES}
    np.testing.assert_allclose(rows["fixed"], rows["consistent"], rtol=1e-4)
    assert runs["fixed"]["test_accuracy"] == pytest.approx(runs["consistent"]["test_accuracy"], abs=1 / 360)


def test_consistent_mode_with_mixup_learns_from_loaded_classify_teacher(tmp_path):
    teacher = classify_defaults.base_config()
    teacher.model.hidden = (64,)
    teacher.steps, teacher.log_every, teacher.eval_every, teacher.checkpoint_every = 300, 50, 300, 300
    teacher.parallel.num_devices = 1
    teacher_result = experiments.run_training("mlp_teacher", teacher, tmp_path / "teacher_run")
    c = tiny(seeds=1, scratch=False, teacher_workdir=str(tmp_path / "teacher_run"))
    c.distill.mode, c.distill.mixup_alpha = "consistent", 0.2
    result = distill.train(c, tmp_path / "student")
    assert result["teacher_accuracy"] == pytest.approx(teacher_result["test_accuracy"])
    assert result["teacher_params"] == teacher_result["params"]
    assert not (tmp_path / "student" / "teacher").exists()  # loaded, not retrained
    assert result["test_accuracy"] > 0.85 and "gap_closed" not in result


def test_bad_config_values_name_the_key(tmp_path):
    c = tiny()
    c.distill.mode = "online"
    with pytest.raises(JaxmlError, match="distill.mode.*fixed, consistent"):
        distill.train(c, tmp_path)
    c = tiny(teacher_workdir=str(tmp_path / "nowhere"))
    with pytest.raises(JaxmlError, match="teacher_workdir"):
        distill.train(c, tmp_path)
    c = tiny()
    c.distill.alpha = 1.5
    with pytest.raises(JaxmlError, match="alpha"):
        distill.train(c, tmp_path)
    c = tiny()
    c.augment.mixup_alpha = 0.2
    with pytest.raises(JaxmlError, match="config.distill.mixup_alpha"):
        distill.train(c, tmp_path)
    for per, match in ((-1, "student_per_class=-1"), (100_000, "fewer than")):
        with pytest.raises(JaxmlError, match=match):
            distill.train(tiny(student_per_class=per), tmp_path)


def test_distill_config_file_loads():
    from jaxml import experiments
    info = experiments.info("distill_fashion")
    assert info.method == "distill" and info.expected["metric"] == "gap_closed"
    json.dumps(experiments.load_module(info.path).get_config().to_dict())
