"""Attention: masks, rotary positions, scaled dot-product (einsum or `jax.nn.dot_product_attention`),
multi-head attention with a KV cache, and additive (Bahdanau) attention.

Shapes (nanodo-style names): B batch, T query length, S key length, H heads, D head dim, E model width.

- Masks are boolean, True = may attend, shaped [B, 1, T, S] (broadcast over heads). Build them with
  `causal_mask(T)`, `padding_mask(k_valid)` and combine with `combine_masks` (logical and).
- `scaled_dot_product(q, k, v, mask, impl=...)`: q [B, T, H, D], k/v [B, S, H, D] -> [B, T, H, D].
  `impl="einsum"` is the plain path (softmax in float32, returns the weights for attention maps);
  `impl="dot_product_attention"` calls `jax.nn.dot_product_attention` (XLA on CPU; cuDNN flash
  attention on GPU when dtype is bf16/fp16). Both use the same large negative fill, so a fully
  masked row gives uniform weights in both; the tests check they agree.
- `MultiHeadAttention(num_heads)(x_q, x_kv=None, mask=None, positions=None, decode=False)`:
  self-attention when `x_kv` is None, cross-attention otherwise. `rotary=True` rotates q and k by
  their positions (RoPE, Su et al. 2021); `positions` default to 0..T-1 (offset by the cache index
  when decoding). With `decode=True` keys/values go into a "cache" collection
  (`cached_key`/`cached_value` [B, max_len, H, D] and `cache_index`): initialise it with
  `model.init(..., decode=True)` on a [B, max_len] input, then call with chunks (a prompt, then one
  token at a time) and `mutable=["cache"]`; each query attends to every cached position up to its
  own, so a cached forward pass gives the logits of full recomputation (tested).
  The einsum path sows the [B, H, T, S] weights as `intermediates/attention_weights`
  (read them with `mutable=["intermediates"]`). q, k and v carry the logical axis names
  `HEADS_AXES` (heads over the `tensor` mesh axis under `core/sharding.py`'s rules; no-op otherwise).
- `AdditiveAttention(features)(query [B, E_q], keys [B, S, E_k], mask [B, S])` ->
  (context [B, E_k], weights [B, S]): score_s = v^T tanh(W_q q + W_k k_s) (Bahdanau et al. 2015).
- `attention_rollout(weights [L, H, T, T])` -> [T, T] token-to-token relevance through all layers
  (Abnar & Zuidema 2020), for the attention maps of any of these models.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.errors import JaxmlError
from jaxml.models.layers import Dense

ATTENTION_IMPLS = ("einsum", "dot_product_attention")
NEG_INF = -0.7 * float(np.finfo(np.float32).max)  # the fill jax.nn.dot_product_attention uses for f32
HEADS_AXES = ("batch", "length", "act_heads", None)  # [B, T, H, D] logical axis names


def check_impl(impl: str) -> str:
    if impl not in ATTENTION_IMPLS:
        raise JaxmlError(f"attention impl={impl!r} is not valid; choose one of {', '.join(ATTENTION_IMPLS)}")
    return impl


def causal_mask(t: int, s: int | None = None, offset: int | jax.Array = 0) -> jax.Array:
    """[1, 1, T, S] bool: query i (at absolute position offset + i) sees keys j <= offset + i."""
    s = t if s is None else s
    q_pos = offset + jnp.arange(t)[:, None]
    return (jnp.arange(s)[None, :] <= q_pos)[None, None]


def padding_mask(k_valid: jax.Array) -> jax.Array:
    """[B, 1, 1, S] bool from key validity [B, S] (1 = real token, 0 = padding).

    Padded queries still attend to the valid keys (their outputs are ignored by the loss), so no row
    is fully masked unless a sequence has no valid key at all.
    """
    return k_valid.astype(bool)[:, None, None, :]


def combine_masks(*masks: jax.Array | None) -> jax.Array | None:
    masks = [m for m in masks if m is not None]
    if not masks:
        return None
    out = masks[0].astype(bool)
    for m in masks[1:]:
        out = out & m.astype(bool)
    return out


def rotary_embedding(x: jax.Array, positions: jax.Array, base: float = 10000.0) -> jax.Array:
    """RoPE on [B, T, H, D] (D even) with positions [T] or [B, T]: pairs (x_i, x_{i+D/2}) rotated by
    angle pos * base^(-2i/D). Computed in float32, returned in x's dtype."""
    d = x.shape[-1]
    if d % 2:
        raise JaxmlError(f"rotary positions need an even head dim, got {d}")
    inv_freq = base ** (-jnp.arange(0, d // 2, dtype=jnp.float32) * 2.0 / d)
    pos = jnp.asarray(positions, jnp.float32)
    if pos.ndim == 1:
        pos = pos[None]
    angle = pos[:, :, None, None] * inv_freq  # [B|1, T, 1, D/2]
    sin, cos = jnp.sin(angle), jnp.cos(angle)
    x1, x2 = jnp.split(x.astype(jnp.float32), 2, axis=-1)
    return jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1).astype(x.dtype)


def attention_weights(q: jax.Array, k: jax.Array, mask: jax.Array | None, dtype: Any = jnp.float32) -> jax.Array:
    """softmax(q k^T / sqrt(D)) over keys: [B, T, H, D] x [B, S, H, D] -> [B, H, T, S] float32."""
    scale = 1.0 / np.sqrt(q.shape[-1])
    logits = jnp.einsum("bthd,bshd->bhts", q.astype(dtype), k.astype(dtype),
                        preferred_element_type=jnp.float32) * scale
    if mask is not None:
        logits = jnp.where(mask, logits, NEG_INF)
    return jax.nn.softmax(logits, axis=-1)


def scaled_dot_product(q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array | None = None, *,
                       impl: str = "einsum", dtype: Any = jnp.float32) -> tuple[jax.Array, jax.Array | None]:
    """(out [B, T, H, D] float32, weights [B, H, T, S] or None for the fused path)."""
    check_impl(impl)
    if impl == "dot_product_attention":
        if mask is not None:
            mask = jnp.broadcast_to(mask, (q.shape[0], mask.shape[1], q.shape[1], k.shape[1]))
        out = jax.nn.dot_product_attention(q.astype(dtype), k.astype(dtype), v.astype(dtype), mask=mask)
        return out.astype(jnp.float32), None
    w = attention_weights(q, k, mask, dtype)
    out = jnp.einsum("bhts,bshd->bthd", w.astype(dtype), v.astype(dtype), preferred_element_type=jnp.float32)
    return out, w


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention; see the module docstring for masks, rotary and cache."""

    num_heads: int
    head_dim: int | None = None  # default: input width // num_heads
    out_features: int | None = None  # default: input width
    dropout: float = 0.0  # on the attention weights (einsum path only) -- output dropout is the block's
    rotary: bool = False
    rotary_base: float = 10000.0
    impl: str = "einsum"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x_q: jax.Array, x_kv: jax.Array | None = None, mask: jax.Array | None = None, *,
                 positions: jax.Array | None = None, decode: bool = False, train: bool = False) -> jax.Array:
        check_impl(self.impl)
        self_attention = x_kv is None
        x_kv = x_q if self_attention else x_kv
        e = x_q.shape[-1]
        d = self.head_dim or e // self.num_heads
        h = self.num_heads
        b, t = x_q.shape[:2]

        def project(name: str, x: jax.Array) -> jax.Array:
            y = Dense(h * d, dtype=self.dtype, name=name)(x).reshape(*x.shape[:2], h, d)
            return nn.with_logical_constraint(y, HEADS_AXES)

        q, k, v = project("query", x_q), project("key", x_kv), project("value", x_kv)

        offset = 0
        if decode:
            if not self_attention:
                raise JaxmlError("decode=True caches self-attention only; compute cross-attention keys directly")
            is_init = not self.has_variable("cache", "cached_key")
            ck = self.variable("cache", "cached_key", jnp.zeros, k.shape, jnp.float32)
            cv = self.variable("cache", "cached_value", jnp.zeros, v.shape, jnp.float32)
            ci = self.variable("cache", "cache_index", lambda: jnp.array(0, jnp.int32))
            if not is_init:
                offset = ci.value
        if positions is None:
            positions = offset + jnp.arange(t)
        if self.rotary:
            if not self_attention:
                raise JaxmlError("rotary positions apply to self-attention only")
            q = rotary_embedding(q, positions, self.rotary_base)
            k = rotary_embedding(k, positions, self.rotary_base)

        if decode and not is_init:
            max_len = ck.value.shape[1]
            ck.value = jax.lax.dynamic_update_slice(ck.value, k.astype(jnp.float32), (0, offset, 0, 0))
            cv.value = jax.lax.dynamic_update_slice(cv.value, v.astype(jnp.float32), (0, offset, 0, 0))
            ci.value = offset + t
            k, v = ck.value, cv.value
            # every cached position up to the query's own; `mask`, if given, is [B, 1, T, max_len]
            mask = combine_masks(mask, causal_mask(t, max_len, offset))

        out, w = scaled_dot_product(q, k, v, mask, impl=self.impl, dtype=self.dtype)
        if w is not None:
            self.sow("intermediates", "attention_weights", w)
            if self.dropout > 0 and train:
                # re-weight values with dropped-out weights (einsum path only)
                w = nn.Dropout(self.dropout, deterministic=False)(w)
                out = jnp.einsum("bhts,bshd->bthd", w.astype(self.dtype), v.astype(self.dtype),
                                 preferred_element_type=jnp.float32)
        return Dense(self.out_features or e, dtype=self.dtype, name="out")(out.reshape(b, t, h * d))


class AdditiveAttention(nn.Module):
    """Bahdanau attention: score_s = v^T tanh(W_q q + W_k k_s); masked softmax over s."""

    features: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, query: jax.Array, keys: jax.Array, mask: jax.Array | None = None
                 ) -> tuple[jax.Array, jax.Array]:
        qp = Dense(self.features, use_bias=False, dtype=self.dtype, name="query")(query)  # [B, F]
        kp = Dense(self.features, dtype=self.dtype, name="key")(keys)  # [B, S, F]
        scores = Dense(1, use_bias=False, dtype=self.dtype, name="score")(jnp.tanh(qp[:, None, :] + kp))[..., 0]
        if mask is not None:
            scores = jnp.where(mask.astype(bool), scores, NEG_INF)
        w = jax.nn.softmax(scores, axis=-1)
        return jnp.einsum("bs,bse->be", w, keys.astype(jnp.float32)), w


def attention_rollout(attentions: jax.Array, residual: float = 0.5) -> jax.Array:
    """[L, H, T, T] (or [L, T, T]) row-stochastic attention -> [T, T]: the product over layers of
    residual·I + (1 − residual)·mean_heads(A_l), each row renormalised (first layer applied first)."""
    a = jnp.asarray(attentions)
    if a.ndim == 4:
        a = a.mean(axis=1)
    if a.ndim != 3 or a.shape[-1] != a.shape[-2]:
        raise JaxmlError(f"attention_rollout expects [layers, (heads,) T, T] weights, got shape {a.shape}")
    eye = jnp.eye(a.shape[-1], dtype=a.dtype)
    a = residual * eye + (1.0 - residual) * a
    a = a / a.sum(axis=-1, keepdims=True)

    def body(acc, layer):
        return layer @ acc, None

    out, _ = jax.lax.scan(body, eye, a)
    return out
