"""Speech enhancement on held-out voices: the ctc_digits_speech corpus and encoder with an enhancement
head only, a sigmoid mask on the noisy mel power spectrum trained to match the clean log-mel; noise on
every training utterance (white, pink or babble at -5-20 dB); no SpecAugment (the mask must see the
whole input).

Command:   jaxml train enhance_speech
Expected:  snr0_snr_gain_db >= 5: the SNR of the enhanced mel magnitude spectrum against the clean one
           exceeds the noisy input's by at least 5 dB at 0 dB input SNR (the project's target,
           docs/speech.md); gains at 20, 10, 5 dB and the log-mel RMS distances reported beside it.
Reference: mask-based enhancement on log-mel features; docs/references.md#speech.
Measured:  partial run (docs/speech.md), 2026-12-01: snr0_snr_gain_db 6.26 at step 500 of 2000 after
           about 3 CPU-minutes (corpus cached); not yet recorded.
Hardware:  2-core CPU; 2000 steps of 32 utterances, about 8-9 CPU-minutes (estimate).
"""

from jaxml.defaults.speech import speech_config

EXPECTED = {"metric": "snr0_snr_gain_db", "at_least": 5.0,
            "reference": "project target: >= 5 dB SNR improvement at 0 dB input SNR on held-out voices "
                         "(docs/references.md#speech)"}
SUITES = ("full",)


def get_config():
    c = speech_config(("enhance",))
    c.noise.clean_fraction = 0.0
    c.noise.snr_min = -5.0
    c.spec_augment.enabled = False
    c.steps = 2000
    return c
