"""Multi-task speech: recognition (CTC) + enhancement (mask on the mel power) + language ID from one
shared conv + BiLSTM encoder, with every weighting strategy of jaxml/methods/multitask_weightings.py
(equal, uncertainty, GradNorm, PCGrad, DWA) against single-task recognition, enhancement and language-ID
models of the same encoder size; 3 seeds each, mean and standard deviation. No SpecAugment in any run (the enhancement
head must see the whole input), noise on 75 % of the training utterances at -5-20 dB.

Command:   jaxml train multitask_speech
Expected:  the table in docs/speech.md says what happened: <run>_snr0_cer_mean / _std (recognition
           under noise) and <run>_snr0_snr_gain_db_mean (enhancement) for every strategy and the
           single-task runs only_ctc, only_enhance, only_language; no strategy is asserted to win. The recorded
           check is only that the equal-weighted multi-task model recognises clean held-out speech.
Reference: multi-task weighting (Kendall et al. 2018, Chen et al. 2018, Yu et al. 2020, Liu et al.
           2019) applied to recognition + enhancement; docs/references.md#multi-task-learning.
Hardware:  2-core CPU; 8 models x 3 seeds x 2000 steps, about 3 CPU-hours (estimate, docs/speech.md).
           A 20-step smoke run (pcgrad + the three single-task models, 2 seeds, 64 utterances) ran
           end to end on 2026-12-01.
"""

from jaxml.defaults.speech import speech_config

EXPECTED = {"metric": "equal_clean_cer_mean", "at_most": 0.2,
            "reference": "no strategy asserted to win; the equal-weighted model must recognise clean speech"}
SUITES = ("full",)


def get_config():
    c = speech_config(("ctc", "enhance", "language"))
    c.strategies = ("equal", "uncertainty", "gradnorm", "pcgrad", "dwa")
    c.single_task_baselines = True
    c.seeds = (0, 1, 2)
    c.noise.snr_min = -5.0
    c.spec_augment.enabled = False
    c.steps = 2000
    return c
