"""Data parallelism: 8 fake CPU devices == 1 device (also with dropout, augmentation, mixup and
BatchNorm); 2 processes == 1 process."""

import json
import socket
import subprocess

import chex
import jax
import numpy as np
import pytest

from conftest import REPO, cli_env, jaxml_cmd
from jaxml import cli
from jaxml.core import loop, parallel
from jaxml.data.datasets import load_dataset
from jaxml.errors import JaxmlError
from jaxml.core.supervised import make_recipe
from jaxml.defaults.classify import base_config

pytestmark = pytest.mark.xdist_group("parallel")


def small_config(num_devices, steps=20):
    c = base_config()
    # dropout, mixup, BatchNorm and per-example augmentation: the step sees the whole global batch, so
    # every random draw and every batch statistic is the same whatever the device count
    c.model = dict(name="cnn", features=(8, 16), dense=(32,), batch_norm=True, dropout=0.2)
    c.augment.shift = 1
    c.augment.flip = True
    c.augment.noise = 0.05
    c.augment.mixup_alpha = 0.2
    c.learning_rate = 3e-3
    c.warmup_steps = 5
    c.steps = steps
    c.batch_size = 64
    c.eval_batch_size = 120
    c.log_every = 10
    c.eval_every = steps
    c.checkpoint_every = 0
    c.tensorboard = False
    c.parallel.num_devices = num_devices
    return c


def train(tmp_path, name, **kw):
    data = load_dataset("digits")
    config = small_config(**kw)
    recipe = make_recipe(config, data.train, {"test": data.test}, data.num_classes)
    state, metrics = loop.run(recipe, config, tmp_path / name)
    return jax.device_get(state), metrics


def assert_trees_close(a, b, rtol):
    """Same tree structure, and every leaf of `a` within rtol x (the largest |value| of that leaf of `b`)."""
    chex.assert_trees_all_equal_structs(a, b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        chex.assert_trees_all_close(x, y, rtol=0.0, atol=rtol * max(float(np.abs(np.asarray(y)).max()), 1e-6))


def test_eight_devices_equal_one_device(tmp_path):
    assert jax.device_count() == 8
    one, m1 = train(tmp_path, "one", num_devices=1)
    eight, m8 = train(tmp_path, "eight", num_devices=8)
    # float reassociation only: same dropout masks, mixup pairs, augmentations and batch statistics
    assert_trees_close(eight.params, one.params, 1e-5)
    assert_trees_close(eight.model_state, one.model_state, 1e-5)  # global-batch BatchNorm statistics
    assert_trees_close(eight.opt_state, one.opt_state, 1e-5)
    assert abs(m1["test_accuracy"] - m8["test_accuracy"]) < 1e-6
    # and training changed the parameters (the comparison is not between two initial states)
    init = jax.device_get(make_recipe(small_config(1), load_dataset("digits").train, {}, 10).init(loop.init_key(0)))
    assert max(np.abs(np.asarray(a) - np.asarray(b)).max()
               for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(init.params))) > 1e-2


def test_batches_are_global_arrays_sharded_over_data():
    mesh = parallel.make_mesh(8)
    x = parallel.shard_batch(np.arange(16, dtype=np.float32), mesh)
    assert x.sharding.spec == parallel.batch_spec(0)
    assert float(jax.jit(lambda w, x: w * x.sum())(np.float32(2.0), x)) == pytest.approx(2 * np.arange(16).sum())


def test_batch_not_divisible_by_devices_is_a_clear_error():
    with pytest.raises(JaxmlError, match="divisible by the 8 devices"):
        parallel.check_batch_size(12, parallel.make_mesh(8))
    with pytest.raises(JaxmlError, match="only 8 devices"):
        parallel.make_mesh(16)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_losses(workdir):
    rows = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
    return np.array([r["loss"] for r in rows if r["split"] == "train"])


COMMON = ["--config.steps=12", "--config.log_every=2", "--config.eval_every=12", "--config.checkpoint_every=6",
          "--config.batch_size=64", "--config.model.dropout=0.0", "--config.tensorboard=false"]
# the char GPT, tiny, with parameters and optimizer state sharded over all 4 devices (FSDP)
GPT_FSDP = ["--config.steps=6", "--config.log_every=2", "--config.eval_every=6", "--config.checkpoint_every=4",
            "--config.batch_size=16", "--config.eval_batch_size=64", "--config.corpus=stdlib",
            "--config.max_chars=20000", "--config.seq_len=16", "--config.model.num_layers=1",
            "--config.model.embed_dim=32", "--config.model.num_heads=2", "--config.model.dropout=0.1",
            "--config.sample.num_chars=0", "--config.attention_text=", "--config.tensorboard=false",
            "--config.parallel.fsdp=4"]


