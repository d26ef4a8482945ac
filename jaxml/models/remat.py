"""Activation checkpointing (rematerialisation) policies, by name (`config.remat`).

A checkpointed block keeps only what its policy saves from the forward pass and recomputes the rest
during the backward pass: less activation memory for more compute, and the same numbers (the
recomputation runs the same operations). "none" checkpoints nothing (every activation is kept);
"full" saves only the block's inputs and recomputes the whole block; the others save the outputs of
some matrix multiplications (`jax.checkpoint_policies`) and recompute the cheap element-wise work
between them. See docs/training_levers.md.
"""

from __future__ import annotations

from typing import Any, Callable

import jax

from jaxml.errors import JaxmlError

_policies = jax.checkpoint_policies

# name -> jax.checkpoint policy (None for "none": no checkpointing at all)
POLICIES: dict[str, Callable[..., bool] | None] = {
    "none": None,
    "full": _policies.nothing_saveable,
    "dots_saveable": _policies.dots_saveable,
    "dots_with_no_batch_dims_saveable": _policies.dots_with_no_batch_dims_saveable,
}


def check(name: str, key: str = "config.remat") -> str:
    """`name` if it is a policy's name; else one JaxmlError naming `key` and the valid names."""
    if name not in POLICIES:
        raise JaxmlError(f"{key}={name!r} is not valid; choose one of {', '.join(POLICIES)}")
    return name


def policy(name: str) -> Any:
    return POLICIES[name]
