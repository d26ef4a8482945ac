"""TRADES (Zhang 2019) on Fashion-MNIST at beta = 1 and beta = 6, L-inf eps = 0.1: the clean/robust trade-off.

Command:   jaxml train trades_fashion
Expected:  the issue's target: a larger beta trades clean accuracy for robust accuracy
           (`trades_b1_*` vs `trades_b6_*`; main row beta = 6). PGD-20, step 0.01, on 2000 test images.
Reference: TRADES MNIST 99.48 clean / 96.07 robust at eps=0.3 (REFERENCES.md).
Hardware:  2-core CPU shared with other jobs; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from jaxml.methods.adversarial import base_config

EXPECTED = {"metric": "robust_accuracy", "at_least": 0.65,
            "reference": "TRADES MNIST eps=0.3: 99.48 clean / 96.07 robust"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.model = dict(name="cnn", features=(32, 64), convs_per_stage=1, dense=(128,), dropout=0.0, batch_norm=False)
    c.learning_rate = 2e-3
    c.weight_decay = 5e-4
    c.warmup_steps = 100
    c.steps = 1500
    c.batch_size = 128
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 1500
    c.checkpoint_every = 500
    c.adversarial.update(mode="trades", train_eps=0.1, train_steps=5, train_step_size=0.03, eps=0.1, eval_steps=20,
                         eval_step_size=0.01, eps_grid=(0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2),
                         eval_examples=2000)
    c.compare = ({"name": "trades_b1", "mode": "trades", "beta": 1.0},
                 {"name": "trades_b6", "mode": "trades", "beta": 6.0})
    c.main = "trades_b6"
    return c
