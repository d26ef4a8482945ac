"""DQN (double-Q, hard target copy every 500 steps) on gymnax Acrobot-v1, 5 seeds vmapped.

CleanRL's DQN defaults (the same hyper-parameters as `dqn_cartpole`: 10 envs, buffer 10k, batch 128,
lr 2.5e-4, epsilon 1.0 -> 0.05 over 250k steps, learning starts 10k, train every 10 env steps,
gamma 0.99, MLP 120-84, 500k env steps). Acrobot pays -1 per step until the tip swings above the
line (terminated) or 500 steps pass (truncated, which bootstraps).

Command:   jaxml train dqn_acrobot
Expected:  greedy eval_return >= -100 (mean over 5 seeds).
Reference: CleanRL dqn Acrobot-v1 -88.9 +- 1.6 (docs/references.md#reinforcement-learning).
Hardware:  2-core CPU; RESULTS.md has the measured time.
"""

from jaxml.defaults.rl import dqn, runner

EXPECTED = {"metric": "eval_return", "at_least": -100, "reference": "CleanRL dqn Acrobot-v1 −88.9 ± 1.6"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(dqn.default_config())
    c.method = "dqn"
    c.env = "Acrobot-v1"
    c.num_seeds = 5
    c.eval_every = 50_000
    return c
