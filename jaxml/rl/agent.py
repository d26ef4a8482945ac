"""What every scanned RL agent shares: its chunk of iterations in one `lax.scan`, and the env steps
of one iteration of a rollout agent. (The agents' typed hyper-parameters are
`jaxml.rl.agent_config`.)"""

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



def steps_per_iteration(config) -> int:
    """Env steps of one iteration of a rollout agent (PPO, REINFORCE): `num_envs * num_steps`."""
    return int(config.num_envs) * int(config.num_steps)
