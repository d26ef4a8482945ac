"""Int8 quantization: quantizers against a float64 numpy reference, the STE, the int8 path against an
integer numpy matmul and against the fake-quant (QAT) evaluation, and the method end to end on digits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults import quantize as quantize_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import quantize
from jaxml.models import CNN, MLP
from jaxml.models import quant


def np_quantize(x, granularity):
    """float64 reference: symmetric absmax scale over all but the last axis (per channel) or all axes."""
    x = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
    absmax = np.abs(x).max() if granularity == "per_tensor" else np.abs(x).max(axis=0)
    scale = np.where(absmax > 0, absmax / 127, 1.0)
    return np.clip(np.round(x / scale), -127, 127), scale


@pytest.mark.parametrize("granularity", quant.GRANULARITIES)
def test_quantize_matches_float64_reference_and_round_trip_error_is_at_most_half_a_step(granularity):
    w = jax.random.normal(jax.random.key(0), (3, 3, 16, 32)) * jnp.linspace(0.01, 3.0, 32)  # channels of very different ranges
    w = w.at[..., 5].set(0.0)  # an all-zero channel must stay exactly zero
    scale = quant.weight_scale(w, granularity)
    q = quant.quantize(w.reshape(-1, 32), scale)
    q_ref, scale_ref = np_quantize(np.asarray(w), granularity)
    assert q.dtype == jnp.int8 and scale.shape == (() if granularity == "per_tensor" else (32,))
    np.testing.assert_allclose(np.asarray(scale), scale_ref, rtol=1e-6)
    diff = np.abs(np.asarray(q, np.float64) - q_ref)
    assert diff.max() <= 1 and np.mean(diff == 0) > 0.999  # only exact .5 ties may round differently in float32
    err = np.abs(np.asarray(quant.dequantize(q, scale)) - np.asarray(w).reshape(-1, 32))
    assert np.all(err <= np.asarray(scale) / 2 * (1 + 1e-5))
    assert np.all(np.asarray(quant.dequantize(q, scale))[:, 5] == 0)
    if granularity == "per_channel":  # per channel is finer than per tensor on the small-range channels
        assert err[:, 0].max() < (np.abs(np.asarray(w)).max() / 127) / 10


def test_straight_through_estimator_passes_gradient_inside_the_range_only():
    scale = jnp.float32(0.1)
    x = jnp.array([-20.0, -1.23, 0.04, 3.3, 12.6, 20.0])  # +-12.7 is the int8 range at this scale
    g = jax.grad(lambda v: jnp.sum(quant.round_ste(v, scale) * jnp.arange(1.0, 7.0)))(x)
    np.testing.assert_allclose(np.asarray(g), np.array([0, 2, 3, 4, 5, 0]) / 0.1, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(quant.round_ste(x, scale)), [-127, -12, 0, 33, 126, 127])


def test_int8_dense_is_an_integer_matmul_then_rescale():
    layer = quant.QuantDense(7, mode="int8", granularity="per_channel", quantize_activations=True)
    x = jax.random.normal(jax.random.key(1), (5, 40))
    params = quant.to_int8({"kernel": jax.random.normal(jax.random.key(2), (40, 7)),
                            "bias": jax.random.normal(jax.random.key(3), (7,))}, "per_channel")
    variables = {"params": params, "quant": {"act_range": jnp.float32(1.5)}}  # inputs beyond +-1.5 are clipped
    y = layer.apply(variables, x)
    x_scale = 1.5 / 127
    xq = np.clip(np.round(np.asarray(x, np.float64) / x_scale), -127, 127).astype(np.int64)
    acc = xq @ np.asarray(params["kernel"], np.int64)  # exact integer reference
    ref = acc * (x_scale * np.asarray(params["kernel_scale"], np.float64)) + np.asarray(params["bias"])
    np.testing.assert_allclose(np.asarray(y), ref, rtol=1e-5, atol=1e-5)
    jaxpr = str(jax.make_jaxpr(lambda v: layer.apply(v, x))(variables))
    assert "i8[5,40]" in jaxpr and "preferred_element_type=int32" in jaxpr


@pytest.mark.parametrize("family", ["cnn", "mlp"])
@pytest.mark.parametrize("granularity", quant.GRANULARITIES)
def test_int8_path_gives_logits_identical_to_fake_quant_evaluation(family, granularity):
    x = jax.random.normal(jax.random.key(0), (32, 8, 8, 1))
    if family == "cnn":
        kw = dict(features=(8, 16), dense=(32,))
        base, twin = CNN(10, **kw), lambda **q: quant.QuantCNN(10, **kw, **q)
    else:
        kw = dict(hidden=(64, 32))
        base, twin = MLP(10, **kw), lambda **q: quant.QuantMLP(10, **kw, **q)
    params = base.init(jax.random.key(1), x, train=False)["params"]
    assert jnp.array_equal(twin(mode="float").apply({"params": params}, x, train=False),
                           base.apply({"params": params}, x, train=False))
    fake = twin(mode="fake", granularity=granularity, quantize_activations=True)
    _, stats = fake.apply({"params": params}, x[:16], train=False, mutable=["quant"])  # calibrate on half: some clipping
    fake_logits = fake.apply({"params": params, **stats}, x, train=False)
    int8 = twin(mode="int8", granularity=granularity, quantize_activations=True)
    int8_params = quant.to_int8(params, granularity)
    int8_logits = int8.apply({"params": int8_params, **stats}, x, train=False)
    assert all(l.dtype == jnp.int8 for k, l in jax.tree_util.tree_leaves_with_path(int8_params) if "'kernel'" in jax.tree_util.keystr(k))
    np.testing.assert_array_equal(np.asarray(int8_logits), np.asarray(fake_logits))
    float_logits = base.apply({"params": params}, x, train=False)
    assert 0 < float(jnp.abs(fake_logits - float_logits).max()) < 0.3 * float(jnp.abs(float_logits).max())


def test_qat_updates_activation_ranges_as_a_moving_average():
    model = quant.QuantMLP(3, hidden=(4,), mode="fake", quantize_activations=True, act_momentum=0.5)
    x = jnp.ones((2, 5)) * 2.0
    params = model.init(jax.random.key(0), x, train=False)["params"]
    stats = {"quant": {"Dense_0": {"act_range": jnp.float32(1.0)}, "Dense_1": {"act_range": jnp.float32(0.0)}}}
    _, new = model.apply({"params": params, **stats}, x, train=True, mutable=["quant"])
    assert float(new["quant"]["Dense_0"]["act_range"]) == pytest.approx(0.5 * 1.0 + 0.5 * 2.0)
    assert float(new["quant"]["Dense_1"]["act_range"]) > 0  # an empty range starts at the batch absmax


def tiny(**kw):
    c = quantize_defaults.base_config()
    c.model = dict(name="cnn", features=(8, 16), dense=(32,), dropout=0.0)
    c.steps = 300
    c.log_every = 100
    c.eval_every = 300
    c.checkpoint_every = 0
    c.tensorboard = False
    c.parallel.num_devices = 2  # the activation-range update takes the max over the whole global batch
    c.quantize.calibration_examples = 200
    c.quantize.qat_steps = 100
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_quantize_method_on_digits(tmp_path):
    r = quantize.train(tiny(), tmp_path)
    assert r["float_accuracy"] > 0.9
    for name in ("ptq_weights_per_tensor", "ptq_weights_per_channel", "ptq_w8a8_per_tensor", "ptq_w8a8_per_channel",
                 "ptq_int8", "qat", "int8"):
        assert abs(r[f"{name}_accuracy"] - r["float_accuracy"]) < 0.05, name
    assert r["int8_logits_max_abs_diff"] == 0.0 and r["int8_logits_identical_fraction"] == 1.0
    assert r["test_accuracy"] == r["int8_accuracy"]
    assert r["size_ratio"] > 3.0 and r["int8_bytes"] < r["float_bytes"]
    assert (tmp_path / "qat" / "metrics.jsonl").exists()


@pytest.mark.parametrize("key,value,match", [("granularity", "per_row", "per_tensor, per_channel"),
                                             ("calibration_examples", 0, "calibration_examples")])
def test_bad_quantize_config_is_one_clear_error(tmp_path, key, value, match):
    c = tiny()
    c.quantize[key] = value
    with pytest.raises(JaxmlError, match=match):
        quantize.train(c, tmp_path)


def test_unquantizable_model_is_a_clear_error(tmp_path):
    c = tiny()
    c.model = dict(name="resnet")
    with pytest.raises(JaxmlError, match="choose one of cnn, mlp"):
        quantize.train(c, tmp_path)
