"""Architecture search: the search space and both searches (on a synthetic fitness), the candidate
network against models.CNN/MLP, FLOP counts against XLA, vmapped group training against one by one,
and a tiny search on digits end to end (with resume)."""

import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxml.core import profiling
from jaxml.data.datasets import load_dataset, split_validation
from jaxml.defaults import nas as nas_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import nas
from jaxml.models import CNN, MLP
from jaxml.models.candidate import CandidateNet, forward_flops


def space_config(**kw):
    c = nas_defaults.base_config().nas
    for k, v in kw.items():
        c[k] = v
    return c


def test_samples_and_mutations_stay_in_the_space_and_change_one_gene():
    cfg = space_config()
    space = nas.Space(cfg)
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = space.sample(rng)
        assert a.family in cfg.families and a.depth in cfg.depths and a.width in cfg.widths
        assert a.activation in cfg.activations and (a.kernel in cfg.kernel_sizes if a.family == "cnn" else a.kernel == 0)
        b = space.mutate(a, rng)
        changed = {k for k in a.to_dict() if getattr(a, k) != getattr(b, k)}
        assert len(changed) == 1 or ("family" in changed and changed <= {"family", "kernel"})
        assert b.kernel in cfg.kernel_sizes if b.family == "cnn" else b.kernel == 0


def run_synthetic(search_cls, seed, cfg, target):
    """Fitness = -(number of genes differing from `target`): no training involved."""
    s = search_cls(nas.Space(cfg), seed, cfg)
    for g in range(int(cfg.generations) + 1):
        archs = s.propose(g)
        s.observe(archs, [-sum(getattr(a, k) != getattr(target, k) for k in ("family", "depth", "width", "kernel",
                                                                             "activation")) for a in archs])
        if isinstance(s, nas.Evolution):
            assert len(s.population) <= int(cfg.population)
    return s


