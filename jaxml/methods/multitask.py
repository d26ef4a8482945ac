"""Multi-task learning: a shared trunk with named heads and interchangeable loss-weighting strategies.

Model: `config.model` (any registered model, its last layer used as a `trunk_width` feature layer) ->
activation -> one shared dense layer `shared` (the "last shared layer" W that GradNorm measures) ->
activation -> one dense head per task (`head_<task>`). Tasks are declared in `config.tasks`
(`{name: {"weight": w}}`); their kind and shape come from the benchmark (`config.benchmark`):

| benchmark        | tasks                                                     |
|------------------|-----------------------------------------------------------|
| `digits_parity`  | `digit` (10 classes), `parity` (2), `pixels` (per-pixel reconstruction of the 8x8 input) |
| `heteroscedastic`| `low_noise`, `high_noise`: 1-D regression, noise sigma 0.1 and 1.0 (known) |
| `gradnorm_toy`   | `task_0..task_{T-1}`: y_i = sigma_i tanh((B + eps_i) x) (Chen 2018), sigma_i spanning 1-100 |
| `multi_fashion`  | `left`, `right`: Multi-Fashion-MNIST (Sener & Koltun's MultiMNIST construction) |

Losses: classification cross-entropy, regression / per-pixel mean squared error.

Weighting strategies (`config.weighting`), pure functions over per-task losses and gradients:
- `equal`: every weight 1; `fixed`: `config.tasks.<t>.weight`;
- `uncertainty` (Kendall 2018): sum_i 0.5 exp(-s_i) L_i + 0.5 s_i with learned s_i = log sigma_i^2
  (stationary at exp(s_i) = L_i, the task's residual variance);
- `gradnorm` (Chen 2018): learned weights w_i; L_grad = sum_i |w_i ||grad_W L_i|| - mean_j(G_j) r_i^alpha|
  with the target held constant, r_i = (L_i/L_i(0)) / mean_j(L_j/L_j(0)); weights renormalised to sum to T;
- `pcgrad` (Yu 2020): each task's gradient of the shared parameters is projected onto the normal plane of
  every other task's gradient it conflicts with (negative dot product), the others visited in a random
  order; the projected gradients are summed. Head gradients are untouched (each head sees one task);
- `dwa` (Liu 2019, dynamic weight averaging): w = T softmax(r / temperature), r_i the ratio of task i's
  mean loss over the last two windows of `dwa_window` steps (1 for the first two windows).

Per-task gradients come from one forward pass and T vmapped backward passes (`jax.vjp` + `vmap` over
the basis vectors), never a Python loop over tasks; strategies that need only the weighted sum use one
backward pass.

Data ride through the shared loop as a `Split` whose `images` are the inputs (tabular benchmarks:
inputs and targets as columns of one float32 array) and whose `labels` encode the class labels of
all classification tasks (mixed radix); `decode` turns a batch back into (inputs, targets).

result.json: `test_<task>_accuracy` / `test_<task>_mse` (and `_loss`) per task, `test_accuracy`
(mean over classification tasks), the final `weight_<task>`; `heteroscedastic` adds
`train_<task>_mse` (residual variance), `sigma2_<task>` = exp(s_i), `<task>_fit_mse` against the
noise-free function; `gradnorm_toy` adds `grad_norm_<task>` (||grad_W w_i L_i|| on 1000 test examples)
and `grad_norm_spread` (max/min). `config.baselines` trains further strategies in `<workdir>/<name>/`
and adds their metrics prefixed `<name>_`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from jaxml.core import loop, parallel
from jaxml.core.train_state import make_optimizer
from jaxml.data.datasets import Split, load_dataset
from jaxml.errors import JaxmlError
from jaxml.models.layers import ACTIVATIONS, Dense

log = logging.getLogger("jaxml")

STRATEGIES = ("equal", "fixed", "uncertainty", "gradnorm", "pcgrad", "dwa")
BENCHMARKS = ("digits_parity", "heteroscedastic", "gradnorm_toy", "multi_fashion")
KINDS = ("classification", "regression", "pixel")


# ----------------------------------------------------------------------------- weighting functions


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


# ----------------------------------------------------------------------------- model


class MultiHeadNet(nn.Module):
    """trunk (any registered model; its logits are a `width`-wide feature layer) -> act -> `shared`
    dense -> act -> one dense head per task: returns {task: [B, *shape]}."""

    trunk: nn.Module
    width: int
    heads: Sequence[tuple[str, tuple[int, ...]]]
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> dict[str, jax.Array]:
        act = ACTIVATIONS[self.activation]
        h = act(self.trunk(x, train=train))
        z = act(Dense(self.width, name="shared")(h))
        return {name: Dense(math.prod(shape), name=f"head_{name}")(z).reshape((-1,) + tuple(shape))
                for name, shape in self.heads}


# ----------------------------------------------------------------------------- benchmarks


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    kind: str
    shape: tuple[int, ...]  # output shape of the head (classes for classification)


@dataclasses.dataclass
class Benchmark:
    """Splits whose `images` carry the inputs (+ target columns) and whose `labels` carry the class
    codes; `decode(images, labels) -> (inputs, targets, clean)` with jnp ops."""

    train: Split
    test: Split
    tasks: dict[str, TaskSpec]
    decode: Callable
    input_is_uint8: bool


def _columns_decoder(d_in: int, layout: dict[str, tuple[int, int]], clean: dict[str, tuple[int, int]]):
    def decode(images, labels):
        x = images[:, :d_in]
        targets = {t: images[:, a:b] for t, (a, b) in layout.items()}
        return x, targets, {t: images[:, a:b] for t, (a, b) in clean.items()}
    return decode


def heteroscedastic(seed: int, n_train: int = 4000, n_test: int = 2000, sigmas=(0.1, 1.0)) -> Benchmark:
    """Two 1-D regression tasks on x ~ U[-2, 2]^2 sharing structure, with noise sigma 0.1 and 1.0:
    f_low = sin(2 x0) cos(x1), f_high = cos(x0 + x1) + 0.5 x0 x1 / 2."""
    rng = np.random.default_rng([seed, 17])

    def make(n):
        x = rng.uniform(-2, 2, size=(n, 2))
        f = np.stack([np.sin(2 * x[:, 0]) * np.cos(x[:, 1]), np.cos(x[:, 0] + x[:, 1]) + 0.25 * x[:, 0] * x[:, 1]], 1)
        y = f + rng.normal(size=f.shape) * np.asarray(sigmas)
        return Split(np.concatenate([x, y, f], 1).astype(np.float32), np.zeros(n, np.int32))

    names = ("low_noise", "high_noise")
    layout = {t: (2 + i, 3 + i) for i, t in enumerate(names)}
    clean = {t: (4 + i, 5 + i) for i, t in enumerate(names)}
    return Benchmark(make(n_train), make(n_test), {t: TaskSpec("regression", (1,)) for t in names},
                     _columns_decoder(2, layout, clean), False)


def gradnorm_toy(seed: int, num_tasks: int = 5, n_train: int = 5000, n_test: int = 1000,
                 scales: Sequence[float] | None = None) -> Benchmark:
    """Chen 2018's toy: x ~ N(0, 1)^250, y_i = sigma_i tanh((B + eps_i) x) in R^100 with B ~ N(0, 10)
    and eps_i ~ N(0, 3.5) elementwise (10 and 3.5 as variances, as in the paper), sigma_i log-spaced 1..100.
    Inputs and targets are standardised by the (B + eps_i) x scale so tanh is not saturated everywhere."""
    rng = np.random.default_rng([seed, 23])
    d_in, d_out = 250, 100
    sig = np.geomspace(1.0, 100.0, num_tasks) if scales is None else np.asarray(scales, np.float64)
    b = rng.normal(0, math.sqrt(10.0), (d_out, d_in))
    eps = rng.normal(0, math.sqrt(3.5), (num_tasks, d_out, d_in))

    def make(n):
        x = rng.normal(size=(n, d_in))
        ys = [s * np.tanh((x @ (b + e).T) / math.sqrt(d_in * 13.5)) for s, e in zip(sig, eps)]
        return Split(np.concatenate([x] + ys, 1).astype(np.float32), np.zeros(n, np.int32))

    names = [f"task_{i}" for i in range(num_tasks)]
    layout = {t: (d_in + i * d_out, d_in + (i + 1) * d_out) for i, t in enumerate(names)}
    return Benchmark(make(n_train), make(n_test), {t: TaskSpec("regression", (d_out,)) for t in names},
                     _columns_decoder(d_in, layout, {}), False)


def digits_parity(seed: int) -> Benchmark:
    """sklearn digits with three heads: the digit, its parity and a per-pixel reconstruction of the input."""
    data = load_dataset("digits", seed=seed)

    def decode(images, labels):
        x = images
        pixels = images.astype(jnp.float32) / 255.0
        return x, {"digit": labels, "parity": labels % 2, "pixels": pixels}, {}

    tasks = {"digit": TaskSpec("classification", (10,)), "parity": TaskSpec("classification", (2,)),
             "pixels": TaskSpec("pixel", data.train.images.shape[1:])}
    return Benchmark(data.train, data.test, tasks, decode, True)


def overlay_pairs(images: np.ndarray, labels: np.ndarray, partner: np.ndarray, canvas: int = 36,
                  size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """MultiMNIST-style pairs: image i at the top-left and image partner[i] at the bottom-right of a
    canvas x canvas image (pixelwise max where they overlap), resized to size x size (bilinear).
    Returns uint8 [N, size, size, 1] and labels left * 10 + right."""
    n, h, w = images.shape[:3]
    out = np.empty((n, size, size, 1), np.uint8)
    resize = jax.jit(lambda c: jax.image.resize(c, (c.shape[0], size, size), "bilinear", antialias=True))
    for lo in range(0, n, 5000):
        idx = np.arange(lo, min(lo + 5000, n))
        c = np.zeros((len(idx), canvas, canvas), np.float32)
        c[:, :h, :w] = images[idx, ..., 0]
        c[:, canvas - h:, canvas - w:] = np.maximum(c[:, canvas - h:, canvas - w:], images[partner[idx], ..., 0])
        out[idx, ..., 0] = np.clip(np.rint(np.asarray(resize(c))), 0, 255).astype(np.uint8)
    return out, (labels * 10 + labels[partner]).astype(np.int32)


def multi_fashion(seed: int, data_dir: str | None) -> Benchmark:
    """Multi-Fashion-MNIST: every train (test) item on the left, a random other train (test) item on
    the right; 60k / 10k pairs."""
    data = load_dataset("fashion_mnist", data_dir=data_dir)
    rng = np.random.default_rng([seed, 31])
    splits = []
    for split in (data.train, data.test):
        n = len(split)
        partner = (np.arange(n) + rng.integers(1, n, size=n)) % n  # never the item itself
        splits.append(Split(*overlay_pairs(split.images, split.labels, partner)))

    def decode(images, labels):
        return images, {"left": labels // 10, "right": labels % 10}, {}

    tasks = {"left": TaskSpec("classification", (10,)), "right": TaskSpec("classification", (10,))}
    return Benchmark(splits[0], splits[1], tasks, decode, True)


@functools.lru_cache(maxsize=2)
def _multi_fashion_cached(seed: int, data_dir: str) -> Benchmark:
    return multi_fashion(seed, data_dir or None)


def load_benchmark(config: ml_collections.ConfigDict) -> Benchmark:
    name = config.benchmark
    seed = int(config.data_seed)
    if name == "digits_parity":
        return digits_parity(seed)
    if name == "heteroscedastic":
        return heteroscedastic(seed)
    if name == "gradnorm_toy":
        return gradnorm_toy(seed, num_tasks=int(config.toy_tasks))
    if name == "multi_fashion":
        return _multi_fashion_cached(seed, config.data_dir or "")
    raise JaxmlError(f"config.benchmark={name!r} is not valid; choose one of {', '.join(BENCHMARKS)}")


# ----------------------------------------------------------------------------- state and recipe


@flax.struct.dataclass
class MultiTaskState:
    params: Any             # {"net": model params, "log_vars": [T]} (log_vars used by "uncertainty")
    opt_state: Any
    weights: jax.Array      # [T] task weights (learned by gradnorm, set by dwa, constant otherwise)
    weight_opt_state: Any   # gradnorm's optimizer state over `weights`
    initial_losses: jax.Array  # [T] L_i(0) (gradnorm)
    loss_sum: jax.Array     # [T] summed losses of the current DWA window
    loss_history: jax.Array  # [2, T] mean losses of the last two complete windows (dwa)
    step: jax.Array


def task_names(config: ml_collections.ConfigDict, bench: Benchmark) -> list[str]:
    names = list(config.tasks.keys())
    if not names:
        raise JaxmlError(f"config.tasks is empty; choose tasks from: {', '.join(bench.tasks)}")
    unknown = [t for t in names if t not in bench.tasks]
    if unknown:
        raise JaxmlError(f"config.tasks.{unknown[0]} is not a task of benchmark {config.benchmark!r}; "
                         f"valid: {', '.join(bench.tasks)}")
    return names


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.weighting not in STRATEGIES:
        raise JaxmlError(f"config.weighting={config.weighting!r} is not valid; choose one of {', '.join(STRATEGIES)}")
    for b in config.baselines:
        if b not in STRATEGIES:
            raise JaxmlError(f"config.baselines entry {b!r} is not valid; choose from {', '.join(STRATEGIES)}")
    if config.benchmark not in BENCHMARKS:
        raise JaxmlError(f"config.benchmark={config.benchmark!r} is not valid; choose one of {', '.join(BENCHMARKS)}")
    if float(config.gradnorm_alpha) < 0:
        raise JaxmlError(f"config.gradnorm_alpha must be >= 0, got {config.gradnorm_alpha}")
    if float(config.dwa_temperature) <= 0 or int(config.dwa_window) < 1:
        raise JaxmlError("config.dwa_temperature must be > 0 and config.dwa_window >= 1")


def build_net(config: ml_collections.ConfigDict, bench: Benchmark, names: Sequence[str]) -> MultiHeadNet:
    from jaxml.methods.classify import build_model

    trunk = build_model(config, int(config.trunk_width))
    heads = tuple((t, bench.tasks[t].shape) for t in names)
    return MultiHeadNet(trunk=trunk, width=int(config.trunk_width), heads=heads,
                        activation=config.model.get("activation", "relu"))


def per_task_losses(outputs: dict, targets: dict, names: Sequence[str], tasks: dict[str, TaskSpec]) -> jax.Array:
    """[T] mean loss of each task over the batch."""
    losses = []
    for t in names:
        if tasks[t].kind == "classification":
            losses.append(optax.softmax_cross_entropy_with_integer_labels(outputs[t], targets[t]).mean())
        else:
            losses.append(jnp.mean(jnp.square(outputs[t] - targets[t].reshape(outputs[t].shape))))
    return jnp.stack(losses)


def make_recipe(config: ml_collections.ConfigDict, bench: Benchmark, eval_splits: dict[str, Split]) -> loop.Recipe:
    check_config(config)
    names = task_names(config, bench)
    num_tasks = len(names)
    tasks = bench.tasks
    strategy = config.weighting
    net = build_net(config, bench, names)
    # log sigma^2 gets plain Adam (no weight decay pulling it to 0); it stays 0 unless weighting="uncertainty"
    tx = optax.multi_transform({"net": make_optimizer(config), "log_vars": optax.adam(float(config.learning_rate))},
                               lambda p: {"net": jax.tree.map(lambda _: "net", p["net"]), "log_vars": "log_vars"})
    weight_tx = optax.adam(float(config.gradnorm_lr))
    alpha = float(config.gradnorm_alpha)
    fixed = jnp.asarray([float(config.tasks[t].get("weight", 1.0)) for t in names], jnp.float32)
    if strategy == "fixed" and not bool(jnp.all(fixed > 0)):
        raise JaxmlError("config.weighting='fixed' needs config.tasks.<task>.weight > 0 for every task")
    window = int(config.dwa_window)
    temperature = float(config.dwa_temperature)
    x0, _, _ = bench.decode(jnp.asarray(bench.train.images[:2]), jnp.asarray(bench.train.labels[:2]))
    uint8 = bench.input_is_uint8
    if uint8:
        sample = bench.train.images[:2048].astype(np.float32) / 255.0
        mean, std = float(sample.mean()), float(sample.std() + 1e-6)
    else:
        mean, std = 0.0, 1.0

    def prepare(x):
        x = x.astype(jnp.float32)
        return (x / 255.0 - mean) / std if uint8 else x

    def init(key):
        params = net.init({"params": key, "dropout": key}, prepare(x0), train=False)["params"]
        params = {"net": params, "log_vars": jnp.zeros((num_tasks,), jnp.float32)}
        weights = fixed if strategy == "fixed" else jnp.ones((num_tasks,), jnp.float32)
        return MultiTaskState(params=params, opt_state=tx.init(params), weights=weights,
                              weight_opt_state=weight_tx.init(weights),
                              initial_losses=jnp.ones((num_tasks,), jnp.float32),
                              loss_sum=jnp.zeros((num_tasks,), jnp.float32),
                              loss_history=jnp.ones((2, num_tasks), jnp.float32), step=jnp.zeros((), jnp.int32))

    def train_step(state: MultiTaskState, batch, key):
        x, targets, _ = bench.decode(batch["image"], batch["label"])
        x = prepare(x)
        drop_key, pc_key = jax.random.split(key)

        def losses_fn(net_params):
            out = net.apply({"params": net_params}, x, train=True, rngs={"dropout": parallel.device_key(drop_key)})
            return per_task_losses(out, targets, names, tasks)

        net_params = state.params["net"]
        if strategy in ("gradnorm", "pcgrad"):
            losses, jac, _ = per_task_grads(losses_fn, net_params, num_tasks)  # leaves [T, ...]
        else:
            losses, vjp_fn = jax.vjp(losses_fn, net_params)
        log_vars = state.params["log_vars"]
        log_var_grad = jnp.zeros_like(log_vars)
        weights = state.weights
        weight_opt_state = state.weight_opt_state
        initial = jnp.where(state.step == 0, jax.lax.pmean(losses, parallel.AXIS), state.initial_losses)
        if strategy in ("gradnorm", "pcgrad"):
            jac = jax.lax.pmean(jac, parallel.AXIS)
            if strategy == "pcgrad":
                shared = {k: v for k, v in jac.items() if not k.startswith("head_")}
                flat = jax.vmap(lambda t: ravel_pytree(t)[0])(shared)
                unravel = ravel_pytree(jax.tree.map(lambda v: v[0], shared))[1]
                projected = unravel(pcgrad(flat, pc_key).sum(0))  # same key and gradients on every device
                grads = {k: (projected[k] if k in projected else jax.tree.map(lambda g: g.sum(0), v)) for k, v in jac.items()}
            else:
                grads = combine(jac, weights)
                norms = jnp.sqrt(jnp.sum(jnp.square(jac["shared"]["kernel"]).reshape(num_tasks, -1), axis=1))
                mean_losses = jax.lax.pmean(losses, parallel.AXIS)
                w_grad = jax.grad(gradnorm_loss)(weights, norms, mean_losses, initial, alpha)
                updates, weight_opt_state = weight_tx.update(w_grad, weight_opt_state, weights)
                weights = renormalize(optax.apply_updates(weights, updates))
        elif strategy == "uncertainty":
            coef = 0.5 * jnp.exp(-log_vars)
            grads = jax.lax.pmean(vjp_fn(coef)[0], parallel.AXIS)
            log_var_grad = jax.lax.pmean(jax.grad(uncertainty_loss, argnums=1)(losses, log_vars), parallel.AXIS)
        else:
            grads = jax.lax.pmean(vjp_fn(weights)[0], parallel.AXIS)
        mean_losses = jax.lax.pmean(losses, parallel.AXIS)
        updates, opt_state = tx.update({"net": grads, "log_vars": log_var_grad}, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        loss_sum, history, step = state.loss_sum + mean_losses, state.loss_history, state.step + 1
        if strategy == "dwa":
            window_done = step % window == 0
            new_history = jnp.stack([loss_sum / window, history[0]])
            history = jnp.where(window_done, new_history, history)
            loss_sum = jnp.where(window_done, jnp.zeros_like(loss_sum), loss_sum)
            ready = step >= 2 * window
            weights = jnp.where(ready, dwa_weights(history, temperature), jnp.ones_like(weights))
        total = jnp.sum(weights * mean_losses) if strategy != "uncertainty" else uncertainty_loss(mean_losses, log_vars)
        new_state = state.replace(params=params, opt_state=opt_state, weights=weights,
                                  weight_opt_state=weight_opt_state, initial_losses=initial, loss_sum=loss_sum,
                                  loss_history=history, step=step)
        metrics = {"loss": total, "grad_norm": optax.tree.norm(grads)}
        for i, t in enumerate(names):
            metrics[f"loss_{t}"] = mean_losses[i]
            metrics[f"weight_{t}"] = weights[i] if strategy != "uncertainty" else 0.5 * jnp.exp(-log_vars[i])
        return new_state, metrics

    def eval_step(state: MultiTaskState, batch):
        x, targets, clean = bench.decode(batch["image"], batch["label"])
        out = net.apply({"params": state.params["net"]}, prepare(x), train=False)
        mask = batch["mask"]
        sums = {"count": jnp.sum(mask)}
        for t in names:
            if tasks[t].kind == "classification":
                ce = optax.softmax_cross_entropy_with_integer_labels(out[t], targets[t])
                sums[f"{t}_loss"] = jnp.sum(ce * mask)
                sums[f"{t}_accuracy"] = jnp.sum((jnp.argmax(out[t], -1) == targets[t]) * mask)
            else:
                err = jnp.square(out[t] - targets[t].reshape(out[t].shape)).reshape(mask.shape[0], -1).mean(1)
                sums[f"{t}_mse"] = jnp.sum(err * mask)
                if t in clean:
                    fit = jnp.square(out[t] - clean[t].reshape(out[t].shape)).reshape(mask.shape[0], -1).mean(1)
                    sums[f"{t}_fit_mse"] = jnp.sum(fit * mask)
        classes = [t for t in names if tasks[t].kind == "classification"]
        if classes:
            sums["accuracy"] = sum(sums[f"{t}_accuracy"] for t in classes) / len(classes)
        return sums

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=bench.train,
                       eval_splits=eval_splits, main_metric="accuracy")


def task_grad_norms(config, bench: Benchmark, state: MultiTaskState, n: int = 1000) -> dict[str, float]:
    """||grad_W (w_i L_i)|| at the last shared layer W on the first `n` test examples (one vmapped pass)."""
    names = task_names(config, bench)
    net = build_net(config, bench, names)
    images, labels = bench.test.images[:n], bench.test.labels[:n]
    uint8 = bench.input_is_uint8
    sample = bench.train.images[:2048].astype(np.float32) / 255.0 if uint8 else None
    mean, std = (float(sample.mean()), float(sample.std() + 1e-6)) if uint8 else (0.0, 1.0)

    @jax.jit
    def norms(params, weights):
        x, targets, _ = bench.decode(jnp.asarray(images), jnp.asarray(labels))
        x = x.astype(jnp.float32)
        x = (x / 255.0 - mean) / std if uint8 else x

        def losses_of_w(kernel):
            p = {**params, "shared": {**params["shared"], "kernel": kernel}}
            return per_task_losses(net.apply({"params": p}, x, train=False), targets, names, bench.tasks)

        kernel = params["shared"]["kernel"]
        losses, vjp_fn = jax.vjp(losses_of_w, kernel)
        jac = jax.vmap(vjp_fn)(jnp.eye(len(names), dtype=losses.dtype))[0]
        return weights * jnp.sqrt(jnp.sum(jnp.square(jac.reshape(len(names), -1)), axis=1))

    weights = state.weights if config.weighting != "uncertainty" else 0.5 * jnp.exp(-state.params["log_vars"])
    g = np.asarray(jax.device_get(norms(jax.device_get(state.params["net"]), jax.device_get(weights))))
    out = {f"grad_norm_{t}": float(v) for t, v in zip(names, g)}
    out["grad_norm_spread"] = float(g.max() / max(g.min(), 1e-30))
    return out


def train_one(config: ml_collections.ConfigDict, workdir: Path, bench: Benchmark, desc: str) -> dict[str, Any]:
    names = task_names(config, bench)
    eval_splits = {"test": bench.test}
    if config.benchmark == "heteroscedastic":
        eval_splits["train"] = bench.train
    recipe = make_recipe(config, bench, eval_splits)
    state, metrics = loop.run(recipe, config, workdir, desc=desc)
    state = jax.device_get(state)
    metrics["params"] = loop.count_params(state.params["net"])
    weights = state.weights if config.weighting != "uncertainty" else 0.5 * np.exp(-state.params["log_vars"])
    for i, t in enumerate(names):
        metrics[f"weight_{t}"] = float(weights[i])
        if config.weighting == "uncertainty":
            metrics[f"sigma2_{t}"] = float(np.exp(state.params["log_vars"][i]))
    if config.weighting == "uncertainty" and all(f"train_{t}_mse" in metrics for t in names):
        # |exp(s_i) / residual variance - 1|, worst task (Kendall's stationary point is exp(s_i) = L_i)
        metrics["sigma2_ratio_worst"] = max(abs(metrics[f"sigma2_{t}"] / metrics[f"train_{t}_mse"] - 1) for t in names)
    if config.benchmark == "gradnorm_toy":
        metrics.update(task_grad_norms(config, bench, state))
    return metrics


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    check_config(config)
    bench = load_benchmark(config)
    metrics = train_one(config, workdir, bench, desc=f"{config.get('name', 'multitask')} ({config.weighting})")
    result = dict(metrics, weighting=config.weighting)
    for b in config.baselines:
        if b == config.weighting:
            continue
        c = ml_collections.ConfigDict(config.to_dict())
        c.weighting = b
        m = train_one(c, workdir / b, bench, desc=f"baseline {b}")
        result.update({f"{b}_{k}": v for k, v in m.items() if k not in ("steps", "params")})
    if config.benchmark == "gradnorm_toy":
        names = task_names(config, bench)
        scales = np.geomspace(1.0, 100.0, len(bench.tasks))[[int(t.split("_")[1]) for t in names]]
        if len(names) > 1:  # slope of log w_i against log sigma_i (-1: weights inversely proportional to scale)
            result["weight_log_slope"] = float(np.polyfit(np.log(scales), np.log([result[f"weight_{t}"] for t in names]), 1)[0])
        if "equal_grad_norm_spread" in result:
            result["grad_norm_spread_ratio"] = result["grad_norm_spread"] / result["equal_grad_norm_spread"]
    return result


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    bench = load_benchmark(config)
    return loop.evaluate_checkpoint(make_recipe(config, bench, {"test": bench.test}), config, workdir)


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    bench = load_benchmark(config)
    return make_recipe(config, bench, {"test": bench.test})


def base_config() -> ml_collections.ConfigDict:
    """The digits smoke test (digit + parity heads, equal weighting, MLP trunk); configs override."""
    from jaxml.methods.classify import base_config as classify_base

    c = classify_base()
    c.method = "multitask"
    c.dataset = "digits"
    c.benchmark = "digits_parity"
    c.tasks = ml_collections.ConfigDict({"digit": {"weight": 1.0}, "parity": {"weight": 1.0}})
    c.weighting = "equal"
    c.baselines = ()
    c.trunk_width = 64
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (128,), "dropout": 0.0})
    c.gradnorm_alpha = 1.5
    c.gradnorm_lr = 0.025
    c.dwa_temperature = 2.0
    c.dwa_window = 50
    c.toy_tasks = 5
    c.steps = 1000
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    return c
