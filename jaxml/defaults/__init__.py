"""Every method's default config, in light modules: each imports nothing heavier than ml_collections
and the standard library, so loading a config file (`jaxml list`, `jaxml show`, the argument checks
of `jaxml train`) never imports jax, flax, optax or gymnax.

Config files (`configs/<name>.py`) start from these and override what they need; the method modules
train what they describe.

- `training` — the shared bases: `training_config` (optimizer and loop keys), `supervised_config`
  (the supervised image methods), `text_model_config` (the character Transformers).
- `classify`, `distill`, `prune`, `quantize`, `nas`, `multitask`, `maml`, `gan`, `adversarial`,
  `interpret`, `lm`, `mlm`, `sequence_labeling`, `seq2seq` — `base_config()` of the method of the
  same name in `jaxml.methods`; `cluster` — `cluster_config()` of the clustering experiments
  (`jaxml.methods.cluster` on `jaxml.classic`).
- `rl.dqn`, `rl.qlearning`, `rl.ppo`, `rl.reinforce`, `rl.ddpg` — `default_config()` of the agent of
  the same name in `jaxml.rl` (`rl.ddpg.default_config("td3" | "ddpg")`), and `rl.runner` —
  `with_runner_keys(config)`, the keys the RL runner adds to an agent's config.

A new method puts its defaults here, not in its method module (`tests/core/test_cli_light.py`
checks that loading every experiment's config imports no heavy module).
"""
