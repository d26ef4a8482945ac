"""A contextual bandit in gymnax's functional shape (`reset(key, params)`, `step(key, state, action,
params)` with auto-reset), so `rl/envs.py`'s vectorised stepping works on it unchanged.

Every step shows a context x ~ N(0, I_d) / sqrt(d) (the observation); the agent picks one of K arms
and gets reward mu(x, a) + N(0, noise_std^2), then the next context. The mean-reward model is a value
of `REWARD_MODELS`, fixed when the env is built; its parameters theta [K, d] are in `BanditParams` (draw
them with `ContextualBandit.sample_params`), so the best arm and the regret of every step are known:
`info["expected_rewards"]` [K] holds mu(x, .) of the context just acted on. An episode is
`max_steps_in_episode` rounds (truncation; a bandit never terminates).

- "linear": mu(x, a) = theta_a . x (the model LinUCB and linear Thompson sampling assume).
- "nonlinear": mu(x, a) = tanh(2 theta_a . x) + 0.5 cos(3 theta_a . x): a smooth model the linear
  agents can only approximate.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from jaxml.core.registry import choose

REWARD_MODELS: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    "linear": lambda theta, x: theta @ x,
    "nonlinear": lambda theta, x: jnp.tanh(2.0 * theta @ x) + 0.5 * jnp.cos(3.0 * theta @ x),
}


@struct.dataclass
class BanditState(environment.EnvState):
    context: jax.Array  # [d] the context the next action is taken on


@struct.dataclass
class BanditParams:
    """(gymnax's EnvParams fields, with the reward parameters first: they have no default.)"""

    theta: jax.Array            # [K, d] reward-model parameters, one row per arm
    noise_std: float = 0.1
    max_steps_in_episode: int = 1000


class ContextualBandit(environment.Environment):
    """K arms, d-dimensional contexts, a known mean-reward model (module docstring)."""

    def __init__(self, num_arms: int, context_dim: int, reward_model: str = "linear"):
        super().__init__()
        self.num_arms, self.context_dim = int(num_arms), int(context_dim)
        self.reward_model = reward_model
        self.mean_reward = choose(REWARD_MODELS, reward_model, "reward_model")

    def sample_params(self, key: jax.Array, noise_std: float = 0.1, horizon: int = 1000) -> BanditParams:
        """theta_a ~ N(0, I_d), every row scaled to unit norm (rewards of order 1 / sqrt(d))."""
        theta = jax.random.normal(key, (self.num_arms, self.context_dim))
        theta = theta / jnp.linalg.norm(theta, axis=1, keepdims=True)
        return BanditParams(theta=theta, noise_std=noise_std, max_steps_in_episode=horizon)

    @property
    def default_params(self) -> BanditParams:
        return self.sample_params(jax.random.key(0))

    def draw_context(self, key: jax.Array) -> jax.Array:
        return jax.random.normal(key, (self.context_dim,)) / jnp.sqrt(self.context_dim)

    def expected_rewards(self, context: jax.Array, params: BanditParams) -> jax.Array:
        """[K] mu(context, a) for every arm."""
        return self.mean_reward(params.theta, context)

    def reset_env(self, key, params):
        context = self.draw_context(key)
        return context, BanditState(time=0, context=context)

    def step_env(self, key, state, action, params):
        noise_key, context_key = jax.random.split(key)
        means = self.expected_rewards(state.context, params)
        reward = means[action] + params.noise_std * jax.random.normal(noise_key)
        context = self.draw_context(context_key)
        new_state = BanditState(time=state.time + 1, context=context)
        return context, new_state, reward, jnp.array(False), {"expected_rewards": means}

    def is_terminated(self, state, params):
        return jnp.array(False)

    @property
    def name(self) -> str:
        return f"ContextualBandit-{self.reward_model}"

    @property
    def num_actions(self) -> int:
        return self.num_arms

    def action_space(self, params=None):
        return spaces.Discrete(self.num_arms)

    def observation_space(self, params=None):
        return spaces.Box(-jnp.inf, jnp.inf, (self.context_dim,), jnp.float32)
