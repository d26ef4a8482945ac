"""The `sac` agent's default config (`jaxml.rl.sac` trains it; add the runner's keys with
`jaxml.defaults.rl.runner.with_runner_keys`)."""

from __future__ import annotations

import ml_collections


def default_config() -> ml_collections.ConfigDict:
    """Pendulum-v1 defaults (the SAC paper's / CleanRL's values: Adam 3e-4 actor, 1e-3 critics and
    temperature, tau 0.005, batch 256, target entropy -|A|)."""
    c = ml_collections.ConfigDict()
    c.env = "Pendulum-v1"
    c.num_envs = 1
    c.total_env_steps = 50_000
    c.buffer_size = 100_000
    c.batch_size = 256
    c.actor_lr = 3e-4
    c.critic_lr = 1e-3
    c.alpha_lr = 1e-3
    c.tau = 0.005                 # Polyak rate of the target critics
    c.gamma = 0.99
    c.hidden = (256, 256)         # actor and critic MLP widths
    c.learning_starts = 5_000     # env steps of uniform random actions before any update
    c.updates_per_step = 1        # updates per iteration (per vec env step)
    c.init_alpha = 1.0            # initial temperature
    c.target_entropy_scale = 1.0  # target entropy: -scale * |A| (Box); scale * log |A| (Discrete)
    c.eval_episodes = 10
    c.seed = 0
    return c
