"""XLA:CPU's concurrency-optimised scheduler (it wedged vmapped PPO runs) is turned off by the `jaxml`
command and `apply_xla_workarounds`, unless XLA_FLAGS already names that flag; `import jaxml` leaves
the environment alone."""

import os
import subprocess
import sys

import pytest

from conftest import REPO
from jaxml import cli
from jaxml.core.platform import CPU_SCHEDULER_FLAG, apply_xla_workarounds, with_xla_workarounds

OFF = f"{CPU_SCHEDULER_FLAG}=false"


def test_import_jaxml_leaves_xla_flags_alone():
    """A fresh process (the import runs once per process): importing jaxml and its CLI module sets nothing."""
    probe = "import os, jaxml, jaxml.cli; print(repr(os.environ.get('XLA_FLAGS')))"
    for flags in (None, "--xla_force_host_platform_device_count=2"):
        env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
        if flags is not None:
            env["XLA_FLAGS"] = flags
        out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=120, check=True)
        assert out.stdout.strip().splitlines()[-1] == repr(flags)


def test_xla_accepts_the_flag_when_it_creates_its_backend():
    """XLA parses XLA_FLAGS once per process and aborts on a flag it does not know, so a fresh process
    checks that this jaxlib still has the flag."""
    probe = ("import os; from jaxml.core.platform import apply_xla_workarounds; apply_xla_workarounds(); "
             "import jax; jax.numpy.zeros(1).block_until_ready(); print(os.environ['XLA_FLAGS'])")
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == OFF


@pytest.mark.parametrize("before,after", [
    (None, OFF),
    ("", OFF),
    ("--xla_force_host_platform_device_count=2", f"--xla_force_host_platform_device_count=2 {OFF}"),
    (f"{CPU_SCHEDULER_FLAG}=true", f"{CPU_SCHEDULER_FLAG}=true"),  # the user's own setting wins
    (OFF, OFF),  # applying twice adds nothing
])
def test_apply_sets_the_flag_unless_xla_flags_names_it(before, after):
    env = {} if before is None else {"XLA_FLAGS": before}
    assert apply_xla_workarounds(env) == after
    assert env["XLA_FLAGS"] == after
    assert with_xla_workarounds(after) == after


def test_cli_main_applies_the_workarounds(monkeypatch, capsys):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    assert cli.main(["list"]) == 0
    assert os.environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count=2 {OFF}"
    monkeypatch.setenv("XLA_FLAGS", f"{CPU_SCHEDULER_FLAG}=true")
    assert cli.main(["list"]) == 0
    assert os.environ["XLA_FLAGS"] == f"{CPU_SCHEDULER_FLAG}=true"
    capsys.readouterr()


def test_host_devices_come_from_the_config_before_jax_starts():
    """`devices_requested` reads parallel.seed_devices x parallel.num_devices; `request_host_devices`
    adds XLA's host-device flag unless XLA_FLAGS already names it or there is nothing to ask; in this
    process jax has started, so it is too late and the environment is left alone."""
    import ml_collections

    from jaxml.core.platform import HOST_DEVICES_FLAG, devices_requested, request_host_devices

    ask = lambda **p: devices_requested(ml_collections.ConfigDict({"parallel": p}))
    assert ask(seed_devices=2) == 2 and ask(seed_devices=2, num_devices=3) == 6
    assert ask(num_devices=0) == 1 and devices_requested(ml_collections.ConfigDict({})) == 1
    env = {"XLA_FLAGS": "--a=1"}
    assert not request_host_devices(1, env) and env == {"XLA_FLAGS": "--a=1"}
    import jax
    jax.devices()  # the backend exists: the flag could no longer take effect
    assert not request_host_devices(2, env) and env == {"XLA_FLAGS": "--a=1"}
    env = {"XLA_FLAGS": f"{HOST_DEVICES_FLAG}=8"}
    assert not request_host_devices(2, env) and env["XLA_FLAGS"] == f"{HOST_DEVICES_FLAG}=8"


def test_jaxml_train_makes_the_host_devices_a_config_spreads_over(tmp_path):
    """A fresh process with no XLA_FLAGS: `jaxml train` with parallel.seed_devices=2 records 'cpu x2'."""
    import json
    from conftest import jaxml_cmd
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(jaxml_cmd("train", "qlearning_frozenlake", "--workdir", str(tmp_path / "w"),
                                   "--config.num_seeds=2", "--config.parallel.seed_devices=2",
                                   "--config.total_env_steps=2000", "--config.eval_every=1000",
                                   "--config.tensorboard=false"),
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1])["devices"] == "cpu x2"
