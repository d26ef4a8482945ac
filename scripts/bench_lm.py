"""LM train-step throughput: tokens/s, FLOPs (formula vs XLA cost analysis) and MFU for a few GPT sizes.

Usage: python scripts/bench_lm.py [--sizes small,medium,large] [--steps 20] [--dtype float32] [--impl einsum]
       [--out bench_out/lm.json]

Times the shared loop's real scanned training chunk (`core.profiling.bench_recipe`) of the `gpt_kjv`
config with the model size overridden. MFU needs a peak: on devices `core.profiling` knows (GPU/TPU)
it is the vendor bf16 peak; on CPU there is none, so the script also measures a dense float32
matmul (2048^3, median of 10) on all devices of the mesh and reports `mfu_vs_matmul` = achieved model
FLOP/s / that measured matmul FLOP/s (an upper bound that XLA reaches on this machine, not a vendor peak).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from jaxml import experiments  # noqa: E402
from jaxml.core import config as config_lib, profiling  # noqa: E402
from jaxml.methods import lm  # noqa: E402

SIZES = {
    "small": dict(num_layers=4, embed_dim=128, num_heads=4),
    "medium": dict(num_layers=4, embed_dim=192, num_heads=4),
    "large": dict(num_layers=6, embed_dim=256, num_heads=8),
    "gpt2_small": dict(num_layers=12, embed_dim=768, num_heads=12),
}


def matmul_flops_per_s(n: int = 2048, reps: int = 10, dtype=jnp.float32) -> float:
    a = jnp.ones((n, n), dtype)
    f = jax.jit(lambda x: x @ x)
    jax.block_until_ready(f(a))
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        jax.block_until_ready(f(a))
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="small,medium,large")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--impl", default="einsum")
    p.add_argument("--batch", type=int, default=0, help="override the batch size (0 = the config's)")
    p.add_argument("--seq", type=int, default=0, help="override seq_len (0 = the config's)")
    p.add_argument("--out", default="")
    args = p.parse_args()
    _, base = experiments.resolve("gpt_kjv")
    peak_mm = matmul_flops_per_s(dtype=jnp.float32 if args.dtype == "float32" else jnp.bfloat16)
    rows = []
    for size in args.sizes.split(","):
        config = config_lib.load_config_file(base)
        with config.unlocked():
            config.model.update(SIZES[size])
            config.model.impl = args.impl
            config.dtype = args.dtype
            config.log_every = 10
            if args.batch:
                config.batch_size = args.batch
            if args.seq:
                config.seq_len = args.seq
        data = lm.load_data(config)
        report = profiling.bench_recipe(lm.make_recipe(config, data), config, steps=args.steps, warmup=2)
        cfg = lm.model_config(config, data.tokenizer.vocab_size)
        tokens = int(config.batch_size) * int(config.seq_len)
        step_s = report["step_ms"] / 1e3
        formula = lm.flops_per_token(cfg, int(config.seq_len)) * tokens
        row = {"size": size, **SIZES[size], "seq_len": int(config.seq_len), "batch": int(config.batch_size),
               "dtype": args.dtype, "impl": args.impl, "devices": report["devices"],
               "params": lm.matmul_params(cfg), "step_ms": report["step_ms"], "tokens_per_s": round(tokens / step_s),
               "flops_per_step_formula": formula, "flops_per_step_xla": report["flops_per_step"],
               "achieved_flops_per_s": formula / step_s, "mfu": report["mfu"],
               "matmul_flops_per_s": peak_mm, "mfu_vs_matmul": formula / step_s / peak_mm,
               "compile_s": report["compile_s"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"device": str(jax.devices()[0].device_kind), "jax": jax.__version__,
                                              "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
