"""The vmapped population (core/population.py): each member equals its single run, and the
strategies' bookkeeping (successive halving, PBT exploit / explore) on hand-made scores."""

import jax
import numpy as np
import pytest

from jaxml.core import loop, population, supervised
from jaxml.defaults.classify import base_config
from jaxml.errors import JaxmlError

LRS = (1e-3, 3e-3, 1e-2)
WDS = (1e-4, 1e-3, 0.0)


def tiny_config():
    c = base_config()  # digits, MLP with dropout 0.1, AdamW, warm-up + cosine
    c.model.hidden = (16,)
    c.steps, c.batch_size, c.log_every, c.warmup_steps = 6, 16, 3, 2
    c.eval_every, c.checkpoint_every, c.tensorboard = 0, 0, False
    c.parallel.num_devices = 1  # one device compiles fastest; 8 devices = 1 is the loop's own test
    return c


@pytest.fixture(scope="module")
def setting():
    config = tiny_config()
    data = supervised.load_data(config)

    def make(cfg, tx=None):
        return supervised.make_recipe(cfg, data.train, {"test": data.test}, data.num_classes, tx=tx)

    run = population.train_population(lambda tx: make(config, tx), config,
                                      {"learning_rate": LRS, "weight_decay": WDS}, "fixed", rounds=2, select="test")
    return config, make, run


def test_each_member_equals_its_single_run(setting, tmp_path):
    config, make, run = setting
    assert run.history[0]["step"] == 3 and len(run.history) == 2
    for i in (0, 2):
        single = config.copy_and_resolve_references()
        single.learning_rate, single.weight_decay = LRS[i], WDS[i]
        state, metrics = loop.run(make(single), single, tmp_path / f"m{i}")
        member = jax.tree.map(lambda x: np.asarray(x[i]), run.state.members.params)
        for a, b in zip(jax.tree.leaves(member), jax.tree.leaves(jax.device_get(state.params))):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert run.metrics["test"]["loss"][i] == pytest.approx(metrics["test_loss"], rel=1e-5)
        assert run.metrics["test"]["accuracy"][i] == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    np.testing.assert_allclose(run.hypers["learning_rate"], LRS, rtol=1e-6)  # fixed: nothing changed


def test_members_in_groups_equal_all_members_at_once(setting):
    """member_chunk=2 over 3 members (one group of 2 and a remainder of 1, lax.map) trains the same
    parameters as the one vmap over all 3."""
    config, make, run = setting
    chunked = population.train_population(lambda tx: make(config, tx), config,
                                          {"learning_rate": LRS, "weight_decay": WDS}, "fixed", rounds=2,
                                          select="test", member_chunk=2)
    for a, b in zip(jax.tree.leaves(jax.device_get(chunked.state.members.params)),
                    jax.tree.leaves(jax.device_get(run.state.members.params))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(chunked.metrics["test"]["loss"], run.metrics["test"]["loss"], rtol=1e-5)
    with pytest.raises(JaxmlError, match="member_chunk"):
        population.train_population(lambda tx: make(config, tx), config, {"learning_rate": LRS}, "fixed",
                                    rounds=1, select="test", member_chunk=-1)


def test_exploit_copies_the_whole_state_and_sets_the_new_values(setting):
    _, _, run = setting
    decision = population.Decision(source=np.array([0, 1, 0]), hypers={"learning_rate": np.array([1e-3, 3e-3, 7e-3]),
                                                                     "weight_decay": np.array(WDS)},
                                   active=np.array([True, True, False]))
    after = population.apply_decision(run.state, decision)
    members_before = jax.tree.map(np.asarray, run.state.members)
    members_after = jax.tree.map(np.asarray, after.members)
    for a, b in zip(jax.tree.leaves(members_before.params), jax.tree.leaves(members_after.params)):
        np.testing.assert_array_equal(b[2], a[0])  # copied
        np.testing.assert_array_equal(b[1], a[1])  # kept
    inner_before = jax.tree.leaves(members_before.opt_state.inner_state)
    inner_after = jax.tree.leaves(members_after.opt_state.inner_state)
    for a, b in zip(inner_before, inner_after):  # Adam moments and counts travel with the parameters
        np.testing.assert_array_equal(b[2], a[0])
    np.testing.assert_allclose(population.hypers_of(after)["learning_rate"], [1e-3, 3e-3, 7e-3], rtol=1e-6)
    assert np.asarray(after.active).tolist() == [True, True, False]


def test_successive_halving_freezes_the_worse_half_of_the_active_members():
    opts = population.StrategyOptions(eta=2)
    hypers = {"learning_rate": np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])}
    scores = np.array([0.5, 0.9, np.nan, 0.7, 0.1, 0.8])
    d = population.halving(scores, hypers, np.ones(6, bool), None, opts)
    assert d.active.tolist() == [False, True, False, True, False, True]  # 0.9, 0.8, 0.7 go on; NaN is last
    assert d.source.tolist() == list(range(6))
    assert d.hypers["learning_rate"].tolist() == hypers["learning_rate"].tolist()
    d = population.halving(np.array([0.5, 0.2, 0.3, 0.99, 0.1, 0.4]), hypers, d.active, None, opts)
    assert d.active.tolist() == [False, False, False, True, False, False]  # ranks only the active ones
    d = population.halving(np.zeros(6), hypers, d.active, None, opts)
    assert d.active.sum() == 1  # never below one member


