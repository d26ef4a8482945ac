#!/usr/bin/env python
"""Side-by-side: cnn_fashion's training step with jaxml's matmul convolution vs XLA's native one,
in float32 and bfloat16 (bf16 matmul operands, float32 accumulation). One process, interleaved
rounds, median step time of each round; the table goes to BENCHMARKS.md.

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

    variants = [(impl, dtype) for dtype in ("float32", "bfloat16") for impl in ("slices", "xla")]
    times: dict[tuple[str, str], list[float]] = {v: [] for v in variants}
    flops = {}
    for _ in range(args.rounds):
        for impl, dtype in variants:
            _, config = load_experiment_config(args.experiment, [
                f"--config.model.conv_impl={impl}", f"--config.dtype={dtype}", f"--config.log_every={args.scan}",
                "--config.parallel.num_devices=1"])
            recipe = method_module(config.method).recipe_for(config)
            report = profiling.bench_recipe(recipe, config, steps=args.steps, warmup=1)
            times[(impl, dtype)].append(report["step_ms"])
            flops[(impl, dtype)] = report["flops_per_step"]
    base = statistics.median(times[("xla", "float32")])
    print(f"{args.experiment} training step, batch {config.batch_size}, {args.scan} steps/call, jax {jax.__version__}, "
          f"{jax.devices()[0].device_kind}")
    for v in variants:
        ms = statistics.median(times[v])
        print(f"  conv_impl={v[0]:<7} dtype={v[1]:<9} {ms:8.2f} ms/step  {config.batch_size / ms * 1e3:8.0f} ex/s  "
              f"{base / ms:5.2f}x xla-float32   rounds: {', '.join(f'{t:.1f}' for t in times[v])}")
    print(json.dumps({f"{k[0]}-{k[1]}": statistics.median(t) for k, t in times.items()}))


if __name__ == "__main__":
    main()
