#!/usr/bin/env python
"""k-means time per Lloyd iteration: jaxml against scikit-learn's KMeans(algorithm="lloyd") (and
faiss-cpu's Kmeans when `import faiss` works), on the same float32 data from the same initial centres.

Per side and size:
- jaxml: `--iters` blocked Lloyd steps (`classic.kmeans.blocked_step` on the points laid out once by
  `to_blocks`, as the fit's while_loop runs them; `--block-size` rows a block, 0 = the default) in one
  jitted `fori_loop`, after a warm-up call (compilation excluded); time / iters.
- scikit-learn: (fit time with max_iter=iters) - (fit time with max_iter=1), divided by iters - 1, so
  that the fit's fixed set-up (input checks, centring, squared norms, the final labelling) cancels;
  tol=0, and a run whose labels converge before `--iters` is reported as such (its per-iteration time
  then uses the iterations it ran).
- faiss: Kmeans(niter=iters, max_points_per_centroid=n: all points, no subsampling).train(x,
  init_centroids=...) / iters.

The sides alternate over `--rounds` rounds (a shared machine's speed drifts); the speed-up of jaxml
over each other side is the median of the per-round ratios, with their range. After the rounds the
inertia after `--iters` iterations from the same centres is compared (jaxml vs sklearn), so the timed
code is the same computation.

    python scripts/bench_kmeans.py                      # n=100k,d=64,k=10 and n=1M,d=64,k=256
    python scripts/bench_kmeans.py --n 2000 --d 8 --k 4 --iters 5 --rounds 2   # a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

DEFAULT_SIZES = ((100_000, 64, 10), (1_000_000, 64, 256))


def make_data(n: int, d: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n float32 points around k random centres, overlapping (centre spread 1, unit noise: Lloyd keeps
    moving labels for many iterations), and k of the points as initial centres."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=1.0, size=(k, d))
    x = (means[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(np.float32)
    init = x[rng.choice(n, k, replace=False)].copy()
    return x, init


class Jaxml:
    name = "jaxml"

    def __init__(self, x: np.ndarray, init: np.ndarray, iters: int, block_size: int = 0):
        import jax
        import jax.numpy as jnp

        from jaxml.classic.distances import sq_norms
        from jaxml.classic.kmeans import assign_blocked, blocked_step, to_blocks

        self.x, self.w = jnp.asarray(x), jnp.ones(len(x), jnp.float32)
        self.init = jnp.asarray(init)

        def run(x, w, centers):
            blocks = to_blocks(x, sq_norms(x), w, centers.shape[0], 1, block_size)
            centers = jax.lax.fori_loop(0, iters, lambda i, c: blocked_step(blocks, c)[0], centers)
            return centers, assign_blocked(blocks, centers)[4]

        self.run = jax.jit(run)
        jax.block_until_ready(self.run(self.x, self.w, self.init))  # compile
        self.iters = iters

    def per_iteration(self) -> float:
        import jax

        t = time.perf_counter()
        jax.block_until_ready(self.run(self.x, self.w, self.init))
        return (time.perf_counter() - t) / self.iters

    def inertia(self) -> float:
        return float(self.run(self.x, self.w, self.init)[1])


class Sklearn:
    name = "sklearn"

    def __init__(self, x: np.ndarray, init: np.ndarray, iters: int):
        self.x, self.init, self.iters = x, init, iters
        self.n_iter = iters
        self.fallbacks = 0  # rounds where the difference was not positive (tiny sizes): fit time / iterations
        self.fit(1)  # warm-up: first-call costs (imports, thread pools) out of the rounds

    def fit(self, max_iter: int):
        from sklearn.cluster import KMeans

        return KMeans(len(self.init), init=self.init, n_init=1, max_iter=max_iter, tol=0.0,
                      algorithm="lloyd").fit(self.x)

    def per_iteration(self) -> float:
        t = time.perf_counter()
        self.fit(1)
        one = time.perf_counter() - t
        t = time.perf_counter()
        km = self.fit(self.iters)
        full = time.perf_counter() - t
        self.n_iter = int(km.n_iter_)
        if self.n_iter > 1 and full > one:
            return (full - one) / (self.n_iter - 1)
        self.fallbacks += 1
        return full / self.n_iter

    def inertia(self) -> float:
        return float(self.fit(self.iters).inertia_)


class Faiss:
    name = "faiss"

    def __init__(self, x: np.ndarray, init: np.ndarray, iters: int):
        self.x, self.init, self.iters = x, init, iters

    def per_iteration(self) -> float:
        import faiss

        km = faiss.Kmeans(self.x.shape[1], len(self.init), niter=self.iters, verbose=False,
                          max_points_per_centroid=len(self.x), seed=0)
        t = time.perf_counter()
        km.train(self.x, init_centroids=self.init)
        return (time.perf_counter() - t) / self.iters


def bench(n: int, d: int, k: int, iters: int, rounds: int, block_size: int = 0) -> dict:
    x, init = make_data(n, d, k)
    sides = [Jaxml(x, init, iters, block_size), Sklearn(x, init, iters)]
    try:
        import faiss  # noqa: F401
        sides.append(Faiss(x, init, iters))
    except ImportError:
        pass
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    for _ in range(rounds):
        for side in sides:
            times[side.name].append(side.per_iteration())
    ours, theirs = sides[0].inertia(), sides[1].inertia()
    out = {"n": n, "d": d, "k": k, "iters": iters, "rounds": rounds, "block_size": block_size, "sklearn_iterations_run": sides[1].n_iter,
           "sklearn_fallback_rounds": sides[1].fallbacks, "inertia_rel_diff_vs_sklearn": abs(ours - theirs) / theirs}
    print(f"n={n} d={d} k={k}: {iters} Lloyd iterations from the same centres, {rounds} interleaved rounds"
          + ("" if sides[1].n_iter == iters else f" (sklearn's labels converged after {sides[1].n_iter})"))
    if sides[1].fallbacks:
        print(f"  note: in {sides[1].fallbacks} rounds sklearn's fit(max_iter={iters}) - fit(max_iter=1) was not "
              "positive (too small to time); those rounds use fit time / iterations")
    for side in sides:
        med = statistics.median(times[side.name])
        row = {"ms_per_iter": round(med * 1e3, 3)}
        line = f"  {side.name:<8} {med * 1e3:9.2f} ms/iteration"
        if side.name != "jaxml":
            ratios = [t / j for t, j in zip(times[side.name], times["jaxml"])]
            row.update(jaxml_speedup_median=round(statistics.median(ratios), 3),
                       jaxml_speedup_min=round(min(ratios), 3), jaxml_speedup_max=round(max(ratios), 3))
            line += (f"   jaxml speed-up: median {statistics.median(ratios):.2f}x "
                     f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x)")
        out[side.name] = row
        print(line)
    print(f"  inertia after {iters} iterations, jaxml vs sklearn: relative difference {out['inertia_rel_diff_vs_sklearn']:.2e}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, help="one size: points (with --d and --k); default: the two standard sizes")
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--iters", type=int, default=10, help="Lloyd iterations timed per call")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (jaxml, sklearn, faiss, jaxml, ...)")
    p.add_argument("--block-size", type=int, default=0, help="jaxml's rows per Lloyd block (0: the default)")
    args = p.parse_args()

    import jax
    import sklearn

    sizes = [(args.n, args.d, args.k)] if args.n else list(DEFAULT_SIZES)
    device = jax.devices()[0]
    print(f"jax {jax.__version__} on {getattr(device, 'device_kind', device.platform)}, sklearn {sklearn.__version__}, "
          f"{os.cpu_count()} CPU threads")
    results = [bench(n, d, k, args.iters, args.rounds, args.block_size) for n, d, k in sizes]
    print(json.dumps({"jax": jax.__version__, "sklearn": sklearn.__version__, "device": str(device),
                      "results": results}))


if __name__ == "__main__":
    main()
