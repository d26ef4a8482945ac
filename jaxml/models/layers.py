"""Building blocks shared by the models: matmul-based convolution, reshape pooling, dtype handling.

On CPU, XLA's native convolution (about 18x slower still inside a `lax.scan` body) and
`max_pool` (whose gradient is a select-and-scatter) are slow; a convolution written as k*k shifted
slices concatenated on the channel axis and one matmul (im2col without a patch-extraction
convolution), and 2x2 pooling as reshape + max, compute the same function 1.8x faster as a bare
step and 46x faster inside the training scan (cnn_fashion, BENCHMARKS.md). With `dtype=bfloat16` the matmuls take bf16
operands and accumulate in float32 (`preferred_element_type`), which uses AMX/tensor cores where
present; everything else stays float32. `impl="xla"` selects `lax.conv_general_dilated` (the
reference the tests compare against) and `pool_impl="reduce_window"` `nn.max_pool`.

The default, "auto", picks by platform in one place, `resolve_impl`: the matmul convolution and
reshape pooling on CPU, XLA's own convolution and pooling on GPU and TPU (where the vendor kernels
are expected to be the fast path; not measured here). Naming an implementation in the config overrides it.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.errors import JaxmlError

# float16 needs loss scaling (`config.loss_scale`, core/loss_scale.py); bfloat16 does not
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
# The valid values of config.model.conv_impl / pool_impl.
CONV_IMPLS = ("auto", "slices", "xla")
POOL_IMPLS = ("auto", "reshape", "reduce_window")
# What "auto" means per platform (`jax.default_backend()`); any platform not listed gets NATIVE_IMPLS.
AUTO_IMPLS = {"cpu": {"conv": "slices", "pool": "reshape"}}
NATIVE_IMPLS = {"conv": "xla", "pool": "reduce_window"}
_CHOICES = {"conv": CONV_IMPLS, "pool": POOL_IMPLS}


def resolve_impl(kind: str, choice: str, platform: str) -> str:
    """The `kind` ("conv" or "pool") implementation that `choice` selects on `platform` ("cpu", "gpu",
    "tpu", ...): `choice` itself when it names one, else the platform's entry in AUTO_IMPLS, else XLA's
    native one. An invalid `choice` is a JaxmlError naming the valid values."""
    choices = _CHOICES[kind]
    if choice not in choices:
        raise JaxmlError(f"config.model.{kind}_impl={choice!r} is not valid; choose one of {', '.join(choices)}")
    if choice != "auto":
        return choice
    return AUTO_IMPLS.get(platform, NATIVE_IMPLS)[kind]


def compute_dtype(name: str) -> Any:
    return DTYPES[name]


def matmul(x: jax.Array, w: jax.Array, dtype: Any) -> jax.Array:
    """x @ w with operands in `dtype` and float32 accumulation/output."""
    return jnp.matmul(x.astype(dtype), w.astype(dtype), preferred_element_type=jnp.float32)


def im2col(x: jax.Array, kernel_size: int, stride: int = 1) -> jax.Array:
    """[B, H, W, C] -> [B, H', W', k*k*C] patches for a SAME-padded convolution."""
    b, h, w, c = x.shape
    k = kernel_size
    out_h, out_w = -(-h // stride), -(-w // stride)
    pad_h = max((out_h - 1) * stride + k - h, 0)  # XLA's SAME padding: the extra pixel goes at the end
    pad_w = max((out_w - 1) * stride + k - w, 0)
    xp = jnp.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    if k == 1:
        return xp[:, ::stride, ::stride, :]
    cols = [xp[:, i:i + (out_h - 1) * stride + 1:stride, j:j + (out_w - 1) * stride + 1:stride, :]
            for i in range(k) for j in range(k)]
    return jnp.concatenate(cols, axis=-1)


def conv_slices(x: jax.Array, kernel: jax.Array, stride: int, dtype: Any) -> jax.Array:
    """SAME convolution as im2col (shifted slices) + one matmul, float32 accumulation."""
    k, _, _, features = kernel.shape
    cols = im2col(x, k, stride)
    b, h, w, kkc = cols.shape
    y = matmul(cols.reshape(b * h * w, kkc), kernel.reshape(kkc, features), dtype)
    return y.reshape(b, h, w, features)


def conv_xla(x: jax.Array, kernel: jax.Array, stride: int, dtype: Any) -> jax.Array:
    """SAME convolution through `lax.conv_general_dilated`, float32 accumulation."""
    return jax.lax.conv_general_dilated(
        x.astype(dtype), kernel.astype(dtype), (stride, stride), "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"), preferred_element_type=jnp.float32)


CONV_FUNCTIONS: dict[str, Callable[..., jax.Array]] = {"slices": conv_slices, "xla": conv_xla}


class Conv(nn.Module):
    """SAME-padded 2-D convolution, NHWC, kernel [k, k, C_in, C_out] (same layout as nn.Conv)."""

    features: int
    kernel_size: int = 3
    stride: int = 1
    use_bias: bool = True
    dtype: Any = jnp.float32
    impl: str = "auto"  # CONV_IMPLS; "auto": resolve_impl on the default backend
    kernel_init: Callable = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k, c_in = self.kernel_size, x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (k, k, c_in, self.features), jnp.float32)
        impl = resolve_impl("conv", self.impl, jax.default_backend())
        y = CONV_FUNCTIONS[impl](x, kernel, self.stride, self.dtype)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
        return y


class Dense(nn.Module):
    """y = x @ W + b with `dtype` operands and float32 accumulation."""

    features: int
    use_bias: bool = True
    dtype: Any = jnp.float32
    kernel_init: Callable = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param("kernel", self.kernel_init, (x.shape[-1], self.features), jnp.float32)
        y = matmul(x, kernel, self.dtype)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
        return y


def batch_norm(train: bool, **options: Any) -> nn.BatchNorm:
    """BatchNorm (momentum 0.9) as every jaxml model uses it: in training, the statistics of the whole
    global batch the step sees (so 1 and N devices compute the same); in inference, the running averages. `options` (name, scale_init, ...) go to `nn.BatchNorm`; call it inside a
    compact method."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, **options)


def max_pool_2x2(x: jax.Array) -> jax.Array:
    """2x2 max pooling, stride 2 (odd trailing rows/columns dropped), as reshape + max."""
    b, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2, :]
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def max_pool_reduce_window(x: jax.Array) -> jax.Array:
    """2x2 max pooling, stride 2, through `nn.max_pool` (XLA's reduce_window)."""
    return nn.max_pool(x, (2, 2), (2, 2))


POOL_FUNCTIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "reshape": max_pool_2x2, "reduce_window": max_pool_reduce_window,
}


def max_pool(x: jax.Array, impl: str = "auto") -> jax.Array:
    """2x2/stride-2 max pooling by POOL_IMPLS name: reshape + max (fast on CPU) or `nn.max_pool`
    (reduce_window); "auto" picks by the default backend (`resolve_impl`)."""
    return POOL_FUNCTIONS[resolve_impl("pool", impl, jax.default_backend())](x)


ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu, "gelu": nn.gelu, "silu": nn.silu, "tanh": jnp.tanh, "elu": nn.elu, "leaky_relu": nn.leaky_relu,
}
