"""TRADES (Zhang 2019) on Fashion-MNIST at beta = 1 and beta = 6, L-inf eps = 0.1: the clean/robust trade-off.

Command:   jaxml train trades_fashion
Expected:  a larger beta trades clean accuracy for robust accuracy (`trades_b1_*` vs `trades_b6_*`;
           main row beta = 6; a project target, docs/references.md#project-targets). PGD-20, step
           0.01, on 2000 test images.
Reference: TRADES MNIST 99.48 clean / 96.07 robust at eps=0.3 (docs/references.md#generative-and-robust-models).
Hardware:  2-core CPU shared with other jobs; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "robust_accuracy", "at_least": 0.65,
            "reference": "TRADES MNIST eps=0.3: 99.48 clean / 96.07 robust"}
SUITES = ("full",)


def get_config():
    """pgd_at_fashion's model, data and attack budget, training TRADES at beta 1 and 6 instead."""
    c = load_module(Path(__file__).with_name("pgd_at_fashion.py")).get_config()
    c.adversarial.mode = "trades"
    c.compare = ({"name": "trades_b1", "mode": "trades", "beta": 1.0},
                 {"name": "trades_b6", "mode": "trades", "beta": 6.0})
    c.main = "trades_b6"
    c.steps, c.eval_every, c.checkpoint_every = 1500, 1500, 500  # as recorded (pgd_at_fashion later moved to 3000)
    return c
