"""Tabular Q-learning on gymnax FourRooms-misc (fixed start and goal, 1/3 of moves random, 500-step
limit), 5 seeds vmapped.

State = (agent cell, goal cell) index of the 13x13 grid. 50 envs update one shared Q table per step
(duplicate (s, a) TD errors averaged), gamma 0.99, epsilon 1.0 -> 0.05 over the first half,
learning rate 0.1 -> 0.01 linearly, 500k env steps. Greedy eval: 1,000 fresh episodes per seed;
the return is 1 per episode that reaches the goal within 500 steps (so eval_return is the success
rate) and `length_mean` (metrics.jsonl) is the mean episode length.

Command:   jaxml train qlearning_fourrooms
Expected:  greedy eval_return >= 0.99 (mean over 5 seeds).
Reference: measured run below (no published number for this gymnax env).
Hardware:  2-core CPU shared with other jobs; RESULTS.md has the measured time.
Measured:  `jaxml reproduce --suite full --only qlearning_fourrooms` (2-core CPU shared with
           other jobs, 2026-11-23): eval_return 1.0 on 5/5 seeds (1,000 episodes each), mean greedy
           episode length 27.2 steps, 70 s wall time.
"""

from jaxml.defaults.rl import qlearning, runner

EXPECTED = {"metric": "eval_return", "at_least": 0.99,
            "reference": "success rate 1.0 = every greedy episode reaches the goal"}
SUITES = ("quick", "full")


def get_config():
    c = runner.with_runner_keys(qlearning.default_config())
    c.method = "qlearning"
    c.env = "FourRooms-misc"
    c.eval_episodes = 1_000
    c.num_seeds = 5
    c.eval_every = 100_000
    return c
