"""Char GPT: KV-cached sampling == full recomputation, top-k, FLOPs formula vs XLA, a bad grad
accumulation, and a tiny end-to-end run that beats the unigram baseline."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.data import text as text_lib
from jaxml.defaults import lm as lm_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import lm
from jaxml.models.transformer import Decoder, TransformerConfig

TEXT = "In the beginning God created the heaven and the earth.\nAnd the earth was without form, and void.\n" * 40


def tiny_config(**kw):
    c = lm_defaults.base_config()
    c.corpus = "stdlib"
    c.max_chars = 60_000
    c.seq_len = 32
    c.train_stride = 16
    c.model.update(num_layers=2, num_heads=2, embed_dim=32)
    c.steps = 120
    c.batch_size = 16
    c.eval_batch_size = 64
    c.learning_rate = 1e-2
    c.warmup_steps = 10
    c.log_every = 40
    c.eval_every = 120
    c.checkpoint_every = 0
    c.tensorboard = False
    c.parallel.num_devices = 1
    c.sample.num_chars = 16
    for k, v in kw.items():
        setattr(c, k, v)
    return c


@pytest.mark.parametrize("position", ["learned", "rotary"])
def test_kv_cached_sampling_gives_full_recomputation_logits(position):
    cfg = TransformerConfig(vocab_size=13, num_layers=2, num_heads=2, embed_dim=16, max_len=20, position=position)
    prompt = jax.random.randint(jax.random.key(0), (3, 4), 0, 13)
    params = Decoder(cfg).init(jax.random.key(1), prompt)["params"]
    toks, used = lm.generate(cfg, params, prompt, 10, jax.random.key(2), temperature=1.0, top_k=4)
    assert toks.shape == (3, 10) and used.shape == (3, 10, 13)
    full = Decoder(cfg).apply({"params": params}, jnp.concatenate([prompt, toks[:, :-1]], axis=1))
    np.testing.assert_allclose(used, full[:, 3:], atol=1e-4)
    # every sampled token is among the top-4 of the logits it was drawn from
    top4 = jax.lax.top_k(used, 4)[1]
    assert bool(jnp.all(jnp.any(top4 == toks[..., None], axis=-1)))
    greedy, used_g = lm.generate(cfg, params, prompt, 5, jax.random.key(3), temperature=0.0)
    np.testing.assert_array_equal(greedy, jnp.argmax(used_g, -1))
    with pytest.raises(JaxmlError, match="max_len"):
        lm.generate(cfg, params, prompt, 17, jax.random.key(3))


def test_flops_formula_matches_xla_cost_analysis():
    cfg = TransformerConfig(vocab_size=64, num_layers=2, num_heads=4, embed_dim=128, max_len=64)
    b, t = 4, 64
    model = Decoder(cfg)
    tokens = jnp.zeros((b, t + 1), jnp.int32)
    params = model.init(jax.random.key(0), tokens[:, :-1])["params"]

    def loss(p, w):
        return lm.token_nll(model.apply({"params": p}, w[:, :-1]), w[:, 1:]).mean()

    compiled = jax.jit(jax.grad(loss)).lower(params, tokens).compile()
    cost = compiled.cost_analysis()
    xla = float((cost[0] if isinstance(cost, (list, tuple)) else cost)["flops"])
    formula = lm.flops_per_token(cfg, t) * b * t
    assert abs(xla - formula) / formula < 0.15, (xla, formula)
    assert lm.flops_per_token(cfg, t, training=False) * 3 == pytest.approx(lm.flops_per_token(cfg, t))


def test_grad_accum_that_does_not_divide_the_batch_is_a_clear_error():
    # (that 4 micro-batches equal the big batch's step is tests/core/test_levers.py's GPT test)
    tok = text_lib.CharTokenizer(TEXT)
    windows = text_lib.lm_windows(tok.encode(TEXT), 16).astype(np.uint8)
    from jaxml.data.datasets import Split
    data = lm.LMData(tok, Split(tokens=windows), Split(tokens=windows[:8]), "test")
    with pytest.raises(JaxmlError, match="grad_accum"):
        lm.make_recipe(tiny_config(grad_accum=3, batch_size=8), data)


def test_tiny_lm_beats_unigram_and_writes_samples(tmp_path):
    c = tiny_config()
    result = lm.train(c, tmp_path)
    text = text_lib.stdlib_text()[:60_000]
    ids = text_lib.CharTokenizer(text).encode(text)
    train, val = text_lib.contiguous_split(ids, 0.1)
    p = np.bincount(train, minlength=ids.max() + 1) + 0.1
    p = p / p.sum()
    unigram = float(-np.log(p[val]).mean())
    assert result["val_loss"] < unigram - 0.2, (result["val_loss"], unigram)
    assert result["val_bpc"] == pytest.approx(result["val_loss"] / math.log(2))
    assert result["flops_per_token"] > 0 and result["params"] > 0
    assert (tmp_path / "samples.txt").read_text().count("--- prompt") == 2
    assert json.loads((tmp_path / "tokenizer.json").read_text())["chars"]


def test_bad_model_key_is_clear_error():
    c = tiny_config()
    c.model.width = 3
    with pytest.raises(JaxmlError, match="width"):
        lm.model_config(c, 10)


def test_attention_maps_are_causal_distributions_and_saved(tmp_path):
    tok = text_lib.CharTokenizer(TEXT)
    cfg = TransformerConfig(vocab_size=tok.vocab_size, num_layers=2, num_heads=2, embed_dim=16, max_len=24)
    params = Decoder(cfg).init(jax.random.key(0), jnp.zeros((1, 24), jnp.int32))["params"]
    maps = lm.attention_weights_for(cfg, params, jnp.asarray(tok.encode("In the beginning God"))[None])
    assert maps.shape == (2, 1, 2, 20, 20)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-5)
    assert float(jnp.triu(maps, 1).max()) == 0.0
    paths = lm.save_attention_maps(cfg, params, tok, "In the beginning God%", tmp_path)
    assert [p.name for p in paths] == ["attention_layer0.png", "attention_layer1.png", "attention_rollout.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
