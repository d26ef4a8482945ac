"""Process-wide XLA settings that jaxml's entry points apply, never `import jaxml`.

XLA reads `XLA_FLAGS` once, when jax creates its first backend (the first array, device query or
compilation), not when jax is imported. So an entry point calls `apply_xla_workarounds()` before it
computes anything: the `jaxml` command at the top of `cli.main`, the RL benchmark scripts through
`scripts/rl_bench_common.py`, and the test suite in `tests/conftest.py`. Library users who run
vmapped RL on a few-core CPU from their own code can call it the same way.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

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
