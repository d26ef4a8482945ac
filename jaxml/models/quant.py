"""Int8 quantization: symmetric absmax quantizers, fake quantization with a straight-through
estimator, and quantized twins of `CNN` and `MLP` whose float parameters are the same tree
(`Conv_i` / `Dense_j` with `kernel` and `bias`), so a float checkpoint plugs straight in.

One module, three forward modes (field `mode`):
- "float": the plain model, the same function as models.CNN / models.MLP.
- "fake": every kernel is rounded to the int8 grid of its absmax scale (per tensor or per output
  channel) and, with `quantize_activations`, every conv/dense input to the int8 grid of its own
  range (a scalar kept in the "quant" collection). The matmul then multiplies the integer-valued
  float32 operands and rescales the float32 sum by `act_scale * kernel_scale`. Used for PTQ
  evaluation and for quantization-aware training: rounding passes gradients straight through (STE),
  clipped inputs get none.
- "int8": the kernels are stored as int8 plus float32 scales (`to_int8` converts a float tree);
  inputs are quantized to int8, multiplied int8 x int8 with int32 accumulation
  (`lax.dot_general(..., preferred_element_type=int32)`), then rescaled exactly as in "fake".

Because the "fake" matmul multiplies integers held in float32, its sums are exact while every
partial sum stays below 2**24, and the "int8" path then returns bit-identical logits (the AQT
property: serving with frozen int8 weights reproduces the QAT model's evaluation).

Activation ranges ("quant" collection, `act_range`): with `train=True` an exponential moving average
of the absmax of the whole global batch (so every device keeps the same value); with
`train=False` and the collection mutable, the range is set to this batch's absmax (PTQ
calibration on a held-out batch); otherwise it is read. Biases stay float32.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.models.layers import ACTIVATIONS, im2col, max_pool

QMAX = 127
GRANULARITIES = ("per_tensor", "per_channel")
MODES = ("float", "fake", "int8")


def scale_from_range(absmax: jax.Array) -> jax.Array:
    """Symmetric int8 scale: absmax / 127 (1.0 where the range is 0, so zeros stay zeros)."""
    return jnp.where(absmax > 0, absmax / QMAX, jnp.ones_like(absmax))


def weight_scale(kernel: jax.Array, granularity: str) -> jax.Array:
    """Scale of a kernel whose last axis is the output channel: a scalar or one per channel."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity={granularity!r}; choose one of {', '.join(GRANULARITIES)}")
    w = jnp.abs(kernel.reshape(-1, kernel.shape[-1]))
    absmax = w.max() if granularity == "per_tensor" else w.max(axis=0)
    return scale_from_range(absmax)


def quantize(x: jax.Array, scale: jax.Array) -> jax.Array:
    """round(x / scale) clipped to [-127, 127], as int8."""
    return jnp.clip(jnp.round(x / scale), -QMAX, QMAX).astype(jnp.int8)


def dequantize(q: jax.Array, scale: jax.Array) -> jax.Array:
    return q.astype(jnp.float32) * scale


def round_ste(x: jax.Array, scale: jax.Array) -> jax.Array:
    """The integer grid value round(clip(x / scale)) as float32; gradient 1/scale inside the range, 0 outside."""
    v = jnp.clip(x / scale, -QMAX, QMAX)
    return v + jax.lax.stop_gradient(jnp.round(v) - v)


def _int8_dot(xq: jax.Array, kq: jax.Array) -> jax.Array:
    """[M, K] int8 @ [K, N] int8 -> [M, N] int32."""
    return jax.lax.dot_general(xq, kq, (((1,), (0,)), ((), ())), preferred_element_type=jnp.int32)


class _QuantLayer(nn.Module):
    """Shared body of QuantConv / QuantDense: parameters, input quantization and the matmul."""

    features: int
    mode: str = "float"
    granularity: str = "per_channel"
    quantize_activations: bool = False
    act_momentum: float = 0.99

    def _act_scale(self, x: jax.Array, train: bool) -> jax.Array:
        rng = self.variable("quant", "act_range", lambda: jnp.zeros((), jnp.float32))
        if self.is_initializing():
            return scale_from_range(jnp.max(jnp.abs(x)))
        if train or self.is_mutable_collection("quant"):
            batch = jax.lax.stop_gradient(jnp.max(jnp.abs(x)))
            if train:
                m = self.act_momentum
                new = jnp.where(rng.value > 0, m * rng.value + (1 - m) * batch, batch)
            else:
                new = batch
            if self.is_mutable_collection("quant"):
                rng.value = new
            return scale_from_range(new)
        return scale_from_range(rng.value)

    def _kernel(self, shape: tuple[int, ...], init) -> tuple[jax.Array, jax.Array | None]:
        """(kernel as [K, N] float32 or int8, its scale or None in float mode)."""
        n = shape[-1]
        if self.mode == "int8":
            kq = self.param("kernel", nn.initializers.zeros, shape, jnp.int8)
            scale_shape = () if self.granularity == "per_tensor" else (n,)
            scale = self.param("kernel_scale", nn.initializers.ones, scale_shape, jnp.float32)
            return kq.reshape(-1, n), scale
        kernel = self.param("kernel", init, shape, jnp.float32).reshape(-1, n)
        if self.mode == "float":
            return kernel, None
        scale = jax.lax.stop_gradient(weight_scale(kernel, self.granularity))
        return round_ste(kernel, scale), scale

    def _matmul(self, x: jax.Array, shape: tuple[int, ...], init, train: bool, to_rows) -> jax.Array:
        """to_rows maps the (possibly quantized) input to [M, K] rows; returns [M, N] float32 + bias."""
        if self.mode not in MODES:
            raise ValueError(f"mode={self.mode!r}; choose one of {', '.join(MODES)}")
        kernel, k_scale = self._kernel(shape, init)
        if self.mode == "float":
            y = jnp.matmul(to_rows(x), kernel, preferred_element_type=jnp.float32)
        elif not self.quantize_activations:  # weight-only: float input, integer-valued kernel
            kernel = kernel.astype(jnp.float32)
            y = jnp.matmul(to_rows(x), kernel, preferred_element_type=jnp.float32) * k_scale
        else:
            x_scale = self._act_scale(x, train)
            if self.mode == "int8":
                acc = _int8_dot(to_rows(quantize(x, x_scale)), kernel).astype(jnp.float32)
            else:
                acc = jnp.matmul(to_rows(round_ste(x, x_scale)), kernel, preferred_element_type=jnp.float32)
            y = acc * (x_scale * k_scale)
        return y + self.param("bias", nn.initializers.zeros, (shape[-1],), jnp.float32)


