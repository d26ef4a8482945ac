"""Importing jaxml turns off XLA:CPU's concurrency-optimised scheduler (it wedged vmapped PPO runs),
unless the user set that flag themselves."""

import os
import subprocess
import sys

from conftest import REPO

PROBE = "import os, jaxml, jax; jax.numpy.zeros(1).block_until_ready(); print(os.environ['XLA_FLAGS'])"


def flags_after_import(xla_flags):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_import_sets_the_flag_and_keeps_the_users_flags():
    assert flags_after_import(None) == "--xla_cpu_enable_concurrency_optimized_scheduler=false"
    assert flags_after_import("--xla_force_host_platform_device_count=2") == (
        "--xla_force_host_platform_device_count=2 --xla_cpu_enable_concurrency_optimized_scheduler=false")
    mine = "--xla_cpu_enable_concurrency_optimized_scheduler=true"
    assert flags_after_import(mine) == mine
