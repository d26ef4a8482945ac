"""Where the vmapped population's time goes: one training chunk of sweep_cnn_fashion's CNN for M
members at once (`core.population`, `member_chunk` 0 = one vmap over all of them, or `lax.map` over
groups of `member_chunk` members) against M times the chunk of the single run, in interleaved rounds.

Each timed call is `--scan` steps in one compiled `lax.scan` (how `jaxml train` runs), on the same
batches; compile time is excluded (each function is warmed up once). The ratio M x single / population
is the speed-up the population can reach on this machine from the step alone (a sequential run also pays
its own compile, data pass and evaluation). XLA's cost analysis gives the FLOPs of each chunk, so the
achieved GFLOP/s says whether a side is compute-bound.

    python scripts/bench_population_step.py --rounds 5
    python scripts/bench_population_step.py --members 2 --chunks 0,1 --scan 2 --rounds 1   # a smoke run
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.core import loop, population, supervised
from jaxml.core.config import load_config_file
from jaxml.data.batching import train_batches
from jaxml.defaults.sweep import log_grid


def flops(compiled) -> float:
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float((cost or {}).get("flops", float("nan")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "configs", "sweep_cnn_fashion.py"))
    p.add_argument("--members", type=int, default=16)
    p.add_argument("--chunks", default="0,8,4,2,1", help="member_chunk values to time (0: one vmap over all)")
    p.add_argument("--scan", type=int, default=20, help="steps per timed call")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()

    config = load_config_file(args.config)
    config.parallel.num_devices = 1
    data = supervised.load_data(config)
    lrs = log_grid(1e-4, 1e-1, args.members)
    hypers = population.check_hypers({"learning_rate": lrs, "weight_decay": [float(config.weight_decay)] * args.members})
    base = supervised.make_recipe(config, data.train, {"test": data.test}, data.num_classes,
                                  tx=population.population_optimizer(config))
    single = supervised.make_recipe(config, data.train, {"test": data.test}, data.num_classes)
    mesh = single.sharding.make_mesh(config.parallel)
    host = train_batches(single.train_split, start_step=0, num_steps=args.scan, global_batch=int(config.batch_size),
                         seed=0, process_index=0, process_count=1)
    batches = single.sharding.shard_batch(host, mesh, batch_axis=1)
    key = loop.train_key(0)

    cases = {}
    state = single.init(loop.init_key(0))
    cases["single x M"] = (loop.make_train_chunk(single, mesh), state, args.members)
    for chunk in (int(c) for c in args.chunks.split(",")):
        recipe = population.population_recipe(base, hypers, member_chunk=chunk)
        cases[f"population chunk={chunk or args.members}"] = (loop.make_train_chunk(recipe, mesh),
                                                              recipe.init(loop.init_key(0)), 1)
    # the work of every case: M single chunks. XLA's cost analysis counts a loop body once (the scan's
    # and a lax.map's), so one single step's FLOPs x scan length x M.
    step_flops = flops(jax.jit(cases["single x M"][0]).lower(state, batches, key, jnp.int32(0)).compile())
    work = args.members * args.scan * step_flops / 1e9
    for name, (fn, st, _) in cases.items():
        cases[name] = (fn, jax.block_until_ready(fn(st, batches, key, jnp.int32(0))[0]), cases[name][2])  # warm-up
    print(f"{args.members} members, {args.scan} steps of {config.batch_size} per call, {config.dataset}; "
          f"jax {jax.__version__}, {jax.devices()[0].platform}, {os.cpu_count()} cores")
    times: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(args.rounds):
        order = list(cases) if r % 2 == 0 else list(reversed(cases))
        for name in order:
            fn, st, repeat = cases[name]
            t = time.perf_counter()
            for _ in range(repeat):  # the state is donated: each call continues from the last
                st, _ = fn(st, batches, key, jnp.int32(0))
            jax.block_until_ready(st)
            times[name].append(time.perf_counter() - t)
            cases[name] = (fn, st, repeat)
    ref = np.array(times["single x M"])
    print(f"work per call: {work:.1f} GFLOP ({step_flops / 1e6:.1f} MFLOP per single step by XLA's cost analysis "
          f"x {args.scan} steps x {args.members} members)")
    print("| case | ms per step (all members) | speed-up vs M single runs (median, range) | GFLOP/s |")
    print("|---|---|---|---|")
    for name, ts in times.items():
        ts = np.array(ts)
        ratio = ref / ts
        print(f"| {name} | {1e3 * np.median(ts) / args.scan:.1f} | {np.median(ratio):.2f}x "
              f"({ratio.min():.2f}-{ratio.max():.2f}) | {work / np.median(ts):.1f} |")


if __name__ == "__main__":
    main()
