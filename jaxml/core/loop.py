"""The shared training loop: chunks of steps in one compiled scan, eval, logging, checkpoints, NaN guard.

A method hands the loop a `Recipe` of pure functions and its data. The loop:
- places the state and shards every batch as the recipe's `sharding` strategy says, on the
  (data, fsdp, tensor) mesh of `core/sharding.py`: the state replicated and the batch split over
  the devices (`sharding.DATA_PARALLEL`, the default), or the state by the rules of a parameter-axis
  table (FSDP / tensor parallelism);
- runs `config.log_every` steps per call as one `jax.lax.scan` compiled by that strategy (no Python and
  no host sync inside a chunk), the batches for the chunk gathered on the host from a deterministic
  order (a function of seed and epoch; position a function of step);
- after each chunk: checks every step's loss is finite (else stops, naming the step, without saving),
  logs, evaluates every `eval_every` steps, saves every `checkpoint_every` steps and on SIGTERM;
- with `config.early_stopping.metric` set: keeps the best evaluation's state in its own checkpoint,
  stops after `patience` evaluations without improvement, and returns the best state and its
  metrics (`core/early_stopping.py`);
- resumes from the newest readable checkpoint in the workdir with identical results; a fresh run
  with `config.init_from` starts from another run's parameters (`core/transfer.py`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core import early_stopping, gradients, parallel, sharding as sharding_lib, transfer, xla_schedule
from jaxml.core.checkpoint import restore_checkpoint
from jaxml.core.run import Run
from jaxml.data.batching import eval_batches, train_batches
from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

State = Any
Batch = Mapping[str, jax.Array]


@dataclasses.dataclass
class Recipe:
    """What a method hands to the loop.

    init(key) -> state; train_step(state, batch, key) -> (state, metrics) on the whole global batch,
    metrics including "loss"; eval_step(state, batch) -> per-batch SUMS (the loop adds them over the
    batches and divides by the "count" entry). Steps use no collectives: XLA inserts them from the
    shardings.

    sharding: how the state is placed. `core.sharding.DATA_PARALLEL` (default): replicated, the batch
    split over the devices. `core.sharding.GlobalArrays(param_axes)`: by the rules (FSDP / tensor
    parallelism from `config.parallel.fsdp` / `.tensor`).

    evaluators: {name: fn(state, key) -> {metric: float}} run after the eval splits at every eval
    point (`eval_every` steps and the end) inside the same run: FID of samples, robust accuracy, a
    linear probe. Each is called with the global (replicated) state and a key that is a function of
    the seed, the evaluator's name and the step; build its compiled function once, when the recipe
    is made. Its metrics are logged under split `name` and returned as `<name>_<metric>`.

    grad_accum: the micro-batches per step the recipe's `train_step` takes its gradient over
    (`core.gradients`); the loop refuses a `config.grad_accum` the recipe was not built for.
    """

    init: Callable[[jax.Array], State]
    train_step: Callable[[State, Batch, jax.Array], tuple[State, dict]]
    eval_step: Callable[[State, Batch], dict]
    train_split: Split
    eval_splits: Mapping[str, Split]
    main_metric: str = "accuracy"
    evaluators: Mapping[str, Callable[[State, jax.Array], Mapping[str, float]]] = dataclasses.field(default_factory=dict)
    sharding: Any = sharding_lib.DATA_PARALLEL
    grad_accum: int = 1


def make_train_chunk(recipe: Recipe, mesh, compiler_options: Mapping[str, Any] | None = None) -> Callable:
    """(state, batches [K, B, ...], key, start_step) -> (state, metrics [K]); compiled by `recipe.sharding`
    with `compiler_options` (`core.xla_schedule.compiler_options(config)`; None: XLA's defaults)."""

    def chunk(state, batches, key, start_step):
        num_steps = jax.tree.leaves(batches)[0].shape[0]

        def body(state, xs):
            i, batch = xs
            step_key = jax.random.fold_in(key, start_step + i)
            return recipe.train_step(state, batch, step_key)

        return jax.lax.scan(body, state, (jnp.arange(num_steps), batches))

    return recipe.sharding.compile_train(chunk, mesh, recipe.init, compiler_options)


def make_eval(recipe: Recipe, mesh) -> Callable:
    """(state, batches [N, B, ...]) -> summed metrics over all batches and devices."""

    def evaluate(state, batches):
        def body(total, batch):
            sums = recipe.eval_step(state, batch)
            return jax.tree.map(jnp.add, total, sums), None

        first = jax.tree.map(lambda x: x[0], batches)
        zeros = jax.tree.map(jnp.zeros_like, jax.eval_shape(recipe.eval_step, state, first))
        total, _ = jax.lax.scan(body, zeros, batches)
        return total

    return recipe.sharding.compile_eval(evaluate, mesh, recipe.init)


def summarize_eval(sums: Mapping[str, Any]) -> dict[str, float]:
    sums = jax.device_get(sums)
    count = float(sums["count"])
    return {k: float(v) / count for k, v in sums.items() if k != "count"}


def evaluator_key(seed: int, name: str, step: int) -> jax.Array:
    """The key evaluator `name` gets at `step`: a function of (seed, name, step) only."""
    tag = int.from_bytes(name.encode()[:4].ljust(4, b"\0"), "little") & 0x7FFFFFFF
    return jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), 2), tag), step)


