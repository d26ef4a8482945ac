"""Multi-task loss-weighting strategies as values: `WEIGHTINGS = {name: constructor}` (the strategy
registry of `methods/multitask.py`; not a method of its own).

A strategy is a `Weighting` (optax's init/update shape): `init() -> state`, and
`update(state, tasks, key) -> WeightedUpdate(grads, state, loss, weights)` turns one step's per-task
losses and gradients on the whole global batch (`TaskGradients`) into the gradient of the shared
network, its new state, the objective it minimises and the task weights it applied. Each constructor
takes the `WeightingSettings` built once from the config and reads the hyper-parameters it needs.

- `equal`: every weight 1; `fixed`: `config.tasks.<t>.weight`;
- `uncertainty` (Kendall et al. 2018): sum_i 0.5 exp(-s_i) L_i + 0.5 s_i with learned s_i = log sigma_i^2;
- `gradnorm` (Chen et al. 2018): learned weights that equalise the weighted gradient norms at the last
  shared layer, renormalised to sum to T;
- `pcgrad` (Yu et al. 2020): conflicting shared gradients projected onto each other's normal planes;
- `dwa` (Liu et al. 2019): weights from the ratio of each task's loss over the last two windows.

The step every multi-task method shares (`methods/multitask.py`, `methods/speech.py`):
`make_weighting(config, names)` builds the strategy from the config, `MultiTaskState` holds the
network's `TrainState`, the strategy's state and the step count, and `weighted_step(state, losses_fn,
...)` takes one update from a function of the parameters returning the [T] task losses (logging
`loss`, `loss_<task>`, `weight_<task>` and `grad_norm`).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from jaxml.core.registry import choose
from jaxml.core.steps import apply_gradients
from jaxml.core.train_state import TrainState
from jaxml.errors import JaxmlError
from jaxml.models.multihead import HEAD_PREFIX, SHARED_LAYER

# ------------------------------------------------------------------------------------- pure functions


def uncertainty_loss(losses: jax.Array, log_vars: jax.Array) -> jax.Array:
    """Kendall 2018: sum_i 0.5 exp(-s_i) L_i + 0.5 s_i (s_i = log sigma_i^2); minimised at exp(s_i) = L_i."""
    return jnp.sum(0.5 * jnp.exp(-log_vars) * losses + 0.5 * log_vars)


def gradnorm_loss(weights: jax.Array, grad_norms: jax.Array, losses: jax.Array, initial_losses: jax.Array,
                  alpha: float) -> jax.Array:
    """GradNorm's L_grad as a function of the task weights (Chen 2018, eq. 2).

    grad_norms: ||grad_W L_i|| of the unweighted task losses at the last shared layer W, so
    G_i = w_i * grad_norms_i; the target mean(G) * r_i^alpha is held constant.
    """
    g = weights * grad_norms
    ratios = losses / initial_losses
    r = ratios / jnp.mean(ratios)
    target = jax.lax.stop_gradient(jnp.mean(g) * r ** alpha)
    return jnp.sum(jnp.abs(g - target))


def renormalize(weights: jax.Array, floor: float = 1e-4) -> jax.Array:
    """Weights clipped to stay positive and rescaled to sum to the task count."""
    w = jnp.maximum(weights, floor)
    return w * (w.shape[0] / jnp.sum(w))


def pcgrad(grads: jax.Array, key: jax.Array) -> jax.Array:
    """PCGrad (Yu 2020) on per-task gradients [T, P] -> projected per-task gradients [T, P].

    For each task i, the other tasks j are visited in a random order; whenever g_i . g_j < 0,
    g_i <- g_i - (g_i . g_j) / ||g_j||^2 g_j (g_j the original gradient). Sum the result over tasks
    for the update.
    """
    num_tasks = grads.shape[0]
    keys = jax.random.split(key, num_tasks)

    def project_one(g_i, i, k):
        order = jax.random.permutation(k, num_tasks)

        def body(g, j):
            g_j = grads[j]
            dot = jnp.dot(g, g_j)
            coef = jnp.where((dot < 0) & (j != i), dot / jnp.maximum(jnp.dot(g_j, g_j), 1e-20), 0.0)
            return g - coef * g_j, None

        g, _ = jax.lax.scan(body, g_i, order)
        return g

    return jax.vmap(project_one)(grads, jnp.arange(num_tasks), keys)


def dwa_weights(history: jax.Array, temperature: float) -> jax.Array:
    """Dynamic weight averaging: T softmax((L(t-1) / L(t-2)) / temperature); history [2, T] = [L(t-1), L(t-2)]."""
    r = history[0] / history[1]
    return history.shape[1] * jax.nn.softmax(r / temperature)


def per_task_grads(losses_fn: Callable, params: Any, num_tasks: int) -> tuple[jax.Array, Any, Callable]:
    """(losses [T], per-task gradients with leaves [T, ...], vjp_fn): one forward pass and T backward
    passes vmapped over the basis vectors (the rows of the Jacobian of the loss vector)."""
    losses, vjp_fn = jax.vjp(losses_fn, params)
    jac = jax.vmap(vjp_fn)(jnp.eye(num_tasks, dtype=losses.dtype))[0]
    return losses, jac, vjp_fn


def combine(jac: Any, weights: jax.Array) -> Any:
    """sum_i weights_i * jac_i for a gradient tree whose leaves lead with the task axis."""
    return jax.tree.map(lambda j: jnp.tensordot(weights.astype(j.dtype), j, axes=1), jac)


# ------------------------------------------------------------------------------------------ the bundle


class TaskGradients(NamedTuple):
    """One step's per-task losses and gradients on the global batch, as a weighting sees them.

    `weighted(coef)` is grad sum_i coef_i L_i (one backward pass); `jacobian` the per-task
    gradients, leaves [T, ...] (only for strategies with `per_task`)."""

    losses: jax.Array        # [T] the task losses
    weighted: Callable[[jax.Array], Any]
    jacobian: Any
    step: jax.Array          # updates done before this one


def task_gradients(losses_fn: Callable, params: Any, num_tasks: int, *, per_task: bool, step: jax.Array) -> TaskGradients:
    """`TaskGradients` of `losses_fn(params) -> [T]`: one forward pass, then one weighted backward pass
    or (`per_task`) T vmapped backward passes."""
    if per_task:
        losses, jac, vjp_fn = per_task_grads(losses_fn, params, num_tasks)
    else:
        losses, vjp_fn = jax.vjp(losses_fn, params)
        jac = None
    return TaskGradients(losses=losses, weighted=lambda coef: vjp_fn(coef)[0], jacobian=jac, step=step)


class WeightedUpdate(NamedTuple):
    grads: Any           # the gradient of the network's parameters
    state: Any           # the strategy's new state
    loss: jax.Array      # the weighted objective of this step (logged as "loss")
    weights: jax.Array   # [T] the task weights reported for this step


class Weighting(NamedTuple):
    """A weighting strategy. `init() -> state`; `update(state, tasks, key) -> WeightedUpdate`;
    `weights(state) -> [T]` the weights the state applies (jnp); `report(state) -> {name: [T]}` its
    final summary on the host (numpy: `weight`, and e.g. `sigma2`); `per_task`: `update` reads
    `tasks.jacobian`."""

    init: Callable[[], Any]
    update: Callable[[Any, TaskGradients, jax.Array], WeightedUpdate]
    weights: Callable[[Any], jax.Array]
    report: Callable[[Any], dict[str, np.ndarray]]
    per_task: bool = False


class WeightingSettings(NamedTuple):
    """The hyper-parameters every constructor may read (from the config, in task order)."""

    num_tasks: int
    fixed: tuple[float, ...]       # config.tasks.<t>.weight
    learning_rate: float           # uncertainty: Adam's rate for s_i = log sigma_i^2
    gradnorm_alpha: float
    gradnorm_lr: float
    dwa_temperature: float
    dwa_window: int


def _weights_of(state) -> jax.Array:
    return state["weights"]


def _report_weights(state) -> dict[str, np.ndarray]:
    return {"weight": np.asarray(state["weights"])}


def _constant(weights: jax.Array) -> Weighting:
    def update(state, tasks: TaskGradients, key) -> WeightedUpdate:
        w = state["weights"]
        return WeightedUpdate(tasks.weighted(w), state, jnp.sum(w * tasks.losses), w)

    return Weighting(init=lambda: {"weights": weights}, update=update, weights=_weights_of, report=_report_weights)


def equal_weighting(s: WeightingSettings) -> Weighting:
    """The unweighted sum of the task losses: the baseline every strategy is compared with
    (Sener & Koltun 2018 found it strong on MultiMNIST)."""
    return _constant(jnp.ones((s.num_tasks,), jnp.float32))


def fixed_weighting(s: WeightingSettings) -> Weighting:
    """sum_i w_i L_i with hand-set weights `config.tasks.<t>.weight` (the grid-searched baseline of
    Kendall 2018 and Chen 2018)."""
    fixed = jnp.asarray(s.fixed, jnp.float32)
    if not bool(jnp.all(fixed > 0)):
        raise JaxmlError("config.weighting='fixed' needs config.tasks.<task>.weight > 0 for every task")
    return _constant(fixed)


def uncertainty_weighting(s: WeightingSettings) -> Weighting:
    """Kendall, Gal & Cipolla 2018 (homoscedastic uncertainty): minimise sum_i 0.5 exp(-s_i) L_i + 0.5 s_i
    over the network and s_i = log sigma_i^2 (plain Adam at `learning_rate`, no weight decay), stationary
    at exp(s_i) = L_i, the task's residual variance. Reported weights are 0.5 exp(-s_i)."""
    tx = optax.adam(s.learning_rate)

    def init():
        log_vars = jnp.zeros((s.num_tasks,), jnp.float32)
        return {"log_vars": log_vars, "opt_state": tx.init(log_vars)}

    def update(state, tasks: TaskGradients, key) -> WeightedUpdate:
        log_vars = state["log_vars"]
        coef = 0.5 * jnp.exp(-log_vars)
        grads = tasks.weighted(coef)
        log_var_grad = jax.grad(uncertainty_loss, argnums=1)(tasks.losses, log_vars)
        updates, opt_state = tx.update(log_var_grad, state["opt_state"], log_vars)
        new = {"log_vars": optax.apply_updates(log_vars, updates), "opt_state": opt_state}
        return WeightedUpdate(grads, new, uncertainty_loss(tasks.losses, log_vars), coef)

    def report(state):
        log_vars = np.asarray(state["log_vars"])
        return {"weight": 0.5 * np.exp(-log_vars), "sigma2": np.exp(log_vars)}

    return Weighting(init=init, update=update, weights=lambda state: 0.5 * jnp.exp(-state["log_vars"]),
                     report=report)


