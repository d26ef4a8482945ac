"""Small ResNet (basic blocks, 16-32-64 channels, BatchNorm) on Fashion-MNIST with random shifts.

Command:   jaxml train resnet_fashion
Expected:  test_accuracy >= 0.92 (RESULTS.md has the measured value and time).
Reference: dataset README 2-conv baseline 0.916; ResNet-18-size models reach ~0.94-0.95 with long schedules.
Hardware:  2-core CPU, about 10 minutes; needs Debian's dataset-fashion-mnist.
"""

from jaxml.methods.classify import base_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.92, "reference": "dataset README 2-conv 0.916"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.model = dict(name="resnet", features=(16, 32, 64), blocks_per_stage=1)
    c.augment.shift = 2
    c.label_smoothing = 0.1
    c.learning_rate = 3e-3
    c.weight_decay = 5e-4
    c.warmup_steps = 200
    c.steps = 3000
    c.batch_size = 128
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 1000
    c.checkpoint_every = 1000
    return c
