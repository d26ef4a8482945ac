"""Default configs of the contextual-bandit and off-policy-evaluation experiments
(`jaxml/methods/bandits.py`, `jaxml/methods/ope.py`). Imports only ml_collections, so config files can
build on them without importing jax."""

from __future__ import annotations

import ml_collections

from jaxml.defaults.rl import ppo, runner


def bandit_config() -> ml_collections.ConfigDict:
    """A linear contextual bandit (10 arms, d = 10, noise 0.1), 2000 rounds, 10 seeds, the three agents."""
    c = ml_collections.ConfigDict()
    c.method = "bandits"
    c.env = "ContextualBandit"
    c.reward_model = "linear"   # or "nonlinear" (rl/envs_bandit.REWARD_MODELS)
    c.num_arms = 10
    c.context_dim = 10
    c.noise_std = 0.1
    c.horizon = 2000
    c.num_seeds = 10
    c.seed = 0
    c.agents = ("epsilon_greedy", "linucb", "thompson")
    c.regret_baseline = "epsilon_greedy"  # <agent>_regret_vs_<this> for every other agent
    c.ridge = 1.0               # lambda of every agent's per-arm ridge regression
    c.epsilon = 0.1             # epsilon_greedy: the exploration probability
    c.ucb_alpha = 0.5           # linucb: the width multiplier
    c.thompson_scale = 0.1      # thompson, neural_thompson: v, the posterior scale (the noise std)
    # neural_thompson: the reward network, refitted (Adam, MSE on every round so far) every refit_every rounds
    c.neural = ml_collections.ConfigDict(dict(hidden=(64,), refit_every=100, sgd_steps=100, learning_rate=0.003))
    return c


def ope_config() -> ml_collections.ConfigDict:
    """Logged feedback of a softmax logging policy (10 actions, d = 5, 10 000 rounds), a better
    softmax target policy, the four estimators; 100 logged data sets for bias / std / RMSE."""
    c = ml_collections.ConfigDict()
    c.method = "ope"
    c.dataset = "synthetic_logged"
    c.num_actions = 10
    c.context_dim = 5
    c.num_rounds = 10_000
    c.num_datasets = 100        # independent logged data sets (vmapped) for each estimator's bias and spread
    c.seed = 0
    c.logging_temperature = 1.0     # the logging policy: softmax(logging_logits / temperature)
    c.target_temperature = 0.3      # the target policy: softmax(reward_logits / temperature), closer to greedy
    c.reward_model = "linear"       # the DM / DR reward model fitted to the logged data (misspecified)
    c.ridge = 1.0
    c.estimators = ("ipw", "snipw", "dm", "dr")
    c.truth_contexts = 200_000      # fresh contexts that give the target policy's true value
    return c


def rl_recsys_config() -> ml_collections.ConfigDict:
    """PPO against LinUCB, linear Thompson sampling and two fixed policies on the sequential
    recommender SeqRecsys-v0 (`jaxml/methods/rl_recsys.py`), 5 seeds."""
    c = ml_collections.ConfigDict()
    c.method = "rl_recsys"
    c.env = "SeqRecsys-v0"
    c.num_seeds = 5
    c.seed = 0
    c.bandits = ("linucb", "thompson")
    c.policies = ("myopic", "random")
    c.bandit_sessions = 400     # online sessions of 50 steps each bandit learns from (per seed)
    c.eval_sessions = 1000      # fresh sessions of every greedy evaluation (per seed)
    c.bandit = ml_collections.ConfigDict(dict(ridge=1.0, ucb_alpha=0.5, thompson_scale=0.1, epsilon=0.1))
    rl = runner.with_runner_keys(ppo.default_config())
    rl.method = "ppo"
    rl.env = c.env
    rl.num_envs = 16
    rl.num_steps = 64
    rl.learning_rate = 1e-3
    rl.total_env_steps = 409_600
    rl.eval_every = 81_920      # 80 iterations of 16 x 64 env steps
    rl.eval_episodes = 1000
    c.rl = rl
    return c