FOUR = ("--config.parallel.num_devices=4",)  # the one-process run's 4 of this process's 8 devices


def two_processes_and_one(tmp_path, experiment, args, single_args=()):
    """Train `experiment` as 2 processes x 2 fake devices (gloo collectives) and as 1 process x 4 devices.

    The one-process run is this test process itself on 4 of its 8 devices (`single_args` restricts it
    to them where `args` do not), while the two others run: the same programs as a 4-device process
    compiles, without a third interpreter's start-up."""
    port = free_port()
    multi = tmp_path / "multi"
    procs = []
    for pid in range(2):
        env = cli_env(2, JAXML_DISTRIBUTED="1", JAXML_COORDINATOR_ADDRESS=f"127.0.0.1:{port}",
                      JAXML_NUM_PROCESSES="2", JAXML_PROCESS_ID=str(pid))
        procs.append(subprocess.Popen(jaxml_cmd("train", experiment, "--workdir", str(multi), *args),
                                      cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    single = tmp_path / "single"
    try:
        rc = cli.main(["train", experiment, "--workdir", str(single), *args, *single_args])
    finally:
        outs = [p.communicate(timeout=240)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
    assert rc == 0
    return multi, single


def test_two_processes_on_loopback_equal_one_process(tmp_path):
    """2 processes x 2 fake devices (gloo collectives) give the loss curve of 1 process x 4 devices."""
    multi, single = two_processes_and_one(tmp_path, "mlp_digits", COMMON, FOUR)
    multi_losses, single_losses = train_losses(multi), train_losses(single)
    assert len(multi_losses) == len(single_losses) == 6
    np.testing.assert_allclose(multi_losses, single_losses, rtol=1e-5)
    result = json.loads((multi / "result.json").read_text())
    assert result["devices"] == "cpu x4"


def test_two_processes_fsdp_on_loopback_equal_one_process(tmp_path):
    """The same for the char GPT with FSDP over the 4 devices of both processes (sharded checkpoints too)."""
    multi, single = two_processes_and_one(tmp_path, "gpt_kjv", GPT_FSDP, FOUR)
    multi_losses, single_losses = train_losses(multi), train_losses(single)
    assert len(multi_losses) == len(single_losses) == 3
    np.testing.assert_allclose(multi_losses, single_losses, rtol=1e-5)
    a, b = (json.loads((w / "result.json").read_text()) for w in (multi, single))
    assert a["devices"] == "cpu x4" and a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
    assert sorted(int(p.name) for p in (multi / "checkpoints").iterdir() if p.name.isdigit()) == [4, 6]


RL_SEED_MESH = ["--config.num_seeds=4", "--config.parallel.seed_devices=4", "--config.eval_episodes=2",
                "--config.tensorboard=false"]
RL_TINY = {"dqn_cartpole": ["--config.total_env_steps=1200", "--config.eval_every=600", "--config.learning_starts=300",
                            "--config.buffer_size=600", "--config.hidden=(16,)"],
           "ppo_cartpole": ["--config.num_envs=4", "--config.num_steps=16", "--config.num_minibatches=2",
                            "--config.update_epochs=1", "--config.total_env_steps=512", "--config.eval_every=256",
                            "--config.hidden=(16,)"]}


@pytest.mark.parametrize("experiment", sorted(RL_TINY))
def test_two_processes_rl_seed_mesh_equal_one_process(tmp_path, experiment):
    """RL seeds over the 4 devices of 2 processes (gloo; `parallel.seed_devices=4`) give the per-seed
    eval returns and every logged metric of 1 process x 4 devices."""
    multi, single = two_processes_and_one(tmp_path, experiment, RL_TINY[experiment] + RL_SEED_MESH)
    a, b = (json.loads((w / "result.json").read_text()) for w in (multi, single))
    assert a["devices"] == b["devices"] == "cpu x4" and len(a["eval_return_per_seed"]) == 4
    assert a["eval_return_per_seed"] == b["eval_return_per_seed"]
    rows = [[json.loads(l) for l in (w / "metrics.jsonl").read_text().splitlines()] for w in (multi, single)]
    assert len(rows[0]) == len(rows[1]) == 4
    for ra, rb in zip(*rows):
        assert ra.keys() == rb.keys() and ra["step"] == rb["step"]
        for k, v in ra.items():
            if isinstance(v, float):
                assert v == pytest.approx(rb[k], rel=1e-6, abs=1e-7), k
