"""The weight EMA (`config.ema_decay`): the debiased average against a float64 loop, the training
trajectory unchanged, evaluation reads the average, a bad decay is one clear error, and a run
resumed from a checkpoint keeps the same average as an uninterrupted one."""

import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxml.core import weight_ema
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.errors import JaxmlError


def _params(rng):
    return {"w": jnp.asarray(rng.normal(size=(3, 4)), jnp.float32), "b": jnp.asarray(rng.normal(size=(4,)), jnp.float32)}


@pytest.mark.parametrize("decay", [0.5, 0.9, 0.999])
def test_debiased_average_matches_a_float64_loop_and_training_is_unchanged(decay):
    rng = np.random.default_rng(int(decay * 1000))
    params = _params(rng)
    inner = optax.adam(0.1)
    tx = weight_ema.with_weight_ema(inner, decay)
    state, plain_state = tx.init(params), inner.init(params)
    p, plain = params, params
    m64 = {k: np.zeros(np.shape(v), np.float64) for k, v in params.items()}
    for t in range(1, 13):
        grads = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape), jnp.float32), p)
        updates, state = tx.update(grads, state, p)
        plain_updates, plain_state = inner.update(grads, plain_state, plain)
        p, plain = optax.apply_updates(p, updates), optax.apply_updates(plain, plain_updates)
        for k in m64:
            m64[k] = decay * m64[k] + (1 - decay) * np.asarray(p[k], np.float64)
        jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), p, plain)
        averaged = weight_ema.eval_params(TrainState(params=p, model_state={}, opt_state=state))
        for k in m64:
            np.testing.assert_allclose(np.asarray(averaged[k]), m64[k] / (1 - decay ** t), rtol=2e-5, atol=1e-6)
    if decay == 0.5:  # a short memory: the average is near the newest weights, not the first ones
        assert np.abs(np.asarray(averaged["w"]) - np.asarray(p["w"])).max() < \
            np.abs(np.asarray(averaged["w"]) - np.asarray(params["w"])).max()


def test_before_any_step_and_without_an_average_eval_params_are_the_params():
    params = _params(np.random.default_rng(0))
    tx = weight_ema.with_weight_ema(optax.sgd(0.1), 0.9)
    fresh = TrainState(params=params, model_state={}, opt_state=tx.init(params))
    jax.tree.map(np.testing.assert_array_equal, weight_ema.eval_params(fresh), params)
    plain = TrainState(params=params, model_state={}, opt_state=optax.sgd(0.1).init(params))
    assert weight_ema.eval_params(plain) is params


def _config(**keys):
    c = ml_collections.ConfigDict({"optimizer": "adamw", "learning_rate": 1e-2, "steps": 10, "warmup_steps": 0,
                                   "schedule": "cosine", "weight_decay": 0.0, "grad_clip": 0.0})
    c.update(keys)
    return c


def test_config_switch_and_errors():
    params = _params(np.random.default_rng(1))
    assert weight_ema.find(make_optimizer(_config()).init(params)) is None
    assert weight_ema.find(make_optimizer(_config(ema_decay=0.0)).init(params)) is None
    assert weight_ema.find(make_optimizer(_config(ema_decay=0.99)).init(params)) is not None
    with pytest.raises(JaxmlError, match=r"config.ema_decay=1.0 would never move the average; choose d in \[0, 1\)"):
        make_optimizer(_config(ema_decay=1.0))
    with pytest.raises(JaxmlError, match=r"config.ema_decay must be in \[0.0, 1.0\], got -0.1"):
        make_optimizer(_config(ema_decay=-0.1))


def test_resumed_run_keeps_the_average_and_evaluation_reads_it(tmp_path):
    """8 steps straight vs the same run resumed from its step-4 checkpoint: the same final metrics
    (evaluated on the average). Without the average the evaluation differs, so it does read it."""
    import shutil

    from jaxml.core import loop, supervised
    from jaxml.defaults import classify as classify_defaults

    c = classify_defaults.base_config()
    c.update(steps=8, log_every=4, eval_every=4, checkpoint_every=4, warmup_steps=0, batch_size=32,
             tensorboard=False, ema_decay=0.7, learning_rate=0.05)
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (16,), "dropout": 0.0})
    c.parallel.num_devices = 1
    data = supervised.load_data(c)
    recipe = supervised.make_recipe(c, data.train, {"test": data.test}, data.num_classes)
    state, straight = loop.run(recipe, c, tmp_path / "straight")
    shutil.copytree(tmp_path / "straight", tmp_path / "resumed")
    shutil.rmtree(tmp_path / "resumed" / "checkpoints" / "8")
    resumed_state, resumed = loop.run(recipe, c, tmp_path / "resumed")
    assert resumed == straight
    jax.tree.map(np.testing.assert_array_equal, weight_ema.eval_params(resumed_state), weight_ema.eval_params(state))
    plain = ml_collections.ConfigDict(c.to_dict())
    plain.ema_decay = 0.0
    _, raw = loop.run(supervised.make_recipe(plain, data.train, {"test": data.test}, data.num_classes), plain,
                      tmp_path / "plain")
    rows = lambda name, split: [(r["step"], r["loss"]) for r in map(json.loads, (tmp_path / name / "metrics.jsonl")
                                                               .read_text().splitlines()) if r["split"] == split]
    assert rows("plain", "train") == rows("straight", "train")  # the same training trajectory ...
    assert raw["test_loss"] != straight["test_loss"]  # ... evaluated at other weights