def run_evaluators(recipe: Recipe, state: State, seed: int, step: int) -> dict[str, dict[str, float]]:
    """{name: metrics} of every evaluator of `recipe` at `step`."""
    return {name: {k: float(v) for k, v in fn(state, evaluator_key(seed, name, step)).items()}
            for name, fn in recipe.evaluators.items()}


def train_key(seed: int) -> jax.Array:
    return jax.random.fold_in(jax.random.key(seed), 1)


def init_key(seed: int) -> jax.Array:
    return jax.random.fold_in(jax.random.key(seed), 0)


def schedule(recipe: Recipe, config: ml_collections.ConfigDict):
    """The run's checked schedule and batch sizes: (steps, log_every, eval_every, checkpoint_every,
    batch_size, eval_batch_size, mesh); one JaxmlError for any inconsistent value."""
    total_steps = int(config.steps)
    log_every = max(1, min(int(config.log_every), total_steps))
    eval_every = int(config.eval_every) or total_steps
    ckpt_every = int(config.checkpoint_every)
    for name, every in (("eval_every", eval_every), ("checkpoint_every", ckpt_every)):
        if every and every % log_every:
            raise JaxmlError(f"config.{name}={every} must be a multiple of config.log_every={log_every}")
    global_batch = int(config.batch_size)
    eval_batch = int(config.get("eval_batch_size", global_batch))
    mesh = recipe.sharding.make_mesh(config.parallel)
    parallel.check_batch_size(global_batch, mesh)
    parallel.check_batch_size(eval_batch, mesh, "eval_batch_size")
    if len(recipe.train_split) < global_batch:
        raise JaxmlError(f"config.batch_size={global_batch} exceeds the {len(recipe.train_split)} training examples")
    check_grad_accum(recipe, config, mesh)
    xla_schedule.compiler_options(config)  # checks config.cpu_scheduler
    return total_steps, log_every, eval_every, ckpt_every, global_batch, eval_batch, mesh


