"""The heads of self-supervised learning: an MLP projector / predictor with batch standardisation."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.layers import Dense


class ProjectionHead(nn.Module):
    """[B, F] -> [B, out]: Dense(hidden) - batch norm - ReLU - Dense(out) (SimCLR's projector g,
    BYOL's projector and predictor). The normalisation always uses the statistics of the batch it is
    given (these heads only run in training), so it keeps no running averages and no mutable state."""

    hidden: int
    out: int
    batch_norm: bool = True
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = Dense(self.hidden, use_bias=not self.batch_norm, dtype=self.dtype)(x)  # the norm's bias replaces it
        if self.batch_norm:
            mean = jnp.mean(x, axis=0, keepdims=True)
            var = jnp.mean(jnp.square(x - mean), axis=0, keepdims=True)
            x = (x - mean) * jax.lax.rsqrt(var + 1e-5)
            x = x * self.param("scale", nn.initializers.ones, (self.hidden,)) + \
                self.param("bias", nn.initializers.zeros, (self.hidden,))
        return Dense(self.out, dtype=self.dtype)(nn.relu(x))
