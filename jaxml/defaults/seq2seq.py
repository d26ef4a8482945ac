"""The `seq2seq` method's default config (`jaxml.methods.seq2seq` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import training_config


def base_config() -> ml_collections.ConfigDict:
    """Defaults: en/es/fr with 4000 training numbers each and pt with 200, numbers of 1-4 digits, a 2+2
    layer Transformer (width 64, 4 heads), temperatures 1 (proportional) and 5, beam width 4."""
    c = training_config("seq2seq", learning_rate=2e-3, weight_decay=1e-4, warmup_steps=100, steps=2000,
                        batch_size=64, eval_batch_size=200, log_every=100, eval_every=1000, checkpoint_every=1000)
    c.remat = "none"  # activation checkpointing of every Transformer block (`models.remat`)
    c.dataset = "numbers"
    c.data_seed = 0
    c.seed = 0
    c.languages = ("en", "es", "fr", "pt")
    c.train_counts = (4000, 4000, 4000, 200)
    c.test_per_language = 300
    c.max_digits = 4
    c.temperatures = (1.0, 5.0)
    c.sampling_temperature = 5.0
    c.beam_width = 4
    c.model = ml_collections.ConfigDict(dict(encoder_layers=2, decoder_layers=2, num_heads=4, embed_dim=64,
                                             mlp_dim=256, dropout=0.0, impl="einsum"))
    return c


def numbers_config() -> ml_collections.ConfigDict:
    """translate_numbers' setting: en, es, fr with 700 training numbers each and pt with 40, numbers of
    1-3 digits, 200 test numbers per language, a 2+2-layer Transformer of width 64, 1500 steps."""
    c = base_config()
    c.languages = ("en", "es", "fr", "pt")
    c.train_counts = (700, 700, 700, 40)
    c.test_per_language = 200
    c.max_digits = 3
    c.temperatures = (1.0, 5.0)
    c.sampling_temperature = 5.0
    c.beam_width = 4
    c.model.update(dict(encoder_layers=2, decoder_layers=2, num_heads=4, embed_dim=64, mlp_dim=256, dropout=0.0))
    c.learning_rate = 2e-3
    c.warmup_steps = 100
    c.steps = 1500
    c.batch_size = 64
    c.eval_batch_size = 200
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    return c


def backtranslation_config() -> ml_collections.ConfigDict:
    """`numbers_config` at T = 5 only, with back-translation of `monolingual` pt sentences by a reverse
    model trained `reverse_steps` steps, 3 seeds of the forward models with and without them."""
    c = numbers_config()
    c.method = "backtranslate"
    c.temperatures = (5.0,)
    c.num_seeds = 3
    c.backtranslation = ml_collections.ConfigDict(dict(monolingual=700, reverse_steps=1000))
    return c