def test_evolution_exploits_and_ages_while_random_search_does_not():
    cfg = space_config(population=6, sample=3, children=3, generations=12)
    target = nas.Arch("cnn", 3, 32, 5, "gelu")
    evo = [run_synthetic(nas.Evolution, s, cfg, target) for s in range(10)]
    rnd = [run_synthetic(nas.RandomSearch, s, cfg, target) for s in range(10)]
    assert all(len(e.history) == len(r.history) == 6 + 3 * 12 for e, r in zip(evo, rnd))
    assert [a for a, _ in evo[0].history[:6]] == [a for a, _ in rnd[0].history[:6]]  # same initial population
    assert [a for a, _ in evo[0].population] == [a for a, _ in evo[0].history[-6:]]  # the oldest left first
    best = lambda s: max(f for _, f in s.history)
    assert np.mean([best(e) for e in evo]) > np.mean([best(r) for r in rnd])


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(1)
    pts = [(float(c), float(a)) for c, a in zip(rng.integers(1, 50, 60), rng.random(60))]
    front = nas.pareto_front(pts)
    brute = [i for i, (c, a) in enumerate(pts)
             if not any((c2 <= c and a2 >= a) and (c2, a2) != (c, a) for c2, a2 in pts)]
    assert sorted(front) == sorted(brute)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_candidate_is_the_same_network_as_the_classify_model_it_reports(activation):
    acts = ("relu", "gelu", "silu", "tanh")
    x = jax.random.normal(jax.random.key(0), (4, 12, 12, 1))
    for arch in (nas.Arch("cnn", 2, 4, 5, activation), nas.Arch("mlp", 2, 3, 0, activation)):
        cand = CandidateNet(10, family=arch.family, depth=arch.depth, width=arch.width * (8 if arch.family == "mlp" else 1),
                            kernel_size=arch.kernel or 3, activations=acts)
        params = cand.init(jax.random.key(1), x, jnp.int32(0))["params"]
        spec = nas.best_model_config(arch, ml_collections.ConfigDict({"mlp_width_multiplier": 8}))
        name = spec.pop("name")
        spec = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
        ref = (CNN if name == "cnn" else MLP)(10, **spec)
        assert jax.tree.map(jnp.shape, ref.init(jax.random.key(1), x, train=False)["params"]) == jax.tree.map(jnp.shape, params)
        np.testing.assert_allclose(cand.apply({"params": params}, x, jnp.int32(acts.index(activation))),
                                   ref.apply({"params": params}, x, train=False), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("family,depth,width,kernel", [("cnn", 2, 8, 3), ("cnn", 1, 4, 5), ("mlp", 2, 32, 0)])
def test_forward_flops_agree_with_xla_cost_analysis(family, depth, width, kernel):
    model = CandidateNet(10, family=family, depth=depth, width=width, kernel_size=kernel or 3, activations=("relu",))
    x = jnp.zeros((1, 16, 16, 1))
    params = model.init(jax.random.key(0), x, jnp.int32(0))
    compiled = jax.jit(lambda p, x: model.apply(p, x, jnp.int32(0))).lower(params, x).compile()
    xla = profiling.compiled_flops(compiled)
    ours = forward_flops(family, depth, width, kernel or 3, (16, 16, 1), 10)
    assert ours <= xla <= 1.3 * ours  # XLA also counts bias adds, activations and pooling


def tiny(**kw):
    c = nas_defaults.base_config()
    c.steps = 60
    c.log_every = 30
    c.learning_rate = 1e-2
    c.warmup_steps = 5
    c.batch_size = 64
    c.tensorboard = False
    c.parallel.num_devices = 2
    c.nas.families = ("cnn", "mlp")
    c.nas.depths = (1,)
    c.nas.widths = (4, 8)
    c.nas.kernel_sizes = (3,)
    c.nas.activations = ("relu", "tanh")
    c.nas.population = 3
    c.nas.sample = 2
    c.nas.children = 2
    c.nas.generations = 1
    c.nas.search_seeds = 2
    c.nas.validation_examples = 200
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_vmapped_group_training_equals_training_one_by_one(tmp_path):
    c = tiny()
    data = load_dataset("digits")
    train, val = split_validation(data.train, 0.15, 0)
    trainer = nas.Trainer(c, tmp_path, train, val, data.test, 10)
    archs = [nas.Arch("cnn", 1, 4, 3, "relu"), nas.Arch("cnn", 1, 4, 3, "tanh")]
    together = trainer.train_all(archs, vmapped=True)
    alone = trainer.train_all(archs, vmapped=False)
    assert trainer.calls == 3  # one call for the group, then one per candidate
    for t, a in zip(together, alone):
        assert t["activation"] == a["activation"] and t["params"] == a["params"] == 4 * 9 + 4 + 4 * 4 * 4 * 10 + 10
        assert abs(t["val_accuracy"] - a["val_accuracy"]) <= 2 / len(val) and t["val_accuracy"] > 0.3
    assert together[0]["val_accuracy"] != together[1]["val_accuracy"] or together[0]["test_accuracy"] != together[1]["test_accuracy"]


def test_search_on_digits_reports_both_methods_and_resumes(tmp_path):
    r = nas.train(tiny(), tmp_path)
    assert r["candidate_trainings"] == 3 + 2 * 1 and r["search_seeds"] == 2
    assert len(r["evolution_best_val_accuracy_per_seed"]) == len(r["random_best_val_accuracy_per_seed"]) == 2
    assert 0 <= r["evolution_wins"] <= 2 and 0.3 < r["test_accuracy"] <= 1
    assert r["best_architecture"]["name"] in ("cnn", "mlp") and r["params"] > 0 and r["flops"] > 0
    assert r["unique_trainings"] == r["trainings_this_run"] <= 2 * 2 * (3 + 2)
    assert (tmp_path / "plots" / "pareto.png").exists() and (tmp_path / "plots" / "learning_curve.png").exists()
    assert json.loads((tmp_path / "best_architecture.json").read_text()) == r["best_architecture"]
    again = nas.train(tiny(), tmp_path)  # every candidate is in candidates.jsonl: nothing is retrained
    assert again["trainings_this_run"] == 0 and again["evolution_best_val_accuracy"] == r["evolution_best_val_accuracy"]


@pytest.mark.parametrize("key,value", [("families", ("cnn", "rnn")), ("activations", ("relu", "swish")),
                                             ("sample", 9), ("widths", ())])
def test_bad_search_space_is_one_clear_error(tmp_path, key, value):
    c = tiny()
    c.nas[key] = value
    with pytest.raises(JaxmlError, match=f"config.nas.{key}"):
        nas.train(c, tmp_path)
