#!/usr/bin/env python
"""Side-by-side: cnn_fashion's training step computed four ways — the plain Flax formulation (XLA
convolution + `nn.max_pool`), XLA convolution + reshape pooling, jaxml's default (matmul convolution
+ reshape pooling), and the default with bf16 matmul operands (float32 accumulation). The same
function in the first three (tested). One process, interleaved rounds; the table goes to
BENCHMARKS.md.

    python scripts/bench_conv_impl.py --rounds 2 --steps 100
"""

from __future__ import annotations

import argparse
import json
import statistics

import jax


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", default="cnn_fashion")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--scan", type=int, default=50)
    args = p.parse_args()

    from jaxml.cli import load_experiment_config
    from jaxml.core import profiling
    from jaxml.experiments import method_module

    variants = [("xla", "reduce_window", "float32"), ("xla", "reshape", "float32"), ("slices", "reshape", "float32"),
                ("slices", "reshape", "bfloat16")]
    times: dict[tuple[str, str, str], list[float]] = {v: [] for v in variants}
    flops = {}
    for _ in range(args.rounds):
        for conv, pool, dtype in variants:
            _, config = load_experiment_config(args.experiment, [
                f"--config.model.conv_impl={conv}", f"--config.model.pool_impl={pool}", f"--config.dtype={dtype}",
                f"--config.log_every={args.scan}", "--config.parallel.num_devices=1"])
            recipe = method_module(config.method).recipe_for(config)
            report = profiling.bench_recipe(recipe, config, steps=args.steps, warmup=1)
            times[(conv, pool, dtype)].append(report["step_ms"])
            flops[(conv, pool, dtype)] = report["flops_per_step"]
    base = statistics.median(times[variants[0]])
    print(f"{args.experiment} training step, batch {config.batch_size}, {args.scan} steps/call, jax {jax.__version__}, "
          f"{jax.devices()[0].device_kind}")
    for v in variants:
        ms = statistics.median(times[v])
        print(f"  conv_impl={v[0]:<7} pool_impl={v[1]:<14} dtype={v[2]:<9} {ms:8.2f} ms/step "
              f"{config.batch_size / ms * 1e3:7.0f} ex/s  {base / ms:5.2f}x plain-flax   "
              f"rounds: {', '.join(f'{t:.1f}' for t in times[v])}")
    print(json.dumps({"-".join(k): statistics.median(t) for k, t in times.items()}))


if __name__ == "__main__":
    main()
