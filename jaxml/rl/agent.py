"""Pieces every scanned RL agent shares: the chunk of iterations and the whole run in one call."""

from __future__ import annotations

from typing import Any, Callable

import jax

from jaxml.core.config import check_int


def scanned(iteration: Callable[[Any, None], tuple[Any, dict]]) -> Callable[[Any, int], tuple[Any, dict]]:
    """`train_chunk(state, num_iterations)`: `num_iterations` (a static int) steps of `iteration` in
    one `lax.scan`, returning the final state and the per-iteration metrics [T]."""

    def train_chunk(state, num_iterations: int):
        num_iterations = check_int(num_iterations, "train_chunk: num_iterations (a static int)")
        return jax.lax.scan(iteration, state, None, length=num_iterations)

    return train_chunk


def whole_run(make_train: Callable, config, key: jax.Array, steps_per_iteration: int):
    """init + one chunk of `total_env_steps // steps_per_iteration` iterations, jitted; vmap-able
    over keys. Returns `(state, metrics)`."""
    init, train_chunk = make_train(config)
    n = int(config.total_env_steps) // int(steps_per_iteration)
    return jax.jit(lambda k: train_chunk(init(k), n))(key)
