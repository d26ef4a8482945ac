"""MAML: the second-order meta-gradient against a hand-derived float64 case and finite differences,
first-order MAML's difference, vmap over tasks against a loop, episodes, and a short sinusoid run."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults import maml as maml_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import maml


def linear(w, x):
    return x @ w


def half_mse(pred, y):
    return 0.5 * jnp.mean(jnp.square(pred - y))


def test_linear_meta_gradient_matches_hand_derivation_float64():
    """L(w) = ||Xw - y||^2 / (2n): one inner step w' = w - a A_s w + a b_s with A = X^T X / n, b = X^T y / n.
    Second order: d L_q(w') / dw = (I - a A_s) grad L_q(w'); first order: grad L_q(w')."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        xs, ys = rng.normal(size=(6, 3)), rng.normal(size=(6,))
        xq, yq = rng.normal(size=(9, 3)), rng.normal(size=(9,))
        w, a = rng.normal(size=(3,)), 0.3
        a_s, b_s = xs.T @ xs / 6, xs.T @ ys / 6
        w1 = w - a * (a_s @ w - b_s)
        grad_q = xq.T @ (xq @ w1 - yq) / 9
        second = (np.eye(3) - a * a_s) @ grad_q
        args = (linear, half_mse, jnp.asarray(w), (jnp.asarray(xs), jnp.asarray(ys)), (jnp.asarray(xq), jnp.asarray(yq)), 1, a)
        so = jax.grad(lambda p: maml.meta_loss(args[0], args[1], p, *args[3:], first_order=False))(args[2])
        fo = jax.grad(lambda p: maml.meta_loss(args[0], args[1], p, *args[3:], first_order=True))(args[2])
        assert so.dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(so), second, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(np.asarray(fo), grad_q, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(np.asarray(fo - so), a * a_s @ grad_q, rtol=1e-10, atol=1e-14)


def test_mlp_meta_gradient_matches_finite_differences_float64():
    """Two inner steps through a tanh MLP: the full second-order meta-gradient against central differences."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(1)
        params = {"w1": rng.normal(size=(1, 5)) * 0.8, "b1": rng.normal(size=(5,)) * 0.1,
                  "w2": rng.normal(size=(5, 1)) * 0.8, "b2": np.zeros(1)}
        params = jax.tree.map(jnp.asarray, params)

        def apply(p, x):
            return jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]

        support = (jnp.asarray(rng.uniform(-2, 2, (5, 1))), jnp.asarray(rng.normal(size=(5, 1))))
        query = (jnp.asarray(rng.uniform(-2, 2, (7, 1))), jnp.asarray(rng.normal(size=(7, 1))))
        f = jax.jit(lambda p, fo: maml.meta_loss(apply, maml.mse, p, support, query, 2, 0.1, fo), static_argnums=1)
        grad = jax.grad(f)(params, False)
        fo_grad = jax.grad(f)(params, True)
        flat, unravel = jax.flatten_util.ravel_pytree(params)
        eps = 1e-6
        fd = np.array([(f(unravel(flat.at[i].add(eps)), False) - f(unravel(flat.at[i].add(-eps)), False)) / (2 * eps)
                       for i in range(flat.size)])
        g = np.asarray(jax.flatten_util.ravel_pytree(grad)[0])
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
        # first-order MAML differs by the dropped second-order term (it is not a tiny difference here)
        fo = np.asarray(jax.flatten_util.ravel_pytree(fo_grad)[0])
        assert np.abs(fo - fd).max() > 1e-3


def test_vmapped_meta_batch_equals_a_loop_over_tasks():
    rng = np.random.default_rng(2)
    w = jnp.asarray(rng.normal(size=(3,)), jnp.float32)
    xs, ys = jnp.asarray(rng.normal(size=(4, 5, 3)), jnp.float32), jnp.asarray(rng.normal(size=(4, 5)), jnp.float32)
    xq, yq = jnp.asarray(rng.normal(size=(4, 6, 3)), jnp.float32), jnp.asarray(rng.normal(size=(4, 6)), jnp.float32)
    batched = jax.grad(lambda p: maml.batched_meta_loss(linear, half_mse, p, (xs, ys), (xq, yq), 2, 0.1, False))(w)
    looped = sum(jax.grad(lambda p: maml.meta_loss(linear, half_mse, p, (xs[t], ys[t]), (xq[t], yq[t]), 2, 0.1, False))(w)
                 for t in range(4)) / 4
    np.testing.assert_allclose(np.asarray(batched), np.asarray(looped), rtol=1e-5, atol=1e-6)


def test_sgd_steps_mask_and_loss_curve():
    params = {"Dense_0": {"kernel": jnp.ones((2, 2))}, "Dense_1": {"kernel": jnp.ones((2, 1))}}
    mask = maml.head_mask(params)
    loss = lambda p: jnp.sum(p["Dense_0"]["kernel"]) + jnp.sum(jnp.square(p["Dense_1"]["kernel"]))
    out = maml.sgd_steps(loss, params, 3, 0.1, trainable=mask)
    np.testing.assert_array_equal(np.asarray(out["Dense_0"]["kernel"]), 1.0)
    np.testing.assert_allclose(np.asarray(out["Dense_1"]["kernel"]), 0.8 ** 3, rtol=1e-6)
    curve = maml.loss_curve(loss, loss, params, 2, 0.1)
    np.testing.assert_allclose(np.asarray(curve), [6.0, 4 * 0.9 + 2 * 0.8 ** 2, 4 * 0.8 + 2 * 0.64 ** 2], rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(maml.zero_head(params)["Dense_1"]["kernel"]), 0.0)


def test_episode_images_are_deterministic_and_class_major():
    pool = [np.full((10, 2, 2, 1), c, np.uint8) * 10 + np.arange(10, dtype=np.uint8)[:, None, None, None]
            for c in range(6)]
    ep = maml.EpisodeImages(pool, ways=3, shots=2, queries=3, count=50, seed=4)
    assert ep.shape == (50, 15, 2, 2, 1) and len(ep) == 50
    batch = ep[np.array([[1, 2], [3, 1]])]
    assert batch.shape == (2, 2, 15, 2, 2, 1)
    np.testing.assert_array_equal(batch[0, 0], batch[1, 1])  # same index -> same episode
    classes = batch[0, 0, :, 0, 0, 0].reshape(3, 5) // 10
    assert (classes == classes[:, :1]).all() and list(classes[:, 0]) == sorted(set(classes[:, 0]))
    images = batch[0, 0, :, 0, 0, 0].reshape(3, 5) % 10
    assert all(len(set(row)) == 5 for row in images)  # distinct images within a class
    with pytest.raises(JaxmlError, match="exceeds the 10 images"):
        maml.EpisodeImages(pool, ways=3, shots=5, queries=6, count=5, seed=0)


def test_sinusoid_tasks_follow_the_paper_ranges():
    (xs, ys), (xq, yq) = jax.vmap(lambda k: maml.sinusoid_task(k, 10, 10))(jax.random.split(jax.random.key(0), 200))
    x = jnp.concatenate([xs, xq], 1)
    y = jnp.concatenate([ys, yq], 1)
    assert xs.shape == (200, 10, 1) and float(x.min()) >= -5 and float(x.max()) <= 5
    assert float(jnp.abs(y).max()) <= 5.0
    tasks = maml.sinusoid_test_tasks(100, 10, 20, 0)
    assert tasks["x"].shape == (100, 30) and tasks["amplitude"].min() >= 0.1 and tasks["phase"].max() <= math.pi


def tiny_sinusoid(**kw):
    c = maml_defaults.base_config()
    c.steps = 800
    c.learning_rate = 3e-3
    c.log_every = 100
    c.eval_every = 400
    c.checkpoint_every = 0
    c.tensorboard = False
    c.test_tasks = 50
    c.eval_batch_size = 25
    c.eval_steps = 3
    c.compare = ("pretrained",)
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_short_sinusoid_meta_training_adapts_and_writes_the_plot(tmp_path):
    r = maml.train(tiny_sinusoid(), tmp_path)
    # after 800 meta-updates one inner step already helps clearly
    assert r["mse_1step"] < 0.85 * r["mse_0step"]
    assert r["mse_3step"] < r["baseline_mse"]
    assert (tmp_path / "plots" / "learning_curve.png").exists()
    assert {"baseline_mse_0step", "baseline_mse_3step", "mse_3step"} <= set(r)


def test_bad_config_values_are_clear_errors(tmp_path):
    with pytest.raises(JaxmlError, match="benchmark='omniglot'.*sinusoid, fashion"):
        maml.train(tiny_sinusoid(benchmark="omniglot"), tmp_path)
    with pytest.raises(JaxmlError, match="compare entry 'reptile'"):
        maml.train(tiny_sinusoid(compare=("reptile",)), tmp_path)
    with pytest.raises(JaxmlError, match="inner_lr must be > 0"):
        maml.train(tiny_sinusoid(inner_lr=0.0), tmp_path)
