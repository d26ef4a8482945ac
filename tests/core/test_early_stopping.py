"""Early stopping with restore-best on a recipe whose validation loss is known at every step:
(w - 3)^2 with w the step count, best at step 3 and worse after it."""

import json
import shutil

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxml.core import early_stopping, loop
from jaxml.core.checkpoint import Checkpointer
from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError


def config(**stopping):
    c = ml_collections.ConfigDict({
        "method": "counter", "seed": 0, "steps": 8, "batch_size": 8, "log_every": 1, "eval_every": 1,
        "checkpoint_every": 1, "keep_checkpoints": 2, "tensorboard": False,
        "parallel": {"num_devices": 1},
        "early_stopping": {"metric": "val_loss", "mode": "min", "patience": 0, "min_delta": 0.0}})
    c.early_stopping.update(stopping)
    return c


def counter_recipe():
    """State {"w": steps taken}; val_loss = (w - 3)^2, val_w = w."""
    def train_step(state, batch, key):
        return {"w": state["w"] + 1.0}, {"loss": jnp.float32(0.0)}

    def eval_step(state, batch):
        count = jnp.sum(batch["mask"])
        return {"loss": (state["w"] - 3.0) ** 2 * count, "w": state["w"] * count, "count": count}

    split = Split(x=np.zeros((8, 1), np.float32))
    return loop.Recipe(init=lambda key: {"w": jnp.float32(0.0)}, train_step=train_step, eval_step=eval_step,
                       train_split=split, eval_splits={"val": split}, main_metric="loss")


@pytest.fixture(scope="module")
def recipe():
    return counter_recipe()


@pytest.fixture(scope="module")
def full_run(recipe, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("full")
    state, final = loop.run(recipe, config(), workdir)
    return workdir, state, final


def test_restore_best_returns_the_best_checkpoint_after_later_worse_ones(full_run):
    workdir, state, final = full_run
    assert float(state["w"]) == 3.0  # the state of the best evaluation, not of step 8 (w = 8, loss 25)
    assert final["best_step"] == 3 and final["val_loss"] == 0.0 and final["val_w"] == 3.0 and final["steps"] == 8
    # rotation kept the newest two checkpoints; the best lives beside them and was never deleted
    assert Checkpointer(workdir, create=False).steps() == [7, 8]
    assert Checkpointer(workdir, create=False, directory=early_stopping.BEST_DIR).steps() == [3]
    history = json.loads((workdir / early_stopping.HISTORY_NAME).read_text())["history"]
    assert history == [[s, float((s - 3) ** 2)] for s in range(1, 9)]


def test_patience_stops_and_a_rerun_stays_stopped(recipe, tmp_path):
    state, final = loop.run(recipe, config(patience=2), tmp_path)
    assert final["steps"] == 5 and final["best_step"] == 3 and float(state["w"]) == 3.0
    again_state, again = loop.run(recipe, config(patience=2), tmp_path)  # resumes at 5: already stopped
    assert again == final and float(again_state["w"]) == 3.0


def test_killed_run_resumed_keeps_the_same_best(recipe, full_run, tmp_path):
    """Killed after step 6's checkpoint, with the history already holding later evaluations: the
    resumed run cuts the history at its checkpoint and ends as the uninterrupted run did."""
    workdir, _, final = full_run
    killed = tmp_path / "killed"
    shutil.copytree(workdir, killed)
    for step in (7, 8):
        shutil.rmtree(killed / "checkpoints" / str(step))
    # the newest-N rotation deleted step 6 in the full run: a run to step 6 makes its checkpoint
    partial = tmp_path / "partial"
    c6 = config()
    c6.steps = 6
    loop.run(recipe, c6, partial)
    shutil.rmtree(killed / "checkpoints")
    shutil.copytree(partial / "checkpoints", killed / "checkpoints")
    state, resumed = loop.run(recipe, config(), killed)
    assert resumed == final and float(state["w"]) == 3.0
    assert (json.loads((killed / early_stopping.HISTORY_NAME).read_text()) ==
            json.loads((workdir / early_stopping.HISTORY_NAME).read_text()))
    assert Checkpointer(killed, create=False, directory=early_stopping.BEST_DIR).steps() == [3]


def test_a_bad_metric_name_is_one_error_naming_the_valid_ones(recipe, tmp_path):
    with pytest.raises(JaxmlError, match=r"config.early_stopping.metric='val_accuracy' is not a validation metric "
                                         r"of this run; choose one of val_loss, val_w$"):
        loop.run(recipe, config(metric="val_accuracy"), tmp_path / "bad")
    with pytest.raises(JaxmlError, match="config.early_stopping.mode='lowest' is not valid; choose one of min, max"):
        early_stopping.Rule.from_config(config(mode="lowest"))
    assert early_stopping.Rule.from_config(config(metric="")) is None


def test_summary_modes_and_min_delta():
    rule = early_stopping.Rule("m", "max", patience=2, min_delta=0.1)
    s = early_stopping.summarize(rule, [(1, 0.5), (2, 0.55), (3, 0.7), (4, 0.75), (5, 0.79)])
    assert (s.best_step, s.best_value, s.since_best, s.stop) == (3, 0.7, 2, True)
    s = early_stopping.summarize(early_stopping.Rule("m", "min"), [(1, 2.0), (2, 1.0), (3, 1.5)])
    assert (s.best_step, s.since_best, s.stop) == (2, 1, False)  # patience 0: never stops
