"""The matmul convolution and reshape pooling against references (numpy loops, lax, flax)."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.errors import JaxmlError
from jaxml.models import CNN, MLP, ResNet
from jaxml.models.layers import CONV_IMPLS, POOL_IMPLS, Conv, im2col, max_pool, max_pool_2x2, resolve_impl


def conv_reference(x, w, stride):
    """Plain float64 loop: SAME padding like XLA (extra pad at the end)."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    b, h, wd, c = x.shape
    k = w.shape[0]
    oh, ow = -(-h // stride), -(-wd // stride)
    ph = max((oh - 1) * stride + k - h, 0)
    pw = max((ow - 1) * stride + k - wd, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((b, oh, ow, w.shape[-1]))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + k, j * stride:j * stride + k, :]
            out[:, i, j, :] = np.einsum("bijc,ijco->bo", patch, w)
    return out


@pytest.mark.parametrize("k,stride,shape", [(3, 1, (2, 7, 6, 3)), (3, 2, (2, 8, 8, 4)), (1, 2, (1, 5, 5, 2)),
                                            (5, 1, (1, 6, 6, 2)), (3, 2, (1, 7, 7, 2))])
def test_conv_matches_float64_loop_and_xla(k, stride, shape):
    rng = np.random.default_rng(k * 10 + stride)
    x = rng.normal(size=shape).astype(np.float32)
    w = rng.normal(size=(k, k, shape[-1], 5)).astype(np.float32)
    ref = conv_reference(x, w, stride)
    for impl in ("slices", "xla"):
        layer = Conv(5, k, stride, use_bias=False, impl=impl)
        y = layer.apply({"params": {"kernel": jnp.asarray(w)}}, jnp.asarray(x))
        np.testing.assert_allclose(np.asarray(y), ref, rtol=1e-4, atol=1e-4, err_msg=impl)


def test_conv_same_layout_as_flax_conv():
    x = jax.random.normal(jax.random.key(0), (2, 9, 9, 3))
    ours = Conv(4, 3)
    params = ours.init(jax.random.key(1), x)
    theirs = nn.Conv(4, (3, 3), padding="SAME")
    np.testing.assert_allclose(ours.apply(params, x), theirs.apply(params, x), rtol=1e-5, atol=1e-5)


class ConvGradientsTest(chex.TestCase):
    """The matmul convolution's loss and gradients equal XLA's, traced under jit and run eagerly."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_conv_gradients_match_xla(self):
        x = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
        w = jax.random.normal(jax.random.key(1), (3, 3, 3, 6))

        def loss(impl):
            return lambda w, x: jnp.sum(jnp.sin(Conv(6, 3, impl=impl, use_bias=False).apply({"params": {"kernel": w}}, x)))

        l1, g1 = self.variant(jax.value_and_grad(loss("slices"), argnums=(0, 1)))(w, x)
        l2, g2 = self.variant(jax.value_and_grad(loss("xla"), argnums=(0, 1)))(w, x)
        chex.assert_trees_all_close(g1, g2, rtol=1e-4, atol=1e-4)
        chex.assert_trees_all_close(l1, l2, rtol=1e-4, atol=1e-4)
        chex.assert_shape(g1, [w.shape, x.shape])


def test_bfloat16_conv_is_close_to_float32():
    x = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
    params = Conv(4, 3).init(jax.random.key(1), x)
    y32 = Conv(4, 3).apply(params, x)
    y16 = Conv(4, 3, dtype=jnp.bfloat16).apply(params, x)
    assert y16.dtype == jnp.float32
    np.testing.assert_allclose(y16, y32, rtol=0.05, atol=0.05)


def test_max_pool_matches_flax_and_its_gradient():
    x = jax.random.normal(jax.random.key(2), (3, 6, 6, 2))
    ref = lambda x: nn.max_pool(x, (2, 2), (2, 2))
    np.testing.assert_array_equal(max_pool_2x2(x), ref(x))
    g = jax.grad(lambda x: jnp.sum(max_pool_2x2(x) ** 2))(x)
    g_ref = jax.grad(lambda x: jnp.sum(ref(x) ** 2))(x)
    np.testing.assert_allclose(g, g_ref, rtol=1e-6)


def test_im2col_shape():
    assert im2col(jnp.zeros((2, 28, 28, 3)), 3).shape == (2, 28, 28, 27)
    assert im2col(jnp.zeros((2, 28, 28, 3)), 3, 2).shape == (2, 14, 14, 27)


@pytest.mark.parametrize("model", [MLP(10, (16,)), CNN(10, (4, 8), dense=(16,), batch_norm=True),
                                   ResNet(10, (4, 8))])
def test_models_output_logits(model):
    x = jnp.zeros((2, 28, 28, 1))
    variables = model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)}, x, train=False)
    y = model.apply(variables, x, train=False)
    assert y.shape == (2, 10) and y.dtype == jnp.float32


def test_fast_cnn_equals_plain_flax_formulation():
    """conv_impl/pool_impl change how the CNN is computed, not what: same outputs and gradients."""
    x = jax.random.normal(jax.random.key(3), (4, 28, 28, 1))
    fast = CNN(10, (8, 16), dense=(32,), conv_impl="slices", pool_impl="reshape")
    plain = CNN(10, (8, 16), dense=(32,), conv_impl="xla", pool_impl="reduce_window")
    params = fast.init(jax.random.key(4), x, train=False)
    np.testing.assert_allclose(fast.apply(params, x, train=False), plain.apply(params, x, train=False),
                               rtol=1e-4, atol=1e-5)
    loss = lambda m: (lambda p: jnp.sum(jax.nn.log_softmax(m.apply(p, x, train=False))[:, 0]))
    chex.assert_trees_all_close(jax.grad(loss(fast))(params), jax.grad(loss(plain))(params), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model,x", [(MLP(10, (16,)), jnp.zeros((16,))), (CNN(10, (4,)), jnp.zeros((28, 28, 1)))])
def test_models_reject_an_unbatched_input(model, x):
    with pytest.raises(AssertionError, match="rank"):
        model.init(jax.random.key(0), x, train=False)


@pytest.mark.parametrize("platform,conv,pool", [("cpu", "slices", "reshape"), ("gpu", "xla", "reduce_window"),
                                                ("tpu", "xla", "reduce_window")])
def test_auto_resolves_by_platform(platform, conv, pool):
    assert resolve_impl("conv", "auto", platform) == conv
    assert resolve_impl("pool", "auto", platform) == pool


@pytest.mark.parametrize("platform", ["cpu", "gpu", "tpu"])
def test_a_named_impl_wins_on_every_platform(platform):
    for kind, choices in (("conv", CONV_IMPLS), ("pool", POOL_IMPLS)):
        for choice in choices[1:]:
            assert resolve_impl(kind, choice, platform) == choice


def test_invalid_impl_is_a_clear_error():
    with pytest.raises(JaxmlError, match=r"config.model.conv_impl='im2col' is not valid; choose one of auto, slices, xla"):
        resolve_impl("conv", "im2col", "cpu")
    with pytest.raises(JaxmlError, match=r"config.model.pool_impl='avg' is not valid; choose one of auto, reshape, reduce_window"):
        max_pool(jnp.zeros((1, 4, 4, 1)), "avg")


def test_auto_computes_exactly_the_platform_choice():
    """The default "auto" computes bit for bit what the backend's resolved choice computes (on CPU:
    "slices"/"reshape", so CPU results are those of the explicit matmul path)."""
    platform = jax.default_backend()
    x = jax.random.normal(jax.random.key(5), (2, 12, 12, 3))
    auto = CNN(10, (4, 8), dense=(16,))
    named = CNN(10, (4, 8), dense=(16,), conv_impl=resolve_impl("conv", "auto", platform),
                pool_impl=resolve_impl("pool", "auto", platform))
    params = auto.init(jax.random.key(6), x, train=False)
    np.testing.assert_array_equal(auto.apply(params, x, train=False), named.apply(params, x, train=False))
