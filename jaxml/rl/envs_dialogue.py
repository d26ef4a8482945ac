"""Slot-filling task-oriented dialogue as RL: a simulated user with a goal, in gymnax's functional
shape (`reset(key, params)`, `step(key, state, action, params)` with auto-reset), so the vectorised
stepping, DQN and PPO work on it unchanged (`envs.make_env("SlotDialogue-v0")`).

The user wants one value (of `num_values`) for each of `num_slots` slots (a booking: cuisine, area,
price ...), drawn uniformly at reset. Each turn the system takes one dialogue act (`ACTS`):

- `request(s)`: asks for slot s; the user says its goal value, which the noisy language
  understanding hears correctly with probability `nlu_accuracy` (otherwise as another value,
  uniformly) together with a confidence: the user's turn is heard with the score
  clip(N(0.7, 0.15)) when heard right and clip(N(0.4, 0.15)) when heard wrong, so the confidence
  is informative but overlapping. The new hearing replaces the slot's old one;
- `confirm(s)`: asks "s is <heard value>?"; the user answers yes or no (understood without error).
  Yes marks the slot confirmed (confidence 1); no comes with the right value ("no, I want X"), which
  is heard like a request (noisy, with a confidence). Confirming an unfilled slot is a wasted turn;
- `inform`: offers the result for the values heard so far. If every slot holds the user's goal value
  the dialogue ends successfully (`terminated`, + `success_bonus`); otherwise the user rejects the
  wrong offer and leaves (`terminated`, no bonus): one offer per dialogue;
- `close`: ends the dialogue without a result (`terminated`, no bonus).

Every turn costs `turn_cost`, and a dialogue that ends without success (close, a wrong offer, the
user hanging up) costs `failure_penalty` once: without it, closing at once (-1) would beat the
exploration it takes to find the bonus. The user hangs up after `max_turns` turns without success
(`terminated`: the user's patience is part of the task, and the turn count is in the observation).
So a dialogue's return is success_bonus - turns on success and -turns - failure_penalty otherwise.

Observation [3 * num_slots + 1]: per slot (filled, confidence of its current hearing, confirmed),
then turns / max_turns. The heard values themselves are
not needed to decide what to do and are kept in the state.

Actions (`Discrete(2 * num_slots + 2)`): request(0..S-1), confirm(S..2S-1), inform (2S), close (2S+1).

`rule_policy` is a hand-written baseline: request every unfilled slot in order, confirm the first
unconfirmed slot whose confidence is below `threshold`, then inform.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

ACTS = ("request", "confirm", "inform", "close")
CONF_RIGHT, CONF_WRONG, CONF_STD = 0.7, 0.4, 0.15


@struct.dataclass
class DialogueState(environment.EnvState):
    goal: jax.Array          # [S] int32: the user's value per slot
    heard: jax.Array         # [S] int32: the value understood per slot (-1: not filled)
    confidence: jax.Array    # [S] float32: confidence of the current hearing (0 when unfilled)
    confirmed: jax.Array     # [S] bool
    success: jax.Array       # bool: the dialogue ended with an accepted inform
    closed: jax.Array        # bool: the dialogue ended without success (close, a wrong offer, hang-up)


@struct.dataclass
class DialogueParams(environment.EnvParams):
    nlu_accuracy: float = 0.7
    success_bonus: float = 20.0
    turn_cost: float = 1.0
    failure_penalty: float = 10.0
    max_turns: int = 10
    max_steps_in_episode: int = 10   # never reached first: the user hangs up at max_turns


class SlotDialogue(environment.Environment):
    """The slot-filling dialogue (module docstring)."""

    def __init__(self, num_slots: int = 3, num_values: int = 5):
        super().__init__()
        self.num_slots, self.num_values = int(num_slots), int(num_values)

    @property
    def default_params(self) -> DialogueParams:
        return DialogueParams()

    def act_of(self, action: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(index into ACTS, slot) of an action (slot 0 for inform / close)."""
        s = self.num_slots
        act = jnp.where(action < s, 0, jnp.where(action < 2 * s, 1, action - 2 * s + 2))
        return act, jnp.where(action < 2 * s, action % s, 0)

    def hear(self, key: jax.Array, value: jax.Array, params: DialogueParams) -> tuple[jax.Array, jax.Array]:
        """The noisy understanding of the user saying `value`: (heard value, confidence)."""
        k_right, k_other, k_conf = jax.random.split(key, 3)
        right = jax.random.uniform(k_right) < params.nlu_accuracy
        other = (value + jax.random.randint(k_other, (), 1, self.num_values)) % self.num_values
        conf = jnp.where(right, CONF_RIGHT, CONF_WRONG) + CONF_STD * jax.random.normal(k_conf)
        return jnp.where(right, value, other).astype(jnp.int32), jnp.clip(conf, 0.01, 0.99)

    def reset_env(self, key, params):
        s = self.num_slots
        state = DialogueState(time=0, goal=jax.random.randint(key, (s,), 0, self.num_values),
                              heard=jnp.full((s,), -1, jnp.int32), confidence=jnp.zeros((s,), jnp.float32),
                              confirmed=jnp.zeros((s,), bool), success=jnp.array(False), closed=jnp.array(False))
        return self.get_obs(state, params), state

    def step_env(self, key, state: DialogueState, action, params):
        act, slot = self.act_of(jnp.asarray(action, jnp.int32))
        filled = state.heard >= 0
        correct = state.heard == state.goal
        # the slot is heard anew after a request or a "no" to a confirm
        is_confirm = act == 1
        yes = is_confirm & filled[slot] & correct[slot]
        new_hearing = (act == 0) | (is_confirm & filled[slot] & ~correct[slot])
        target = slot
        value, conf = self.hear(key, state.goal[target], params)
        heard = jnp.where(new_hearing, state.heard.at[target].set(value), state.heard)
        confidence = jnp.where(new_hearing, state.confidence.at[target].set(conf), state.confidence)
        confirmed = jnp.where(new_hearing, state.confirmed.at[target].set(False), state.confirmed)
        confirmed = jnp.where(yes, confirmed.at[slot].set(True), confirmed)
        confidence = jnp.where(yes, confidence.at[slot].set(1.0), confidence)
        success = (act == 2) & jnp.all(correct)
        time = state.time + 1
        closed = (act == 3) | ((act == 2) & ~success) | (~success & (time >= params.max_turns))
        reward = (-params.turn_cost + jnp.where(success, params.success_bonus, 0.0)
                  - jnp.where(closed, params.failure_penalty, 0.0))
        new = DialogueState(time=time, goal=state.goal, heard=heard, confidence=confidence,
                            confirmed=confirmed, success=success, closed=closed)
        return (jax.lax.stop_gradient(self.get_obs(new, params)), jax.lax.stop_gradient(new),
                jnp.asarray(reward, jnp.float32), self.is_terminated(new, params),
                {"success": success})

    def get_obs(self, state: DialogueState, params=None, key=None) -> jax.Array:
        params = self.default_params if params is None else params
        per_slot = jnp.stack([(state.heard >= 0).astype(jnp.float32), state.confidence,
                              state.confirmed.astype(jnp.float32)], -1).ravel()
        return jnp.concatenate([per_slot, jnp.reshape(state.time / params.max_turns, (1,))]).astype(jnp.float32)

    def is_terminated(self, state: DialogueState, params) -> jax.Array:
        return state.success | state.closed

    @property
    def name(self) -> str:
        return "SlotDialogue-v0"

    @property
    def num_actions(self) -> int:
        return 2 * self.num_slots + 2

    def action_space(self, params=None):
        return spaces.Discrete(self.num_actions)

    def observation_space(self, params=None):
        return spaces.Box(0.0, 1.0, (3 * self.num_slots + 1,), jnp.float32)


def rule_policy(obs: jax.Array, num_slots: int = 3, threshold: float = 1.0) -> jax.Array:
    """The hand-written baseline on a batch of observations [B, 3S + 1] -> actions [B]: request the
    first unfilled slot; else confirm the first unconfirmed slot whose confidence is below
    `threshold`; else inform."""
    per_slot = obs[:, :3 * num_slots].reshape(obs.shape[0], num_slots, 3)
    filled, conf, confirmed = per_slot[..., 0] > 0.5, per_slot[..., 1], per_slot[..., 2] > 0.5
    doubtful = filled & ~confirmed & (conf < threshold)
    request = jnp.argmin(filled, -1)
    confirm = num_slots + jnp.argmax(doubtful, -1)
    return jnp.where(~jnp.all(filled, -1), request,
                     jnp.where(jnp.any(doubtful, -1), confirm, 2 * num_slots)).astype(jnp.int32)