def test_pbt_bottom_quantile_copies_a_top_member_and_perturbs_its_values():
    opts = population.StrategyOptions(quantile=0.25, perturb=(0.8, 1.25))
    hypers = {"learning_rate": np.array([1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3, 8e-3]),
              "weight_decay": np.full(8, 1e-4)}
    scores = np.array([0.1, 0.9, 0.5, np.inf * 0, 0.6, 0.95, 0.4, 0.3])  # member 3 diverged (NaN)
    d = population.pbt(scores, hypers, np.ones(8, bool), np.random.default_rng(0), opts)
    top, bottom = {5, 1}, {0, 3}
    for i in range(8):
        if i in bottom:
            j = int(d.source[i])
            assert j in top
            for k in hypers:
                ratio = d.hypers[k][i] / hypers[k][j]
                assert min(abs(ratio - 0.8), abs(ratio - 1.25)) < 1e-6
        else:
            assert d.source[i] == i and all(d.hypers[k][i] == np.float32(hypers[k][i]) for k in hypers)
    assert d.active.all()
    only_lr = population.pbt(scores, hypers, np.ones(8, bool), np.random.default_rng(0),
                             population.StrategyOptions(explore=("learning_rate",)))
    for i in bottom:  # an unexplored value is copied as it is
        assert only_lr.hypers["weight_decay"][i] == np.float32(hypers["weight_decay"][only_lr.source[i]])
    assert population.pbt(scores[:1], {"learning_rate": hypers["learning_rate"][:1]}, np.ones(1, bool),
                          np.random.default_rng(0), opts).source.tolist() == [0]  # too few to exploit


def test_bad_population_values_are_refused():
    with pytest.raises(JaxmlError, match="'dropout' is not traced; valid: learning_rate, weight_decay"):
        population.check_hypers({"dropout": [0.1]})
    with pytest.raises(JaxmlError, match="one value per member"):
        population.check_hypers({"learning_rate": [1e-3, 2e-3], "weight_decay": [0.0]})
    with pytest.raises(JaxmlError, match="finite and positive"):
        population.check_hypers({"learning_rate": [0.0]})


def test_sweep_experiment_reports_every_member_and_each_strategy(tmp_path):
    from jaxml.defaults.sweep import base_config as sweep_config
    from jaxml.methods import sweep

    c = sweep_config()
    c.model.hidden = (16,)
    c.steps, c.batch_size, c.log_every, c.warmup_steps, c.tensorboard = 6, 16, 3, 2, False
    c.parallel.num_devices = 1
    c.sweep.learning_rates, c.sweep.strategies, c.sweep.rounds = (1e-3, 1e-2, 3e-2, 1e-1), ("fixed", "pbt"), 2
    out = sweep.train(c, tmp_path)
    assert len(out["fixed_test_accuracy_per_member"]) == 4 and out["learning_rates"] == [1e-3, 1e-2, 3e-2, 1e-1]
    assert out["fixed_median_test_accuracy"] == pytest.approx(np.median(out["fixed_test_accuracy_per_member"]))
    assert out["pbt_minus_median"] == pytest.approx(out["pbt_test_accuracy"] - out["fixed_median_test_accuracy"])
    pbt = __import__("json").loads((tmp_path / "populations" / "pbt.json").read_text())
    assert sorted(pbt["history"][0]["source"]) != list(range(4))  # one member exploited another
    assert (tmp_path / "plots" / "sweep.png").exists()
    assert sweep.train(c, tmp_path) == out  # a re-run reuses the stored populations
    for key, value, message in (("strategies", ("grid",), "'grid' is not valid; choose from fixed, halving, pbt"),
                                ("learning_rates", (1e-3, -1.0, 0.1, 0.2), "learning_rates .*finite and positive"),
                                ("quantile", 0.75, r"config.sweep.quantile=0.75 must be in \(0, 0.5\]")):
        bad = c.copy_and_resolve_references()
        bad.sweep[key] = value
        with pytest.raises(JaxmlError, match=message):
            sweep.train(bad, tmp_path)
