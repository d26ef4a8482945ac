"""CTC recognition of spoken digit strings on held-out voices: the espeak-ng corpus (3000 training
utterances of 10 voices in en/es/fr/de, 1-4 digits, random speed and pitch; 400 test utterances of 4
voices never heard in training), noise on 75 % of the training utterances (white, pink or babble at
0-20 dB), SpecAugment, conv + BiLSTM encoder, optax's CTC loss over the digit characters, greedy and
prefix-beam decoding.

Command:   jaxml train ctc_digits_speech
Expected:  clean_cer <= 0.10 on the held-out voices (the project's target, docs/speech.md), within 20
           CPU-minutes; CER at 20, 10, 5 and 0 dB SNR reported beside it (snr<s>_cer).
Reference: CTC (Graves et al. 2006), SpecAugment (Park et al. 2019), docs/references.md#speech.
Measured:  partial run (docs/speech.md), 2026-12-01: clean_cer 0.054 at step 500 of 3000 (0 dB: 0.429)
           after about 3 CPU-minutes with the synthesis; not yet recorded.
Hardware:  2-core CPU; 3000 steps of 32 utterances, about 9-10 CPU-minutes (estimate).
"""

from jaxml.defaults.speech import speech_config

EXPECTED = {"metric": "clean_cer", "at_most": 0.10, "max_wall_s": 1200,
            "reference": "project target: CER <= 10 % on clean held-out voices within 20 CPU-minutes "
                         "(docs/references.md#speech)"}
SUITES = ("full",)


def get_config():
    return speech_config(("ctc",))
