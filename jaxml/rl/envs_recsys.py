"""Sequential recommendation as RL: a simulated user whose state drifts with what was recommended, in
gymnax's functional shape (`reset(key, params)`, `step(key, state, action, params)` with auto-reset),
so the vectorised stepping, DQN and PPO work on it unchanged (`envs.make_env("SeqRecsys-v0")`), and
a contextual bandit can act on its observation as the context.

A session is `session_length` recommendations to one user. There are K item categories; category a
has a fixed quality q_a (`quality`, evenly spaced in [-1, 1]: "clickbait" at -1, "wholesome" at +1)
and, for this user, an appeal u_a drawn at reset: u_a = clip(0.5 - appeal_tilt q_a + appeal_noise
N(0, 1), 0.05, 1), so the low-quality categories are the more appealing on average. The user also
carries a boredom b_a in [0, 1] per category and a satisfaction s in [0, 1] (0.5 at reset).
Recommending category a:

- the user engages with mean m_a = u_a (1 - b_a) (0.5 + s) / 1.5 (in [0, 1]); the reward is
  m_a + noise_std N(0, 1);
- boredom: every b decays, b <- (1 - boredom_decay) b, then the recommended one grows,
  b_a <- b_a + boredom_rate (1 - b_a) (interest/boredom dynamics: repeating a category wears it out);
- satisfaction: s <- clip(s + satisfaction_rate q_a, 0, 1): clickbait is more engaging now and
  lowers the engagement of every later recommendation, wholesome items the other way round.

So the myopic choice (argmax of today's m_a, what a bandit that learns the immediate reward converges
to) is worse over a session than one that keeps the user satisfied: the long-run return needs
planning. `expected_rewards(obs)` gives m for every category from an observation (the myopic
oracle's scores), and `info["expected_rewards"]` holds them for the state just acted on.

Observation [2K + 2]: the appeal u, the boredom b, the satisfaction s and t / session_length (all in
[0, 1]). Actions: `Discrete(K)`. The session ends (`terminated`: the user logs off, nothing is
bootstrapped past it) after `session_length` steps, so a return is a sum of `session_length` rewards
and, with t / session_length observed, the task is a finite-horizon MDP.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces


@struct.dataclass
class RecsysState(environment.EnvState):
    appeal: jax.Array        # [K] the user's appeal per category, fixed for the session
    boredom: jax.Array       # [K] in [0, 1]
    satisfaction: jax.Array  # scalar in [0, 1]


@struct.dataclass
class RecsysParams(environment.EnvParams):
    appeal_tilt: float = 0.3
    appeal_noise: float = 0.15
    boredom_rate: float = 0.3
    boredom_decay: float = 0.1
    satisfaction_rate: float = 0.1
    noise_std: float = 0.1
    session_length: int = 50
    max_steps_in_episode: int = 50   # = session_length (envs.evaluate rolls this many steps); the end is terminated


class SequentialRecsys(environment.Environment):
    """The drifting-user recommender (module docstring)."""

    def __init__(self, num_categories: int = 6):
        super().__init__()
        self.num_categories = int(num_categories)
        self.quality = jnp.linspace(-1.0, 1.0, self.num_categories)

    @property
    def default_params(self) -> RecsysParams:
        return RecsysParams()

    def engagement(self, appeal: jax.Array, boredom: jax.Array, satisfaction: jax.Array) -> jax.Array:
        """[K] the mean engagement m of recommending each category in this user state."""
        return appeal * (1.0 - boredom) * (0.5 + satisfaction) / 1.5

    def expected_rewards(self, obs: jax.Array) -> jax.Array:
        """[..., K] the mean engagement of every category, from observations [..., 2K + 2]."""
        k = self.num_categories
        return self.engagement(obs[..., :k], obs[..., k:2 * k], obs[..., 2 * k:2 * k + 1])

    def reset_env(self, key, params):
        noise = jax.random.normal(key, (self.num_categories,))
        appeal = jnp.clip(0.5 - params.appeal_tilt * self.quality + params.appeal_noise * noise, 0.05, 1.0)
        state = RecsysState(time=0, appeal=appeal, boredom=jnp.zeros((self.num_categories,), jnp.float32),
                            satisfaction=jnp.array(0.5, jnp.float32))
        return self.get_obs(state, params), state

    def step_env(self, key, state: RecsysState, action, params):
        action = jnp.asarray(action, jnp.int32)
        means = self.engagement(state.appeal, state.boredom, state.satisfaction)
        reward = means[action] + params.noise_std * jax.random.normal(key)
        boredom = (1.0 - params.boredom_decay) * state.boredom
        boredom = boredom.at[action].add(params.boredom_rate * (1.0 - boredom[action]))
        satisfaction = jnp.clip(state.satisfaction + params.satisfaction_rate * self.quality[action], 0.0, 1.0)
        new = RecsysState(time=state.time + 1, appeal=state.appeal, boredom=boredom, satisfaction=satisfaction)
        return (jax.lax.stop_gradient(self.get_obs(new, params)), jax.lax.stop_gradient(new),
                jnp.asarray(reward, jnp.float32), self.is_terminated(new, params), {"expected_rewards": means})

    def get_obs(self, state: RecsysState, params=None, key=None) -> jax.Array:
        params = self.default_params if params is None else params
        return jnp.concatenate([state.appeal, state.boredom, jnp.reshape(state.satisfaction, (1,)),
                                jnp.reshape(state.time / params.session_length, (1,))]).astype(jnp.float32)

    def is_terminated(self, state: RecsysState, params) -> jax.Array:
        return state.time >= params.session_length

    @property
    def name(self) -> str:
        return "SeqRecsys-v0"

    @property
    def num_actions(self) -> int:
        return self.num_categories

    def action_space(self, params=None):
        return spaces.Discrete(self.num_categories)

    def observation_space(self, params=None):
        return spaces.Box(0.0, 1.0, (2 * self.num_categories + 2,), jnp.float32)
