"""The `reinforce` agent's default config (`jaxml.rl.reinforce` trains it; add the runner's keys with
`jaxml.defaults.rl.runner.with_runner_keys`)."""

from __future__ import annotations

import ml_collections


def default_config() -> ml_collections.ConfigDict:
    """CartPole-v1 defaults."""
    c = ml_collections.ConfigDict()
    c.env = "CartPole-v1"
    c.num_envs = 8
    c.num_steps = 125              # per env per iteration: 1000 env steps per update
    c.total_env_steps = 1_000_000
    c.gamma = 0.99
    c.learning_rate = 1e-3
    c.value_coef = 0.5
    c.entropy_coef = 0.0
    c.normalize_advantages = True
    c.max_grad_norm = 0.5
    c.hidden = (64, 64)
    c.activation = "tanh"
    c.eval_episodes = 10
    c.seed = 0
    return c
