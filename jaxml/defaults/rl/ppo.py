"""The `ppo` agent's default config (`jaxml.rl.ppo` trains it; add the runner's keys with
`jaxml.defaults.rl.runner.with_runner_keys`)."""

from __future__ import annotations

import ml_collections


def default_config() -> ml_collections.ConfigDict:
    """CartPole-v1 defaults (PureJaxRL's PPO hyper-parameters)."""
    c = ml_collections.ConfigDict()
    c.env = "CartPole-v1"
    c.num_envs = 4
    c.num_steps = 128             # rollout length per env and iteration
    c.update_epochs = 4
    c.num_minibatches = 4         # must divide num_steps
    c.learning_rate = 2.5e-4
    c.anneal_lr = True            # linear to 0 over the whole run
    c.gamma = 0.99
    c.gae_lambda = 0.95
    c.clip_eps = 0.2
    c.ent_coef = 0.01
    c.vf_coef = 0.5
    c.max_grad_norm = 0.5
    c.adam_eps = 1e-5
    c.hidden = (64, 64)
    c.activation = "tanh"
    c.log_std_init = 0.0          # continuous actions only
    c.normalize_obs = False
    c.reward_scale = 1.0
    c.total_env_steps = 500_000
    c.eval_episodes = 10
    c.eval_sampled = False        # also evaluate the sampling policy (`sampled_*` eval metrics)
    c.env_params = {}             # gymnax EnvParams overrides, e.g. {"normalize_time": True}
    c.parallel = ml_collections.ConfigDict({"num_devices": 1})  # > 1: Anakin, shard_map over devices
    c.seed = 0
    return c
