"""Transformer stacks: pre-LayerNorm blocks, an encoder, a decoder (optionally with cross-attention),
and a BERT-style masked-LM/classifier — architecture only (losses live in the methods).

All modules take one frozen `TransformerConfig`:
  vocab_size, num_layers, num_heads, embed_dim, mlp_dim (default 4 * embed_dim), max_len,
  dropout, position ("learned": a [max_len, E] table added to the embeddings; "rotary": RoPE on q/k
  of every self-attention; "none"), impl ("einsum" | "dot_product_attention"), dtype (compute dtype:
  float32 or bfloat16; parameters, LayerNorm, softmax and logits stay float32), tie_embeddings
  (output projection = embedding matrix transposed), remat (activation checkpointing of every block:
  a policy name of `models.remat.POLICIES`; "none" keeps every activation; the parameters and the
  numbers are the same for every policy).

- `Encoder(cfg)(tokens [B, T], valid [B, T] | None, train=) -> hidden [B, T, E]` (bidirectional,
  padding keys masked, final LayerNorm).
- `Decoder(cfg, cross_attention=False)(tokens [B, T], encoded=None [B, S, E], encoded_valid=None
  [B, S], valid=None [B, T], train=, decode=) -> logits [B, T, V]` (causal self-attention; with
  `cross_attention=True` every block also attends to `encoded`). GPT is `Decoder(cfg)`.
  KV-cached decoding: `variables = Decoder(cfg).init(key, jnp.zeros((B, max_len), int), decode=True)`
  makes the "cache" collection (take `variables["cache"]`, use the trained params), then
  `logits, upd = model.apply({"params": p, "cache": cache}, chunk, decode=True, mutable=["cache"])`
  on a prompt chunk and then one token at a time; positions continue from the cache's index.
  `features_only=True` returns the final-LayerNorm hidden states [B, T, E] instead of logits.
- `SequenceClassifier(cfg, num_classes)(tokens, valid, train=) -> logits [B, C]`: a Decoder trunk
  (params under "trunk") and a linear head on the mean of the valid positions' hidden states.
- `MaskedLM(cfg, num_classes=0)(tokens, valid, train=) -> {"mlm_logits": [B, T, V], "hidden": [B, T, E],
  "class_logits": [B, C] (when num_classes > 0; from the first position's hidden state, a [CLS] slot)}`.
- `attention_maps(variables_state)`: after `apply(..., mutable=["intermediates"])`, the per-layer
  [B, H, T, S] self-attention weights stacked to [L, B, H, T, S] (einsum impl only).

Sharding names (used by `core/sharding.py`): `PARAM_AXES` gives every parameter of the Encoder and
Decoder (and the optimizer moments at the same paths) one logical name per dimension -- `embed` (the
model width E), `heads` (the H x D query/key/value features), `mlp` (the hidden width), `vocab`,
`positions`, `norm`. Activations are named with `nn.with_logical_constraint` as
(`batch`, `length`, `act_embed` | `act_mlp` | `act_vocab`) and, in attention,
(`batch`, `length`, `act_heads`, None); the constraints do nothing outside a rules context.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.errors import JaxmlError
from jaxml.models.attention import MultiHeadAttention, check_impl, combine_masks, causal_mask, padding_mask
from jaxml.models import remat as remat_lib
from jaxml.models.layers import Dense

POSITIONS = ("learned", "rotary", "none")

# parameter-path pattern (matching the end of the path) -> one logical axis name per dimension
PARAM_AXES: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    (r"embed/tokens/embedding", ("vocab", "embed")),
    (r"embed/positions", ("positions", "embed")),
    (r"(self|cross)_attention/(query|key|value)/kernel", ("embed", "heads")),
    (r"(self|cross)_attention/(query|key|value)/bias", ("heads",)),
    (r"(self|cross)_attention/out/kernel", ("heads", "embed")),
    (r"(self|cross)_attention/out/bias", ("embed",)),
    (r"mlp/fc1/kernel", ("embed", "mlp")),
    (r"mlp/fc1/bias", ("mlp",)),
    (r"mlp/fc2/kernel", ("mlp", "embed")),
    (r"mlp/fc2/bias", ("embed",)),
    (r"ln_\w+/(scale|bias)", ("norm",)),
    (r"lm_head/kernel", ("embed", "vocab")),
    (r"lm_head/bias", ("vocab",)),
)
EMBED_AXES = ("batch", "length", "act_embed")
MLP_AXES = ("batch", "length", "act_mlp")
VOCAB_AXES = ("batch", "length", "act_vocab")


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int
    num_layers: int = 4
    num_heads: int = 4
    embed_dim: int = 128
    mlp_dim: int | None = None
    max_len: int = 256
    dropout: float = 0.0
    position: str = "learned"
    impl: str = "einsum"
    dtype: Any = jnp.float32
    tie_embeddings: bool = True
    remat: str = "none"

    def __post_init__(self):
        remat_lib.check(self.remat, "transformer remat")
        if self.position not in POSITIONS:
            raise JaxmlError(f"transformer position={self.position!r} is not valid; choose one of {', '.join(POSITIONS)}")
        check_impl(self.impl)
        if self.embed_dim % self.num_heads:
            raise JaxmlError(f"embed_dim={self.embed_dim} must be divisible by num_heads={self.num_heads}")

    @property
    def hidden_dim(self) -> int:
        return self.mlp_dim or 4 * self.embed_dim


class MlpBlock(nn.Module):
    cfg: TransformerConfig

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        y = nn.gelu(Dense(self.cfg.hidden_dim, dtype=self.cfg.dtype, name="fc1")(x))
        y = nn.with_logical_constraint(y, MLP_AXES)
        y = Dense(x.shape[-1], dtype=self.cfg.dtype, name="fc2")(y)
        return nn.Dropout(self.cfg.dropout, deterministic=not train)(y)


class TransformerBlock(nn.Module):
    """Pre-LN block: x + SelfAttn(LN x) [+ CrossAttn(LN x, encoded)] + MLP(LN x). (Its arguments
    may be positional so that `block_class` can mark `decode` and `train` static for remat.)"""

    cfg: TransformerConfig
    cross_attention: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array | None = None, encoded: jax.Array | None = None,
                 cross_mask: jax.Array | None = None, positions: jax.Array | None = None,
                 decode: bool = False, train: bool = False) -> jax.Array:
        cfg = self.cfg
        drop = nn.Dropout(cfg.dropout, deterministic=not train)
        mha = dict(num_heads=cfg.num_heads, impl=cfg.impl, dtype=cfg.dtype)
        y = MultiHeadAttention(**mha, rotary=cfg.position == "rotary", name="self_attention")(
            nn.LayerNorm(name="ln_self")(x), mask=mask, positions=positions, decode=decode, train=train)
        x = x + drop(y)
        if self.cross_attention:
            if encoded is None:
                raise JaxmlError("a cross-attention block needs `encoded`")
            y = MultiHeadAttention(**mha, name="cross_attention")(
                nn.LayerNorm(name="ln_cross")(x), encoded, mask=cross_mask, train=train)
            x = x + drop(y)
        x = x + MlpBlock(cfg, name="mlp")(nn.LayerNorm(name="ln_mlp")(x), train=train)
        return nn.with_logical_constraint(x, EMBED_AXES)


def block_class(cfg: TransformerConfig, decode: bool = False) -> type:
    """`TransformerBlock`, checkpointed by `cfg.remat`'s policy (not while decoding: no backward pass).
    The parameter paths are the same either way. Call it with positional arguments."""
    if cfg.remat == "none" or decode:
        return TransformerBlock
    # static: decode and train (argument 0 is the module itself)
    return nn.remat(TransformerBlock, policy=remat_lib.policy(cfg.remat), static_argnums=(6, 7))


class Embedder(nn.Module):
    """Token embedding (+ learned positions); `attend` gives output logits with tied weights."""

    cfg: TransformerConfig

    def setup(self):
        cfg = self.cfg
        self.tokens = nn.Embed(cfg.vocab_size, cfg.embed_dim, embedding_init=nn.initializers.normal(0.02))
        if cfg.position == "learned":
            self.positions = self.param("positions", nn.initializers.normal(0.02), (cfg.max_len, cfg.embed_dim))

    def __call__(self, tokens: jax.Array, positions: jax.Array) -> jax.Array:
        x = self.tokens(tokens)
        if self.cfg.position == "learned":
            x = x + jnp.take(self.positions, positions, axis=0)
        return x

    def attend(self, x: jax.Array) -> jax.Array:
        return jnp.matmul(x.astype(self.cfg.dtype), self.tokens.embedding.T.astype(self.cfg.dtype),
                          preferred_element_type=jnp.float32)


def _check_tokens(tokens: jax.Array, valid: jax.Array | None) -> None:
    """tokens [B, T] and, when given, a validity mask of the same shape."""
    chex.assert_rank(tokens, 2)
    if valid is not None:
        chex.assert_equal_shape([tokens, valid])


def _output_logits(cfg: TransformerConfig, embedder: Embedder, x: jax.Array) -> jax.Array:
    if cfg.tie_embeddings:
        return embedder.attend(x)
    return Dense(cfg.vocab_size, dtype=cfg.dtype, name="lm_head")(x)


class Encoder(nn.Module):
    cfg: TransformerConfig

    @nn.compact
    def __call__(self, tokens: jax.Array, valid: jax.Array | None = None, *, train: bool = False,
                 return_embedder: bool = False):
        cfg = self.cfg
        _check_tokens(tokens, valid)
        embedder = Embedder(cfg, name="embed")
        x = embedder(tokens, jnp.arange(tokens.shape[1]))
        x = nn.with_logical_constraint(nn.Dropout(cfg.dropout, deterministic=not train)(x), EMBED_AXES)
        mask = None if valid is None else padding_mask(valid)
        block = block_class(cfg)
        for i in range(cfg.num_layers):
            x = block(cfg, name=f"block_{i}")(x, mask, None, None, None, False, train)
        x = nn.LayerNorm(name="ln_final")(x)
        return (x, embedder) if return_embedder else x


class Decoder(nn.Module):
    cfg: TransformerConfig
    cross_attention: bool = False
    features_only: bool = False  # return the final-LayerNorm hidden states [B, T, E], no output logits

    @nn.compact
    def __call__(self, tokens: jax.Array, encoded: jax.Array | None = None,
                 encoded_valid: jax.Array | None = None, valid: jax.Array | None = None, *,
                 train: bool = False, decode: bool = False) -> jax.Array:
        cfg = self.cfg
        _check_tokens(tokens, valid)
        if encoded is not None:  # [B, S, E] from an encoder, [B, S] validity
            chex.assert_rank(encoded, 3)
            chex.assert_equal_shape_prefix([tokens, encoded], 1)
            if encoded_valid is not None:
                chex.assert_shape(encoded_valid, encoded.shape[:2])
        t = tokens.shape[1]
        offset = 0
        if decode:
            is_init = not self.has_variable("cache", "position_index")
            index = self.variable("cache", "position_index", lambda: jnp.array(0, jnp.int32))
            if not is_init:
                offset = index.value
                index.value = offset + t
        positions = offset + jnp.arange(t)
        embedder = Embedder(cfg, name="embed")
        x = nn.Dropout(cfg.dropout, deterministic=not train)(embedder(tokens, positions))
        x = nn.with_logical_constraint(x, EMBED_AXES)
        # while decoding, the attention layer builds the causal mask over its cache itself
        mask = None if decode else causal_mask(t)
        if valid is not None and not decode:
            mask = combine_masks(mask, padding_mask(valid))
        cross_mask = None if encoded_valid is None else padding_mask(encoded_valid)
        block = block_class(cfg, decode)
        for i in range(cfg.num_layers):
            x = block(cfg, cross_attention=self.cross_attention, name=f"block_{i}")(
                x, mask, encoded, cross_mask, positions, decode, train)
        x = nn.LayerNorm(name="ln_final")(x)
        if self.features_only:
            return nn.with_logical_constraint(x, EMBED_AXES)
        logits = _output_logits(cfg, embedder, x)
        chex.assert_shape(logits, (*tokens.shape, cfg.vocab_size))
        return nn.with_logical_constraint(logits, VOCAB_AXES)


class MaskedLM(nn.Module):
    """BERT-style encoder with a masked-LM head and an optional classification head: a tanh pooler on
    position 0 (`pooling="cls"`, BERT's) or on the mean of the valid positions (`pooling="mean"`)."""

    cfg: TransformerConfig
    num_classes: int = 0
    pooling: str = "cls"

    @nn.compact
    def __call__(self, tokens: jax.Array, valid: jax.Array | None = None, *, train: bool = False) -> dict:
        cfg = self.cfg
        h, embedder = Encoder(cfg, name="encoder")(tokens, valid, train=train, return_embedder=True)
        y = nn.LayerNorm(name="mlm_ln")(nn.gelu(Dense(cfg.embed_dim, dtype=cfg.dtype, name="mlm_dense")(h)))
        out = {"hidden": h, "mlm_logits": _output_logits(cfg, embedder, y)}
        if self.num_classes:
            if self.pooling == "mean":
                w = (jnp.ones(tokens.shape, h.dtype) if valid is None else valid.astype(h.dtype))[..., None]
                summary = jnp.sum(h * w, axis=1) / jnp.maximum(jnp.sum(w, axis=1), 1.0)
            elif self.pooling == "cls":
                summary = h[:, 0]
            else:
                raise JaxmlError(f"pooling={self.pooling!r} is not valid; choose one of cls, mean")
            pooled = jnp.tanh(Dense(cfg.embed_dim, dtype=cfg.dtype, name="pool")(summary))
            pooled = nn.Dropout(cfg.dropout, deterministic=not train)(pooled)
            out["class_logits"] = Dense(self.num_classes, dtype=cfg.dtype, name="classifier")(pooled)
        return out


class SequenceClassifier(nn.Module):
    """A decoder-only (GPT) trunk with a linear head on the mean of its hidden states over the valid
    (non-padding) positions: `(tokens [B, T], valid [B, T], train=) -> logits [B, C]`. The trunk's
    parameters sit under "trunk" at the paths of a `Decoder`'s (a GPT language model's checkpoint loads
    into it by path, `core/transfer.py`); padding must come after the tokens (causal attention then
    never reads it)."""

    cfg: TransformerConfig
    num_classes: int

    @nn.compact
    def __call__(self, tokens: jax.Array, valid: jax.Array, *, train: bool = False) -> jax.Array:
        h = Decoder(self.cfg, features_only=True, name="trunk")(tokens, train=train)
        w = valid.astype(h.dtype)[..., None]
        pooled = jnp.sum(h * w, axis=1) / jnp.maximum(jnp.sum(w, axis=1), 1.0)
        return Dense(self.num_classes, dtype=self.cfg.dtype, name="head")(pooled)


def attention_maps(state: dict, collection: str = "intermediates") -> jax.Array:
    """Self-attention weights sown during `apply(..., mutable=["intermediates"])` -> [L, B, H, T, S],
    layers in order (block_0, block_1, ...). Cross-attention weights are left out."""
    inter = state.get(collection, state)
    found: list[tuple[int, jax.Array]] = []

    def walk(tree: Any, path: tuple[str, ...]):
        if isinstance(tree, dict) or hasattr(tree, "items"):
            for k, v in tree.items():
                walk(v, path + (k,))
        elif path and path[-1] == "attention_weights" and "self_attention" in path:
            block = next((p for p in path if p.startswith("block_")), "block_0")
            found.append((int(block.split("_")[1]), tree[0] if isinstance(tree, tuple) else tree))

    walk(inter, ())
    if not found:
        raise JaxmlError("no attention weights were sown; use impl='einsum' and mutable=['intermediates']")
    return jnp.stack([w for _, w in sorted(found, key=lambda f: f[0])])


def count_params(params: Any) -> int:
    return int(sum(x.size for x in jax.tree_util.tree_leaves(params)))
