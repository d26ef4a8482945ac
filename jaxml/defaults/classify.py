"""The `classify` method's default config (`jaxml.methods.classify` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.training import supervised_config


def base_config() -> ml_collections.ConfigDict:
    """Defaults shared by every classify experiment: `core.train_state.supervised_config` (digits, an
    MLP 256-128 with dropout 0.1, AdamW 3e-3 with 50 warm-up steps, 1500 steps of 64); a config file
    overrides what it needs."""
    return supervised_config("classify")


def small_fashion_cnn() -> dict:
    """The small Fashion-MNIST CNN several experiments share: conv16 -> conv32 (one conv per stage,
    no batch norm, no dropout) -> dense 64, the convolution and pooling implementations chosen by
    the backend ("auto")."""
    return dict(name="cnn", features=(16, 32), convs_per_stage=1, dense=(64,), dropout=0.0, batch_norm=False,
                conv_impl="auto", pool_impl="auto")


def small_fashion_cnn_budget(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """`c` on Fashion-MNIST with `small_fashion_cnn` and the budget of the populations trained in one
    program (ensembles, learning-rate sweeps): 800 steps of 64, AdamW with 50 warm-up steps and
    weight decay 5e-4, evaluation batches of 1000, a log line every 50 steps."""
    c.dataset = "fashion_mnist"
    c.model = small_fashion_cnn()
    c.steps = 800
    c.batch_size = 64
    c.eval_batch_size = 1000
    c.warmup_steps = 50
    c.weight_decay = 5e-4
    c.log_every = 50
    return c