def run(recipe: Recipe, config: ml_collections.ConfigDict, workdir: str | Path, *,
        desc: str = "train") -> tuple[State, dict[str, float]]:
    """Trains to `config.steps`, resuming from `workdir`; returns (state, final metrics).

    On the `core.run.Run` skeleton: SIGTERM or Ctrl-C at any point (also during set-up and
    compilation) is honoured at the next chunk boundary: the state is saved and `Preempted` raised.
    """
    workdir = Path(workdir)
    total_steps, log_every, eval_every, ckpt_every, global_batch, eval_batch, mesh = schedule(recipe, config)
    rule = early_stopping.Rule.from_config(config)

    pidx, pcount = jax.process_index(), jax.process_count()
    seed = int(config.seed)
    with Run(workdir, total=total_steps, config=config, desc=desc, checkpoint=bool(ckpt_every),
             keep=int(config.keep_checkpoints), tensorboard=bool(config.get("tensorboard", True))) as run:
        state = recipe.sharding.place_state(lambda: recipe.init(init_key(seed)), mesh)
        state = run.restore(transfer.init_from_config(config, state))  # config.init_from; a resume overrides it
        train_chunk = make_train_chunk(recipe, mesh, xla_schedule.compiler_options(config))
        evaluate = make_eval(recipe, mesh)
        eval_data = {name: shard_eval_split(split, eval_batch, mesh, recipe.sharding)
                     for name, split in recipe.eval_splits.items()}
        key = parallel.on_mesh(lambda: train_key(seed), mesh)

        tracker = None
        if rule is not None:
            early_stopping.check_metric(rule, eval_metric_names(recipe, state, eval_data), recipe.evaluators)
            tracker = early_stopping.Tracker(rule, workdir, writer=pidx == 0)
            run.on_close(tracker.close)
            tracker.resume_at(run.step)

        def run_eval(step: int) -> dict[str, float]:
            by_split = evaluation(recipe, evaluate, eval_data, state, seed, step)
            for name, metrics in by_split.items():
                run.log(name, metrics, step)
            out = flatten(by_split)
            if tracker is not None:
                tracker.record(step, out, state)
            return out

        final: dict[str, float] = {}
        postfix: dict[str, str] = {}
        t_start = time.time()
        run.stop(None)  # a stop requested during set-up: nothing new to save
        while run.step < total_steps and not (tracker and tracker.summary.stop):
            step = run.step
            num = min(log_every, total_steps - step)
            host = train_batches(recipe.train_split, start_step=step, num_steps=num, global_batch=global_batch,
                                 seed=seed, process_index=pidx, process_count=pcount)
            batches = recipe.sharding.shard_batch(host, mesh, batch_axis=1)
            state, metrics = train_chunk(state, batches, key, jnp.int32(step))
            metrics = jax.device_get(metrics)
            run.check_finite(metrics)
            row = {k: float(np.mean(v)) for k, v in metrics.items()}
            row["steps_per_s"] = num / max(time.time() - t_start, 1e-9)
            t_start = time.time()
            run.advance(num)
            run.log("train", row)
            postfix["loss"] = f"{row['loss']:.4f}"
            step = run.step
            if step % eval_every == 0 or step == total_steps:
                final = run_eval(step)
                main = next((k for k in final if k.endswith(recipe.main_metric)), None)
                if main:
                    postfix[main] = f"{final[main]:.4f}"
            run.bar.set_postfix(postfix)
            stopping = bool(tracker and tracker.summary.stop)
            if ckpt_every and (step % ckpt_every == 0 or step == total_steps or run.stop_requested() or stopping):
                run.save(state)
            if stopping:
                summary = tracker.summary
                log.info("early stopping at step %d: %s has not improved on %.6g (step %d) for %d evaluations",
                         step, rule.metric, summary.best_value, summary.best_step, summary.since_best)
            elif step < total_steps:
                run.stop(state)
        if tracker is not None and tracker.summary.best_step is not None:
            best = tracker.restore_best(state)
            if best is not None:  # the result is the best evaluation's state and metrics
                best_step, state = best
                final = flatten(evaluation(recipe, evaluate, eval_data, state, seed, best_step))
                final["best_step"] = best_step
        if not final:  # resumed at the end: the evaluation rows at this step are rewritten, not repeated
            final = run_eval(run.step)
        final["steps"] = run.step
    return state, final


