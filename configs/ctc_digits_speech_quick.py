"""ctc_digits_speech shrunk for the quick suite: 400 clean training utterances of single digits and
pairs (the same 10 voices and 4 languages; no noise, no SpecAugment), a smaller encoder (conv 16,
BiLSTM 64, shared 64), 800 steps of 16 at 5e-3; tested on 100 utterances of the 4 held-out voices.
Trained on clean speech only, so its noisy CERs (snr10_cer, snr0_cer) are high: they are reported, not
targets.

Command:   jaxml train ctc_digits_speech_quick   (in the quick suite: make demo)
Expected:  clean_cer <= 0.5 on the held-out voices (a smoke-level target for a run this short: the
           model must have left CTC's all-blank stage and spell most digits of unseen speakers).
Reference: ctc_digits_speech's project target, CER <= 10 % after the full run (docs/speech.md).
Measured:  2026-12-01, 2-core CPU under load average ~20: clean_cer 0.2013 in 90 s (corpus cached;
           RESULTS.md).
Hardware:  2-core CPU; espeak-ng synthesises the 520 utterances once (cached).
"""

from jaxml.defaults.speech import speech_config

EXPECTED = {"metric": "clean_cer", "at_most": 0.5,
            "reference": "smoke-level; ctc_digits_speech reaches the project's CER <= 10 % (docs/speech.md)"}
SUITES = ("quick", "full")


def get_config():
    c = speech_config(("ctc",))
    c.data.update(dict(num_train=400, num_val=20, num_test=100, min_digits=1, max_digits=2))
    c.model.update(dict(channels=16, hidden=64, width=64))
    c.noise.clean_fraction = 1.0
    c.spec_augment.enabled = False
    c.learning_rate = 5e-3
    c.warmup_steps = 30
    c.steps = 800
    c.batch_size = 16
    c.log_every = 50
    c.checkpoint_every = 800
    c.eval_snrs = (10, 0)
    c.beam_examples = 20
    return c
