"""Image + text fusion classifiers -- architecture only (training lives in `methods/fusion.py`).

Every model is called as `model(images [B, H, W, C], tokens [B, T], present [B, 2], train=)` ->
logits [B, num_classes], where `present[:, 0]` / `present[:, 1]` (1.0 or 0.0) say whether the image /
the caption of each example is there. A missing modality is *zeroed* (its feature vector, for the
vector fusions) or *masked* (its keys or queries, for attention fusion); modality dropout draws
`present` at random in training, and a missing-modality test sets one column to 0.

The towers are the dual encoder's (`models.dual_encoder`): any image module with `width` outputs
(a `models.cnn.CNN`) and the character Transformer `TextTower`. `FUSIONS` is the registry:

- `image`, `text`: one tower and a linear head (the single-modality baselines);
- `early`: the two feature vectors concatenated, a hidden ReLU layer, a linear head;
- `late_mean`: one linear head per modality, their logits averaged over the present modalities;
- `late_learned`: the same with learned weights w = softmax(α) (a weighted mean over the present
  modalities: Σ_m w_m p_m l_m / Σ_m w_m p_m);
- `attention`: the caption's token states (plus one learned query token, so an example without a
  caption still has a query) cross-attend to image patch tokens (conv stages, each position of the
  last feature map one patch, plus a learned "no image" key so an example without an image still has
  a key); the attended states are averaged over the present queries and go to a linear head. It
  does not use the `image` tower (a pooled vector has no patches): its patches come from its own conv
  stages (`patch_features`).
"""

from __future__ import annotations

from typing import Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.attention import MultiHeadAttention
from jaxml.models.dual_encoder import TextTower, masked_mean
from jaxml.models.layers import Conv, Dense, max_pool
from jaxml.models.transformer import Encoder, TransformerConfig

IMAGE, TEXT = 0, 1


def _check(images: jax.Array, tokens: jax.Array, present: jax.Array) -> None:
    chex.assert_rank([images, tokens, present], [4, 2, 2])
    chex.assert_shape(present, (images.shape[0], 2))


class Fusion(nn.Module):
    """The fields every fusion model takes: the image tower (`width` outputs), the text tower's
    Transformer config, the feature width, the class count and attention fusion's patch options."""

    image: nn.Module
    text: TransformerConfig
    width: int
    num_classes: int
    patch_features: Sequence[int] = (16, 32)
    num_heads: int = 2


class ImageOnly(Fusion):

    @nn.compact
    def __call__(self, images, tokens, present, *, train: bool = False):
        _check(images, tokens, present)
        return Dense(self.num_classes, name="head")(self.image(images, train=train) * present[:, IMAGE:IMAGE + 1])


class TextOnly(Fusion):

    @nn.compact
    def __call__(self, images, tokens, present, *, train: bool = False):
        _check(images, tokens, present)
        v = TextTower(self.text, self.width, name="text_tower")(tokens, train=train)
        return Dense(self.num_classes, name="head")(v * present[:, TEXT:TEXT + 1])


class EarlyFusion(Fusion):

    @nn.compact
    def __call__(self, images, tokens, present, *, train: bool = False):
        _check(images, tokens, present)
        u = self.image(images, train=train) * present[:, IMAGE:IMAGE + 1]
        v = TextTower(self.text, self.width, name="text_tower")(tokens, train=train) * present[:, TEXT:TEXT + 1]
        h = nn.relu(Dense(self.width, name="hidden")(jnp.concatenate([u, v], axis=-1)))
        return Dense(self.num_classes, name="head")(h)


def weighted_logits(logits: jax.Array, weights: jax.Array, present: jax.Array) -> jax.Array:
    """Σ_m w_m p_m logits_m / Σ_m w_m p_m for logits [M, B, C], weights [M] and present [B, M] (an
    example with no modality present gets zero logits)."""
    w = weights[None, :] * present  # [B, M]
    return jnp.einsum("bm,mbc->bc", w, logits) / jnp.maximum(jnp.sum(w, axis=1, keepdims=True), 1e-6)


def late_weights(alpha: jax.Array | None) -> jax.Array:
    """The modality weights [2] (image, text): softmax of the learned `alpha`, or 1/2 each without."""
    return jnp.full((2,), 0.5, jnp.float32) if alpha is None else jax.nn.softmax(alpha, axis=-1)


class LateFusion(Fusion):
    learned: bool = False

    @nn.compact
    def __call__(self, images, tokens, present, *, train: bool = False):
        _check(images, tokens, present)
        u = self.image(images, train=train)
        v = TextTower(self.text, self.width, name="text_tower")(tokens, train=train)
        logits = jnp.stack([Dense(self.num_classes, name="image_head")(u),
                            Dense(self.num_classes, name="text_head")(v)])
        alpha = self.param("alpha", nn.initializers.zeros, (2,), jnp.float32) if self.learned else None
        return weighted_logits(logits, late_weights(alpha), present)


class PatchEncoder(nn.Module):
    """Images -> patch tokens [B, P, width]: conv stages (conv3x3-ReLU-pool each), every position of
    the last map one patch, projected to `width`, plus learned positions."""

    features: Sequence[int]
    width: int

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        x = images
        for f in self.features:
            x = max_pool(nn.relu(Conv(f)(x)))
        b, h, w, c = x.shape
        x = Dense(self.width, name="project")(x.reshape(b, h * w, c))
        return x + self.param("positions", nn.initializers.normal(0.02), (h * w, self.width))


class AttentionFusion(Fusion):
    @nn.compact
    def __call__(self, images, tokens, present, *, train: bool = False):
        _check(images, tokens, present)
        b, d = images.shape[0], self.text.embed_dim
        valid = tokens != 0
        states = Encoder(self.text, name="text_encoder")(tokens, valid, train=train)  # [B, T, D]
        query = jnp.broadcast_to(self.param("query", nn.initializers.normal(0.02), (1, 1, d)), (b, 1, d))
        queries = jnp.concatenate([query, states], axis=1)
        q_valid = jnp.concatenate([jnp.ones((b, 1), bool), valid & (present[:, TEXT:TEXT + 1] > 0)], axis=1)
        patches = PatchEncoder(tuple(self.patch_features), d, name="patches")(images)  # [B, P, D]
        null = jnp.broadcast_to(self.param("no_image", nn.initializers.normal(0.02), (1, 1, d)), (b, 1, d))
        keys = jnp.concatenate([null, patches], axis=1)
        k_valid = jnp.concatenate([jnp.ones((b, 1), bool),
                                   jnp.broadcast_to(present[:, IMAGE:IMAGE + 1] > 0, patches.shape[:2])], axis=1)
        attended = MultiHeadAttention(self.num_heads, impl=self.text.impl, name="cross_attention")(
            nn.LayerNorm(name="ln_query")(queries), nn.LayerNorm(name="ln_patches")(keys),
            mask=k_valid[:, None, None, :])
        fused = queries * q_valid[..., None] + attended  # a masked query keeps only what it attended to
        return Dense(self.num_classes, name="head")(nn.LayerNorm(name="ln_out")(masked_mean(fused, q_valid)))


def late_learned(**fields) -> LateFusion:
    return LateFusion(learned=True, **fields)


FUSIONS = {
    "image": ImageOnly, "text": TextOnly, "early": EarlyFusion, "late_mean": LateFusion,
    "late_learned": late_learned, "attention": AttentionFusion,
}
"""Fusion strategy name -> constructor taking `Fusion`'s fields."""

SINGLE = ("image", "text")
"""The single-modality baselines of `FUSIONS`."""
