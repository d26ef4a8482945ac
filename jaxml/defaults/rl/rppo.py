"""The `rppo` agent's default config (`jaxml.rl.rppo` trains it; add the runner's keys with
`jaxml.defaults.rl.runner.with_runner_keys`)."""

from __future__ import annotations

from jaxml.defaults.rl import ppo


def default_config():
    """PPO's defaults (PureJaxRL's values; `jaxml.defaults.rl.ppo`) on MetaMaze-misc, with a GRU of
    128 units, a 128-wide embedding and heads (PureJaxRL's recurrent PPO layout), 16 envs so that
    4 minibatches hold 4 whole env sequences each, and no parallel / normalisation keys (one device)."""
    c = ppo.default_config()
    for key in ("parallel", "normalize_obs", "reward_scale"):
        del c[key]
    c.env = "MetaMaze-misc"
    c.num_envs = 16
    c.hidden = (128, 128)     # (embedding width, head width)
    c.gru_size = 128
    c.total_env_steps = 1_000_000
    return c
