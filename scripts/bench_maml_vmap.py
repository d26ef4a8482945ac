"""Meta-training iterations/s of MAML on sinusoid regression: the meta-batch of tasks vmapped in one
compiled step, against the same tasks in a Python loop (a compiled per-task meta-gradient called once per
task from the host, then one compiled Adam update), and against a loop unrolled inside one compiled step.

    python scripts/bench_maml_vmap.py [--tasks 25] [--iters 200] [--first-order]

Same machine, one run; prints a markdown table (ratios are the claim; absolute numbers name the device).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxml.methods import maml
from jaxml.models import MLP


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tasks", type=int, default=25)
    p.add_argument("--shots", type=int, default=10)
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--first-order", action="store_true")
    args = p.parse_args()
    net = MLP(num_classes=1, hidden=(40, 40))
    apply = lambda params, x: net.apply({"params": params}, x, train=False)
    params = net.init(jax.random.key(0), jnp.zeros((1, 1)), train=False)["params"]
    tx = optax.adam(1e-3)
    opt_state = tx.init(params)
    fo, k, n = args.first_order, args.shots, args.tasks

    def tasks(key):
        return jax.vmap(lambda kk: maml.sinusoid_task(kk, k, k))(jax.random.split(key, n))

    @jax.jit
    def vmapped_step(params, opt_state, key):
        support, query = tasks(key)
        grads = jax.grad(lambda p: maml.batched_meta_loss(apply, maml.mse, p, support, query, 1, 0.01, fo))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    @jax.jit
    def unrolled_step(params, opt_state, key):
        support, query = tasks(key)

        def loss(p):
            per_task = [maml.meta_loss(apply, maml.mse, p, jax.tree.map(lambda a: a[t], support),
                                       jax.tree.map(lambda a: a[t], query), 1, 0.01, fo) for t in range(n)]
            return sum(per_task) / n

        updates, opt_state = tx.update(jax.grad(loss)(params), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    task_grad = jax.jit(jax.grad(lambda p, s, q: maml.meta_loss(apply, maml.mse, p, s, q, 1, 0.01, fo)))
    sample = jax.jit(tasks)

    @jax.jit
    def apply_update(params, opt_state, grads):
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    def python_loop_step(params, opt_state, key):
        support, query = sample(key)
        total = None
        for t in range(n):
            g = task_grad(params, jax.tree.map(lambda a: a[t], support), jax.tree.map(lambda a: a[t], query))
            total = g if total is None else jax.tree.map(jnp.add, total, g)
        return apply_update(params, opt_state, jax.tree.map(lambda a: a / n, total))

    rows = []
    for name, step in (("vmap over tasks, one compiled step", vmapped_step),
                       ("Python loop over tasks (compiled per-task meta-gradient)", python_loop_step),
                       ("loop unrolled inside one compiled step", unrolled_step)):
        t0 = time.perf_counter()
        p_, s_ = step(params, opt_state, jax.random.key(1))
        jax.block_until_ready(p_)
        compile_s = time.perf_counter() - t0
        times = []
        for i in range(args.iters):
            t0 = time.perf_counter()
            p_, s_ = step(p_, s_, jax.random.key(i + 2))
            jax.block_until_ready(p_)
            times.append(time.perf_counter() - t0)
        med = float(np.median(times))
        rows.append((name, compile_s, med))
    base = rows[0][2]
    print(f"MAML sinusoid meta-training step, {n} tasks x K={k}, {'first' if fo else 'second'}-order, "
          f"MLP 40-40, jax {jax.__version__}, {jax.devices()[0].platform}; median of {args.iters} iterations")
    print("| formulation | first call (compile) | median ms/iteration | iterations/s | vs vmap |")
    print("|---|---|---|---|---|")
    for name, c, m in rows:
        print(f"| {name} | {c:.2f} s | {m * 1e3:.2f} | {1 / m:.0f} | {m / base:.1f}x slower |"
              if name != rows[0][0] else f"| {name} | {c:.2f} s | {m * 1e3:.2f} | {1 / m:.0f} | 1.0x |")


if __name__ == "__main__":
    main()
