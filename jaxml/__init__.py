"""jaxml: correct, fast, pure-functional JAX implementations of machine-learning techniques."""

import os as _os

# XLA:CPU's concurrency-optimised scheduler wedges some vmapped programs on few-core machines: the
# process sleeps at 0% CPU inside block_until_ready (seen with PPO vmapped over 4-5 seeds on a
# 2-core VM, jax/jaxlib 0.10.2: 2 of 6 runs finished; with it off, 25 of 25). It must be set before
# jax creates its CPU backend, so importing jaxml first is what takes effect. Set the flag yourself
# in XLA_FLAGS to override.
_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"
if _FLAG not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + f" {_FLAG}=false").strip()

__version__ = "0.1.0"
