"""Default config of the speech experiments (`jaxml/methods/speech.py` trains it); an experiment's
config file overrides what it needs. Imports only ml_collections."""

from __future__ import annotations

from typing import Sequence

import ml_collections

from jaxml.defaults.training import training_config


def speech_config(tasks: Sequence[str] = ("ctc",)) -> ml_collections.ConfigDict:
    """The espeak-ng digits corpus (3000 train / 300 val utterances of 10 voices, 400 test utterances
    of 4 held-out voices, 1-4 digits, en/es/fr/de), 40-band log-mel, noise at 0-20 dB SNR on 75 % of
    the training utterances, conv + BiLSTM 96 with a 128-wide shared layer, AdamW 2e-3 cosine, batch 32."""
    c = training_config("speech")
    c.corpus = "espeak_digits"
    c.data_dir = ""
    c.data = ml_collections.ConfigDict(dict(num_train=3000, num_val=300, num_test=400, min_digits=1, max_digits=4,
                                            seed=0))
    c.frontend = ml_collections.ConfigDict(dict(n_fft=400, hop=160, n_mels=40, amin=1e-6))
    c.tasks = ml_collections.ConfigDict({t: {"weight": 1.0} for t in tasks})
    c.weighting = "equal"
    c.strategies = ()              # several weighting strategies, each trained (multitask_speech)
    c.single_task_baselines = False  # also one model per task, of the same size
    c.seeds = (0,)
    c.gradnorm_alpha = 1.5
    c.gradnorm_lr = 0.025
    c.dwa_temperature = 2.0
    c.dwa_window = 50
    c.noise = ml_collections.ConfigDict(dict(kinds=("white", "pink", "babble"), snr_min=0.0, snr_max=20.0,
                                             clean_fraction=0.25))
    c.eval_snrs = (20, 10, 5, 0)
    c.spec_augment = ml_collections.ConfigDict(dict(enabled=True, freq_masks=2, freq_width=6, time_masks=2,
                                                    time_width=8))
    c.model = ml_collections.ConfigDict(dict(channels=32, hidden=96, width=128, layers=1))
    c.beam = 8
    c.beam_examples = 100
    c.optimizer = "adamw"
    c.learning_rate = 2e-3
    c.weight_decay = 1e-4
    c.warmup_steps = 100
    c.seed = 0
    c.steps = 3000
    c.batch_size = 32
    c.eval_batch_size = 100
    c.log_every = 50
    c.eval_every = 0
    c.checkpoint_every = 500
    return c
