"""The spine's recipe contract on a method that is not image classification: named-array batches
with arbitrary keys through batching, resume and 8-device sharding; evaluators at the right steps,
also after a resume."""

import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxml.core import loop
from jaxml.core.steps import apply_gradients
from jaxml.core.train_state import TrainState
from jaxml.data.batching import eval_batches, train_batches
from jaxml.data.datasets import Split

pytestmark = pytest.mark.xdist_group("recipe_contract")


def ratings(n: int, seed: int) -> Split:
    """A toy recommendation split: (user, item) -> rating, with a float and two int arrays."""
    rng = np.random.default_rng(seed)
    user, item = rng.integers(0, 16, n).astype(np.int32), rng.integers(0, 12, n).astype(np.int32)
    rating = (np.sin(user) + np.cos(item) + 0.1 * rng.normal(size=n)).astype(np.float32)
    return Split(user=user, item=item, rating=rating)


def make_recipe(calls: list[int] | None = None) -> loop.Recipe:
    """Matrix factorisation, rank 4, trained with SGD on the squared error."""
    tx = optax.sgd(0.05)

    def predict(params, batch):
        return jnp.sum(params["u"][batch["user"]] * params["v"][batch["item"]], -1)

    def init(key):
        ku, kv = jax.random.split(key)
        params = {"u": 0.3 * jax.random.normal(ku, (16, 4)), "v": 0.3 * jax.random.normal(kv, (12, 4))}
        return TrainState(params=params, model_state={}, opt_state=tx.init(params))

    def train_step(state, batch, key):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean((predict(p, batch) - batch["rating"]) ** 2))(state.params)
        return apply_gradients(state, tx, grads, {"loss": loss})

    def eval_step(state, batch):
        err = (predict(state.params, batch) - batch["rating"]) ** 2
        return {"mse": jnp.sum(err * batch["mask"]), "count": jnp.sum(batch["mask"])}

    def norm_evaluator(state, key):
        if calls is not None:
            calls.append(1)
        noise = jax.random.normal(key, ())
        return {"u_norm": float(jnp.linalg.norm(state.params["u"])), "noise": float(noise)}

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=ratings(512, 0),
                       eval_splits={"test": ratings(100, 1)}, main_metric="mse", evaluators={"norms": norm_evaluator})


def config(steps: int, devices: int) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({
        "seed": 0, "steps": steps, "batch_size": 32, "eval_batch_size": 40, "log_every": 10, "eval_every": 20,
        "checkpoint_every": 20, "keep_checkpoints": 5, "tensorboard": False,
        "parallel": {"num_devices": devices}})


def test_batching_is_generic_over_the_keys():
    split = ratings(100, 0)
    batches = train_batches(split, start_step=3, num_steps=4, global_batch=16, seed=1)
    assert set(batches) == {"user", "item", "rating"}
    assert batches["user"].shape == (4, 16) and batches["rating"].dtype == np.float32
    again = train_batches(split, start_step=5, num_steps=2, global_batch=16, seed=1)
    for k in batches:  # position is a function of the step only
        np.testing.assert_array_equal(batches[k][2:], again[k])
    ev = eval_batches(split, global_batch=16, process_index=1, process_count=2)
    assert ev["mask"].shape == (7, 8) and ev["mask"].sum() == 48  # process 1: positions 8..15 of each 16; 96.. pad
    with pytest.raises(Exception, match="reserved"):
        Split(mask=np.zeros(3))
    with pytest.raises(Exception, match="disagree in length"):
        Split(a=np.zeros(3), b=np.zeros(4))


def test_eight_devices_equal_one_and_evaluators_run_at_every_eval_point(tmp_path):
    calls: list[int] = []
    state8, final8 = loop.run(make_recipe(calls), config(40, 8), tmp_path / "eight")
    state1, final1 = loop.run(make_recipe(), config(40, 1), tmp_path / "one")
    for a, b in zip(jax.tree.leaves(state8.params), jax.tree.leaves(state1.params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert final8["test_mse"] == pytest.approx(final1["test_mse"], rel=1e-5)
    assert len(calls) == 2  # steps 20 and 40
    rows = [json.loads(l) for l in (tmp_path / "eight" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["split"] == "norms"] == [20, 40]
    assert final8["norms_u_norm"] == pytest.approx(float(np.linalg.norm(np.asarray(state8.params["u"]))), rel=1e-6)


def test_evaluators_survive_a_resume(tmp_path):
    _, straight = loop.run(make_recipe(), config(60, 2), tmp_path / "straight")
    loop.run(make_recipe(), config(20, 2), tmp_path / "resumed")
    _, resumed = loop.run(make_recipe(), config(60, 2), tmp_path / "resumed")
    assert resumed == straight  # every metric, the evaluators' included (their keys are a function of the step)
    rows = [json.loads(l) for l in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["split"] == "norms"] == [20, 40, 60]
    evaluated = loop.evaluate_checkpoint(make_recipe(), config(60, 2), tmp_path / "resumed")
    assert evaluated["step"] == 60 and evaluated["norms_u_norm"] == pytest.approx(straight["norms_u_norm"])
