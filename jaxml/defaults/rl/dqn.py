"""The `dqn` agent's default config (`jaxml.rl.dqn` trains it; add the runner's keys with
`jaxml.defaults.rl.runner.with_runner_keys`)."""

from __future__ import annotations

import ml_collections


def default_config() -> ml_collections.ConfigDict:
    """CartPole-v1 defaults (PureJaxRL's DQN = CleanRL's dqn_jax)."""
    c = ml_collections.ConfigDict()
    c.env = "CartPole-v1"
    c.num_envs = 10
    c.buffer_size = 10_000
    c.batch_size = 128
    c.learning_rate = 2.5e-4
    c.eps_start = 1.0
    c.eps_end = 0.05
    c.eps_fraction = 0.5          # linear decay over eps_fraction * total_env_steps env steps
    c.target_update_every = 500   # env steps
    c.tau = 1.0                   # 1.0 = hard copy, < 1 = Polyak averaging
    c.learning_starts = 10_000    # env steps
    c.train_every = 10            # env steps
    c.gamma = 0.99
    c.hidden = (120, 84)
    c.total_env_steps = 500_000
    c.double_q = True
    c.per = False
    c.per_alpha = 0.6
    c.per_beta_start = 0.4
    c.per_beta_end = 1.0
    c.n_step = 1
    c.eval_episodes = 10
    c.max_grad_norm = 10.0        # clip the gradients' global norm (0 = no clipping)
    c.anneal_lr = False           # Adam's learning rate linear to 0 over the run's gradient steps
    c.seed = 0
    return c
