"""The `sequence_labeling` method's default config (`jaxml.methods.sequence_labeling` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import training_config


def base_config() -> ml_collections.ConfigDict:
    """Defaults: HMM data (6 states, 12 symbols), a 1-layer BiLSTM-CRF (embed 32, hidden 64), AdamW 3e-3."""
    c = training_config("sequence_labeling", learning_rate=3e-3, weight_decay=1e-4, warmup_steps=50, steps=1000,
                        batch_size=32, eval_batch_size=200, log_every=100, eval_every=500, checkpoint_every=500)
    c.dataset = "hmm"
    c.data_dir = ""
    c.data_seed = 0
    c.seed = 0
    c.hmm = ml_collections.ConfigDict(dict(states=5, symbols=12, stay=0.7, emission_peak=0.5, seed=0, min_length=20,
                                           max_length=40, train_size=4000, test_size=1000))
    c.pytokens = ml_collections.ConfigDict(dict(window=128, train_chars=300_000, test_chars=60_000, test_percent=20))
    c.model = ml_collections.ConfigDict(dict(encoder="bilstm", embed_dim=32, hidden=64, layers=1))
    c.use_crf = True
    return c
