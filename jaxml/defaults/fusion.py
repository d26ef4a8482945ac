"""The `fusion` method's default config (`jaxml.methods.fusion`: image + text fusion classifiers on
generated image-caption pairs, with modality dropout); an experiment's config file overrides it."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.contrastive import caption_config, image_model_group, text_model_group
from jaxml.defaults.training import training_config

STRATEGIES = ("image", "text", "early", "late_mean", "late_learned", "attention")


def base_config() -> ml_collections.ConfigDict:
    """Fusion on Fashion-MNIST + captions, the fused label class x caption colour (20 classes): every
    strategy of `models.fusion.FUSIONS` (the two single-modality baselines included), each fusion
    trained with and without modality dropout 0.5, 3 seeds vmapped; CNN conv8-conv16-Dense 64 and a
    1-layer width-32 character Transformer into 64-d features, AdamW 3e-3, 200 steps of 64 on the
    first 20000 training pairs; tested on the first 2000 test pairs with both modalities, without the
    caption and without the image."""
    c = training_config("fusion", seed=0, seeds=3, dataset="fashion_mnist", data_dir="", data_seed=0,
                        learning_rate=3e-3, weight_decay=1e-4, warmup_steps=50, batch_size=64,
                        eval_batch_size=500, steps=200, log_every=100)
    c.captions = caption_config(train_size=20000, test_size=2000)
    c.image_model = image_model_group(features=(8, 16), dense=(64,))
    c.text_model = text_model_group(num_layers=1, num_heads=2, embed_dim=32, mlp_dim=64)
    c.fusion = ml_collections.ConfigDict({"strategies": STRATEGIES, "width": 64, "modality_dropout": 0.5,
                                          "patch_features": (8, 16), "num_heads": 2})
    return c
