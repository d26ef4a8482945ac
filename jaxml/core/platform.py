"""Process-wide XLA settings that jaxml's entry points apply, never `import jaxml`.

XLA reads `XLA_FLAGS` once, when jax creates its first backend (the first array, device query or
compilation), not when jax is imported. So an entry point calls `apply_xla_workarounds()` before it
computes anything: the `jaxml` command at the top of `cli.main`, the RL benchmark scripts through
`scripts/rl_bench_common.py`, and the test suite in `tests/conftest.py`. Library users who run
vmapped RL on a few-core CPU from their own code can call it the same way.

A config that spreads work over several devices (`parallel.seed_devices`, an RL agent's
`parallel.num_devices`) gets them on a CPU from `request_host_devices`: `jaxml train` and
`jaxml reproduce` call it with `devices_requested(config)` after reading the config and before jax
starts, so two host devices are two cores working at once.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

log = logging.getLogger("jaxml")

# XLA:CPU's concurrency-optimised scheduler wedges some vmapped programs on few-core machines: the
# process sleeps at 0% CPU inside block_until_ready (seen with PPO vmapped over 4-5 seeds on a
# 2-core VM, jax/jaxlib 0.10.2: 2 of 6 runs finished; with it off, 25 of 25). It must be set before
# jax creates its CPU backend. A flag already named in XLA_FLAGS (either value) is left as it is.
CPU_SCHEDULER_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"
XLA_WORKAROUNDS = ((CPU_SCHEDULER_FLAG, "false"),)


def with_xla_workarounds(xla_flags: str) -> str:
    """`xla_flags` plus every workaround flag it does not already name."""
    flags = xla_flags
    for name, value in XLA_WORKAROUNDS:
        if name not in flags:
            flags = f"{flags} {name}={value}".strip()
    return flags


def apply_xla_workarounds(env: MutableMapping[str, str] = os.environ) -> str:
    """Adds the workaround flags to `env["XLA_FLAGS"]` (default: this process's environment) unless the
    user already set them; returns the resulting flags. Takes effect only before jax's first backend."""
    flags = with_xla_workarounds(env.get("XLA_FLAGS", ""))
    if flags:
        env["XLA_FLAGS"] = flags
    return flags


HOST_DEVICES_FLAG = "--xla_force_host_platform_device_count"


def devices_requested(config: Any) -> int:
    """The devices a config asks for: `parallel.seed_devices` x `parallel.num_devices` (each 1 when
    absent; a `num_devices` of 0, "all visible devices", asks for none in particular)."""
    parallel = config.get("parallel", None) or {}
    seeds = int(parallel.get("seed_devices", 1) or 1)
    envs = int(parallel.get("num_devices", 1) or 1)
    return max(seeds, 1) * max(envs, 1)


def request_host_devices(n: int, env: MutableMapping[str, str] = os.environ) -> bool:
    """Makes XLA's CPU backend show `n` devices (`--xla_force_host_platform_device_count`), unless
    n <= 1, XLA_FLAGS already names the flag (the user's choice stands), or jax has already created
    its backends (then too late: logged). Returns True when the flag was added."""
    flags = env.get("XLA_FLAGS", "")
    if n <= 1 or HOST_DEVICES_FLAG in flags:
        return False
    xla_bridge = sys.modules.get("jax._src.xla_bridge")
    if xla_bridge is not None and xla_bridge.backends_are_initialized():
        log.warning("the config asks for %d devices but jax has already started; set XLA_FLAGS=%s=%d "
                    "before the first jax call to get them on a CPU", n, HOST_DEVICES_FLAG, n)
        return False
    env["XLA_FLAGS"] = f"{flags} {HOST_DEVICES_FLAG}={n}".strip()
    log.info("config asks for %d devices: a CPU run gets %d host devices (%s=%d)", n, n, HOST_DEVICES_FLAG, n)
    return True