def check_grad_accum(recipe: Recipe, config: ml_collections.ConfigDict, mesh) -> None:
    """`config.grad_accum` is what the recipe was built for, and splits every batch shard evenly."""
    accum = gradients.accum_steps(config, parallel.batch_shards(mesh))
    if accum != recipe.grad_accum:
        raise JaxmlError(f"config.grad_accum={accum}: method {config.get('method', '?')!r} takes one gradient per "
                         f"batch (its step does not use core.gradients); set config.grad_accum=1")


def eval_metric_names(recipe: Recipe, state: State, eval_data: Mapping[str, Any]) -> list[str]:
    """The `<split>_<metric>` names the eval splits will report (from the eval step's shapes)."""
    names = []
    for split, batches in eval_data.items():
        sums = jax.eval_shape(lambda b: recipe.eval_step(state, jax.tree.map(lambda x: x[0], b)), batches)
        names += [f"{split}_{k}" for k in sums if k != "count"]
    return names


def eval_batch_for(split: Split, eval_batch: int, mesh) -> int:
    """The eval batch for `split`: `eval_batch`, but never more than the split rounded up to the
    devices (a larger one would only pad; the masked results are the same, the memory is not)."""
    devices = mesh.devices.size
    return min(int(eval_batch), -(-len(split) // devices) * devices)


def shard_eval_split(split: Split, eval_batch: int, mesh, sharding: Any = sharding_lib.DATA_PARALLEL) -> Any:
    """The whole split as padded, masked global batches [N, B, ...] sharded over the batch axes."""
    eval_batch = eval_batch_for(split, eval_batch, mesh)
    return sharding.shard_batch(eval_batches(split, global_batch=eval_batch, process_index=jax.process_index(),
                                             process_count=jax.process_count()), mesh, batch_axis=1)


def evaluation(recipe: Recipe, evaluate: Callable, eval_data: Mapping[str, Any], state: State, seed: int,
               step: int) -> dict[str, dict[str, float]]:
    """{split or evaluator name: metrics} of `state` at `step`: every eval split, then every evaluator."""
    out = {name: summarize_eval(evaluate(state, batches)) for name, batches in eval_data.items()}
    out.update(run_evaluators(recipe, state, seed, step))
    return out


def flatten(by_split: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """{name: {metric: v}} -> {"<name>_<metric>": v}."""
    return {f"{name}_{k}": v for name, metrics in by_split.items() for k, v in metrics.items()}


def restore_recipe_state(recipe: Recipe, config: ml_collections.ConfigDict, workdir: str | Path):
    """(step, state, mesh): the newest readable checkpoint of `workdir`, placed as the recipe places it."""
    mesh = recipe.sharding.make_mesh(config.parallel)
    like = recipe.sharding.place_state(lambda: recipe.init(init_key(config.seed)), mesh)
    step, state = restore_checkpoint(workdir, like)
    return step, state, mesh


def evaluate_state(recipe: Recipe, config: ml_collections.ConfigDict, state: State, step: int, mesh) -> dict[str, float]:
    """`state` evaluated on the recipe's eval splits and evaluators, as the loop does at `step`."""
    eval_batch = int(config.get("eval_batch_size", config.batch_size))
    eval_data = {name: shard_eval_split(split, eval_batch, mesh, recipe.sharding)
                 for name, split in recipe.eval_splits.items()}
    return {"step": step, **flatten(evaluation(recipe, make_eval(recipe, mesh), eval_data, state, int(config.seed),
                                               step))}


def evaluate_checkpoint(recipe: Recipe, config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, float]:
    """Restores the newest readable checkpoint of `workdir` and evaluates it on the recipe's eval splits
    and evaluators."""
    step, state, mesh = restore_recipe_state(recipe, config, workdir)
    return evaluate_state(recipe, config, state, step, mesh)


def count_params(tree: Any) -> int:
    return int(sum(math.prod(x.shape) for x in jax.tree.leaves(tree)))
