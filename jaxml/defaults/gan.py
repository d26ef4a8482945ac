"""The `gan` method's default config (`jaxml.methods.gan` trains it); an experiment's
config file overrides what it needs."""

from __future__ import annotations

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    """Digits up-sampled to 16×16, a small DCGAN with the non-saturating loss, 2000 steps of 64; a
    checkpoint at every eval point (resume and `jaxml eval`)."""
    c = ml_collections.ConfigDict()
    c.method = "gan"
    c.dataset = "digits"
    c.data_dir = ""
    c.data_seed = 0
    c.seed = 0
    c.image_size = 16
    c.dtype = "float32"
    c.gan = ml_collections.ConfigDict({
        "loss": "ns", "conditional": False, "latent_dim": 64, "gen_width": 32, "disc_width": 32,
        "disc_norm": "auto", "d_steps": 1, "gp_weight": 10.0, "ema_decay": 0.999,
        "gen_lr": 2e-4, "disc_lr": 2e-4, "beta1": 0.5, "beta2": 0.999,
    })
    c.fid = ml_collections.ConfigDict({"samples": 1000, "cache_dir": "", "classifier_steps": 600})
    c.augment_study = ml_collections.ConfigDict({
        "enabled": False, "labels_per_class": 100, "synthetic_per_class": 500, "classifier_steps": 1000,
        "batch_size": 64})
    c.steps = 2000
    c.batch_size = 64
    c.eval_batch_size = 120
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    c.keep_checkpoints = 2
    c.tensorboard = False
    c.parallel = ml_collections.ConfigDict({"num_devices": 0})
    return c
