"""GradNorm (Chen 2018) against equal weighting on the paper's toy: T = 5 tanh regression tasks
y_i = sigma_i tanh((B + eps_i) x), x in R^250, y in R^100, sigma_i = 1, 3.16, 10, 31.6, 100.

Model: 4 fully connected ReLU layers of 100 units shared (MLP trunk 100-100-100 + the shared layer W),
one linear head per task; MSE per task; 5000 train / 1000 test points; GradNorm alpha = 0.12 (the
paper's value for this toy).

Command:   jaxml train gradnorm_toy
Expected:  GradNorm's final weights ordered inversely to the task scales (`weight_log_slope` < 0: slope
           of log w_i against log sigma_i) and a smaller spread of the weighted gradient norms
           ||grad_W w_i L_i|| (max/min, `grad_norm_spread`) than equal weighting
           (`equal_grad_norm_spread`).
Reference: Chen et al. 2018, Fig. 2 (GradNorm weights settle inversely to the task scales).
Hardware:  2-core CPU; measured numbers: see RESULTS.md (docs/results/gradnorm_toy.json).
"""

import ml_collections

from jaxml.defaults.multitask import base_config

EXPECTED = {"metric": "grad_norm_spread_ratio", "at_most": 1.0,
            "reference": "Chen 2018 toy: GradNorm equalises gradient norms; weights inverse to task scales"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "synthetic"
    c.benchmark = "gradnorm_toy"
    c.toy_tasks = 5
    c.tasks = ml_collections.ConfigDict({f"task_{i}": {"weight": 1.0} for i in range(5)})
    c.weighting = "gradnorm"
    c.gradnorm_alpha = 0.12
    c.gradnorm_lr = 0.025
    c.baselines = ("equal",)
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (100, 100), "dropout": 0.0})
    c.trunk_width = 100
    c.learning_rate = 1e-3
    c.weight_decay = 0.0
    c.warmup_steps = 100
    c.steps = 3000
    c.batch_size = 100
    c.eval_batch_size = 500
    c.log_every = 100
    c.eval_every = 1000
    c.checkpoint_every = 1000
    return c
