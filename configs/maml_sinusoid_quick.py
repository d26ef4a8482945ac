"""MAML (Finn 2017) on sinusoid regression, 10k meta-steps: maml_sinusoid shortened for the quick suite.

maml_sinusoid's tasks (y = A sin(x - phi), K = 10 support points), model (MLP 1-40-40-1), second-order
MAML with one inner SGD step of 0.01, meta-batch 25 and Adam 1e-3, beside first-order MAML and the
pretrained baseline, for 10,000 meta-steps instead of 40,000; the same 500 fixed test tasks.

Command:   jaxml train maml_sinusoid_quick   (in the quick suite: make demo)
Expected:  mse_1step <= 0.7 and mse_10step <= 0.3 (K = 10).
Reference: Finn 2017 Fig. 3 (read from the figure, K = 5): about 0.6-0.7 after 1 step, 0.3-0.4 after 10,
           pretrained about 2.2 (docs/references.md#multi-task-and-meta-learning); maml_sinusoid
           (40k steps): mse_1step 0.380 (docs/results/maml_sinusoid.json).
Measured:  2026-12-01, 2-core CPU shared with other jobs (load ~10): seed 0 mse_1step 0.531, mse_10step
           0.157, first-order 0.738 after 1 step, pretrained baseline 2.152 at best, 38 s; seed 1 0.562,
           0.166, 0.799, 2.188, 39 s.
Hardware:  2-core CPU, under a minute.
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "mse_1step", "at_most": 0.7, "also": ({"metric": "mse_10step", "at_most": 0.3},),
            "reference": "Finn 2017 Fig. 3 (K=5): ~0.6-0.7 after 1 step, ~0.3-0.4 after 10; maml_sinusoid 0.380"}
SUITES = ("quick", "full")


def get_config():
    c = load_module(Path(__file__).with_name("maml_sinusoid.py")).get_config()
    c.steps = 10_000
    c.eval_every = 5_000
    c.checkpoint_every = 10_000
    return c
