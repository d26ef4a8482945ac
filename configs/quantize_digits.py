"""Int8 quantization of a small CNN on sklearn's digits: PTQ (per-tensor / per-channel, with and without
calibrated activations), QAT fine-tuning and the int8 x int8 -> int32 inference path; quantize_fashion
on built-in data for the quick suite.

quantize_fashion's CNN (conv16-conv32-dense128, dropout 0.2; 22.6k parameters on 8x8 inputs) and
optimizer with 1-px shifts: 1000 float steps of 128, activation ranges calibrated on 200 training
digits held out of training, then 200 QAT steps (lr 2e-4), evaluated on the int8 path.

Command:   jaxml train quantize_digits   (in the quick suite: make demo)
Expected:  test_accuracy (the QAT model on the int8 path) >= 0.97, mlp_digits' and cnn_digits' target.
Reference: sklearn on the same split (scripts/sklearn_baselines.py): MLP 256-128 0.9722, logistic
           regression 0.9694; TF-MOT int8 QAT keeps ImageNet accuracy within 0.3 points
           (docs/references.md#compression-and-architecture-search).
Measured:  2026-12-01, 2-core CPU shared with other jobs: seed 0 float 0.9917, every PTQ variant 0.9917,
           QAT 0.9917, int8 0.9917 with logits identical to the QAT evaluation (max |diff| 0.0), int8
           model 3.7x smaller (24,403 vs 90,645 bytes), 53 s; seed 1 all 0.9889, 38 s.
Hardware:  2-core CPU, under a minute.
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "test_accuracy", "at_least": 0.97,
            "reference": "sklearn on the same split: MLP 256-128 0.9722; int8 QAT within 0.3 points of float (TF-MOT)"}
SUITES = ("quick", "full")


def get_config():
    c = load_module(Path(__file__).with_name("quantize_fashion.py")).get_config()
    c.dataset = "digits"
    c.augment.shift = 1
    c.steps = 1000
    c.warmup_steps = 100
    c.eval_batch_size = 120
    c.eval_every = 500
    c.checkpoint_every = 1000
    c.quantize.calibration_examples = 200
    c.quantize.qat_steps = 200
    return c
