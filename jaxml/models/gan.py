"""DCGAN generator and discriminator (Radford et al. 2016), optionally class-conditional.

Architecture rules of the paper: no pooling (strided convolutions in D, learned 2x up-sampling in G),
BatchNorm in G (not on its output) and in D (not on its input layer), ReLU in G with tanh output,
LeakyReLU(0.2) in D, weights from N(0, 0.02). The 2x up-sampling is a sub-pixel convolution (a 3x3
convolution to 4·C channels followed by depth-to-space, Shi et al. 2016), which spans the same functions
as a stride-2 transposed convolution with a 4x4 kernel restricted to a 2x2 footprint per phase and runs
on the matmul convolution of models/layers.py (XLA's convolution is slow on CPU).

Conditioning: G concatenates a one-hot label to z; D is a projection discriminator (Miyato & Koyama
2018): D(x, y) = w·h(x) + embed(y)·h(x). The discriminator's normalisation is configurable because
WGAN-GP's per-example gradient penalty is ill-defined with BatchNorm ("layer" or "none" there).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.layers import Conv, Dense, batch_norm

DCGAN_INIT = nn.initializers.normal(0.02)
DISC_NORMS = ("batch", "layer", "none")


def depth_to_space(x: jax.Array, block: int = 2) -> jax.Array:
    """[B, H, W, C·b²] -> [B, H·b, W·b, C] (channel index = (i·b + j)·C + c for sub-pixel (i, j))."""
    b, h, w, c = x.shape
    out = c // (block * block)
    x = x.reshape(b, h, w, block, block, out)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h * block, w * block, out)


class Generator(nn.Module):
    """z [B, latent] (+ labels [B]) -> images [B, S, S, channels] in [-1, 1]; S = image_size (multiple of 4)."""

    image_size: int = 28
    channels: int = 1
    width: int = 64
    num_classes: int = 0
    dtype: Any = jnp.float32

    def _bn(self, train: bool):
        return batch_norm(train, scale_init=nn.initializers.ones)

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool) -> jax.Array:
        if self.num_classes:
            z = jnp.concatenate([z, jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)], axis=-1)
        s = self.image_size // 4
        x = Dense(s * s * 2 * self.width, use_bias=False, dtype=self.dtype, kernel_init=DCGAN_INIT)(z)
        x = nn.relu(self._bn(train)(x.reshape(z.shape[0], s, s, 2 * self.width)))
        x = Conv(4 * self.width, 3, use_bias=False, dtype=self.dtype, kernel_init=DCGAN_INIT)(x)
        x = nn.relu(self._bn(train)(depth_to_space(x)))  # [B, 2s, 2s, width]
        x = Conv(4 * self.channels, 3, dtype=self.dtype, kernel_init=DCGAN_INIT)(x)
        return jnp.tanh(depth_to_space(x))  # [B, 4s, 4s, channels]


class Discriminator(nn.Module):
    """images [B, S, S, C] (+ labels [B]) -> logits [B]: two stride-2 4x4 convolutions and a linear head."""

    width: int = 64
    num_classes: int = 0
    norm: str = "batch"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool) -> jax.Array:
        x = Conv(self.width, 4, stride=2, dtype=self.dtype, kernel_init=DCGAN_INIT)(x)
        x = nn.leaky_relu(x, 0.2)
        x = Conv(2 * self.width, 4, stride=2, use_bias=self.norm != "batch", dtype=self.dtype,
                 kernel_init=DCGAN_INIT)(x)
        if self.norm == "batch":
            x = batch_norm(train)(x)
        elif self.norm == "layer":
            x = nn.LayerNorm()(x)
        h = nn.leaky_relu(x, 0.2).reshape(x.shape[0], -1)
        out = Dense(1, dtype=self.dtype, kernel_init=DCGAN_INIT)(h)[:, 0]
        if self.num_classes:
            embed = nn.Embed(self.num_classes, h.shape[-1], embedding_init=DCGAN_INIT)(labels)
            out = out + jnp.sum(embed * h, axis=-1)
        return out