def gradnorm_weighting(s: WeightingSettings) -> Weighting:
    """Chen et al. 2018 (GradNorm): the network follows grad sum_i w_i L_i; the weights take an Adam step
    (`gradnorm_lr`) on L_grad = sum_i |w_i ||grad_W L_i|| - mean_j(G_j) r_i^alpha| (target held
    constant, r_i = (L_i/L_i(0)) / mean_j(L_j/L_j(0)), W the last shared layer) and are renormalised
    to sum to T."""
    tx = optax.adam(s.gradnorm_lr)
    num_tasks, alpha = s.num_tasks, s.gradnorm_alpha

    def init():
        weights = jnp.ones((num_tasks,), jnp.float32)
        return {"weights": weights, "opt_state": tx.init(weights), "initial_losses": jnp.ones((num_tasks,), jnp.float32)}

    def update(state, tasks: TaskGradients, key) -> WeightedUpdate:
        w = state["weights"]
        initial = jnp.where(tasks.step == 0, tasks.losses, state["initial_losses"])
        grads = combine(tasks.jacobian, w)
        kernel = tasks.jacobian[SHARED_LAYER]["kernel"]
        norms = jnp.sqrt(jnp.sum(jnp.square(kernel).reshape(num_tasks, -1), axis=1))
        w_grad = jax.grad(gradnorm_loss)(w, norms, tasks.losses, initial, alpha)
        updates, opt_state = tx.update(w_grad, state["opt_state"], w)
        w = renormalize(optax.apply_updates(w, updates))
        new = {"weights": w, "opt_state": opt_state, "initial_losses": initial}
        return WeightedUpdate(grads, new, jnp.sum(w * tasks.losses), w)

    return Weighting(init=init, update=update, weights=_weights_of, report=_report_weights, per_task=True)


