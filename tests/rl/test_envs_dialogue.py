"""jaxml.rl.envs_dialogue: reward and termination of hand-built dialogue turns (request, confirm
yes / no, inform right / wrong, close, the user hanging up), the noisy understanding, the rule-based
policy on hand-built observations, and `envs.evaluate`'s success rate on the env."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.rl.envs import evaluate, make_env
from jaxml.rl.envs_dialogue import SlotDialogue, rule_policy

ENV = SlotDialogue(num_slots=3, num_values=5)
STEP = jax.jit(ENV.step_env)   # one compile for every hand-built turn
EXACT = ENV.default_params.replace(nlu_accuracy=1.0)    # every user turn heard right
REQUEST, CONFIRM, INFORM, CLOSE = 0, 3, 6, 7             # + slot for request / confirm


def start(goal=(1, 4, 2), heard=(-1, -1, -1), time=0):
    _, state = ENV.reset_env(jax.random.key(0), EXACT)
    conf = jnp.asarray([0.0 if h < 0 else 0.6 for h in heard], jnp.float32)
    return state.replace(goal=jnp.asarray(goal, jnp.int32), heard=jnp.asarray(heard, jnp.int32),
                         confidence=conf, time=time)


def turn(state, action, params=EXACT, seed=1):
    obs, new, reward, terminated, info = STEP(jax.random.key(seed), state, jnp.int32(action), params)
    return obs, new, float(reward), bool(terminated), bool(info["success"])


def test_request_hears_the_goal_value_and_costs_a_turn():
    obs, s, r, term, ok = turn(start(), REQUEST + 1)
    assert (r, term, ok) == (-1.0, False, False)
    np.testing.assert_array_equal(s.heard, [-1, 4, -1])
    assert 0.0 < float(s.confidence[1]) < 1.0 and int(s.time) == 1
    np.testing.assert_allclose(obs[3:6], [1.0, float(s.confidence[1]), 0.0])   # slot 1: filled, conf, unconfirmed
    assert obs[-1] == pytest.approx(0.1)                                         # 1 of 10 turns
    # with no understanding at all the value is always heard wrong
    _, s, _, _, _ = turn(start(), REQUEST + 1, EXACT.replace(nlu_accuracy=0.0))
    assert int(s.heard[1]) != 4 and 0 <= int(s.heard[1]) < 5


def test_confirm_yes_and_no():
    _, s, r, term, _ = turn(start(heard=(1, -1, -1)), CONFIRM + 0)          # "slot 0 is 1?" -> yes
    assert (r, term) == (-1.0, False)
    assert bool(s.confirmed[0]) and float(s.confidence[0]) == 1.0 and int(s.heard[0]) == 1
    _, s, r, term, _ = turn(start(heard=(3, -1, -1)), CONFIRM + 0)          # "slot 0 is 3?" -> no, it is 1
    assert (r, term) == (-1.0, False)
    assert not bool(s.confirmed[0]) and int(s.heard[0]) == 1                # heard anew (exact NLU)
    _, s, _, _, _ = turn(start(), CONFIRM + 2)                               # nothing to confirm: wasted
    np.testing.assert_array_equal(s.heard, [-1, -1, -1])
    assert int(s.time) == 1


def test_inform_right_succeeds_wrong_fails():
    _, _, r, term, ok = turn(start(heard=(1, 4, 2), time=5), INFORM)
    assert (r, term, ok) == (20.0 - 1.0, True, True)
    _, _, r, term, ok = turn(start(heard=(1, 4, 3), time=5), INFORM)       # one slot wrong: user leaves
    assert (r, term, ok) == (-1.0 - 10.0, True, False)                      # turn + failure penalty
    _, _, r, term, ok = turn(start(heard=(1, 4, -1), time=5), INFORM)      # one slot unfilled
    assert (r, term, ok) == (-11.0, True, False)


def test_close_and_hang_up():
    _, _, r, term, ok = turn(start(heard=(1, 4, 2)), CLOSE)
    assert (r, term, ok) == (-11.0, True, False)
    _, _, r, term, ok = turn(start(time=8), REQUEST)                       # turn 9 of 10: goes on
    assert (r, term) == (-1.0, False)
    _, _, r, term, ok = turn(start(time=9), REQUEST)                       # turn 10: the user hangs up
    assert (r, term, ok) == (-11.0, True, False)
    _, _, r, term, ok = turn(start(heard=(1, 4, 2), time=9), INFORM)       # success on the last turn counts
    assert (r, term, ok) == (19.0, True, True)


def test_rule_policy_requests_confirms_then_informs():
    def obs(filled, conf, confirmed):
        return jnp.asarray(np.stack([filled, conf, confirmed], -1).ravel().tolist() + [0.3])[None]
    assert int(rule_policy(obs([1, 0, 0], [0.9, 0, 0], [0, 0, 0]))[0]) == REQUEST + 1
    assert int(rule_policy(obs([1, 1, 1], [1.0, 0.9, 0.4], [1, 0, 0]))[0]) == CONFIRM + 1
    assert int(rule_policy(obs([1, 1, 1], [1.0, 0.9, 0.4], [1, 0, 0]), threshold=0.5)[0]) == CONFIRM + 2
    assert int(rule_policy(obs([1, 1, 1], [1.0, 1.0, 1.0], [1, 1, 1]))[0]) == INFORM


def test_evaluate_success_rate_matches_the_returns():
    env, params = make_env("SlotDialogue-v0")
    out = jax.jit(lambda k: evaluate(k, lambda o, _k: rule_policy(o), env, params, 256))(jax.random.key(0))
    returns, lengths = np.asarray(out["returns"]), np.asarray(out["lengths"])
    success = returns > 0
    np.testing.assert_allclose(returns[success], 20.0 - lengths[success])   # bonus - turns
    np.testing.assert_allclose(returns[~success], -lengths[~success] - 10.0)  # turns + failure penalty
    assert float(out["success_rate"]) == pytest.approx(success.mean())
    assert 0.8 < success.mean() < 1.0 and np.all(lengths >= 7)             # 3 requests + 3 confirms + inform
