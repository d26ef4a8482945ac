"""Small ResNet (basic blocks, 16-32-64 channels, BatchNorm, 75k parameters) on Fashion-MNIST.

The model underfits at CPU budgets (train and test accuracy stay equal), so it trains without
augmentation or label smoothing. History on this 2-core CPU (2026-11-22): 3000 steps with random
2-pixel shifts and smoothing 0.1 reached 0.9098 (536 s); 3000 steps without them 0.9179; hence 4500
steps. The regularisers stay available for longer schedules:
`--config.augment.shift=2 --config.label_smoothing=0.1 --config.steps=20000`.

Command:   jaxml train resnet_fashion
Expected:  test_accuracy >= 0.92 (RESULTS.md has the measured value and time).
Reference: dataset README 2-conv baseline 0.916; cnn_fashion on the same data (RESULTS.md).
Hardware:  2-core CPU, 1143 s measured on 2026-11-22 while other jobs shared the CPU (an idle CPU
           runs ~5.5 steps/s, about 14 minutes); needs Debian's dataset-fashion-mnist.
"""

from jaxml.defaults.classify import base_config

EXPECTED = {"metric": "test_accuracy", "at_least": 0.92, "reference": "dataset README 2-conv 0.916"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.model = dict(name="resnet", features=(16, 32, 64), blocks_per_stage=1, conv_impl="auto")
    c.learning_rate = 3e-3
    c.weight_decay = 5e-4
    c.warmup_steps = 200
    c.steps = 4500
    c.batch_size = 128
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 1000
    c.checkpoint_every = 1000
    return c
