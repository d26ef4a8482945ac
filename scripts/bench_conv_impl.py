#!/usr/bin/env python
"""Side-by-side: cnn_fashion's training step computed four ways, each timed three ways: the bare
step (`train_step` jit-ed on one device, no scan), one step per call inside a length-1 `lax.scan`, and
several steps per call inside one `lax.scan` (how `jaxml train` runs):

- plain Flax formulation: XLA convolution + `nn.max_pool` (reduce_window)
- XLA convolution + reshape pooling
- jaxml's default: matmul convolution (shifted-slice im2col) + reshape pooling
- the default with bf16 matmul operands (float32 accumulation)

The first three compute the same function (tested in tests/models). One process; the table goes to
BENCHMARKS.md.

    python scripts/bench_conv_impl.py --steps 10 --scan 10
"""

from __future__ import annotations

import argparse
import json
import statistics

import jax


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", default="cnn_fashion")
    p.add_argument("--steps", type=int, default=10, help="timed steps per variant and mode")
    p.add_argument("--scan", type=int, default=10, help="steps per call in the scanned mode")
    args = p.parse_args()

    from jaxml.experiments import load_experiment_config
    from jaxml.core import loop, parallel
    from jaxml.core.profiling import StepTimer, time_calls
    from jaxml.data.batching import train_batches
    from jaxml.experiments import method_module

    variants = [("xla", "reduce_window", "float32"), ("xla", "reshape", "float32"), ("slices", "reshape", "float32"),
                ("slices", "reshape", "bfloat16")]
    results = {}
    print(f"{args.experiment} training step, jax {jax.__version__}, {jax.devices()[0].device_kind}; "
          f"median of {args.steps} steps", flush=True)
    for conv, pool, dtype in variants:
        _, config = load_experiment_config(args.experiment, [
            f"--config.model.conv_impl={conv}", f"--config.model.pool_impl={pool}", f"--config.dtype={dtype}",
            "--config.parallel.num_devices=1"])
        recipe = method_module(config.method).recipe_for(config)
        row = {}
        mesh = parallel.make_mesh(1)
        step = jax.jit(recipe.train_step, donate_argnums=(0,))
        host = train_batches(recipe.train_split, start_step=0, num_steps=1, global_batch=int(config.batch_size), seed=0)
        batch = parallel.shard_batch({k: v[0] for k, v in host.items()}, mesh)
        holder = {"state": jax.jit(recipe.init)(loop.init_key(0)), "key": loop.train_key(0)}

        def bare():
            holder["state"], metrics = step(holder["state"], batch, holder["key"])
            return metrics

        time_calls(bare, lambda: (), 2)
        row["bare"] = statistics.median(time_calls(bare, lambda: (), args.steps)) * 1e3
        for per_call in (1, args.scan):
            timer = StepTimer(recipe, config, steps_per_call=per_call)
            ms = statistics.median(timer.step_times(max(1, args.steps // per_call))) * 1e3
            row[per_call] = ms
        results[(conv, pool, dtype)] = row
        print(f"  conv_impl={conv:<7} pool_impl={pool:<14} dtype={dtype:<9} bare step {row['bare']:7.1f} ms   "
              f"1 step/call {row[1]:8.1f} ms/step   {args.scan} steps/call (scan) {row[args.scan]:8.1f} ms/step "
              f"({config.batch_size / row[args.scan] * 1e3:6.0f} ex/s)", flush=True)
    print(json.dumps({"-".join(k): v for k, v in results.items()}))


if __name__ == "__main__":
    main()
