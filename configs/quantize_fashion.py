"""Int8 quantization of a small CNN on Fashion-MNIST: PTQ (per-tensor / per-channel weights, with and
without calibrated activations), QAT fine-tuning, and the int8 x int8 -> int32 inference path.

Command:   jaxml train quantize_fashion
Expected:  measured by `jaxml reproduce --suite full --only quantize_fashion` (2026-11-23, 2-core CPU shared
           with many other jobs, 1984 s wall): float 0.9120; PTQ weights per-tensor 0.9126 / per-channel
           0.9122; PTQ weights+activations per-tensor 0.9127 / per-channel 0.9125; QAT (500 steps) 0.9128;
           int8 path 0.9128 with logits identical to the QAT evaluation (max |diff| 0.0); int8 model
           3.97x smaller (208,728 vs 827,926 bytes). The pass mark below is the int8 accuracy >= 0.90.
Reference: TF-MOT int8 QAT keeps ImageNet accuracy (MobileNetV1 71.03 -> 71.06, ResNet-50 76.3 -> 76.1);
           AQT checks that serving with frozen int8 weights gives logits identical to QAT evaluation
           (docs/references.md#compression-and-architecture-search).
Hardware:  2-core CPU shared with other jobs; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from jaxml.defaults.quantize import base_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.90,
            "reference": "int8 QAT within 0.3 points of float (TF-MOT); int8 logits == QAT logits (AQT)"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.model = dict(name="cnn", features=(16, 32), convs_per_stage=1, dense=(128,), dropout=0.2, batch_norm=False,
                   conv_impl="auto", pool_impl="auto")
    c.learning_rate = 2e-3
    c.weight_decay = 5e-4
    c.warmup_steps = 200
    c.steps = 3000
    c.batch_size = 128
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 1000
    c.checkpoint_every = 1000
    c.quantize.calibration_examples = 1000
    c.quantize.qat_steps = 500
    c.quantize.qat_learning_rate = 2e-4
    return c
