"""Multi-task learning: a shared trunk with named heads and interchangeable loss-weighting strategies.

Model (`models/multihead.py`): `config.model` (any registered model, its last layer used as a
`trunk_width` feature layer) -> activation -> one shared dense layer `shared` (the "last shared layer"
W that GradNorm measures) -> activation -> one dense head per task (`head_<task>`). Tasks are declared
in `config.tasks` (`{name: {"weight": w}}`); their kind, shape and target arrays come from the
benchmark (`config.benchmark`, `data/multitask.py`: `digits_parity`, `heteroscedastic`,
`gradnorm_toy`, `multi_fashion`). Every split holds the input and each task's target as named arrays.

Losses by task kind (`TASK_KINDS`): classification cross-entropy, regression / per-pixel mean squared
error. Image inputs are standardised with `core.steps.Normaliser` (statistics of every training
pixel); the generated tabular features are already on a unit scale and pass unchanged.

The step: per-task losses from one forward pass, their gradients (one weighted backward pass, or T
vmapped backward passes for strategies that need every task's gradient) on the whole global batch; the
weighting strategy `config.weighting` (a value of `multitask_weightings.WEIGHTINGS`: equal, fixed,
uncertainty, gradnorm, pcgrad, dwa) turns them into the update and its own new state:

    grads, weighting_state, loss, weights = weighting.update(weighting_state, task_gradients, key)

result.json: `test_<task>_accuracy` / `test_<task>_mse` (and `_loss`) per task, `test_accuracy`
(mean over classification tasks), the final `weight_<task>`; `heteroscedastic` adds
`train_<task>_mse` (residual variance), `sigma2_<task>` = exp(s_i) (uncertainty weighting),
`<task>_fit_mse` against the noise-free function; `gradnorm_toy` adds `grad_norm_<task>`
(||grad_W w_i L_i|| on 1000 test examples, the `grad` evaluator) and `grad_norm_spread` (max/min).
`config.baselines` trains further strategies in `<workdir>/<name>/` and adds their metrics prefixed
`<name>_`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop
from jaxml.core.registry import choose
from jaxml.core.steps import Normaliser, batch_key, classification_sums
from jaxml.core.train_state import make_optimizer
from jaxml.data.datasets import Split
from jaxml.data.multitask import BENCHMARKS, Benchmark, load_benchmark as build_benchmark
from jaxml.errors import JaxmlError
from jaxml.methods.multitask_weightings import (WEIGHTINGS, MultiTaskState, Weighting, initial_state,
                                                make_weighting, weighted_step)
from jaxml.models.build import build_model
from jaxml.models.multihead import SHARED_LAYER, MultiHeadNet

log = logging.getLogger("jaxml")

GRAD = "grad"  # the evaluator of weighted gradient norms at the shared layer: grad_norm_<task>, grad_norm_spread

# ----------------------------------------------------------------------------------------- task kinds


def _squared_error_sums(out: jax.Array, target: jax.Array, mask: jax.Array) -> dict[str, jax.Array]:
    err = jnp.square(out - target.reshape(out.shape)).reshape(mask.shape[0], -1).mean(1)
    return {"mse": jnp.sum(err * mask)}


def _classification_eval_sums(out: jax.Array, target: jax.Array, mask: jax.Array) -> dict[str, jax.Array]:
    sums = classification_sums(out, target, mask)
    return {"loss": sums["loss"], "accuracy": sums["accuracy"]}


class TaskKind(NamedTuple):
    """How a task's head is trained and scored: `target(array)` turns the split's target array into
    what the head predicts, `loss(out, target)` is the batch mean, `eval_sums(out, target, mask)` the
    masked per-batch sums (named `<task>_<metric>` in the results)."""

    target: Callable[[jax.Array], jax.Array]
    loss: Callable[[jax.Array, jax.Array], jax.Array]
    eval_sums: Callable[[jax.Array, jax.Array, jax.Array], dict[str, jax.Array]]


TASK_KINDS: dict[str, TaskKind] = {
    "classification": TaskKind(
        target=lambda y: y,
        loss=lambda out, y: optax.softmax_cross_entropy_with_integer_labels(out, y).mean(),
        eval_sums=_classification_eval_sums),
    "regression": TaskKind(
        target=lambda y: y,
        loss=lambda out, y: jnp.mean(jnp.square(out - y.reshape(out.shape))),
        eval_sums=_squared_error_sums),
    "pixel": TaskKind(  # regression onto the uint8 input pixels read in [0, 1]
        target=lambda y: y.astype(jnp.float32) / 255.0,
        loss=lambda out, y: jnp.mean(jnp.square(out - y.reshape(out.shape))),
        eval_sums=_squared_error_sums),
}


# ----------------------------------------------------------------------------------- state and recipe


def load_benchmark(config: ml_collections.ConfigDict) -> Benchmark:
    return build_benchmark(config.benchmark, seed=int(config.data_seed), data_dir=config.data_dir or "",
                           toy_tasks=int(config.toy_tasks))


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
    choose(WEIGHTINGS, config.weighting, "config.weighting")
    for b in config.baselines:
        choose(WEIGHTINGS, b, "config.baselines entry")
    choose(BENCHMARKS, config.benchmark, "config.benchmark")
    if float(config.gradnorm_alpha) < 0:
        raise JaxmlError(f"config.gradnorm_alpha must be >= 0, got {config.gradnorm_alpha}")
    if float(config.dwa_temperature) <= 0 or int(config.dwa_window) < 1:
        raise JaxmlError("config.dwa_temperature must be > 0 and config.dwa_window >= 1")


def build_net(config: ml_collections.ConfigDict, bench: Benchmark, names: Sequence[str]) -> MultiHeadNet:
    trunk = build_model(config, int(config.trunk_width))
    heads = tuple((t, bench.tasks[t].shape) for t in names)
    return MultiHeadNet(trunk=trunk, width=int(config.trunk_width), heads=heads,
                        activation=config.model.get("activation", "relu"))


def input_normaliser(bench: Benchmark) -> Normaliser:
    """Image inputs: the one normaliser of the training pixels; generated features: unchanged."""
    if bench.train[bench.input].dtype == np.uint8:
        return Normaliser.fit(bench.train, bench.input)
    return Normaliser(mean=0.0, std=1.0)


def task_targets(batch, bench: Benchmark, names: Sequence[str]) -> dict[str, jax.Array]:
    return {t: TASK_KINDS[bench.tasks[t].kind].target(batch[bench.tasks[t].target]) for t in names}


def per_task_losses(outputs: dict, targets: dict, names: Sequence[str], bench: Benchmark) -> jax.Array:
    """[T] mean loss of each task over the batch."""
    return jnp.stack([TASK_KINDS[bench.tasks[t].kind].loss(outputs[t], targets[t]) for t in names])


def make_recipe(config: ml_collections.ConfigDict, bench: Benchmark, eval_splits: dict[str, Split]) -> loop.Recipe:
    check_config(config)
    names = task_names(config, bench)
    net = build_net(config, bench, names)
    tx = make_optimizer(config)
    weighting = make_weighting(config, names)
    prepare = input_normaliser(bench)
    x0 = bench.train[bench.input][:2]

    def init(key):
        params = net.init({"params": key, "dropout": key}, prepare(x0), train=False)["params"]
        return initial_state(params, tx, weighting)

    def train_step(state: MultiTaskState, batch, key):
        x = prepare(batch[bench.input])
        targets = task_targets(batch, bench, names)
        drop_key, weighting_key = jax.random.split(key)

        def losses_fn(net_params):
            out = net.apply({"params": net_params}, x, train=True, rngs={"dropout": batch_key(drop_key)})
            return per_task_losses(out, targets, names, bench)

        return weighted_step(state, losses_fn, names, weighting, tx, weighting_key)

    def eval_step(state: MultiTaskState, batch):
        out = net.apply({"params": state.net.params}, prepare(batch[bench.input]), train=False)
        targets = task_targets(batch, bench, names)
        mask = batch["mask"]
        sums = {"count": jnp.sum(mask)}
        for t in names:
            spec, kind = bench.tasks[t], TASK_KINDS[bench.tasks[t].kind]
            sums.update({f"{t}_{k}": v for k, v in kind.eval_sums(out[t], targets[t], mask).items()})
            if spec.clean is not None:
                sums[f"{t}_fit_mse"] = kind.eval_sums(out[t], kind.target(batch[spec.clean]), mask)["mse"]
        accuracies = [sums[f"{t}_accuracy"] for t in names if f"{t}_accuracy" in sums]
        if accuracies:
            sums["accuracy"] = sum(accuracies) / len(accuracies)
        return sums

    evaluators = {GRAD: make_grad_norm_evaluator(config, bench, names, weighting)} if bench.task_scales is not None else {}
    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=bench.train,
                       eval_splits=eval_splits, main_metric="accuracy", evaluators=evaluators)


def make_grad_norm_evaluator(config, bench: Benchmark, names: Sequence[str], weighting: Weighting, n: int = 1000):
    """The `grad` evaluator: (state, key) -> {norm_<task>: ||grad_W (w_i L_i)||, norm_spread: max/min} at
    the last shared layer W on the first `n` test examples (one vmapped pass; the key is unused)."""
    net = build_net(config, bench, names)
    prepare = input_normaliser(bench)
    batch = bench.test.take(np.arange(min(n, len(bench.test))))

    @jax.jit
    def norms(params, weights):
        x = prepare(jnp.asarray(batch[bench.input]))
        targets = task_targets({k: jnp.asarray(v) for k, v in batch.items()}, bench, names)

        def losses_of_w(kernel):
            p = {**params, SHARED_LAYER: {**params[SHARED_LAYER], "kernel": kernel}}
            return per_task_losses(net.apply({"params": p}, x, train=False), targets, names, bench)

        losses, vjp_fn = jax.vjp(losses_of_w, params[SHARED_LAYER]["kernel"])
        jac = jax.vmap(vjp_fn)(jnp.eye(len(names), dtype=losses.dtype))[0]
        return weights * jnp.sqrt(jnp.sum(jnp.square(jac.reshape(len(names), -1)), axis=1))

    def evaluate(state: MultiTaskState, key) -> dict[str, float]:
        state = jax.device_get(state)
        g = np.asarray(jax.device_get(norms(state.net.params, weighting.weights(state.weighting))))
        out = {f"norm_{t}": float(v) for t, v in zip(names, g)}
        out["norm_spread"] = float(g.max() / max(g.min(), 1e-30))
        return out

    return evaluate


def train_one(config: ml_collections.ConfigDict, workdir: Path, bench: Benchmark, desc: str) -> dict[str, Any]:
    names = task_names(config, bench)
    eval_splits = {"test": bench.test}
    if bench.eval_train:
        eval_splits["train"] = bench.train
    recipe = make_recipe(config, bench, eval_splits)
    state, metrics = loop.run(recipe, config, workdir, desc=desc)
    state = jax.device_get(state)
    metrics["params"] = loop.count_params(state.net.params)
    for name, values in make_weighting(config, names).report(state.weighting).items():
        metrics.update({f"{name}_{t}": float(values[i]) for i, t in enumerate(names)})
    if all(f"sigma2_{t}" in metrics and f"train_{t}_mse" in metrics for t in names):
        # |exp(s_i) / residual variance - 1|, worst task (Kendall's stationary point is exp(s_i) = L_i)
        metrics["sigma2_ratio_worst"] = max(abs(metrics[f"sigma2_{t}"] / metrics[f"train_{t}_mse"] - 1) for t in names)
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
    if bench.task_scales is not None:
        names = task_names(config, bench)
        scales = bench.task_scales[[list(bench.tasks).index(t) for t in names]]
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
