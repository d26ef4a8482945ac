#!/usr/bin/env python
"""Prioritised replay throughput: jaxml.rl.buffers (per_add / per_sample / per_update) against
flashbax's prioritised item buffer, side by side.

One iteration, as in a DQN+PER step: add `--add` CartPole transitions (jaxml.rl.envs.Transition:
obs[4], action, reward, next_obs[4], terminated, truncated), sample a batch with importance weights
(beta 0.4), set new priorities from stand-in TD errors (random normals). `--steps` iterations run in
one jitted `lax.scan`, starting from a buffer pre-filled to capacity with random transitions (not
timed). flashbax returns sampling probabilities rather than weights, so its loop computes
w = (N P)^-beta normalised by the batch maximum, which is what `per_sample` returns; its priorities
are set to |td| + 1e-6 (flashbax raises them to alpha=0.6 inside), matching `per_update`. flashbax is
timed with the sum-tree update it uses on CPU (`device="cpu"`, a scan over the batch) and with its
accelerator variant (`device="gpu"`, bincount), both run here on the CPU.

The sides alternate over `--rounds` rounds (this shared machine's speed drifts); ratios are medians of
per-round ratios of iterations/s (> 1: jaxml faster). `--fanouts` times jaxml's sum-tree at several
node widths (2 = a binary tree); the first fan-out listed is the numerator of the ratios.

flashbax is not a jaxml dependency; install it outside the project environment, e.g.
    pip install --target /tmp/fbx flashbax==0.1.3 --no-deps
    PYTHONPATH=/tmp/fbx python scripts/bench_per.py --capacities 100000,1000000 --batches 128,256
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from rl_bench_common import header, ratio_summary, timed  # noqa: E402

ALPHA, BETA, EPS = 0.6, 0.4, 1e-6


def random_items(key, n):
    from jaxml.rl.envs import Transition

    k1, k2, k3, k4, k5 = jax.random.split(key, 5)
    return Transition(obs=jax.random.normal(k1, (n, 4)),
                      action=jax.random.randint(k2, (n,), 0, 2, dtype=jnp.int32),
                      reward=jax.random.uniform(k3, (n,)), next_obs=jax.random.normal(k4, (n, 4)),
                      terminated=jax.random.bernoulli(k5, 0.05, (n,)),
                      truncated=jnp.zeros((n,), bool))


def jaxml_side(capacity, batch, add, steps, fanout):
    from jaxml.rl import buffers

    example = jax.tree.map(lambda x: x[0], random_items(jax.random.PRNGKey(0), 1))
    chunk = min(capacity, 10_000)

    def prefill(key):
        buf = buffers.per_init(example, capacity, alpha=ALPHA, eps=EPS, fanout=fanout)

        def body(buf, k):
            k1, k2 = jax.random.split(k)
            buf = buffers.per_add(buf, random_items(k1, chunk))
            # spread the priorities, so sampling is not uniform
            idx = buf.position - chunk + jnp.arange(chunk)
            return buffers.per_update(buf, idx % capacity, jax.random.normal(k2, (chunk,))), None

        buf, _ = jax.lax.scan(body, buf, jax.random.split(key, capacity // chunk))
        return buf

    def loop(buf, key):
        def body(carry, k):
            buf, acc = carry
            k_items, k_sample, k_td = jax.random.split(k, 3)
            buf = buffers.per_add(buf, random_items(k_items, add))
            b, idx, w = buffers.per_sample(buf, k_sample, batch, BETA)
            buf = buffers.per_update(buf, idx, jax.random.normal(k_td, (batch,)))
            return (buf, acc + jnp.sum(b.obs) + jnp.sum(w)), None

        (buf, acc), _ = jax.lax.scan(body, (buf, jnp.zeros(())), jax.random.split(key, steps))
        return buf, acc

    return prefill, loop


def flashbax_side(capacity, batch, add, steps, device):
    import flashbax as fbx

    fb = fbx.make_prioritised_item_buffer(max_length=capacity, min_length=batch,
                                          sample_batch_size=batch, add_batches=True,
                                          priority_exponent=ALPHA, device=device)
    example = jax.tree.map(lambda x: x[0], random_items(jax.random.PRNGKey(0), 1))
    chunk = min(capacity, 10_000)

    def prefill(key):
        state = fb.init(example)

        def body(state, k):
            k1, k2 = jax.random.split(k)
            state = fb.add(state, random_items(k1, chunk))
            s = fb.sample(state, k2)
            return fb.set_priorities(state, s.indices, jnp.abs(jax.random.normal(k2, (batch,)))
                                     + EPS), None

        state, _ = jax.lax.scan(body, state, jax.random.split(key, capacity // chunk))
        return state

    def loop(state, key):
        def body(carry, k):
            state, acc = carry
            k_items, k_sample, k_td = jax.random.split(k, 3)
            state = fb.add(state, random_items(k_items, add))
            s = fb.sample(state, k_sample)
            p = jnp.maximum(s.probabilities, jnp.finfo(jnp.float32).tiny)
            w = (jnp.min(p) / p) ** BETA  # = (N P)^-beta / max over the batch
            td = jax.random.normal(k_td, (batch,))
            state = fb.set_priorities(state, s.indices, jnp.abs(td) + EPS)
            return (state, acc + jnp.sum(s.experience.obs) + jnp.sum(w)), None

        (state, acc), _ = jax.lax.scan(body, (state, jnp.zeros(())), jax.random.split(key, steps))
        return state, acc

    return prefill, loop


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--capacities", default="100000,1000000")
    p.add_argument("--batches", default="128,256")
    p.add_argument("--add", type=int, default=10, help="transitions added per iteration")
    p.add_argument("--steps", type=int, default=2000, help="iterations per timed call (one scan)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--fanouts", default="16",
                   help="jaxml sum-tree fan-outs to time (per_init's `fanout`; the first is the reference "
                        "of the ratios; 2 = a binary tree)")
    p.add_argument("--fbx-devices", default="cpu,gpu",
                   help="flashbax sum-tree variants to time (its `device` argument)")
    args = p.parse_args()

    try:
        import flashbax  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"flashbax is not importable ({e}); see the module docstring") from None
    from importlib.metadata import version

    print(header(f"PER add({args.add}) + sample + update, {args.steps} iterations per jitted scan, "
                 f"{args.rounds} interleaved rounds; flashbax {version('flashbax')}"))
    fbx_devices = [d for d in args.fbx_devices.split(",") if d]
    for cap in map(int, args.capacities.split(",")):
        for batch in map(int, args.batches.split(",")):
            fanouts = [int(f) for f in args.fanouts.split(",") if f]
            ref = f"jaxml[{fanouts[0]}]"
            sides = {f"jaxml[{f}]": jaxml_side(cap, batch, args.add, args.steps, f) for f in fanouts}
            for d in fbx_devices:
                sides[f"flashbax[{d}]"] = flashbax_side(cap, batch, args.add, args.steps, d)
            compiled, states, speed = {}, {}, {}
            for name, (prefill, loop) in sides.items():
                states[name] = jax.block_until_ready(jax.jit(prefill)(jax.random.PRNGKey(1)))
                dt, compiled[name] = timed(
                    lambda: jax.jit(loop).lower(states[name], jax.random.PRNGKey(2)).compile())
                speed[name] = []
                print(f"  capacity {cap:>8} batch {batch:>4}  {name:<14} compile {dt:5.1f} s",
                      flush=True)
            for r in range(args.rounds):
                for name in sides:
                    dt, _ = timed(lambda: compiled[name](states[name], jax.random.PRNGKey(10 + r)))
                    speed[name].append(args.steps / dt)
            for name in sides:
                s = sorted(speed[name])[len(speed[name]) // 2]
                line = (f"  capacity {cap:>8} batch {batch:>4}  {name:<14} "
                        f"{1e6 / s:8.1f} us/iteration  {s:9.0f} iterations/s")
                if name != ref:
                    line += f"  {ref} / this: {ratio_summary(speed[ref], speed[name])}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
