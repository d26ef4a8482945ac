"""BERT-style masking statistics and the pre-trained encoder being carried into fine-tuning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.defaults import mlm as mlm_defaults
from jaxml.methods import mlm


def test_mask_tokens_statistics():
    v = 40
    key = jax.random.key(0)
    tokens = jax.random.randint(key, (256, 128), 3, v)
    tokens = tokens.at[:, 0].set(mlm.CLS).at[:, 100:].set(mlm.PAD)  # specials are never picked
    inputs, picked = mlm.mask_tokens(jax.random.key(1), tokens, 0.15, v)
    real = np.asarray(tokens >= 3)
    picked, inputs, tokens = np.asarray(picked), np.asarray(inputs), np.asarray(tokens)
    assert not picked[~real].any()
    np.testing.assert_array_equal(inputs[~picked], tokens[~picked])
    n = picked.sum()
    assert abs(n / real.sum() - 0.15) < 0.01
    masked = (inputs[picked] == mlm.MASK).mean()
    same = (inputs[picked] == tokens[picked]).mean()
    rand = 1 - masked - same
    assert abs(masked - 0.8) < 0.02
    # 10% kept + 10% random that happens to equal the original (1/37 of them)
    assert abs(same - (0.1 + 0.1 / (v - 3))) < 0.015
    assert abs(rand - (0.1 - 0.1 / (v - 3))) < 0.015
    assert inputs[picked].min() >= mlm.MASK and not (inputs[picked] == mlm.CLS).any()


def test_finetune_init_copies_the_pretrained_encoder():
    c = mlm_defaults.base_config()
    c.seq_len = 16
    c.model.update(num_layers=1, embed_dim=16, num_heads=2)

    class Data:  # the few fields the recipe reads
        tokenizer = type("T", (), {"vocab_size": 20})()
        num_classes = 3
        test = None

    from jaxml.data.datasets import Split
    split = Split(tokens=np.full((8, 16), 5, np.uint8), label=np.zeros(8, np.int32))
    pre = mlm.make_pretrain_recipe(c, type("D", (Data,), {"train": split, "test": split})())
    pretrained = pre.init(jax.random.key(0)).params
    ft = mlm.make_finetune_recipe(c, Data(), split, pretrained).init(jax.random.key(1)).params
    scratch = mlm.make_finetune_recipe(c, Data(), split, None).init(jax.random.key(1)).params
    same = jax.tree.map(lambda a, b: bool(jnp.all(a == b)), pretrained["encoder"], ft["encoder"])
    assert all(jax.tree.leaves(same))
    assert not all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), pretrained["encoder"],
                                                scratch["encoder"])))
    assert "classifier" in ft and "classifier" not in pretrained


def test_mean_pooling_ignores_padding_and_bad_pooling_is_one_clear_error():
    from jaxml.errors import JaxmlError
    from jaxml.models.transformer import MaskedLM, TransformerConfig

    cfg = TransformerConfig(vocab_size=20, max_len=12, num_layers=1, embed_dim=16, num_heads=2, mlp_dim=None,
                            position="learned", impl="einsum", dropout=0.0)
    model = MaskedLM(cfg, num_classes=3, pooling="mean")
    tokens = jnp.array([[mlm.CLS, 5, 6, 7] + [mlm.PAD] * 8])
    params = model.init(jax.random.key(0), tokens, tokens != mlm.PAD)["params"]
    out = model.apply({"params": params}, tokens, tokens != mlm.PAD)
    h = out["hidden"][0, :4]
    pooled = jnp.tanh(h.mean(0) @ params["pool"]["kernel"] + params["pool"]["bias"])
    np.testing.assert_allclose(out["class_logits"][0], pooled @ params["classifier"]["kernel"]
                               + params["classifier"]["bias"], rtol=1e-5, atol=1e-6)
    c = mlm_defaults.base_config()
    c.pooling = "max"
    with pytest.raises(JaxmlError, match="config.pooling='max' is not valid; choose one of cls, mean"):
        mlm.model_config(c, 20)
