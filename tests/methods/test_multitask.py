"""Multi-task weighting: each strategy against a plain numpy reference, PCGrad's projection properties,
per-task gradients against separate jax.grad calls, and short end-to-end runs on the digits heads."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.data.multitask import load_benchmark, overlay_pairs
from jaxml.defaults import multitask as mt_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import multitask as mt
from jaxml.methods import multitask_weightings as tw


def pcgrad_reference(grads: np.ndarray, orders: list[np.ndarray]) -> np.ndarray:
    """Yu 2020, Algorithm 1, as plain float64 loops (orders[i]: the visiting order for task i)."""
    out = grads.astype(np.float64).copy()
    for i in range(len(grads)):
        g = grads[i].astype(np.float64).copy()
        for j in orders[i]:
            if j == i:
                continue
            dot = g @ grads[j]
            if dot < 0:
                g = g - dot / (grads[j] @ grads[j]) * grads[j]
        out[i] = g
    return out


def test_pcgrad_matches_reference_loops():
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(4, 7)).astype(np.float32)
    key = jax.random.key(3)
    got = np.asarray(tw.pcgrad(jnp.asarray(grads), key))
    orders = [np.asarray(jax.random.permutation(k, 4)) for k in jax.random.split(key, 4)]
    np.testing.assert_allclose(got, pcgrad_reference(grads, orders), rtol=1e-5, atol=1e-5)


def test_pcgrad_removes_conflicts_and_keeps_agreeing_gradients():
    conflicting = jnp.array([[1.0, 0.0, 2.0], [-1.0, 1.0, -0.5]])
    assert float(conflicting[0] @ conflicting[1]) < 0
    out = tw.pcgrad(conflicting, jax.random.key(0))
    for i, j in ((0, 1), (1, 0)):
        assert float(out[i] @ conflicting[j]) >= -1e-6  # no negative dot product left
    agreeing = jnp.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.1, 0.0, 1.0]])
    np.testing.assert_array_equal(np.asarray(tw.pcgrad(agreeing, jax.random.key(1))), np.asarray(agreeing))
    # 3 tasks, random gradients: every projected gradient ends orthogonal or better to the last task it visited
    rng = np.random.default_rng(5)
    for seed in range(20):
        g = jnp.asarray(rng.normal(size=(2, 5)))
        out = tw.pcgrad(g, jax.random.key(seed))
        assert float(out[0] @ g[1]) >= -1e-5 and float(out[1] @ g[0]) >= -1e-5


def test_uncertainty_loss_and_its_stationary_point():
    losses = jnp.array([0.01, 1.3, 4.0])
    log_vars = jnp.array([0.3, -0.2, 1.0])
    expected = np.sum(0.5 * np.exp(-np.asarray(log_vars, np.float64)) * np.asarray(losses) + 0.5 * np.asarray(log_vars))
    assert float(tw.uncertainty_loss(losses, log_vars)) == pytest.approx(expected, rel=1e-6)
    grad_at_optimum = jax.grad(tw.uncertainty_loss, argnums=1)(losses, jnp.log(losses))
    np.testing.assert_allclose(np.asarray(grad_at_optimum), 0.0, atol=1e-6)


def test_gradnorm_loss_and_weight_gradient_match_hand_derivation():
    w = np.array([1.2, 0.5, 1.3])
    g = np.array([2.0, 6.0, 1.0])           # ||grad_W L_i||
    losses, initial, alpha = np.array([0.5, 0.9, 0.2]), np.array([1.0, 1.0, 0.5]), 1.5
    ratios = losses / initial
    r = ratios / ratios.mean()
    G = w * g
    target = G.mean() * r ** alpha
    expected = np.abs(G - target).sum()
    got = tw.gradnorm_loss(jnp.asarray(w), jnp.asarray(g), jnp.asarray(losses), jnp.asarray(initial), alpha)
    assert float(got) == pytest.approx(expected, rel=1e-5)
    grad = jax.grad(tw.gradnorm_loss)(jnp.asarray(w), jnp.asarray(g), jnp.asarray(losses), jnp.asarray(initial), alpha)
    np.testing.assert_allclose(np.asarray(grad), np.sign(G - target) * g, rtol=1e-5)  # target held constant
    renorm = tw.renormalize(jnp.array([2.0, -1.0, 0.5]))
    assert float(renorm.sum()) == pytest.approx(3.0) and bool(jnp.all(renorm > 0))


def test_dwa_weights_and_combine():
    hist = np.array([[0.5, 0.8, 0.3], [1.0, 0.8, 0.2]])  # [L(t-1), L(t-2)]
    r = hist[0] / hist[1]
    expected = 3 * np.exp(r / 2.0) / np.exp(r / 2.0).sum()
    np.testing.assert_allclose(np.asarray(tw.dwa_weights(jnp.asarray(hist), 2.0)), expected, rtol=1e-5)
    jac = {"a": jnp.arange(6.0).reshape(3, 2), "b": {"c": jnp.ones((3, 2, 2))}}
    w = jnp.array([1.0, 2.0, 3.0])
    out = tw.combine(jac, w)
    np.testing.assert_allclose(np.asarray(out["a"]), np.asarray(w) @ np.arange(6.0).reshape(3, 2))
    np.testing.assert_allclose(np.asarray(out["b"]["c"]), 6.0 * np.ones((2, 2)))


def test_per_task_grads_equal_separate_gradients():
    rng = np.random.default_rng(1)
    params = {"w": jnp.asarray(rng.normal(size=(4, 3))), "b": jnp.asarray(rng.normal(size=(3,)))}
    x = jnp.asarray(rng.normal(size=(8, 4)))
    y = jnp.asarray(rng.normal(size=(8, 3)))

    def losses_fn(p):
        pred = jnp.tanh(x @ p["w"] + p["b"])
        return jnp.mean(jnp.square(pred - y), axis=0)  # one loss per output column = per task

    losses, jac, _ = tw.per_task_grads(losses_fn, params, 3)
    for t in range(3):
        ref = jax.grad(lambda p: losses_fn(p)[t])(params)
        np.testing.assert_allclose(np.asarray(jac["w"][t]), np.asarray(ref["w"]), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np.asarray(jac["b"][t]), np.asarray(ref["b"]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.asarray(losses), np.asarray(losses_fn(params)), rtol=1e-6)


def settings(num_tasks=3, **kw):
    base = dict(num_tasks=num_tasks, fixed=(1.0,) * num_tasks, learning_rate=0.01, gradnorm_alpha=1.5,
                gradnorm_lr=0.025, dwa_temperature=2.0, dwa_window=2)
    return tw.WeightingSettings(**{**base, **kw})


def one_device_update(weighting, losses_fn, params, state, step, key=jax.random.key(0)):
    """weighting.update on `losses_fn` (a step on the global batch: no device axis)."""
    tasks = tw.task_gradients(losses_fn, params, 3, per_task=weighting.per_task, step=jnp.int32(step))
    return weighting.update(state, tasks, key)


def test_weighting_bundles_follow_their_objectives():
    rng = np.random.default_rng(2)
    params = {"shared": {"kernel": jnp.asarray(rng.normal(size=(4, 3)))}, "head_a": jnp.asarray(rng.normal(size=(3,)))}
    x, y = jnp.asarray(rng.normal(size=(8, 4))), jnp.asarray(rng.normal(size=(8, 3)))

    def losses_fn(p):
        return jnp.mean(jnp.square(jnp.tanh(x @ p["shared"]["kernel"]) + p["head_a"] - y), axis=0)

    assert list(tw.WEIGHTINGS) == ["equal", "fixed", "uncertainty", "gradnorm", "pcgrad", "dwa"]
    for name, make in tw.WEIGHTINGS.items():
        assert "20" in make.__doc__, f"{name}: the docstring cites its paper"
    equal = tw.WEIGHTINGS["equal"](settings())
    grads, state, loss, weights = one_device_update(equal, losses_fn, params, equal.init(), 0)
    ref = jax.grad(lambda p: jnp.sum(losses_fn(p)))(params)
    np.testing.assert_allclose(np.asarray(grads["shared"]["kernel"]), np.asarray(ref["shared"]["kernel"]), rtol=1e-6)
    assert float(loss) == pytest.approx(float(jnp.sum(losses_fn(params))), rel=1e-6)
    fixed = tw.WEIGHTINGS["fixed"](settings(fixed=(1.0, 2.0, 0.5)))
    np.testing.assert_array_equal(np.asarray(fixed.weights(fixed.init())), [1.0, 2.0, 0.5])
    with pytest.raises(JaxmlError, match="weight > 0"):
        tw.WEIGHTINGS["fixed"](settings(fixed=(1.0, 0.0, 1.0)))
    # uncertainty: the network follows grad sum_i 0.5 exp(-s_i) L_i; s follows its own objective
    unc = tw.WEIGHTINGS["uncertainty"](settings())
    s0 = {"log_vars": jnp.array([0.3, -0.2, 1.0]), "opt_state": unc.init()["opt_state"]}
    grads, state, loss, weights = one_device_update(unc, losses_fn, params, s0, 0)
    ref = jax.grad(lambda p: tw.uncertainty_loss(losses_fn(p), s0["log_vars"]))(params)
    np.testing.assert_allclose(np.asarray(grads["shared"]["kernel"]), np.asarray(ref["shared"]["kernel"]), rtol=1e-5)
    assert float(loss) == pytest.approx(float(tw.uncertainty_loss(losses_fn(params), s0["log_vars"])), rel=1e-6)
    np.testing.assert_allclose(np.asarray(weights), 0.5 * np.exp(-np.asarray(s0["log_vars"])), rtol=1e-6)
    assert set(unc.report(jax.device_get(state))) == {"weight", "sigma2"}
    # gradnorm: at step 0 the weights are 1, L(0) is recorded and the new weights sum to T
    gn = tw.WEIGHTINGS["gradnorm"](settings())
    grads, state, loss, weights = one_device_update(gn, losses_fn, params, gn.init(), 0)
    np.testing.assert_allclose(np.asarray(grads["head_a"]), np.asarray(jax.grad(lambda p: jnp.sum(losses_fn(p)))(params)["head_a"]),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(state["initial_losses"]), np.asarray(losses_fn(params)), rtol=1e-6)
    assert float(jnp.sum(weights)) == pytest.approx(3.0, rel=1e-5)
    # dwa: weights 1 until two windows (of 2 steps) are complete, then T softmax of the loss ratios
    dwa = tw.WEIGHTINGS["dwa"](settings())
    state = dwa.init()
    for step in range(4):
        _, state, _, weights = one_device_update(dwa, losses_fn, params, state, step)
        if step < 3:
            np.testing.assert_array_equal(np.asarray(weights), np.ones(3))
    np.testing.assert_allclose(np.asarray(weights), np.asarray(tw.dwa_weights(state["history"], 2.0)), rtol=1e-6)


def test_benchmarks_hold_named_arrays():
    bench = load_benchmark("heteroscedastic", seed=0)
    assert set(bench.train.keys()) == {"features", "low_noise", "high_noise", "low_noise_clean", "high_noise_clean"}
    assert bench.input == "features" and bench.eval_train and bench.tasks["high_noise"].clean == "high_noise_clean"
    digits = load_benchmark("digits_parity", seed=0)
    np.testing.assert_array_equal(digits.train["parity"], np.asarray(digits.train["label"]) % 2)
    assert digits.tasks["pixels"].target == "image"
    toy = load_benchmark("gradnorm_toy", seed=0, toy_tasks=3)
    np.testing.assert_allclose(toy.task_scales, [1.0, 10.0, 100.0])
    with pytest.raises(JaxmlError, match="config.benchmark='cifar' is not valid; choose one of digits_parity"):
        load_benchmark("cifar", seed=0)


def test_overlay_pairs_places_items_left_and_right():
    images = np.zeros((3, 28, 28, 1), np.uint8)
    images[0, :4, :4] = 255     # top-left corner of item 0
    images[1, -4:, -4:] = 255   # bottom-right corner of item 1
    labels = np.array([3, 7, 1], np.int32)
    out, left, right = overlay_pairs(images, labels, np.array([1, 2, 0]))
    assert out.shape == (3, 28, 28, 1) and out.dtype == np.uint8
    np.testing.assert_array_equal(left * 10 + right, [37, 71, 13])
    assert out[0, :2, :2].mean() > 150 and out[0, -2:, -2:].mean() > 150  # item 0 left, item 1 right
    assert out[0, 12:16, 12:16].max() == 0


def small(weighting="equal", **kw):
    c = mt_defaults.base_config()
    c.tasks = {"digit": {"weight": 1.0}, "parity": {"weight": 2.0}, "pixels": {"weight": 1.0}}
    c.weighting = weighting
    c.steps = 300
    c.log_every = 50
    c.eval_every = 300
    c.checkpoint_every = 0
    c.tensorboard = False
    c.parallel.num_devices = 1
    c.dwa_window = 20
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_equal_weighting_learns_all_three_digit_heads(tmp_path):
    r = mt.train(small(), tmp_path)
    assert r["test_digit_accuracy"] > 0.9 and r["test_parity_accuracy"] > 0.9
    assert r["test_pixels_mse"] < 0.05  # pixel intensities in [0, 1]; predicting the mean gives ~0.1
    assert r["test_accuracy"] == pytest.approx((r["test_digit_accuracy"] + r["test_parity_accuracy"]) / 2)


@pytest.mark.parametrize("weighting", ["fixed", "uncertainty", "gradnorm", "pcgrad", "dwa"])
def test_every_strategy_trains(tmp_path, weighting):
    r = mt.train(small(weighting, steps=100, eval_every=100), tmp_path)
    assert r["test_digit_accuracy"] > 0.6 and np.isfinite(r["test_pixels_mse"])
    weights = [r[f"weight_{t}"] for t in ("digit", "parity", "pixels")]
    if weighting == "fixed":
        assert weights == [1.0, 2.0, 1.0]
    if weighting in ("gradnorm", "dwa"):
        assert sum(weights) == pytest.approx(3.0, rel=1e-4)


def test_bad_config_values_are_clear_errors(tmp_path):
    with pytest.raises(JaxmlError, match="weighting='nope'.*gradnorm"):
        mt.train(small("nope"), tmp_path)
    with pytest.raises(JaxmlError, match="config.tasks.color is not a task"):
        mt.train(small(tasks={"color": {"weight": 1.0}}), tmp_path)
    with pytest.raises(JaxmlError, match="benchmark='cifar'"):
        mt.train(small(benchmark="cifar"), tmp_path)
