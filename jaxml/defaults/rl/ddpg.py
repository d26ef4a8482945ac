"""The `ddpg` agent's default config (`jaxml.rl.ddpg` trains it; add the runner's keys with
`jaxml.defaults.rl.runner.with_runner_keys`)."""

from __future__ import annotations

import ml_collections

from jaxml.errors import JaxmlError


METHODS = ("ddpg", "td3")


def default_config(method: str = "td3") -> ml_collections.ConfigDict:
    """Pendulum-v1 defaults (TD3 paper / CleanRL values); `method` "ddpg" turns the TD3 switches off."""
    if method not in METHODS:
        raise JaxmlError(f"ddpg.default_config: method {method!r} is not one of {', '.join(METHODS)}")
    td3 = method == "td3"
    c = ml_collections.ConfigDict()
    c.env = "Pendulum-v1"
    c.num_envs = 1
    c.total_env_steps = 100_000
    c.buffer_size = 100_000
    c.batch_size = 256
    c.learning_rate = 1e-3        # Adam, actor and critic
    c.tau = 0.005                 # Polyak rate of the target networks
    c.gamma = 0.99
    c.hidden = (256, 256)         # actor and critic MLP widths
    c.exploration_noise = 0.1     # std of the behaviour noise, in units of the half action range
    c.learning_starts = 10_000    # env steps of uniform random actions before any update
    c.updates_per_step = 1        # gradient updates per iteration (per vec env step)
    c.target_policy_smoothing = td3
    c.policy_noise = 0.2          # std of the target smoothing noise (half-range units)
    c.noise_clip = 0.5            # the smoothing noise is clipped to +-noise_clip (half-range units)
    c.clipped_double_q = td3
    c.policy_delay = 2 if td3 else 1
    c.eval_episodes = 10
    c.seed = 0
    return c
