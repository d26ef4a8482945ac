"""Logged bandit feedback from a known logging policy, in the Open Bandit Pipeline's layout
(docs/references.md#bandits-and-off-policy-evaluation): per round a `context` [n, d], the `action` [n]
the logging policy took, its `reward` [n] and `pscore` [n], the logging policy's probability of that
action; for the synthetic problem also `expected_reward` [n, K], the true q(x, a) of every action.

The synthetic problem (`LoggedProblem`, drawn once from a key) has K actions and contexts
x ~ N(0, I_d); the expected reward is q(x, a) = sigmoid(theta_a . x + (psi_a . x)^2 - 1) and the reward
Bernoulli(q(x, a)), so a linear reward model is misspecified. The logging policy is
softmax(beta_a . x / logging_temperature) with its own random beta, unrelated to the rewards; the
target policy (`target_policy`) is softmax(q(x, .) / temperature), better than the logging policy.
Everything is JAX and a function of its key, so data sets are vmapped.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class LoggedProblem(NamedTuple):
    theta: jax.Array  # [K, d]
    psi: jax.Array    # [K, d]
    beta: jax.Array   # [K, d] the logging policy's logits
    logging_temperature: float


class LoggedFeedback(NamedTuple):
    context: jax.Array          # [n, d]
    action: jax.Array           # [n] int32
    reward: jax.Array           # [n] float32 (0 / 1)
    pscore: jax.Array           # [n] the logging policy's probability of `action`
    expected_reward: jax.Array  # [n, K] q(x, a)


def make_problem(key: jax.Array, num_actions: int, dim: int, logging_temperature: float) -> LoggedProblem:
    k1, k2, k3 = jax.random.split(key, 3)
    scale = 1.0 / jnp.sqrt(dim)
    return LoggedProblem(scale * jax.random.normal(k1, (num_actions, dim)),
                         0.7 * scale * jax.random.normal(k2, (num_actions, dim)),
                         scale * jax.random.normal(k3, (num_actions, dim)), logging_temperature)


def expected_reward(problem: LoggedProblem, x: jax.Array) -> jax.Array:
    """[n, K] q(x, a) = sigmoid(theta_a . x + (psi_a . x)^2 - 1)."""
    return jax.nn.sigmoid(x @ problem.theta.T + (x @ problem.psi.T) ** 2 - 1.0)


def logging_policy(problem: LoggedProblem, x: jax.Array) -> jax.Array:
    """[n, K] softmax(beta . x / logging_temperature)."""
    return jax.nn.softmax(x @ problem.beta.T / problem.logging_temperature, axis=-1)


def target_policy(problem: LoggedProblem, x: jax.Array, temperature: float) -> jax.Array:
    """[n, K] softmax(q(x, .) / temperature)."""
    return jax.nn.softmax(expected_reward(problem, x) / temperature, axis=-1)


def contexts(key: jax.Array, num_rounds: int, dim: int) -> jax.Array:
    return jax.random.normal(key, (num_rounds, dim))


def log_feedback(key: jax.Array, problem: LoggedProblem, num_rounds: int) -> LoggedFeedback:
    """`num_rounds` rounds of the logging policy on fresh contexts."""
    kx, ka, kr = jax.random.split(key, 3)
    x = contexts(kx, num_rounds, problem.theta.shape[1])
    probs = logging_policy(problem, x)
    action = jax.random.categorical(ka, jnp.log(probs), axis=-1).astype(jnp.int32)
    q = expected_reward(problem, x)
    reward = jax.random.bernoulli(kr, jnp.take_along_axis(q, action[:, None], 1)[:, 0]).astype(jnp.float32)
    return LoggedFeedback(x, action, reward, jnp.take_along_axis(probs, action[:, None], 1)[:, 0], q)


def policy_value(problem: LoggedProblem, x: jax.Array, temperature: float) -> jax.Array:
    """The target policy's value on contexts x: mean_x sum_a pi(a | x) q(x, a) (its expectation over
    the rewards and actions, exactly, for these contexts)."""
    return jnp.mean(jnp.sum(target_policy(problem, x, temperature) * expected_reward(problem, x), axis=-1))
