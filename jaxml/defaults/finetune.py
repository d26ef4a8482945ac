"""The `finetune` method's default config (`jaxml.methods.finetune` trains it); an experiment's config
file overrides what it needs."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.lm import base_config as lm_config


def base_config() -> ml_collections.ConfigDict:
    """gpt_kjv_quick's GPT (2 layers, width 64, 4 heads) pre-trained on the training chapters' verses
    (windows of 64, stride 32, 1500 steps of 32), then a genre classifier fine-tuned on 50/200/1000
    labelled verses (3 seeds, 150 steps of 32): full fine-tuning, LoRA rank 8 on the attention
    query/value, and training from scratch."""
    c = lm_config()
    c.method = "finetune"
    c.data_seed = 0
    c.test_fraction = 0.1
    c.seq_len = 64
    c.train_stride = 32
    c.model.num_layers = 2
    c.model.embed_dim = 64
    c.model.num_heads = 4
    c.eval_every = 0
    c.checkpoint_every = 0
    c.keep_checkpoints = 1
    c.tensorboard = False
    c.sample.num_chars = 0
    c.attention_text = ""
    c.pretrain_cache = True  # pre-train in <cache dir>/pretrained/gpt_genre_<hash> (shared); False: <workdir>/pretrain
    c.pretrain = ml_collections.ConfigDict({"steps": 1500, "learning_rate": 3e-3, "batch_size": 32, "warmup_steps": 50,
                                            "checkpoint_every": 1500})
    c.finetune = ml_collections.ConfigDict({"steps": 150, "learning_rate": 1e-3, "batch_size": 32, "warmup_steps": 15})
    c.lora = ml_collections.ConfigDict({"rank": 8, "alpha": 16.0, "targets": (r"self_attention/(query|value)$",),
                                        "learning_rate": 3e-3,
                                        "train_also": ()})  # base parameters trained too (regexes), e.g. ("ln_",)
    c.adapter = ml_collections.ConfigDict({"size": 8, "targets": (r"self_attention/out$", r"mlp/fc2$"),
                                           "learning_rate": 3e-3, "train_also": ()})
    c.study = ml_collections.ConfigDict({"modes": ("full", "lora", "scratch"), "label_counts": (50, 200, 1000),
                                         "seeds": (0, 1, 2),
                                         # > 0: fine-tune and score on this fraction of the training
                                         # chapters instead of the test chapters (choosing settings)
                                         "validation_fraction": 0.0})
    return c
