"""jaxml.methods.rl_recsys on the sequential recommender: a bandit's online run and greedy evaluation,
a reference policy, the RL agent's interface (PPO builds, acts and evaluates on SeqRecsys-v0 with
its config unchanged; `train` hands `config.rl` to the RL runner and reads its result), and the
errors. The RL runner itself is tested in tests/rl; here it is stubbed so no PPO run is compiled."""

from __future__ import annotations

import jax
import pytest

from jaxml.defaults.bandits import rl_recsys_config
from jaxml.errors import JaxmlError
from jaxml.methods import rl_recsys
from jaxml.rl import envs, ppo

ENV, PARAMS = envs.make_env("SeqRecsys-v0")


def tiny_config():
    c = rl_recsys_config()
    c.num_seeds, c.bandit_sessions, c.eval_sessions = 2, 8, 16
    c.bandits, c.policies = ("linucb",), ("myopic",)
    return c


def test_train_hands_config_rl_to_the_runner_and_compares(tmp_path, monkeypatch):
    seen = {}

    def fake_runner(config, workdir):
        seen.update(method=config.method, env=config.env, num_seeds=config.num_seeds, workdir=workdir)
        return {"env_steps": 1234, "eval_return_per_seed": [30.0, 32.0]}
    monkeypatch.setattr(rl_recsys.runner, "train", fake_runner)
    out = rl_recsys.train(tiny_config(), tmp_path)
    assert seen == {"method": "ppo", "env": "SeqRecsys-v0", "num_seeds": 2, "workdir": tmp_path / "rl"}
    assert out["rl_return"] == 31.0 and out["rl_return_std"] == 1.0 and out["rl_env_steps"] == 1234
    assert out["rl_gain_over_linucb"] == pytest.approx(31.0 - out["linucb_return"])
    assert len(out["linucb_return_per_seed"]) == 2 and out["bandit_env_steps"] == 8 * 50
    assert 0 < out["linucb_return"] < 50 and 0 < out["linucb_learning_return"] < 50   # sessions of 50 steps
    assert out["linucb_vs_myopic"] == pytest.approx(out["linucb_return"] / out["myopic_return"])
    assert (tmp_path / "plots" / "returns.png").exists()


def test_ppo_acts_and_evaluates_on_the_env_unchanged():
    c = rl_recsys_config().rl
    c.num_envs, c.eval_episodes = 2, 4
    init, _ = ppo.make_train(c)
    state = jax.jit(init)(jax.random.key(0))
    out = jax.jit(lambda s, k: ppo.greedy_eval(c, s, k))(state, jax.random.key(1))
    assert 0 < float(out["return_mean"]) < PARAMS.session_length
    assert float(out["length_mean"]) == PARAMS.session_length


def test_errors_name_the_key_and_the_choices(tmp_path):
    c = tiny_config()
    c.bandits = ("neural_thompson",)
    with pytest.raises(JaxmlError, match="config.bandits='neural_thompson'.*epsilon_greedy, linucb, thompson"):
        rl_recsys.train(c, tmp_path)
    c = tiny_config()
    c.policies = ("oracle",)
    with pytest.raises(JaxmlError, match="config.policies='oracle'.*random, myopic"):
        rl_recsys.train(c, tmp_path)
    c = tiny_config()
    c.rl.env = "CartPole-v1"
    with pytest.raises(JaxmlError, match="config.rl.env='CartPole-v1' must be config.env='SeqRecsys-v0'"):
        rl_recsys.train(c, tmp_path)
