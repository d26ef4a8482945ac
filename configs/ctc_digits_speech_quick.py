"""ctc_digits_speech shrunk for the quick suite: 400 training utterances of single digits and pairs
(the same 10 voices, 4 languages, noise and SpecAugment), a smaller encoder (conv 16, BiLSTM 48), 400
steps of 16; tested on 100 utterances of the 4 held-out voices.

Command:   jaxml train ctc_digits_speech_quick   (in the quick suite: make demo)
Expected:  clean_cer <= 0.5 on the held-out voices (a smoke-level target for a run this short: the
           model must have left CTC's all-blank stage and spell most digits of unseen speakers).
Reference: ctc_digits_speech's project target, CER <= 10 % after the full run (docs/speech.md).
Hardware:  2-core CPU; espeak-ng synthesises the 500 utterances once (cached).
"""

from jaxml.defaults.speech import speech_config

EXPECTED = {"metric": "clean_cer", "at_most": 0.5,
            "reference": "smoke-level; ctc_digits_speech reaches the project's CER <= 10 % (docs/speech.md)"}
SUITES = ("quick", "full")


def get_config():
    c = speech_config(("ctc",))
    c.data.update(dict(num_train=400, num_val=20, num_test=100, min_digits=1, max_digits=2))
    c.model.update(dict(channels=16, hidden=48, width=64))
    c.learning_rate = 3e-3
    c.warmup_steps = 30
    c.steps = 400
    c.batch_size = 16
    c.log_every = 50
    c.checkpoint_every = 400
    c.eval_snrs = (10, 0)
    c.beam_examples = 20
    return c
