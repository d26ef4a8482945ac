"""What every scanned RL agent shares: its chunk of iterations in one `lax.scan`, the env steps of
one iteration of a rollout agent, and the clipped Adam most of them step with. (The agents' typed
hyper-parameters are `jaxml.rl.agent_config`.)"""

from __future__ import annotations

from typing import Any, Callable

import jax
import optax

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


def clipped_adam(learning_rate, max_grad_norm: float, *, eps: float = 1e-8,
                 flat: bool = False) -> optax.GradientTransformation:
    """Adam (`learning_rate` a float or an optax schedule) after clipping the gradients' global norm
    to `max_grad_norm`; 0 turns the clipping off.

    `flat=True` runs both on one flat vector of all the parameters (`optax.flatten`): the same
    elementwise Adam, and the global norm summed over that vector instead of leaf by leaf (equal up to
    float summation order). For a small MLP stepped tens of thousands of times (DQN's update) that
    fuses the clip and Adam into a few kernels instead of a few per leaf."""
    tx = optax.adam(learning_rate, eps=eps)
    if max_grad_norm > 0:
        tx = optax.chain(optax.clip_by_global_norm(max_grad_norm), tx)
    return optax.flatten(tx) if flat else tx
