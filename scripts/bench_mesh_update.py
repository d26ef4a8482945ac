#!/usr/bin/env python
"""What a data-parallel gradient step costs over 2 host devices on this CPU: the DQN update's shape.

One compiled `lax.scan` of N Adam steps of a 4-120-84-2 MLP with a three-forward-pass TD-style loss
(DQN's double-Q update), timed per step, interleaved over rounds:

- `1 device, batch 128`: the update as jaxml's DQN runs it;
- `2 devices, batch 64 each, pmean per leaf`: Anakin's shape (each device half the batch, the
  gradients `pmean`-ed leaf by leaf, as `jax.lax.pmean` of a pytree does);
- `2 devices, batch 64 each, one packed pmean`: the gradients and the loss raveled into one vector,
  one all-reduce per step;
- `2 devices, batch 128 each, no communication`: two independent updates at once (the seed mesh's
  shape: what two cores give when nothing is shared).

    python scripts/bench_mesh_update.py --steps 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jaxml.core.platform import request_host_devices  # noqa: E402

request_host_devices(2)  # before jax creates its backend

from rl_bench_common import header, timed  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402
from jax.sharding import Mesh, PartitionSpec as P  # noqa: E402

from jaxml.models.mlp import MLP  # noqa: E402

AXIS = "d"


def make_run(steps: int, local_batch: int, reduce: str):
    """The scanned update; `reduce` in {"none", "leaves", "packed"} says how gradients are combined."""
    net = MLP(num_classes=2, hidden=(120, 84))
    tx = optax.chain(optax.clip_by_global_norm(10.0), optax.adam(1e-3))

    def loss(p, x, y):
        q = net.apply(p, x, train=False)
        target = y + 0.99 * net.apply(p, 0.5 * x, train=False).max(-1) + 0.0 * net.apply(p, 0.3 * x, train=False).max(-1)
        return jnp.mean((q[:, 0] - jax.lax.stop_gradient(target)) ** 2)

    def step(carry, k):
        p, o = carry
        x = jax.random.normal(k, (local_batch, 4))
        y = jax.random.normal(jax.random.fold_in(k, 1), (local_batch,))
        l, g = jax.value_and_grad(loss)(p, x, y)
        if reduce == "leaves":
            g, l = jax.lax.pmean((g, l), AXIS)
        elif reduce == "packed":
            flat, unravel = ravel_pytree((g, l))
            g, l = unravel(jax.lax.pmean(flat, AXIS))
        u, o = tx.update(g, o, p)
        return (optax.apply_updates(p, u), o), l

    def body(p):
        k = jax.random.key(1)
        if reduce != "single":
            k = jax.random.fold_in(k, jax.lax.axis_index(AXIS))
        (p, _), losses = jax.lax.scan(step, (p, tx.init(p)), jax.random.split(k, steps))
        return losses[-1:]

    params = net.init(jax.random.key(0), jnp.zeros((1, 4)), train=False)
    if reduce == "single":
        return jax.jit(body).lower(params).compile(), params
    mesh = Mesh(np.asarray(jax.devices()[:2]), (AXIS,))
    fn = jax.shard_map(body, mesh=mesh, in_specs=P(), out_specs=P(AXIS), check_vma=False)
    return jax.jit(fn).lower(params).compile(), params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(header(f"data-parallel update over 2 host devices, {args.steps} steps per call, {args.rounds} rounds"))
    if jax.device_count() < 2:
        sys.exit("needs 2 devices (XLA_FLAGS already names a host device count below 2?)")
    variants = {"1 device, batch 128": (128, "single"),
                "2 devices, batch 64 each, pmean per leaf": (64, "leaves"),
                "2 devices, batch 64 each, one packed pmean": (64, "packed"),
                "2 devices, batch 128 each, no communication": (128, "none")}
    runs = {name: make_run(args.steps, b, r) for name, (b, r) in variants.items()}
    times = {name: [] for name in runs}
    for r in range(args.rounds):
        for name, (fn, params) in runs.items():
            dt, _ = timed(lambda: fn(params))
            times[name].append(dt / args.steps * 1e6)
            print(f"  round {r} {name:<46} {times[name][-1]:7.0f} us/step", flush=True)
    base = times["1 device, batch 128"]
    for name, t in times.items():
        ratios = [b / x for b, x in zip(base, t)]
        updates = 2 if name.endswith("no communication") else 1
        print(f"  {name:<46} median {statistics.median(t):6.0f} us/step; updates/s vs 1 device: "
              f"median {updates * statistics.median(ratios):.2f}x ({updates * min(ratios):.2f}-{updates * max(ratios):.2f}x)")


if __name__ == "__main__":
    main()
