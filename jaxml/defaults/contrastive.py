"""The `contrastive` method's default config (`jaxml.methods.contrastive` trains it: a CLIP-style dual
encoder on generated image-caption pairs); an experiment's config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import training_config


def caption_config(**keys) -> ml_collections.ConfigDict:
    """The `captions` group of the paired data (`data.paired`): word dropout 0.15, 20% ambiguous and
    10% wrong captions, 80 characters; `train_size` / `test_size` > 0 keep the first that many pairs;
    `extent` adds the ink's height and width words to every caption."""
    c = ml_collections.ConfigDict({"word_dropout": 0.15, "ambiguous": 0.2, "wrong": 0.1, "max_len": 80,
                                   "train_size": 0, "test_size": 0, "extent": False})
    c.update(keys)
    return c


def text_model_group(**keys) -> ml_collections.ConfigDict:
    """A small character Transformer text tower: 2 layers, 4 heads, width 64."""
    return ml_collections.ConfigDict({"num_layers": 2, "num_heads": 4, "embed_dim": 64, "mlp_dim": 0,
                                      "position": "learned", "impl": "einsum", "dropout": 0.0, **keys})


def image_model_group(**keys) -> ml_collections.ConfigDict:
    """A small CNN image tower: conv32-pool-conv64-pool, Dense 128, then the output layer."""
    return ml_collections.ConfigDict({"name": "cnn", "features": (32, 64), "convs_per_stage": 1, "dense": (128,),
                                      "dropout": 0.0, "batch_norm": False, "global_pool": False, **keys})


def base_config() -> ml_collections.ConfigDict:
    """CLIP on Fashion-MNIST + captions: CNN and character-Transformer towers into 64 dimensions, learned
    temperature from 0.07 (scale capped at 100), AdamW 2e-3, 1500 steps of 256; retrieval on 1000 test
    pairs (R@1/5/10), zero-shot from the class descriptions, no class held out."""
    c = training_config("contrastive", seed=0, dataset="fashion_mnist", data_dir="", data_seed=0,
                        learning_rate=2e-3, weight_decay=1e-4, warmup_steps=100, batch_size=256,
                        eval_batch_size=500, steps=1500, log_every=50, eval_every=0, checkpoint_every=500)
    c.captions = caption_config()
    c.image_model = image_model_group()
    c.text_model = text_model_group()
    c.clip = ml_collections.ConfigDict({"embed_dim": 64, "temperature": 0.07, "max_scale": 100.0})
    c.retrieval = ml_collections.ConfigDict({"size": 1000, "ks": (1, 5, 10)})
    c.zeroshot = ml_collections.ConfigDict({"held_out": (), "template": "an item, {description}"})
    return c
