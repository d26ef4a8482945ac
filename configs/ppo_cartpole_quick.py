"""PPO on gymnax CartPole-v1 in 81,920 env steps (5 seeds vmapped): ppo_cartpole shortened for the quick suite.

ppo_cartpole's hyper-parameters (16 envs x 128 steps per iteration, 4 epochs x 4 minibatches, GAE
0.95, clip 0.2, entropy 0.01, 64-64 tanh actor and critic, lr annealed linearly to 0) for 40
iterations (81,920 env steps, not 501,760) with Adam lr 1e-3 (not 5e-4, which reached 438.8 here:
per seed 418-472). Greedy evaluation every 10 iterations.

Command:   jaxml train ppo_cartpole_quick   (in the quick suite: make demo)
Expected:  greedy eval_return >= 400 (mean over 5 seeds, 10 eval episodes each), about 0.8 of the full
           run's 492.9.
Reference: ppo_cartpole, 501,760 env steps: 492.9 (docs/results/ppo_cartpole.json); PureJaxRL PPO 500
           at 500k (docs/references.md#reinforcement-learning).
Measured:  `jaxml train ppo_cartpole_quick --config.seed=S`, 2026-12-01, 2-core CPU shared with other jobs
           (load ~10): seed 0: 475.6 (per seed 489, 490, 399, 500, 500), 38 s; seed 1: 479.9 (500, 500,
           416, 487, 497), 36 s; seed 2: 465.3 (393, 457, 500, 476, 500), 37 s.
Hardware:  2-core CPU, under a minute.
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "eval_return", "at_least": 400,
            "reference": "about 0.8 of ppo_cartpole's 492.9 at 500k env steps; PureJaxRL PPO 500 at 500k"}
SUITES = ("quick", "full")


def get_config():
    c = load_module(Path(__file__).with_name("ppo_cartpole.py")).get_config()
    c.learning_rate = 1e-3
    c.total_env_steps = 81_920   # 40 iterations of 16 x 128 env steps
    c.eval_every = 20_480        # 10 iterations
    return c
