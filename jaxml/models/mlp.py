"""Multi-layer perceptron classifier."""

from __future__ import annotations

from typing import Any, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.layers import ACTIVATIONS, Dense


class MLP(nn.Module):
    """[B, ...] -> [B, num_classes] logits (float32); hidden layers with activation and dropout."""

    num_classes: int
    hidden: Sequence[int] = (256, 128)
    dropout: float = 0.0
    activation: str = "relu"
    use_bias: bool = True
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        chex.assert_rank(x, {2, 3, 4})  # [B, F], [B, H, W] or [B, H, W, C]: never a single example
        batch = x.shape[0]
        x = x.reshape(batch, -1)
        for width in self.hidden:
            x = ACTIVATIONS[self.activation](Dense(width, use_bias=self.use_bias, dtype=self.dtype)(x))
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
        logits = Dense(self.num_classes, use_bias=self.use_bias, dtype=self.dtype)(x)
        chex.assert_shape(logits, (batch, self.num_classes))
        return logits
