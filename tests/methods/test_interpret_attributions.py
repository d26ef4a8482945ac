"""Attributions: saliency equals finite differences, integrated gradients are complete, ignored
features get zero attribution, SmoothGrad and attention rollout match plain references."""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from jaxml.defaults import interpret as interpret_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import interpret
from jaxml.models.attention import attention_rollout


def mlp(key, d=10, h=16, k=3, mask=None):
    k1, k2 = jax.random.split(key)
    w1 = jax.random.normal(k1, (d, h)) / np.sqrt(d) * 2
    w2 = jax.random.normal(k2, (h, k)) / np.sqrt(h) * 2
    m = jnp.ones(d) if mask is None else mask

    def f(x):
        return jnp.tanh((x.reshape(x.shape[0], -1) * m) @ w1) @ w2

    return f


def test_saliency_matches_central_finite_differences():
    with jax.enable_x64(True):
        f = mlp(jax.random.key(0))
        x = jax.random.uniform(jax.random.key(1), (4, 10), jnp.float64)
        t = jnp.array([0, 1, 2, 1])
        g = np.asarray(interpret.saliency(f, x, t))
        h = 1e-6
        fd = np.zeros_like(g)
        for j in range(10):
            e = jnp.zeros(10, jnp.float64).at[j].set(h)
            up = np.asarray(f(x + e))[np.arange(4), np.asarray(t)]
            down = np.asarray(f(x - e))[np.arange(4), np.asarray(t)]
            fd[:, j] = (up - down) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_integrated_gradients_completeness_within_one_percent():
    f = mlp(jax.random.key(2))
    x = jax.random.uniform(jax.random.key(3), (8, 10))
    t = jnp.argmax(f(x), -1)
    attr = interpret.integrated_gradients(f, x, t, steps=128)
    err = interpret.completeness_error(f, x, t, attr)
    assert float(err.max()) < 0.01
    coarse = interpret.completeness_error(f, x, t, interpret.integrated_gradients(f, x, t, steps=1))
    assert float(coarse.max()) > float(err.max())  # the quadrature, not luck, makes it complete


def test_integrated_gradients_with_baseline_matches_riemann_reference():
    f = mlp(jax.random.key(4))
    x = jax.random.uniform(jax.random.key(5), (3, 10))
    base = jnp.full_like(x, 0.5)
    t = jnp.array([2, 0, 1])
    got = interpret.integrated_gradients(f, x, t, base, steps=16)
    alphas = np.linspace(0, 1, 17)
    grads = np.stack([np.asarray(interpret.saliency(f, base + a * (x - base), t)) for a in alphas])
    ref = np.asarray(x - base) * np.trapezoid(grads, alphas, axis=0)
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", interpret.ATTRIBUTIONS)
def test_ignored_feature_gets_zero_attribution(method):
    mask = jnp.ones(10).at[3].set(0.0).at[7].set(0.0)
    f = mlp(jax.random.key(6), mask=mask)
    x = jax.random.uniform(jax.random.key(7), (5, 10))
    attr = np.asarray(interpret.attribute(method, f, x, jnp.argmax(f(x), -1), jax.random.key(0)))
    assert np.all(attr[:, [3, 7]] == 0.0)
    assert np.abs(attr[:, [0, 1, 2]]).max() > 0.0


def test_smoothgrad_is_mean_of_noisy_saliency():
    f = mlp(jax.random.key(8))
    x = jax.random.uniform(jax.random.key(9), (2, 10))
    t = jnp.array([0, 1])
    key = jax.random.key(3)
    got = interpret.smoothgrad(f, x, t, key, samples=7, noise=0.2)
    eps = jax.random.normal(key, (7, 2, 10)) * 0.2
    ref = np.mean([np.asarray(interpret.saliency(f, x + e, t)) for e in eps], axis=0)
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(interpret.smoothgrad(f, x, t, key, samples=3, noise=0.0)),
                               np.asarray(interpret.saliency(f, x, t)), rtol=1e-6)


def test_attention_rollout_matches_loop_reference():
    rng = np.random.default_rng(0)
    a = rng.uniform(size=(3, 2, 5, 5))
    a /= a.sum(-1, keepdims=True)
    ref = np.eye(5)
    for layer in a:
        m = 0.5 * np.eye(5) + 0.5 * layer.mean(0)
        m /= m.sum(-1, keepdims=True)
        ref = m @ ref
    got = np.asarray(attention_rollout(jnp.asarray(a, jnp.float32)))
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-5)
    with pytest.raises(JaxmlError, match="attention_rollout"):
        attention_rollout(jnp.ones((2, 3, 4)))


def test_deletion_curve_starts_at_clean_probability_and_unknown_method_errors():
    f = mlp(jax.random.key(10))
    x = jax.random.uniform(jax.random.key(11), (4, 10))
    t = jnp.argmax(f(x), -1)
    curve = interpret.deletion_curve(f, x, t, interpret.saliency(f, x, t), fractions=5)
    p = jax.nn.softmax(f(x))[jnp.arange(4), t]
    np.testing.assert_allclose(np.asarray(curve[0]), np.asarray(p), rtol=1e-6)
    assert curve.shape == (6, 4)
    with pytest.raises(JaxmlError, match="saliency, smoothgrad, integrated_gradients"):
        interpret.attribute("gradcam", f, x, t)


def test_interpret_method_on_digits(tmp_path):
    c = interpret_defaults.base_config()
    c.model.hidden = (64,)
    c.steps = 200
    c.log_every = 100
    c.eval_every = 200
    c.checkpoint_every = 0
    c.tensorboard = False
    c.parallel.num_devices = 1
    c.interpret.ig_steps = 128
    r = interpret.train(c, tmp_path)
    assert r["test_accuracy"] > 0.85
    assert r["ig_completeness_error"] < 0.01
    assert r["deletion_auc_integrated_gradients"] < r["deletion_auc_random"]
    assert (tmp_path / "plots" / "attributions.png").stat().st_size > 1000
