"""Attacks stay in the ε-ball and the data box, agree with a plain reference, and robust evaluation is
monotone in ε; the adversarial method trains on digits."""

import numpy as np
import jax
import jax.numpy as jnp
import optax
import pytest

from jaxml.defaults import adversarial as adv_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import adversarial as adv


def random_mlp(key, d=20, h=32, k=5):
    k1, k2 = jax.random.split(key)
    w1 = jax.random.normal(k1, (d, h)) / np.sqrt(d) * 3
    w2 = jax.random.normal(k2, (h, k)) / np.sqrt(h) * 3
    return lambda x: jnp.tanh(x.reshape(x.shape[0], -1) @ w1) @ w2


def data(key, b=64, d=20):
    return jax.random.uniform(key, (b, d))


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_stays_in_ball_and_box(norm):
    f = random_mlp(jax.random.key(0))
    x = data(jax.random.key(1))
    loss = adv.cross_entropy_loss(f, jnp.argmax(f(x), -1))
    eps = 0.1 if norm == "linf" else 0.5
    x_adv = adv.pgd(loss, x, jax.random.key(2), eps=eps, step_size=eps / 4, steps=10, norm=norm, restarts=3)
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
    delta = np.asarray(x_adv - x)
    dist = np.abs(delta).max(axis=1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert dist.max() <= eps + 1e-5
    assert dist.mean() > 0.5 * eps  # the attack moved towards the boundary of the ball


def test_fgsm_stays_in_ball_and_box():
    f = random_mlp(jax.random.key(0))
    x = data(jax.random.key(1))
    x_f = adv.fgsm(adv.cross_entropy_loss(f, jnp.argmax(f(x), -1)), x, 0.1)
    assert np.abs(np.asarray(x_f - x)).max() <= 0.1 + 1e-6
    assert float(x_f.min()) >= 0.0 and float(x_f.max()) <= 1.0


def test_random_start_l2_inside_ball():
    x = jnp.zeros((500, 30))
    s = adv.random_start(jax.random.key(0), x, 0.3, "l2")
    n = np.linalg.norm(np.asarray(s), axis=1)
    assert n.max() <= 0.3 + 1e-6 and n.min() > 0.0
    # uniform in the ball: radius^d is uniform on [0, eps^d] -> its median is ~ 0.5
    assert 0.4 < np.median((n / 0.3) ** 30) < 0.6


def test_fgsm_matches_numpy_reference_for_softmax_regression():
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(12, 4)), rng.normal(size=4)
    x = rng.uniform(size=(32, 12))
    y = rng.integers(0, 4, size=32)
    logits = x @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    grad = (p - np.eye(4)[y]) @ w.T  # d CE / d x
    expected = np.clip(x + 0.07 * np.sign(grad), 0, 1)
    f = lambda v: v @ jnp.asarray(w, jnp.float32) + jnp.asarray(b, jnp.float32)
    got = adv.fgsm(adv.cross_entropy_loss(f, jnp.asarray(y)), jnp.asarray(x, jnp.float32), 0.07)
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-6)


def test_one_step_pgd_with_step_eps_is_fgsm():
    f = random_mlp(jax.random.key(3))
    x = data(jax.random.key(4))
    loss = adv.cross_entropy_loss(f, jnp.argmax(f(x), -1))
    a = adv.pgd(loss, x, jax.random.key(0), eps=0.08, step_size=0.08, steps=1, rand_init=False)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(adv.fgsm(loss, x, 0.08)))


def test_pgd_loss_at_least_fgsm_on_average_and_restarts_help():
    f = random_mlp(jax.random.key(5))
    x = data(jax.random.key(6), b=256)
    loss = adv.cross_entropy_loss(f, jnp.argmax(f(x), -1))
    l_fgsm = float(loss(adv.fgsm(loss, x, 0.1)).mean())
    l_pgd1 = loss(adv.pgd(loss, x, jax.random.key(1), eps=0.1, step_size=0.025, steps=20))
    l_pgd3 = loss(adv.pgd(loss, x, jax.random.key(1), eps=0.1, step_size=0.025, steps=20, restarts=3))
    assert float(l_pgd1.mean()) >= l_fgsm
    assert float(l_pgd3.mean()) >= float(l_pgd1.mean()) - 1e-6


