"""The run skeleton's failure paths for an RL agent, as the user meets them: `jaxml train
reinforce_cartpole --workdir ...` (in-process) on a workdir with good checkpoints. A non-finite loss
is one error line naming the learning rate and leaves the checkpoints as they were; an unreadable
newest checkpoint is one warning line, moved aside, and the run resumes from the one before it.
(SIGTERM, where the process boundary is the point, is in test_runner.py.)"""

import shutil
from pathlib import Path

import jax
import numpy as np
import pytest

from conftest import workdir_snapshot
from jaxml import cli
from jaxml.core.checkpoint import Checkpointer

pytestmark = pytest.mark.xdist_group("rl_reliability")

# 2 envs x 10 steps = 20 env steps per iteration, 2 iterations per chunk: checkpoints at 40 and 80
TINY = ["--config.num_envs=2", "--config.num_steps=10", "--config.eval_every=40", "--config.total_env_steps=80",
        "--config.num_seeds=1", "--config.hidden=(8,)", "--config.eval_episodes=1", "--config.tensorboard=false"]


def train(workdir, *extra) -> int:
    return cli.main(["train", "reinforce_cartpole", "--workdir", str(workdir), *TINY, *extra])


def state_at(workdir: Path, step: int):
    ckpt = Checkpointer(workdir)
    try:
        return ckpt.manager.restore(step)
    finally:
        ckpt.close()


def leaves(state) -> list[np.ndarray]:
    plain = lambda x: jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x
    return [np.asarray(plain(x)) for x in jax.tree.leaves(state)]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("finished") / "w"
    assert train(workdir) == 0
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir() if p.name.isdigit()) == ["40", "80"]
    return workdir


@pytest.fixture
def workdir(finished, tmp_path) -> Path:
    copy = tmp_path / "w"
    shutil.copytree(finished, copy)
    return copy


def test_a_non_finite_loss_is_one_line_naming_the_learning_rate_and_keeps_the_checkpoints(workdir, capsys):
    before = workdir_snapshot(workdir)
    capsys.readouterr()
    # resumed at 80 with an absurd rate: the chunk's first update (80 -> 100) blows the weights up, so the
    # loss of its second iteration (env step 120) is not finite, and the chunk must not be saved
    assert train(workdir, "--config.total_env_steps=160", "--config.learning_rate=1e30") == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out, captured.err
    lines = [l for l in captured.err.splitlines() if l.strip() and not l.startswith("[jaxml]")]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("jaxml: error: non-finite loss at env step 120"), lines[0]
    assert "env step 80) is intact" in lines[0] and "config.learning_rate (now 1e+30)" in lines[0], lines[0]
    assert workdir_snapshot(workdir) == before


def test_an_unreadable_newest_checkpoint_is_one_warning_and_the_run_resumes_from_the_one_before(
        workdir, finished, capsys):
    for f in (workdir / "checkpoints" / "80").rglob("*"):
        if f.is_file() and f.parent.name == "d":  # the array data
            f.write_bytes(b"garbage")
    capsys.readouterr()
    assert train(workdir, "--config.total_env_steps=120") == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert len([l for l in err.splitlines() if "is unreadable" in l]) == 1, err
    assert "resumed from" in err and "at env step 40" in err, err
    assert (workdir / "checkpoints_unreadable" / "80").is_dir()
    # the step 80 it trained again equals the one that was lost, bit for bit
    for a, b in zip(leaves(state_at(finished, 80)), leaves(state_at(workdir, 80)), strict=True):
        np.testing.assert_array_equal(a, b)
