"""Off-policy evaluation on logged bandit feedback (`data/logged_feedback.py`, the Open Bandit Pipeline's
layout): the value of a target policy pi from rounds logged by another policy with known propensities
(docs/references.md#bandits-and-off-policy-evaluation).

Estimators are values of `ESTIMATORS`, each `fn(data, target [n, K], q_hat [n, K]) -> value`, with
w_i = pi(a_i | x_i) / pscore_i and q_hat the reward model:
- "ipw"   (inverse propensity weighting): mean_i w_i r_i -- unbiased with the true propensities.
- "snipw" (self-normalised IPW): sum_i w_i r_i / sum_i w_i -- bounded, biased by O(1/n).
- "dm"    (direct method): mean_i sum_a pi(a | x_i) q_hat(x_i, a) -- as biased as q_hat.
- "dr"    (doubly robust): dm + mean_i w_i (r_i - q_hat(x_i, a_i)) -- unbiased when either the
          propensities or q_hat are right; here the propensities are, so a misspecified q_hat only
          costs variance.
The reward model is a value of `REWARD_MODELS`, fitted on the logged data itself: "linear" (per-action
ridge regression of r on [x, 1]; misspecified for this problem's sigmoid-quadratic q) or "true" (the
problem's q, for the record).

`train(config, workdir)` draws the problem, the target policy's true value on `truth_contexts` fresh
contexts (exact over actions and rewards), and `num_datasets` independent logged data sets of
`num_rounds` rounds (vmapped); every estimator runs on every data set.

result.json: `true_value`, `logging_value` (the logging policy's true value); per estimator
`<e>_estimate` (on the first data set), `<e>_error` (its estimate minus the truth), `<e>_bias` (mean
over the data sets of estimate - truth), `<e>_std`, `<e>_rmse`, `<e>_relative_rmse` (rmse / true value),
`<e>_abs_bias`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core.config import check_int, check_number
from jaxml.core.registry import choose
from jaxml.data import logged_feedback as logged
from jaxml.errors import JaxmlError


def importance_weights(data: logged.LoggedFeedback, target: jax.Array) -> jax.Array:
    return jnp.take_along_axis(target, data.action[:, None], 1)[:, 0] / data.pscore


def ipw(data, target, q_hat):
    return jnp.mean(importance_weights(data, target) * data.reward)


def snipw(data, target, q_hat):
    w = importance_weights(data, target)
    return jnp.sum(w * data.reward) / jnp.sum(w)


def direct_method(data, target, q_hat):
    return jnp.mean(jnp.sum(target * q_hat, axis=-1))


def doubly_robust(data, target, q_hat):
    q_logged = jnp.take_along_axis(q_hat, data.action[:, None], 1)[:, 0]
    return direct_method(data, target, q_hat) + jnp.mean(importance_weights(data, target) * (data.reward - q_logged))


ESTIMATORS: dict[str, Callable[[logged.LoggedFeedback, jax.Array, jax.Array], jax.Array]] = {
    "ipw": ipw, "snipw": snipw, "dm": direct_method, "dr": doubly_robust}


def fit_linear(data: logged.LoggedFeedback, ridge: float) -> jax.Array:
    """[n, K] predictions of per-action ridge regressions of the reward on [x, 1], each fitted on the
    rounds that took its action."""
    z = jnp.concatenate([data.context, jnp.ones((data.context.shape[0], 1))], axis=1)
    k = data.expected_reward.shape[1]
    onehot = jax.nn.one_hot(data.action, k)  # [n, K]
    gram = jnp.einsum("nk,ni,nj->kij", onehot, z, z) + ridge * jnp.eye(z.shape[1])
    rhs = jnp.einsum("nk,ni,n->ki", onehot, z, data.reward)
    coef = jnp.linalg.solve(gram, rhs[..., None])[..., 0]  # [K, d + 1]
    return z @ coef.T


REWARD_MODELS: dict[str, Callable[[logged.LoggedFeedback, float], jax.Array]] = {
    "linear": fit_linear, "true": lambda data, ridge: data.expected_reward}


def estimate_all(data: logged.LoggedFeedback, target: jax.Array, q_hat: jax.Array, names) -> dict[str, jax.Array]:
    return {name: ESTIMATORS[name](data, target, q_hat) for name in names}


def error_summary(estimates: dict[str, np.ndarray], truth: float) -> dict[str, float]:
    """Per estimator: estimate and error on the first data set, bias, std, rmse (and relative) over all."""
    out: dict[str, float] = {}
    for name, values in estimates.items():
        errors = np.asarray(values, np.float64) - truth
        out.update({f"{name}_estimate": float(values[0]), f"{name}_error": float(errors[0]),
                    f"{name}_bias": float(errors.mean()), f"{name}_abs_bias": float(abs(errors.mean())),
                    f"{name}_std": float(errors.std()), f"{name}_rmse": float(np.sqrt(np.mean(errors ** 2))),
                    f"{name}_relative_rmse": float(np.sqrt(np.mean(errors ** 2)) / abs(truth))})
    return out


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    if config.dataset != "synthetic_logged":
        raise JaxmlError(f"config.dataset={config.dataset!r} is not valid; choose one of synthetic_logged")
    names = tuple(config.estimators)
    if not names:
        raise JaxmlError(f"config.estimators=() is empty; choose from {', '.join(ESTIMATORS)}")
    for name in names:
        choose(ESTIMATORS, name, "config.estimators")
    fit = choose(REWARD_MODELS, config.reward_model, "config.reward_model")
    ridge = check_number(config.ridge, "config.ridge", 0.0)
    temperature = check_number(config.target_temperature, "config.target_temperature", 1e-6)
    num_rounds = check_int(config.num_rounds, "config.num_rounds", 2)
    num_datasets = check_int(config.num_datasets, "config.num_datasets", 1)
    key = jax.random.key(int(config.seed))
    problem = logged.make_problem(jax.random.fold_in(key, 0), check_int(config.num_actions, "config.num_actions", 2),
                                  check_int(config.context_dim, "config.context_dim", 1),
                                  check_number(config.logging_temperature, "config.logging_temperature", 1e-6))
    x_truth = logged.contexts(jax.random.fold_in(key, 1), check_int(config.truth_contexts, "config.truth_contexts", 1),
                              problem.theta.shape[1])
    truth = float(logged.policy_value(problem, x_truth, temperature))
    logging_value = float(jnp.mean(jnp.sum(logged.logging_policy(problem, x_truth)
                                           * logged.expected_reward(problem, x_truth), axis=-1)))

    def one_dataset(k):
        data = logged.log_feedback(k, problem, num_rounds)
        return estimate_all(data, logged.target_policy(problem, data.context, temperature), fit(data, ridge), names)

    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.fold_in(key, 2), i))(jnp.arange(num_datasets))
    estimates = jax.device_get(jax.jit(jax.vmap(one_dataset))(keys))
    return {"true_value": truth, "logging_value": logging_value, "num_rounds": num_rounds,
            "num_datasets": num_datasets, "reward_model": config.reward_model, **error_summary(estimates, truth)}
