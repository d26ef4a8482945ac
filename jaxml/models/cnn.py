"""Convolutional classifier: [conv-(BN)-act]*n + 2x2 max-pool per stage, then dense layers."""

from __future__ import annotations

from typing import Any, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.layers import ACTIVATIONS, Conv, Dense, batch_norm, max_pool


class CNN(nn.Module):
    """Default: conv32-pool-conv64-pool-dense256-dense10 (the classic Fashion-MNIST baseline).

    `conv_impl="xla", pool_impl="reduce_window"` is the plain Flax formulation (`lax` convolution,
    `nn.max_pool`); "slices"/"reshape" compute the same function faster on CPU, and the default
    "auto" picks by platform (`layers.resolve_impl`).
    `features` lists one width per stage, `convs_per_stage` convolutions each; `batch_norm` adds
    BatchNorm (statistics of the whole batch the step sees); `global_pool` averages the last stage's
    map over space instead of flattening it (the pooled features of a ResNet-style encoder).
    """

    num_classes: int
    features: Sequence[int] = (32, 64)
    convs_per_stage: int = 1
    kernel_size: int = 3
    dense: Sequence[int] = (256,)
    dropout: float = 0.0
    batch_norm: bool = False
    activation: str = "relu"
    dtype: Any = jnp.float32
    conv_impl: str = "auto"
    pool_impl: str = "auto"
    global_pool: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        chex.assert_rank(x, 4)  # NHWC images [B, H, W, C]
        batch = x.shape[0]
        act = ACTIVATIONS[self.activation]
        for width in self.features:
            for _ in range(self.convs_per_stage):
                x = Conv(width, self.kernel_size, use_bias=not self.batch_norm, dtype=self.dtype,
                         impl=self.conv_impl)(x)
                if self.batch_norm:
                    x = batch_norm(train)(x)
                x = act(x)
            x = max_pool(x, self.pool_impl)
        x = jnp.mean(x, axis=(1, 2)) if self.global_pool else x.reshape(x.shape[0], -1)
        for width in self.dense:
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
            x = act(Dense(width, dtype=self.dtype)(x))
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        logits = Dense(self.num_classes, dtype=self.dtype)(x)
        chex.assert_shape(logits, (batch, self.num_classes))
        return logits
