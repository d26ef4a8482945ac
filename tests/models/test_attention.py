"""Attention and Transformer stacks: numpy float64 references, impl equality, masks, KV cache."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.errors import JaxmlError
from jaxml.models import attention as A
from jaxml.models.transformer import Decoder, Encoder, MaskedLM, TransformerConfig, attention_maps


def np_attention(q, k, v, mask):
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    logits = np.einsum("bthd,bshd->bhts", q, k) / np.sqrt(q.shape[-1])
    if mask is not None:
        logits = np.where(np.asarray(mask), logits, -1e30)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return np.einsum("bhts,bshd->bthd", w, v)


def rand_qkv(b=2, t=5, s=7, h=3, d=4, seed=0):
    ks = jax.random.split(jax.random.PRNGKey(seed), 3)
    return (jax.random.normal(ks[0], (b, t, h, d)), jax.random.normal(ks[1], (b, s, h, d)),
            jax.random.normal(ks[2], (b, s, h, d)))


@pytest.mark.parametrize("impl", A.ATTENTION_IMPLS)
@pytest.mark.parametrize("masked", [False, True])
def test_scaled_dot_product_matches_numpy(impl, masked):
    q, k, v = rand_qkv()
    valid = jnp.array([[1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0]])
    mask = A.padding_mask(valid) if masked else None
    out, _ = A.scaled_dot_product(q, k, v, mask, impl=impl)
    np.testing.assert_allclose(out, np_attention(q, k, v, mask), atol=1e-5)


def test_einsum_equals_dot_product_attention_causal_and_padding():
    q, k, v = rand_qkv(t=6, s=6, seed=1)
    mask = A.combine_masks(A.causal_mask(6), A.padding_mask(jnp.array([[1] * 6, [1] * 4 + [0] * 2])))
    a, w = A.scaled_dot_product(q, k, v, mask, impl="einsum")
    b, _ = A.scaled_dot_product(q, k, v, mask, impl="dot_product_attention")
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert np.allclose(np.asarray(w).sum(-1), 1.0) and float(w[:, :, 0, 1:].max()) == 0.0


def test_bad_impl_is_clear_error():
    with pytest.raises(JaxmlError, match="einsum"):
        A.scaled_dot_product(*rand_qkv(), impl="flash")


def test_rotary_scores_depend_on_relative_position_only():
    key = jax.random.PRNGKey(2)
    q = jax.random.normal(key, (1, 1, 1, 8))
    k = jax.random.normal(jax.random.fold_in(key, 1), (1, 1, 1, 8))

    def score(pq, pk):
        return float(jnp.sum(A.rotary_embedding(q, jnp.array([pq])) * A.rotary_embedding(k, jnp.array([pk]))))

    assert score(3, 1) == pytest.approx(score(12, 10), rel=1e-4)
    assert score(3, 1) != pytest.approx(score(3, 2), rel=1e-3)
    np.testing.assert_allclose(jnp.linalg.norm(A.rotary_embedding(q, jnp.array([5]))), jnp.linalg.norm(q), rtol=1e-5)


def test_additive_attention_matches_numpy():
    m = A.AdditiveAttention(6)
    key = jax.random.PRNGKey(3)
    q, keys = jax.random.normal(key, (2, 5)), jax.random.normal(jax.random.fold_in(key, 1), (2, 4, 3))
    mask = jnp.array([[1, 1, 0, 0], [1, 1, 1, 1]])
    params = m.init(key, q, keys, mask)["params"]
    ctx, w = m.apply({"params": params}, q, keys, mask)
    p = jax.tree_util.tree_map(lambda x: np.asarray(x, np.float64), params)
    s = np.tanh((np.asarray(q) @ p["query"]["kernel"])[:, None] + np.asarray(keys) @ p["key"]["kernel"]
                + p["key"]["bias"]) @ p["score"]["kernel"][:, 0]
    s = np.where(np.asarray(mask) > 0, s, -np.inf)
    ref_w = np.exp(s - s.max(-1, keepdims=True))
    ref_w /= ref_w.sum(-1, keepdims=True)
    np.testing.assert_allclose(w, ref_w, atol=1e-5)
    np.testing.assert_allclose(ctx, np.einsum("bs,bse->be", ref_w, np.asarray(keys)), atol=1e-5)


def tiny(position="learned", impl="einsum", **kw):
    return TransformerConfig(vocab_size=11, num_layers=2, num_heads=2, embed_dim=16, max_len=12,
                             position=position, impl=impl, **kw)


@pytest.mark.parametrize("position", ["learned", "rotary"])
def test_decoder_impls_agree_and_no_future_leakage(position):
    tokens = jax.random.randint(jax.random.PRNGKey(4), (2, 10), 0, 11)
    model = Decoder(tiny(position))
    params = model.init(jax.random.PRNGKey(5), tokens)["params"]
    logits = model.apply({"params": params}, tokens)
    fused = Decoder(tiny(position, impl="dot_product_attention")).apply({"params": params}, tokens)
    np.testing.assert_allclose(logits, fused, atol=1e-4)
    perturbed = tokens.at[:, 6:].set((tokens[:, 6:] + 3) % 11)
    logits2 = model.apply({"params": params}, perturbed)
    np.testing.assert_allclose(logits2[:, :6], logits[:, :6], atol=1e-5)
    assert float(jnp.abs(logits2[:, 6:] - logits[:, 6:]).max()) > 1e-3


def test_encoder_padding_keys_do_not_matter():
    cfg = tiny()
    tokens = jax.random.randint(jax.random.PRNGKey(6), (2, 8), 0, 11)
    valid = jnp.array([[1] * 5 + [0] * 3, [1] * 8])
    enc = Encoder(cfg)
    params = enc.init(jax.random.PRNGKey(7), tokens, valid)["params"]
    h = enc.apply({"params": params}, tokens, valid)
    h2 = enc.apply({"params": params}, tokens.at[0, 5:].set(0), valid)
    np.testing.assert_allclose(h[0, :5], h2[0, :5], atol=1e-5)
    h3 = enc.apply({"params": params}, tokens.at[0, 5:].set(0), None)  # without the mask they do matter
    assert float(jnp.abs(h3[0, :5] - h[0, :5]).max()) > 1e-3


@pytest.mark.parametrize("position", ["learned", "rotary"])
def test_kv_cached_decoding_equals_full_recomputation(position):
    cfg = tiny(position)
    tokens = jax.random.randint(jax.random.PRNGKey(8), (2, 12), 0, 11)
    model = Decoder(cfg)
    params = model.init(jax.random.PRNGKey(9), tokens)["params"]
    full = model.apply({"params": params}, tokens)
    cache = model.init(jax.random.PRNGKey(0), jnp.zeros((2, cfg.max_len), jnp.int32), decode=True)["cache"]
    out, upd = model.apply({"params": params, "cache": cache}, tokens[:, :5], decode=True, mutable=["cache"])
    steps = [out]
    cache = upd["cache"]
    for i in range(5, 12):
        out, upd = model.apply({"params": params, "cache": cache}, tokens[:, i:i + 1], decode=True, mutable=["cache"])
        cache = upd["cache"]
        steps.append(out)
    np.testing.assert_allclose(jnp.concatenate(steps, axis=1), full, atol=1e-4)


def test_cross_attention_decoder_and_attention_maps():
    cfg = tiny()
    src = jax.random.normal(jax.random.PRNGKey(10), (2, 7, 16))
    src_valid = jnp.array([[1] * 4 + [0] * 3, [1] * 7])
    tokens = jax.random.randint(jax.random.PRNGKey(11), (2, 6), 0, 11)
    dec = Decoder(cfg, cross_attention=True)
    params = dec.init(jax.random.PRNGKey(12), tokens, src, src_valid)["params"]
    logits, state = dec.apply({"params": params}, tokens, src, src_valid, mutable=["intermediates"])
    assert logits.shape == (2, 6, 11)
    changed = dec.apply({"params": params}, tokens, src.at[0, 4:].set(9.0), src_valid)
    np.testing.assert_allclose(changed[0], logits[0], atol=1e-5)
    maps = attention_maps(state)
    assert maps.shape == (2, 2, 2, 6, 6)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-5)
    assert float(jnp.triu(maps, 1).max()) == 0.0


def test_masked_lm_heads():
    m = MaskedLM(tiny(), num_classes=3)
    tokens = jnp.ones((2, 8), jnp.int32)
    params = m.init(jax.random.PRNGKey(13), tokens, jnp.ones((2, 8)))["params"]
    out = m.apply({"params": params}, tokens, jnp.ones((2, 8)))
    assert out["mlm_logits"].shape == (2, 8, 11) and out["class_logits"].shape == (2, 3)


def test_bad_config_values_are_clear_errors():
    with pytest.raises(JaxmlError, match="learned"):
        tiny(position="alibi")
    with pytest.raises(JaxmlError, match="divisible"):
        TransformerConfig(vocab_size=5, embed_dim=10, num_heads=4)