class QuantConv(_QuantLayer):
    """SAME-padded stride-1 convolution as im2col + matmul (the layout of layers.Conv)."""

    kernel_size: int = 3

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        b, h, w, c = x.shape
        k = self.kernel_size
        rows = lambda v: im2col(v, k).reshape(b * h * w, k * k * c)
        y = self._matmul(x, (k, k, c, self.features), nn.initializers.lecun_normal(), train, rows)
        return y.reshape(b, h, w, self.features)


class QuantDense(_QuantLayer):
    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        return self._matmul(x, (x.shape[-1], self.features), nn.initializers.lecun_normal(), train, lambda v: v)


class QuantCNN(nn.Module):
    """models.CNN (without BatchNorm) with quantized convolutions and dense layers; same parameter tree."""

    num_classes: int
    features: Sequence[int] = (32, 64)
    convs_per_stage: int = 1
    kernel_size: int = 3
    dense: Sequence[int] = (256,)
    dropout: float = 0.0
    activation: str = "relu"
    dtype: Any = jnp.float32  # accepted for config compatibility; quantized layers compute in float32/int
    pool_impl: str = "auto"
    mode: str = "float"
    granularity: str = "per_channel"
    quantize_activations: bool = False
    act_momentum: float = 0.99

    def _q(self) -> dict:
        return dict(mode=self.mode, granularity=self.granularity, quantize_activations=self.quantize_activations,
                    act_momentum=self.act_momentum)

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        i = 0
        for width in self.features:
            for _ in range(self.convs_per_stage):
                x = act(QuantConv(width, kernel_size=self.kernel_size, name=f"Conv_{i}", **self._q())(x, train=train))
                i += 1
            x = max_pool(x, self.pool_impl)
        x = x.reshape(x.shape[0], -1)
        for j, width in enumerate(self.dense):
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
            x = act(QuantDense(width, name=f"Dense_{j}", **self._q())(x, train=train))
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return QuantDense(self.num_classes, name=f"Dense_{len(self.dense)}", **self._q())(x, train=train)


class QuantMLP(nn.Module):
    """models.MLP with quantized dense layers; same parameter tree."""

    num_classes: int
    hidden: Sequence[int] = (256, 128)
    dropout: float = 0.0
    activation: str = "relu"
    dtype: Any = jnp.float32
    mode: str = "float"
    granularity: str = "per_channel"
    quantize_activations: bool = False
    act_momentum: float = 0.99

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        q = dict(mode=self.mode, granularity=self.granularity, quantize_activations=self.quantize_activations,
                 act_momentum=self.act_momentum)
        x = x.reshape(x.shape[0], -1)
        for j, width in enumerate(self.hidden):
            x = ACTIVATIONS[self.activation](QuantDense(width, name=f"Dense_{j}", **q)(x, train=train))
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return QuantDense(self.num_classes, name=f"Dense_{len(self.hidden)}", **q)(x, train=train)


def to_int8(params: Any, granularity: str) -> Any:
    """Float parameter tree -> the "int8" mode tree: every `kernel` becomes int8 + `kernel_scale`
    (computed exactly as the "fake" forward computes it); biases are kept."""

    def convert(node):
        if isinstance(node, dict) or hasattr(node, "items"):
            node = dict(node)
            if "kernel" in node and not isinstance(node["kernel"], dict):
                kernel = jnp.asarray(node["kernel"], jnp.float32)
                scale = weight_scale(kernel, granularity)
                out = {k: convert(v) for k, v in node.items() if k != "kernel"}
                out["kernel"] = quantize(kernel.reshape(-1, kernel.shape[-1]), scale).reshape(kernel.shape)
                out["kernel_scale"] = scale
                return out
            return {k: convert(v) for k, v in node.items()}
        return node

    return jax.jit(convert)(params)


def fake_quant_params(params: Any, granularity: str) -> Any:
    """Float tree with every kernel replaced by its dequantized int8 value (weight-only PTQ as a plain float model)."""

    def convert(node):
        if hasattr(node, "items"):
            node = dict(node)
            out = {k: convert(v) for k, v in node.items()}
            if "kernel" in node and not hasattr(node["kernel"], "items"):
                k = jnp.asarray(node["kernel"], jnp.float32)
                scale = weight_scale(k, granularity)
                out["kernel"] = dequantize(quantize(k.reshape(-1, k.shape[-1]), scale), scale).reshape(k.shape)
            return out
        return node

    return jax.jit(convert)(params)


def serialized_bytes(tree: Any) -> int:
    """Size of a parameter tree serialized with flax.serialization (msgpack; arrays as raw bytes)."""
    from flax import serialization

    return len(serialization.msgpack_serialize(jax.tree.map(np.asarray, tree)))
