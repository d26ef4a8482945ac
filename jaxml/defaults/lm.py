"""The `lm` method's default config (`jaxml.methods.lm` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import text_model_config


def base_config() -> ml_collections.ConfigDict:
    """A small char GPT (4 layers, width 128) on the KJV; config files override what they need."""
    c = text_model_config("lm", tie_embeddings=True)
    c.corpus = "kjv"
    c.corpus_fallback = True
    c.max_chars = 0  # 0 = the whole corpus
    c.val_fraction = 0.1
    c.seq_len = 128
    c.train_stride = 64
    c.parallel.fsdp = 1  # devices over which parameters and optimizer moments are sharded (FSDP)
    c.parallel.tensor = 1  # devices over which attention heads and the MLP width are split
    c.steps = 2000
    c.eval_every = 1000
    c.checkpoint_every = 1000
    c.attention_text = "And God said, Let there be light: and there was light."
    c.sample = ml_collections.ConfigDict({"prompts": ("And God said", "Blessed are"), "num_chars": 120,
                                          "temperature": 0.8, "top_k": 10})
    return c
