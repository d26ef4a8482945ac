"""DQN on gymnax CartPole-v1 in 150k env steps (5 seeds vmapped): the agent's defaults shortened for the quick suite.

The agent's defaults (PureJaxRL's CartPole values: double-Q, hard target copy every 500 steps, 10 envs,
buffer 10k, batch 128, train every 10 env steps, MLP 120-84) with a 3.3x shorter run: 150k env steps instead of
500k, learning from 5k steps (not 10k), epsilon 1.0 -> 0.05 over the first 45k (not 250k) and Adam
lr 1e-3 (not 2.5e-4, which reached only 316 at 150k: per seed 228-371). Greedy evaluation every 25k.

Command:   jaxml train dqn_cartpole_quick   (in the quick suite: make demo)
Expected:  greedy eval_return >= 400 (mean over 5 seeds, 10 eval episodes each), 0.8 of the full run's 500.
Reference: the same agent defaults over 500k env steps: 500.0 on 5/5 seeds (`jaxml train dqn_cartpole`
           before it had its own faster schedule, 2026-11-22); CleanRL dqn_jax 498.4 +- 2.3 at 500k
           (docs/references.md#reinforcement-learning).
Measured:  `jaxml train dqn_cartpole_quick --config.seed=S`, 2026-12-01, 2-core CPU shared with other jobs
           (load ~10): seed 0: 500.0 (5/5 seeds at 500), 56 s; seed 1: 474.1 (per seed 490, 500, 500,
           500, 380), 64 s; seed 2: 500.0, 73 s. The eval curve is noisy before the end (250-460 at
           25k-125k env steps).
Hardware:  2-core CPU, about a minute.
"""

from jaxml.defaults.rl import dqn, runner

EXPECTED = {"metric": "eval_return", "at_least": 400,
            "reference": "0.8 of the agent defaults' 500 at 500k env steps; CleanRL dqn_jax 498.4 ± 2.3 at 500k"}
SUITES = ("quick", "full")


def get_config():
    c = runner.with_runner_keys(dqn.default_config())
    c.method = "dqn"
    c.num_seeds = 5
    c.total_env_steps = 150_000
    c.learning_starts = 5_000
    c.eps_fraction = 0.3
    c.learning_rate = 1e-3
    c.eval_every = 25_000
    return c