def test_robustness_report_monotone_and_clean_at_zero():
    f = random_mlp(jax.random.key(7))
    x = np.asarray(data(jax.random.key(8), b=200))
    y = np.array(jnp.argmax(f(jnp.asarray(x)), -1))
    y[:40] = (y[:40] + 1) % 5  # some clean mistakes
    r = adv.robustness_report(f, x, y, jax.random.key(0), (0.0, 0.02, 0.05, 0.1), eps=0.05, step_size=0.01,
                              steps=10, norm="linf", restarts=1, batch_size=100)
    curve = r["robust_accuracy_curve"]
    assert curve[0] == pytest.approx(r["test_accuracy"]) == pytest.approx(0.8)
    assert all(b <= a for a, b in zip(curve, curve[1:]))
    assert curve[-1] < curve[0]
    assert r["robust_accuracy"] == curve[2]
    assert len(r["f1_clean_per_class"]) == 5 and 0.5 <= r["confidence_auc"] <= 1.0


def test_report_metrics_round_trip_and_registries():
    f = random_mlp(jax.random.key(7))
    x = np.asarray(data(jax.random.key(8), b=100))
    y = np.array(jnp.argmax(f(jnp.asarray(x)), -1))
    r = adv.robustness_report(f, x, y, jax.random.key(0), (0.0, 0.05, 0.1), eps=0.05, step_size=0.01,
                              steps=3, norm="linf", restarts=1)
    flat = adv.report_metrics(r)
    assert all(isinstance(v, float) for v in flat.values()) and flat["accuracy"] == r["robust_accuracy"]
    back = adv.report_from_metrics({f"robust_{k}": v for k, v in flat.items()}, (0.0, 0.05, 0.1), 5, 100)
    assert back == r
    assert list(adv.MODES) == ["standard", "pgd_at", "trades"] and list(adv.BALLS) == ["linf", "l2"]
    for name, make in adv.MODES.items():
        assert "20" in make.__doc__ or name == "standard", f"{name}: the docstring cites its paper"
    with pytest.raises(JaxmlError, match="attack norm='l1' is not valid; choose one of linf, l2"):
        adv.project(jnp.zeros(3), jnp.zeros(3), 0.1, norm="l1")


def test_trades_kl_loss_is_zero_at_clean_input():
    f = random_mlp(jax.random.key(9))
    x = data(jax.random.key(10))
    np.testing.assert_allclose(np.asarray(adv.kl_loss(f, f(x))(x)), 0.0, atol=1e-6)


def tiny(mode, **kw):
    c = adv_defaults.base_config()
    c.model.hidden = (64,)
    c.steps = 150
    c.log_every = 50
    c.eval_every = 150
    c.checkpoint_every = 0
    c.tensorboard = False
    c.parallel.num_devices = 2
    c.adversarial.update(train_eps=0.1, train_steps=3, train_step_size=0.04, eval_steps=5, eval_step_size=0.03,
                         eps_grid=(0.0, 0.1, 0.2), eps=0.1, eval_examples=120)
    c.compare = ({"name": "standard", "mode": "standard"}, {"name": mode, "mode": mode, **kw})
    c.main = mode
    return c


@pytest.mark.parametrize("mode", ["pgd_at", "trades"])
def test_adversarial_training_on_digits(tmp_path, mode):
    r = adv.train(tiny(mode, beta=3.0) if mode == "trades" else tiny(mode), tmp_path)
    assert r["standard_test_accuracy"] > 0.85 and r["test_accuracy"] > 0.7
    assert r["robust_accuracy"] > r["standard_robust_accuracy"]  # adversarial training buys robustness
    assert (tmp_path / "plots" / "robustness.png").exists()
    assert r["clean_accuracy_drop"] == pytest.approx(r["standard_test_accuracy"] - r["test_accuracy"])


def test_bad_mode_is_a_clear_error(tmp_path):
    c = tiny("pgd_at")
    c.compare = ({"name": "pgd_at", "mode": "pdg"},)
    with pytest.raises(JaxmlError, match="adversarial.mode='pdg'.*standard, pgd_at, trades"):
        adv.train(c, tmp_path)
