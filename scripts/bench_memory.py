"""Compiled memory of the char GPT's training step under the memory levers: activation checkpointing
(`config.remat`), gradient accumulation (`config.grad_accum`) and the compute dtype.

Usage: python scripts/bench_memory.py [--layers 6] [--width 256] [--heads 8] [--batch 32] [--seq 128]
       [--dtypes float32,bfloat16] [--variants none:1,full:1,dots_saveable:1,none:4,full:4] [--out FILE]
       (a variant is remat:micro-batches[:cpu_scheduler], e.g. none:1:memory; the scheduler defaults to
       "auto", as `jaxml train` compiles it: `core/xla_schedule.py`)
       python scripts/bench_memory.py --time 5 --dtypes float32 --variants none:1,full:1,none:1:memory
       (the same variants' steps timed, interleaved rounds)
       python scripts/bench_memory.py --chain

Each variant (remat policy : micro-batches) builds the `lm` method's recipe (`methods/lm.py`) on
synthetic windows of a 63-character vocabulary (the KJV's), compiles the loop's training chunk of one
step (`core.loop.make_train_chunk`, as `jaxml train` runs it, on one device) and prints XLA's memory
analysis of the compiled program: `temp` (scratch: the activations kept for the backward pass and
every other intermediate), `argument` and `output` (the state and the batch), in MiB. Nothing is run
or timed: the figures are properties of the compiled program, so they do not depend on the load of
the machine. `--chain` prints the same analysis for a chain of matmul + tanh blocks, unrolled and
under `lax.scan`, with and without `jax.checkpoint` per block.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxml.core import loop, xla_schedule  # noqa: E402
from jaxml.data import text as text_lib  # noqa: E402
from jaxml.data.datasets import Split  # noqa: E402
from jaxml.defaults import lm as lm_defaults  # noqa: E402
from jaxml.methods import lm  # noqa: E402

VOCAB = "".join(chr(c) for c in range(32, 95))  # 63 characters
MIB = 2.0 ** 20


def compiled_step(layers: int, width: int, heads: int, batch: int, seq: int, dtype: str, remat: str,
                  accum: int, scheduler: str = "auto"):
    """(the compiled one-step training chunk, a function running it once on zero state) for a variant."""
    c = lm_defaults.base_config()
    c.model.update(num_layers=layers, embed_dim=width, num_heads=heads)
    c.update(seq_len=seq, batch_size=batch, dtype=dtype, remat=remat, grad_accum=accum, cpu_scheduler=scheduler)
    c.parallel.num_devices = 1
    tok = text_lib.CharTokenizer(VOCAB)
    windows = np.random.default_rng(0).integers(0, tok.vocab_size, (batch, seq + 1)).astype(np.uint8)
    recipe = lm.make_recipe(c, lm.LMData(tok, Split(tokens=windows), Split(tokens=windows), "synthetic"))
    mesh = recipe.sharding.make_mesh(c.parallel)
    state = jax.eval_shape(lambda: recipe.init(loop.init_key(0)))
    state = recipe.sharding.place_state(lambda: jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), state), mesh)
    batches = recipe.sharding.shard_batch({"tokens": windows[None]}, mesh, batch_axis=1)
    chunk = loop.make_train_chunk(recipe, mesh, xla_schedule.compiler_options(c))
    compiled = chunk.lower(state, batches, loop.train_key(0), jnp.int32(0)).compile()
    holder = {"state": jax.tree.map(jnp.copy, state)}

    def step():
        holder["state"], metrics = compiled(holder["state"], batches, loop.train_key(0), jnp.int32(0))
        jax.block_until_ready(metrics)

    return compiled, step


def step_memory(layers: int, width: int, heads: int, batch: int, seq: int, dtype: str, remat: str,
                accum: int, scheduler: str = "auto") -> dict:
    mem = compiled_step(layers, width, heads, batch, seq, dtype, remat, accum, scheduler)[0].memory_analysis()
    return {"dtype": dtype, "remat": remat, "grad_accum": accum,
            "scheduler": xla_schedule.resolve(scheduler, remat),
            "temp_mib": round(mem.temp_size_in_bytes / MIB, 2),
            "argument_mib": round(mem.argument_size_in_bytes / MIB, 2),
            "output_mib": round(mem.output_size_in_bytes / MIB, 2)}


def chain_memory() -> list[dict]:
    """Compiled temp memory of the gradient of a chain of 8 blocks (4 x [4096, 256] @ [256, 256] + tanh
    each), with and without `jax.checkpoint` per block, the blocks unrolled (as the Transformer's are)
    and under `lax.scan`: where XLA's scheduler makes use of checkpointing on this backend."""
    def block(w, x):
        for _ in range(4):
            x = jnp.tanh(x @ w)
        return x

    def unrolled(remat):
        def f(ws, x):
            b = jax.checkpoint(block) if remat else block
            for w in ws:
                x = b(w, x)
            return jnp.sum(x)
        return f

    def scanned(remat):
        def f(ws, x):
            b = jax.checkpoint(block) if remat else block
            return jnp.sum(jax.lax.scan(lambda x, w: (b(w, x), None), x, ws)[0])
        return f

    ws, x = jnp.zeros((8, 256, 256)), jnp.zeros((4096, 256))
    rows = []
    for layout, make in (("unrolled", unrolled), ("scan", scanned)):
        for remat in (False, True):
            mem = jax.jit(jax.grad(make(remat))).lower(ws, x).compile().memory_analysis()
            rows.append({"layout": layout, "remat": remat, "temp_mib": round(mem.temp_size_in_bytes / MIB, 2)})
    return rows


def time_steps(args, steps_per_round: int = 3) -> None:
    """ms per training step of each variant, the variants' steps interleaved round by round (so a
    change in the machine's load hits every variant alike); ratios against the first variant."""
    import time
    dtype, variants = args.dtypes.split(",")[0], args.variants.split(",")
    steps = {}
    for variant in variants:
        remat, accum, scheduler = (variant.split(":") + ["auto"])[:3]
        steps[variant] = compiled_step(args.layers, args.width, args.heads, args.batch, args.seq, dtype, remat,
                                       int(accum), scheduler)[1]
        steps[variant]()  # warm-up
    times = {v: [] for v in variants}
    for _ in range(args.time):
        for v in variants:
            t = time.perf_counter()
            for _ in range(steps_per_round):
                steps[v]()
            times[v].append((time.perf_counter() - t) / steps_per_round * 1e3)
    first = variants[0]
    print(f"GPT {args.layers} x {args.width}, batch {args.batch} x {args.seq}, {dtype}; {args.time} rounds of "
          f"{steps_per_round} steps; {jax.devices()[0].device_kind}, jax {jax.__version__}")
    print(f"{'variant':<24} {'ms/step median':>15} {'time vs ' + first + ' median (range)':>40}")
    for v in variants:
        ratios = [a / b for a, b in zip(times[v], times[first])]
        print(f"{v:<24} {np.median(times[v]):>15.1f} {np.median(ratios):>22.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--variants", default="none:1,full:1,dots_saveable:1,none:4,full:4",
                   help="remat policy:micro-batches[:cpu scheduler], comma-separated (scheduler default auto)")
    p.add_argument("--out", default="")
    p.add_argument("--chain", action="store_true", help="only the 8-block tanh chain, unrolled vs scanned")
    p.add_argument("--time", type=int, default=0, metavar="ROUNDS",
                   help="instead: time one step of each variant (first dtype), ROUNDS interleaved rounds")
    args = p.parse_args()
    if args.chain:
        print(f"8-block chain gradient; {jax.devices()[0].device_kind}, jax {jax.__version__}")
        for row in chain_memory():
            print(f"{row['layout']:<9} remat={str(row['remat']):<5} temp {row['temp_mib']:>8.2f} MiB")
        return
    if args.time:
        time_steps(args)
        return
    rows = []
    print(f"GPT {args.layers} layers x {args.width} wide, {args.heads} heads, batch {args.batch} x {args.seq} "
          f"characters; {jax.devices()[0].device_kind}, jax {jax.__version__}")
    print(f"{'dtype':<9} {'remat':<17} {'accum':>5} {'scheduler':<10} {'temp MiB':>9} {'args MiB':>9} {'out MiB':>8}")
    for dtype in args.dtypes.split(","):
        for variant in args.variants.split(","):
            remat, accum, scheduler = (variant.split(":") + ["auto"])[:3]
            row = step_memory(args.layers, args.width, args.heads, args.batch, args.seq, dtype, remat, int(accum),
                              scheduler)
            rows.append(row)
            print(f"{dtype:<9} {remat:<17} {accum:>5} {row['scheduler']:<10} {row['temp_mib']:>9.2f} {row['argument_mib']:>9.2f} "
                  f"{row['output_mib']:>8.2f}", flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"model": vars(args), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
