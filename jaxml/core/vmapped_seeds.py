"""Several seeds of one recipe trained together in one compiled program: the train step `vmap`-ed over
the seeds' stacked states, batches and keys.

Seed s computes what `loop.run` computes for `config.seed = s` (float rounding of the batched
kernels apart): its initial state from `loop.init_key(s)`, its own batch order
(`train_batches(seed=s)`), its step keys `fold_in(loop.train_key(s), step)`, its evaluations with
`loop.evaluation(..., seed=s, ...)` on its slice of the stacked state. Where one step is latency-bound
(small batches on a CPU) the seeds share the program's overheads and cost far less than one run each.

The host batches of a chunk are laid out [K steps, B, S seeds, ...], so the batch axis stays the one
the recipe's sharding splits over the devices; the step reads each seed's batch from axis 1.

What `loop.run` does around a chunk is kept: resume from the newest checkpoint in the workdir (the
stacked state), the non-finite check naming the step, train rows (means over the seeds), evaluations
every `eval_every` steps and at the end (split `<name>_seed<s>` in metrics.jsonl), checkpoints every
`checkpoint_every` steps and a save on SIGTERM. Not supported (a `JaxmlError`): early stopping and
`config.init_from`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core import loop, parallel, xla_schedule
from jaxml.core.run import Run
from jaxml.data.batching import train_batches
from jaxml.errors import JaxmlError


def seed_slice(state: Any, i: int) -> Any:
    """Seed `i`'s state out of a stacked one."""
    return jax.tree.map(lambda x: x[i], state)


def stacked_init(base: loop.Recipe, seeds: Sequence[int]) -> Any:
    """The seeds' initial states stacked on a leading axis: `base.init(loop.init_key(s))` for each s."""
    return jax.vmap(lambda s: base.init(loop.init_key(s)))(jnp.asarray(seeds, jnp.int32))


def make_seeds_chunk(base: loop.Recipe, seeds: Sequence[int], mesh, compiler_options: Mapping[str, Any] | None = None):
    """(stacked state, batches [K, B, S, ...], train keys [S], start_step) -> (state, metrics [K, S]),
    compiled by `base.sharding` like `loop.make_train_chunk`."""
    step_all = jax.vmap(base.train_step, in_axes=(0, 1, 0))

    def chunk(state, batches, keys, start_step):
        num_steps = jax.tree.leaves(batches)[0].shape[0]

        def body(state, xs):
            i, batch = xs
            return step_all(state, batch, jax.vmap(lambda k: jax.random.fold_in(k, start_step + i))(keys))

        return jax.lax.scan(body, state, (jnp.arange(num_steps), batches))

    return base.sharding.compile_train(chunk, mesh, lambda key: stacked_init(base, seeds), compiler_options)


def seed_batches(split, seeds: Sequence[int], *, start_step: int, num_steps: int, global_batch: int) -> dict:
    """Host batches [K, B, S, ...]: seed s's `train_batches` at axis 2."""
    per_seed = [train_batches(split, start_step=start_step, num_steps=num_steps, global_batch=global_batch, seed=s,
                              process_index=jax.process_index(), process_count=jax.process_count()) for s in seeds]
    return {k: np.stack([b[k] for b in per_seed], axis=2) for k in per_seed[0]}


def check_config(config: ml_collections.ConfigDict, seeds: Sequence[int]) -> None:
    if not seeds:
        raise JaxmlError("config.seeds is empty; give at least one seed")
    if len(set(int(s) for s in seeds)) != len(seeds) or min(int(s) for s in seeds) < 0:
        raise JaxmlError(f"config.seeds must be distinct non-negative integers, got {list(seeds)}")
    if config.get("early_stopping") and config.early_stopping.get("metric"):
        raise JaxmlError("config.early_stopping.metric is not supported with vmapped seeds; set it to ''")
    if config.get("init_from"):
        raise JaxmlError("config.init_from is not supported with vmapped seeds; set it to ''")


def run_seeds(base: loop.Recipe, config: ml_collections.ConfigDict, seeds: Sequence[int], workdir: str | Path, *,
              desc: str = "train") -> tuple[Any, list[dict[str, float]]]:
    """Trains `base` for `config.steps` steps for every seed of `seeds` at once, resuming from
    `workdir`; returns (the stacked state, each seed's final metrics as `loop.run` returns them)."""
    seeds = [int(s) for s in seeds]
    check_config(config, seeds)
    workdir = Path(workdir)
    total_steps, log_every, eval_every, ckpt_every, global_batch, eval_batch, mesh = loop.schedule(base, config)
    with Run(workdir, total=total_steps, config=config, desc=desc, checkpoint=bool(ckpt_every),
             keep=int(config.keep_checkpoints), tensorboard=bool(config.get("tensorboard", True))) as run:
        state = run.restore(base.sharding.place_state(lambda: stacked_init(base, seeds), mesh))
        chunk = make_seeds_chunk(base, seeds, mesh, xla_schedule.compiler_options(config))
        evaluate = loop.make_eval(base, mesh)
        eval_data = {name: loop.shard_eval_split(split, eval_batch, mesh, base.sharding)
                     for name, split in base.eval_splits.items()}
        keys = parallel.on_mesh(lambda: jax.vmap(loop.train_key)(jnp.asarray(seeds, jnp.int32)), mesh)

        def run_eval(step: int) -> list[dict[str, float]]:
            out = []
            for i, s in enumerate(seeds):
                by_split = loop.evaluation(base, evaluate, eval_data, seed_slice(state, i), s, step)
                for name, metrics in by_split.items():
                    run.log(f"{name}_seed{s}", metrics, step)
                out.append(loop.flatten(by_split))
            return out

        final: list[dict[str, float]] = []
        t_start = time.time()
        run.stop(None)
        while run.step < total_steps:
            step = run.step
            num = min(log_every, total_steps - step)
            host = seed_batches(base.train_split, seeds, start_step=step, num_steps=num, global_batch=global_batch)
            state, metrics = chunk(state, base.sharding.shard_batch(host, mesh, batch_axis=1), keys, jnp.int32(step))
            metrics = jax.device_get(metrics)
            run.check_finite(metrics)
            row = {k: float(np.mean(v)) for k, v in metrics.items()}
            row["steps_per_s"] = num / max(time.time() - t_start, 1e-9)
            t_start = time.time()
            run.advance(num, {"loss": f"{row['loss']:.4f}"})
            run.log("train", row)
            step = run.step
            if step % eval_every == 0 or step == total_steps:
                final = run_eval(step)
            if ckpt_every and (step % ckpt_every == 0 or step == total_steps or run.stop_requested()):
                run.save(state)
            if step < total_steps:
                run.stop(state)
        if not final:  # resumed at the end
            final = run_eval(run.step)
        for m in final:
            m["steps"] = run.step
    return state, final