def pcgrad_weighting(s: WeightingSettings) -> Weighting:
    """Yu et al. 2020 (PCGrad, "gradient surgery"): each task's gradient of the shared parameters is
    projected onto the normal plane of every other task's gradient it conflicts with (negative dot
    product), the others visited in a random order, and the projections are summed; head gradients
    (each head sees one task) are summed untouched. Weights stay 1."""
    base = equal_weighting(s)

    def update(state, tasks: TaskGradients, key) -> WeightedUpdate:
        jac = tasks.jacobian
        shared = {k: v for k, v in jac.items() if not k.startswith(HEAD_PREFIX)}
        flat = jax.vmap(lambda t: ravel_pytree(t)[0])(shared)
        unravel = ravel_pytree(jax.tree.map(lambda v: v[0], shared))[1]
        projected = unravel(pcgrad(flat, key).sum(0))  # the same key and gradients on every device
        grads = {k: (projected[k] if k in projected else jax.tree.map(lambda g: g.sum(0), v)) for k, v in jac.items()}
        w = state["weights"]
        return WeightedUpdate(grads, state, jnp.sum(w * tasks.losses), w)

    return base._replace(update=update, per_task=True)


def dwa_weighting(s: WeightingSettings) -> Weighting:
    """Liu, Johns & Davison 2019 (dynamic weight averaging): w = T softmax(r / `dwa_temperature`), r_i
    the ratio of task i's mean loss over the last two windows of `dwa_window` steps (weights 1 until
    two windows are complete)."""
    num_tasks, window, temperature = s.num_tasks, s.dwa_window, s.dwa_temperature

    def init():
        return {"weights": jnp.ones((num_tasks,), jnp.float32), "loss_sum": jnp.zeros((num_tasks,), jnp.float32),
                "history": jnp.ones((2, num_tasks), jnp.float32)}

    def update(state, tasks: TaskGradients, key) -> WeightedUpdate:
        w = state["weights"]
        grads = tasks.weighted(w)
        step = tasks.step + 1
        loss_sum, history = state["loss_sum"] + tasks.losses, state["history"]
        window_done = step % window == 0
        history = jnp.where(window_done, jnp.stack([loss_sum / window, history[0]]), history)
        loss_sum = jnp.where(window_done, jnp.zeros_like(loss_sum), loss_sum)
        w = jnp.where(step >= 2 * window, dwa_weights(history, temperature), jnp.ones_like(w))
        return WeightedUpdate(grads, {"weights": w, "loss_sum": loss_sum, "history": history},
                              jnp.sum(w * tasks.losses), w)

    return Weighting(init=init, update=update, weights=_weights_of, report=_report_weights)


