"""Image and text towers and the CLIP-style dual encoder -- architecture only (the losses live in
`methods/contrastive.py`).

- `TextTower(cfg, out)(tokens [B, T], train=) -> [B, out]`: a Transformer encoder (`models.transformer.
  Encoder`) over character tokens, `<pad>` (id 0) keys masked, the hidden states averaged over the
  real tokens, then a Dense layer.
- `DualEncoder(image, text, embed_dim, temperature)`: `image` is any image module whose output width is
  `embed_dim` (a `models.cnn.CNN` with `num_classes=embed_dim`); `encode_image(images)`,
  `encode_text(tokens)` and `__call__(images, tokens) -> (image embeddings, text embeddings,
  log_scale)`, with `log_scale` the learned log of the inverse temperature (initialised at
  log(1 / `temperature`)).
"""

from __future__ import annotations

from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.layers import Dense
from jaxml.models.transformer import Encoder, TransformerConfig


def masked_mean(hidden: jax.Array, valid: jax.Array) -> jax.Array:
    """[B, T, E] averaged over the positions where `valid` [B, T] is true -> [B, E]."""
    w = valid.astype(hidden.dtype)[..., None]
    return jnp.sum(hidden * w, axis=1) / jnp.maximum(jnp.sum(w, axis=1), 1.0)


class TextTower(nn.Module):
    """Character tokens -> one vector per text: Transformer encoder, mean over the real tokens, Dense."""

    cfg: TransformerConfig
    out: int

    @nn.compact
    def __call__(self, tokens: jax.Array, *, train: bool = False) -> jax.Array:
        chex.assert_rank(tokens, 2)
        valid = tokens != 0
        hidden = Encoder(self.cfg, name="encoder")(tokens, valid, train=train)
        return Dense(self.out, name="out")(masked_mean(hidden, valid))


class DualEncoder(nn.Module):
    """Two towers into one `embed_dim` space and the learned temperature (CLIP's logit scale)."""

    image: nn.Module
    text: TransformerConfig
    embed_dim: int
    temperature: float = 0.07

    def setup(self):
        self.image_tower = self.image
        self.text_tower = TextTower(self.text, self.embed_dim)
        self.log_scale = self.param("log_scale", lambda _: jnp.log(jnp.asarray(1.0 / self.temperature, jnp.float32)))

    def encode_image(self, images: jax.Array, *, train: bool = False) -> jax.Array:
        return self.image_tower(images, train=train)

    def encode_text(self, tokens: jax.Array, *, train: bool = False) -> jax.Array:
        return self.text_tower(tokens, train=train)

    def __call__(self, images: jax.Array, tokens: jax.Array, *, train: bool = False) -> tuple[Any, Any, Any]:
        return self.encode_image(images, train=train), self.encode_text(tokens, train=train), self.log_scale
