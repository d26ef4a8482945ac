"""A small pre-activation-free ResNet (He 2016 basic blocks) for 28x28 / 32x32 images."""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.layers import ACTIVATIONS, Conv, Dense, batch_norm


class BasicBlock(nn.Module):
    features: int
    stride: int = 1
    dtype: Any = jnp.float32
    conv_impl: str = "auto"
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        norm = lambda name, **kw: batch_norm(train, name=name, **kw)
        y = Conv(self.features, 3, self.stride, use_bias=False, dtype=self.dtype, impl=self.conv_impl)(x)
        y = act(norm("bn1")(y))
        y = Conv(self.features, 3, 1, use_bias=False, dtype=self.dtype, impl=self.conv_impl)(y)
        y = norm("bn2", scale_init=nn.initializers.zeros)(y)  # zero-init last BN: each block starts as identity
        if x.shape != y.shape:
            x = Conv(self.features, 1, self.stride, use_bias=False, dtype=self.dtype, impl=self.conv_impl)(x)
            x = norm("bn_proj")(x)
        return act(x + y)


class ResNet(nn.Module):
    """stem conv -> stages of `blocks_per_stage` basic blocks (stride 2 between stages) -> GAP -> dense."""

    num_classes: int
    features: Sequence[int] = (16, 32, 64)
    blocks_per_stage: int = 1
    dtype: Any = jnp.float32
    conv_impl: str = "auto"
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = Conv(self.features[0], 3, use_bias=False, dtype=self.dtype, impl=self.conv_impl)(x)
        x = batch_norm(train)(x)
        x = ACTIVATIONS[self.activation](x)
        for i, width in enumerate(self.features):
            for j in range(self.blocks_per_stage):
                stride = 2 if (i > 0 and j == 0) else 1
                x = BasicBlock(width, stride, self.dtype, self.conv_impl, self.activation)(x, train=train)
        x = x.mean(axis=(1, 2))
        return Dense(self.num_classes, dtype=self.dtype)(x)
