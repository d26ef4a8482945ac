"""The `qlearning` agent's default config (`jaxml.rl.qlearning` trains it; add the runner's keys with
`jaxml.defaults.rl.runner.with_runner_keys`)."""

from __future__ import annotations

import ml_collections


def default_config() -> ml_collections.ConfigDict:
    """FrozenLake-misc (4x4, slippery) defaults."""
    c = ml_collections.ConfigDict()
    c.env = "FrozenLake-misc"
    c.num_envs = 50
    c.total_env_steps = 500_000
    c.gamma = 0.99
    c.learning_rate = 0.1
    c.lr_end = 0.01            # linear from learning_rate to lr_end over total_env_steps
    c.eps_start = 1.0
    c.eps_end = 0.05
    c.eps_fraction = 0.5       # linear decay over eps_fraction * total_env_steps env steps
    c.q_init = 0.0
    c.eval_episodes = 10_000
    c.seed = 0
    return c
