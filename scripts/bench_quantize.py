"""float32 vs int8 inference of the quantize_fashion CNN: latency (batch 1) and throughput (large batch).

The float32 model is models.CNN (jaxml's default matmul convolution); the int8 model is
models.quant.QuantCNN in "int8" mode (int8 kernels, inputs quantized per layer, int8 x int8 -> int32
matmuls, float32 rescale). Weights are random (speed does not depend on their values). Both sides are
jitted and alternate over `--rounds` rounds; each round times `--calls` calls per batch size; the
reported time is the median over all calls, the ratio the median of the per-round ratios.

    python scripts/bench_quantize.py --rounds 5 --calls 50
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.core.config import load_config_file
from jaxml.methods import quantize
from jaxml.models import quant
from jaxml.models.build import build_model


def timed(fn, x, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        jax.block_until_ready(fn(x))
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "configs", "quantize_fashion.py"))
    p.add_argument("--batches", default="1,256")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls", type=int, default=50)
    args = p.parse_args()

    config = load_config_file(args.config)
    float_model = build_model(config, 10)
    int8_model = build_model(quantize.quant_model_config(config, "int8", config.quantize.granularity, True), 10)
    fake_model = build_model(quantize.quant_model_config(config, "fake", config.quantize.granularity, True), 10)
    x_cal = jax.random.normal(jax.random.key(0), (256, 28, 28, 1))
    params = float_model.init(jax.random.key(1), x_cal[:1], train=False)["params"]
    _, stats = fake_model.apply({"params": params}, x_cal, train=False, mutable=["quant"])
    int8_vars = {"params": quant.to_int8(params, config.quantize.granularity), **stats}
    fns = {
        "float32": jax.jit(lambda x: float_model.apply({"params": params}, x, train=False)),
        "int8": jax.jit(lambda x: int8_model.apply(int8_vars, x, train=False)),
    }
    print(f"quantize_fashion CNN inference, jax {jax.__version__}, {jax.devices()[0].platform}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.rounds} interleaved rounds "
          f"of {args.calls} calls; int8 weights {quant.serialized_bytes(int8_vars)} bytes vs float32 "
          f"{quant.serialized_bytes(params)} bytes")
    for b in (int(s) for s in args.batches.split(",")):
        x = jax.random.normal(jax.random.key(2), (b, 28, 28, 1))
        for fn in fns.values():
            jax.block_until_ready(fn(x))  # compile
        times = {k: [] for k in fns}
        ratios = []
        for _ in range(args.rounds):
            med = {}
            for k, fn in fns.items():
                t = timed(fn, x, args.calls)
                times[k] += t
                med[k] = np.median(t)
            ratios.append(med["float32"] / med["int8"])
        for k in fns:
            ms = 1e3 * np.median(times[k])
            print(f"  batch {b:4d}  {k:8s} {ms:9.3f} ms/call  {b / (ms / 1e3):10.0f} examples/s")
        print(f"  batch {b:4d}  int8 speed vs float32: median {np.median(ratios):.2f}x "
              f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x; > 1 means int8 is faster)")


if __name__ == "__main__":
    main()
