"""Active learning's pool scoring: one jitted pass, vmapped over seeds, against a Python loop over pool
batches (the way an eager training script scores a pool).

Both sides score the same pool with the same trained-shape parameters of every seed:
- one pass: `jit(vmap(score))` over seeds, the whole pool in one call, MC-dropout samples vmapped
  inside, scores left on the device; with `--chunks`, also the same pass scoring the pool in chunks
  under `lax.map` inside the one program (`methods.active.chunked`, what `config.score_chunk` does);
- loop: for each seed, for each batch of `--batch` pool points, a jitted forward pass (the same
  model; MC-dropout samples vmapped inside it too), probabilities copied to the host and scored in
  numpy, then concatenated.
Margin scores of both sides are checked equal before any timing (the loop is the reference). Rounds
alternate the order; examples/s counts pool points x seeds scored per second.

    python scripts/bench_pool_scoring.py                      # CNN, 28x28 pool of 10k, 5 seeds
    python scripts/bench_pool_scoring.py --model mlp --shape 8 8 1 --pool 1437 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.methods import acquisition
from jaxml.methods.active import chunked
from jaxml.models.cnn import CNN
from jaxml.models.mlp import MLP

MODELS = {
    "cnn": lambda: CNN(num_classes=10, features=(32, 64), dense=(128,), dropout=0.25),
    "mlp": lambda: MLP(num_classes=10, hidden=(128,), dropout=0.25),
}


def numpy_entropy(p: np.ndarray) -> np.ndarray:
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)


NUMPY_SCORES = {  # probs [samples, n, classes] -> score [n] (higher = query first)
    "margin": lambda p: np.diff(np.sort(p.mean(0), axis=-1)[:, -2:], axis=-1)[:, 0] * -1.0,
    "bald": lambda p: numpy_entropy(p.mean(0)) - numpy_entropy(p).mean(0),
}
JAX_SCORES = {"margin": acquisition.margin_score, "bald": acquisition.bald_score}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="cnn", choices=sorted(MODELS))
    ap.add_argument("--shape", type=int, nargs=3, default=(28, 28, 1), metavar=("H", "W", "C"))
    ap.add_argument("--pool", type=int, default=10_000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=20, help="MC-dropout samples (bald)")
    ap.add_argument("--batch", type=int, default=256, help="pool points per call of the loop")
    ap.add_argument("--chunks", type=int, nargs="*", default=(0, 256),
                    help="one-pass variants: 0 = the whole pool at once, else chunks of this many points")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    model = MODELS[args.model]()
    x_pool = jnp.asarray(np.random.default_rng(0).normal(size=(args.pool, *args.shape)).astype(np.float32))
    keys = jax.random.split(jax.random.key(1), args.seeds)
    params = jax.vmap(lambda k: model.init(k, x_pool[:1], train=False))(keys)

    def probs(params, key, x, samples):
        if samples == 1:
            return jax.nn.softmax(model.apply(params, x, train=False))[None]
        ks = jax.random.split(key, samples)
        return jax.vmap(lambda k: jax.nn.softmax(model.apply(params, x, train=True, rngs={"dropout": k})))(ks)

    def one_pass(strategy, samples, chunk):
        score = JAX_SCORES[strategy]

        def seed_scores(p, k):  # chunk c's dropout from fold_in(k, c), as the loop's batch b
            return chunked(lambda c, x: score(k, probs(p, k if c is None else jax.random.fold_in(k, c), x, samples)),
                           x_pool, chunk, axis=0)

        return jax.jit(jax.vmap(seed_scores))

    batch_probs = jax.jit(probs, static_argnums=3)
    n_batches = -(-args.pool // args.batch)

    def loop(strategy, samples):
        out = []
        for s in range(args.seeds):
            p_s = jax.tree_util.tree_map(lambda a: a[s], params)
            parts = [np.asarray(batch_probs(p_s, jax.random.fold_in(keys[s], b),
                                            x_pool[b * args.batch:(b + 1) * args.batch], samples))
                     for b in range(n_batches)]
            out.append(NUMPY_SCORES[strategy](np.concatenate(parts, axis=1)))
        return np.stack(out)

    cases = [("margin", 1), ("bald", args.samples)]
    passes = {(c, k): one_pass(*c, k) for c in cases for k in args.chunks}
    ref = loop("margin", 1)
    for k in args.chunks:
        np.testing.assert_allclose(np.asarray(passes[(("margin", 1), k)](params, keys)), ref, atol=1e-5)
    for c in cases:  # compile and warm every side
        for k in args.chunks:
            jax.block_until_ready(passes[(c, k)](params, keys))
        loop(*c)

    sides = [f"pass{k}" for k in args.chunks] + ["loop"]
    times: dict[tuple, dict[str, list[float]]] = {c: {side: [] for side in sides} for c in cases}
    for r in range(args.rounds):
        for c in cases:
            for side in (sides if r % 2 == 0 else sides[::-1]):
                t0 = time.perf_counter()
                if side == "loop":
                    loop(*c)
                else:
                    jax.block_until_ready(passes[(c, int(side[4:]))](params, keys))
                times[c][side].append(time.perf_counter() - t0)

    rows = []
    scored = args.pool * args.seeds
    print(f"{args.model} pool {args.pool} x {args.seeds} seeds, shape {tuple(args.shape)}, loop batch {args.batch}, "
          f"{args.rounds} interleaved rounds, {jax.devices()[0].device_kind}")
    print("| scoring | samples | one pass | one pass ex/s | loop ex/s | speed-up over the loop (range) |")
    print("|---|---|---|---|---|---|")
    for c in cases:
        tl = np.array(times[c]["loop"])
        for k in args.chunks:
            tp = np.array(times[c][f"pass{k}"])
            ratios = tl / tp
            row = {"strategy": c[0], "samples": c[1], "chunk": k, "pass_ex_per_s": scored / np.median(tp),
                   "loop_ex_per_s": scored / np.median(tl), "speedup": float(np.median(ratios)),
                   "speedup_min": float(ratios.min()), "speedup_max": float(ratios.max())}
            rows.append(row)
            what = "whole pool" if not k else f"chunks of {k}"
            print(f"| {c[0]} | {c[1]} | {what} | {row['pass_ex_per_s']:.0f} | {row['loop_ex_per_s']:.0f} | "
                  f"{row['speedup']:.2f}x ({row['speedup_min']:.2f}-{row['speedup_max']:.2f}) |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
