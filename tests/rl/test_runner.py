"""The RL runner: seeds vmapped, eval logging, result.json, resume equal to an uninterrupted run."""

import json
import signal
import subprocess
import time

import jax
import numpy as np
import pytest

from conftest import REPO, cli_env, jaxml_cmd
from jaxml.core.checkpoint import Checkpointer

pytestmark = pytest.mark.xdist_group("rl_runner")

SMALL = ["--config.total_env_steps=8000", "--config.eval_every=2000", "--config.num_seeds=2",
         "--config.learning_starts=1000", "--config.buffer_size=2000", "--config.tensorboard=false",
         "--config.eval_episodes=4", "--config.keep_checkpoints=10"]


def run(workdir, *extra):
    return subprocess.run(jaxml_cmd("train", "dqn_cartpole", "--workdir", str(workdir), *SMALL, *extra), cwd=REPO,
                          env=cli_env(1), capture_output=True, text=True, timeout=300)


def plain(x):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        x = jax.random.key_data(x)
    return np.asarray(x)


def final_state(workdir):
    ckpt = Checkpointer(workdir)
    state = ckpt.manager.restore(ckpt.latest_step())
    ckpt.close()
    return state


def test_dqn_runner_result_and_resume_equals_uninterrupted(tmp_path):
    straight = tmp_path / "straight"
    out = run(straight)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((straight / "result.json").read_text())
    assert result["env_steps"] == 8000 and result["num_seeds"] == 2
    assert len(result["eval_return_per_seed"]) == 2
    assert result["eval_return"] == pytest.approx(np.mean(result["eval_return_per_seed"]), rel=1e-5)
    evals = [json.loads(l) for l in (straight / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in evals if r["split"] == "eval"]
    assert [r["step"] for r in evals] == [2000, 4000, 6000, 8000]
    assert result["eval_auc"] == pytest.approx(np.mean([r["return_mean"] for r in evals]), rel=1e-5)
    assert (straight / "plots" / "learning_curve.png").exists()

    # SIGTERM after the first checkpoint (honoured at the next chunk boundary), resume, SIGKILL after a
    # later checkpoint, resume again: the final parameters, buffer and env states and the eval returns
    # equal the uninterrupted run's, bit for bit
    resumed = tmp_path / "resumed"

    def start_and_wait_for(checkpoint):
        proc = subprocess.Popen(jaxml_cmd("train", "dqn_cartpole", "--workdir", str(resumed), *SMALL), cwd=REPO,
                                env=cli_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.time()
        while not (resumed / "checkpoints" / str(checkpoint)).exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.time() - t0 < 200
            time.sleep(0.05)
        return proc

    proc = start_and_wait_for(2000)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=200)
    assert proc.returncode == 0, err[-3000:]
    assert "SIGTERM: saved a checkpoint at env step" in err
    assert not (resumed / "result.json").exists()
    # then a hard kill (no chance to clean up) once the resumed run wrote its next checkpoint
    proc = start_and_wait_for(4000)
    proc.kill()
    proc.communicate(timeout=200)
    assert not (resumed / "result.json").exists()
    out = run(resumed)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "resumed from" in out.stderr
    a, b = final_state(straight), final_state(resumed)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(plain(x), plain(y))
    assert json.loads((resumed / "result.json").read_text())["eval_return_per_seed"] == result["eval_return_per_seed"]


def test_bad_eval_every_is_a_clear_error(tmp_path):
    out = run(tmp_path / "bad", "--config.eval_every=2500")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("jaxml: error: config.eval_every=2500 must be")


def test_results_table_lists_every_seed_and_counts_hits():
    from jaxml.core import reproduce
    rec = {"experiment": "x_rl", "eval_return": 470.0, "eval_return_per_seed": [500.0, 480.0, 370.0],
           "eval_auc": 321.5, "env_steps": 500_000,
           "expected": {"metric": "eval_return", "at_least": 475}}
    text = reproduce.render([rec])
    row = [l for l in text.splitlines() if l.startswith("| x_rl | 500,000")]
    assert row == ["| x_rl | 500,000 | 2/3 | 500.0, 480.0, 370.0 | 321.5 |"]


def test_eval_row_keeps_the_seed_spread():
    from jaxml.rl.runner import eval_summary
    row = eval_summary({"return_mean": np.array([1.0, 3.0]), "return_std": np.array([10.0, 20.0]),
                        "returns": np.zeros((2, 4)), "length_mean": np.array([5.0, 7.0])})
    assert row["return_mean"] == 2.0 and row["return_std"] == 1.0 and row["return_per_seed"] == [1.0, 3.0]
    assert row["episode_return_std"] == 15.0 and row["length_mean"] == 6.0 and "returns" not in row


def test_seed_loop_equals_vmapped_seeds(tmp_path):
    """config.seed_loop runs the seeds one after another through an unbatched program: same per-seed
    eval returns and final states as the vmapped run."""
    from jaxml import experiments
    from jaxml.rl import runner

    small = ["--config.total_env_steps=20000", "--config.eval_every=10000", "--config.num_seeds=3",
             "--config.tensorboard=false"]
    results, states = {}, {}
    for loop in (False, True):
        _, config = experiments.load_experiment_config("qlearning_frozenlake", small + [f"--config.seed_loop={loop}"])
        results[loop] = runner.train(config, tmp_path / str(loop))
        states[loop] = final_state(tmp_path / str(loop))
    assert results[True]["eval_return_per_seed"] == results[False]["eval_return_per_seed"]
    assert len(set(results[True]["eval_return_per_seed"])) > 1 or results[True]["eval_return"] > 0
    for a, b in zip(jax.tree.leaves(states[False]), jax.tree.leaves(states[True])):
        np.testing.assert_allclose(plain(a), plain(b), rtol=1e-6, atol=1e-6)


def test_seed_mesh_equals_one_device(tmp_path):
    """config.parallel.seed_devices=2 spreads 4 seeds over 2 devices (2 each): the same per-seed eval
    returns and final states as 4 seeds vmapped on one device (states to float rounding: XLA orders a
    few reductions differently for a batch of 2 than of 4); a bad split is one clear line."""
    from jaxml import experiments
    from jaxml.errors import JaxmlError
    from jaxml.rl import runner

    small = ["--config.total_env_steps=3000", "--config.eval_every=1500", "--config.num_seeds=4",
             "--config.learning_starts=500", "--config.buffer_size=1000", "--config.eval_episodes=2",
             "--config.tensorboard=false"]
    results, states = {}, {}
    for devices in (1, 2):
        _, config = experiments.load_experiment_config(
            "dqn_cartpole", small + [f"--config.parallel.seed_devices={devices}"])
        results[devices] = runner.train(config, tmp_path / str(devices))
        states[devices] = final_state(tmp_path / str(devices))
    assert results[2]["eval_return_per_seed"] == results[1]["eval_return_per_seed"]
    assert results[2]["eval_auc"] == results[1]["eval_auc"]
    for a, b in zip(jax.tree.leaves(states[1]), jax.tree.leaves(states[2])):
        np.testing.assert_allclose(plain(a), plain(b), rtol=1e-5, atol=1e-6)
    _, config = experiments.load_experiment_config("dqn_cartpole", small + ["--config.parallel.seed_devices=3"])
    with pytest.raises(JaxmlError, match="seed_devices=3 must divide config.num_seeds=4"):
        runner.train(config, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
