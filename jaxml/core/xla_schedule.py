"""Which XLA:CPU instruction scheduler compiles the training step (`config.cpu_scheduler`).

XLA:CPU orders a program's instructions with a concurrency-optimised scheduler by default: it starts
independent work early so that threads overlap, and so keeps many intermediates alive at once. That
undoes activation checkpointing: with every Transformer block checkpointed, the 6 x 256 char GPT step
compiled to the same temp memory as without (BENCHMARKS.md, "Memory levers"). The memory-optimised
scheduler orders the same instructions to free buffers early, and there checkpointing does cut the
temp memory. The arithmetic is the same either way; only the order and the buffers' lifetimes change.

"auto" (the default) picks the memory-optimised scheduler when the step checkpoints activations
(`config.remat` is not "none"), since memory is what remat is asked for, and XLA's default otherwise.
The option is XLA:CPU's alone; other backends get no option at all.
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import ml_collections

from jaxml.errors import JaxmlError

# name -> XLA:CPU's scheduler type (None: leave XLA's default)
SCHEDULERS: dict[str, str | None] = {
    "default": None,
    "memory": "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED",
    "concurrency": "CPU_SCHEDULER_TYPE_CONCURRENCY_OPTIMIZED",
}


def resolve(name: str, remat: str) -> str:
    """The scheduler `name` stands for ("auto": "memory" under remat, else "default")."""
    if name == "auto":
        return "default" if remat == "none" else "memory"
    if name not in SCHEDULERS:
        raise JaxmlError(f"config.cpu_scheduler={name!r} is not valid; choose one of auto, {', '.join(SCHEDULERS)}")
    return name


def compiler_options(config: ml_collections.ConfigDict, platform: str | None = None) -> Mapping[str, Any]:
    """The `jax.jit` compiler options of the training step for `config` on `platform` (default: JAX's
    default backend)."""
    name = resolve(str(config.get("cpu_scheduler", "auto")), str(config.get("remat", "none")))
    scheduler = SCHEDULERS[name]
    if scheduler is None or (platform or jax.default_backend()) != "cpu":
        return {}
    return {"xla_cpu_scheduler_type": scheduler}