WEIGHTINGS: dict[str, Callable[[WeightingSettings], Weighting]] = {
    "equal": equal_weighting, "fixed": fixed_weighting, "uncertainty": uncertainty_weighting,
    "gradnorm": gradnorm_weighting, "pcgrad": pcgrad_weighting, "dwa": dwa_weighting,
}


# ---------------------------------------------------------------------------------- the shared step


@flax.struct.dataclass
class MultiTaskState:
    net: TrainState      # the multi-head network's parameters and optimizer state
    weighting: Any       # the weighting strategy's state (its weights, log sigma^2, loss history, ...)
    step: jax.Array      # updates done


def make_weighting(config: ml_collections.ConfigDict, names: Sequence[str]) -> Weighting:
    """The strategy `config.weighting` with its hyper-parameters from the config."""
    settings = WeightingSettings(
        num_tasks=len(names), fixed=tuple(float(config.tasks[t].get("weight", 1.0)) for t in names),
        learning_rate=float(config.learning_rate), gradnorm_alpha=float(config.gradnorm_alpha),
        gradnorm_lr=float(config.gradnorm_lr), dwa_temperature=float(config.dwa_temperature),
        dwa_window=int(config.dwa_window))
    return choose(WEIGHTINGS, config.weighting, "config.weighting")(settings)


def initial_state(params: Any, tx: optax.GradientTransformation, weighting: Weighting) -> MultiTaskState:
    return MultiTaskState(net=TrainState(params=params, model_state={}, opt_state=tx.init(params)),
                          weighting=weighting.init(), step=jnp.zeros((), jnp.int32))


def weighted_step(state: MultiTaskState, losses_fn: Callable[[Any], jax.Array], names: Sequence[str],
                  weighting: Weighting, tx: optax.GradientTransformation, key: jax.Array) -> tuple[MultiTaskState, dict]:
    """One update: `losses_fn(params) -> [T]` (tasks in the order of `names`) and its gradients
    (`task_gradients`), turned into the update by `weighting` (its randomness from `key`) and applied
    by `tx`; metrics `loss` (the weighted objective), `loss_<task>`, `weight_<task>`, `grad_norm`."""
    tasks = task_gradients(losses_fn, state.net.params, len(names), per_task=weighting.per_task, step=state.step)
    grads, weighting_state, loss, weights = weighting.update(state.weighting, tasks, key)
    metrics = {"loss": loss}
    for i, t in enumerate(names):
        metrics[f"loss_{t}"] = tasks.losses[i]
        metrics[f"weight_{t}"] = weights[i]
    net_state, metrics = apply_gradients(state.net, tx, grads, metrics)
    return state.replace(net=net_state, weighting=weighting_state, step=state.step + 1), metrics
