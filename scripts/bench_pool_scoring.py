"""Active learning's pool scoring: one jitted pass, vmapped over seeds, against a Python loop over pool
batches (the way an eager training script scores a pool).

Both sides score the same pool with the same trained-shape parameters of every seed:
- one pass: `jit(vmap(score))` over seeds; the whole pool in one call, MC-dropout samples vmapped
  inside, scores left on the device;
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

    def one_pass(strategy, samples):
        score = JAX_SCORES[strategy]
        return jax.jit(jax.vmap(lambda p, k: score(k, probs(p, k, x_pool, samples))))

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
    passes = {c: one_pass(*c) for c in cases}
    ref = loop("margin", 1)
    got = np.asarray(passes[("margin", 1)](params, keys))
    np.testing.assert_allclose(got, ref, atol=1e-5)
    for c in cases:  # compile and warm both sides
        jax.block_until_ready(passes[c](params, keys))
        loop(*c)

    times: dict[tuple, dict[str, list[float]]] = {c: {"pass": [], "loop": []} for c in cases}
    for r in range(args.rounds):
        for c in cases:
            order = ("pass", "loop") if r % 2 == 0 else ("loop", "pass")
            for side in order:
                t0 = time.perf_counter()
                if side == "pass":
                    jax.block_until_ready(passes[c](params, keys))
                else:
                    loop(*c)
                times[c][side].append(time.perf_counter() - t0)

    rows = []
    scored = args.pool * args.seeds
    print(f"{args.model} pool {args.pool} x {args.seeds} seeds, shape {tuple(args.shape)}, loop batch {args.batch}, "
          f"{args.rounds} interleaved rounds, {jax.devices()[0].device_kind}")
    print("| scoring | samples | one pass ex/s | loop ex/s | speed-up (range) |")
    print("|---|---|---|---|---|")
    for c in cases:
        tp, tl = np.array(times[c]["pass"]), np.array(times[c]["loop"])
        ratios = tl / tp
        row = {"strategy": c[0], "samples": c[1], "pass_ex_per_s": scored / np.median(tp),
               "loop_ex_per_s": scored / np.median(tl), "speedup": float(np.median(ratios)),
               "speedup_min": float(ratios.min()), "speedup_max": float(ratios.max())}
        rows.append(row)
        print(f"| {c[0]} | {c[1]} | {row['pass_ex_per_s']:.0f} | {row['loop_ex_per_s']:.0f} | "
              f"{row['speedup']:.2f}x ({row['speedup_min']:.2f}-{row['speedup_max']:.2f}) |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
