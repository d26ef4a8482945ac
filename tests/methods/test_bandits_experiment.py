"""A tiny regret run of the bandit experiment (`jaxml/methods/bandits.py`) and its errors."""

from __future__ import annotations

import pytest

from jaxml.defaults.bandits import bandit_config
from jaxml.errors import JaxmlError
from jaxml.methods import bandits


def test_a_tiny_run_linucb_and_thompson_beat_epsilon_greedy(tmp_path):
    c = bandit_config()
    c.horizon, c.num_seeds, c.num_arms, c.context_dim = 300, 2, 4, 3
    out = bandits.train(c, tmp_path)
    assert out["linucb_regret"] < out["epsilon_greedy_regret"] and out["thompson_regret"] < out["epsilon_greedy_regret"]
    assert len(out["linucb_regret_per_seed"]) == 2 and out["linucb_regret_exponent"] < 1.0
    assert (tmp_path / "plots" / "regret.png").exists()
    c.agents = ("ucb1",)
    with pytest.raises(JaxmlError, match="config.agents='ucb1'.*epsilon_greedy, linucb, thompson"):
        bandits.train(c, tmp_path)
    c.agents, c.regret_baseline = ("linucb",), "epsilon_greedy"
    with pytest.raises(JaxmlError, match="config.regret_baseline='epsilon_greedy'.*choose one of config.agents: linucb"):
        bandits.train(c, tmp_path)
