#!/usr/bin/env python
"""k-means time per Lloyd iteration: jaxml against scikit-learn's KMeans(algorithm="lloyd") (and
faiss-cpu's Kmeans when `import faiss` works), on the same float32 data from the same initial centres.

Per side and size:
- jaxml: `--iters` blocked Lloyd steps (`classic.kmeans.blocked_step` on the points laid out once by
  `to_blocks`, as the fit's while_loop runs them; `--block-size` rows a block, 0 = the default;
  `--nearest` / `--sums` name the strategies of `classic.kmeans.NEAREST` / `SUMS`, default: the ones
  `lloyd_plan` picks by k) in one jitted `fori_loop`, after a warm-up call (compilation excluded);
  time / iters. `--also NEAREST:SUMS:ROWS` adds further jaxml variants as sides of their own (an
  in-process A/B of the strategies; ROWS 0 = the default).
- scikit-learn: (fit time with max_iter=iters) - (fit time with max_iter=1), divided by iters - 1, so
  that the fit's fixed set-up (input checks, centring, squared norms, the final labelling) cancels;
  tol=0, and a run whose labels converge before `--iters` is reported as such (its per-iteration time
  then uses the iterations it ran).
- faiss (faiss-cpu, when `import faiss` works; the output says when it does not):
  faiss.Kmeans(d, k, niter=iters, max_points_per_centroid=n: all points, no subsampling) trained from
  the same initial centres, `--threads` OpenMP threads; train time / iters (its set-up included, so
  this slightly favours the other sides). Install it outside the project's venv, e.g.
  `pip install --no-deps --target /tmp/faisspkgs faiss-cpu` (or `pip install jaxml[bench]`) and put
  that folder on PYTHONPATH.

The sides alternate over `--rounds` rounds (a shared machine's speed drifts); the speed-up of jaxml
over each other side is the median of the per-round ratios, with their range. After the rounds the
inertia after `--iters` iterations from the same centres is compared (jaxml vs sklearn), so the timed
code is the same computation.

    PYTHONPATH=$PWD python scripts/bench_kmeans.py             # n=100k,d=64,k=10 and n=1M,d=64,k=256
    PYTHONPATH=$PWD python scripts/bench_kmeans.py --n 100000 --d 64 --k 10 --iters 10 --rounds 5
    PYTHONPATH=$PWD python scripts/bench_kmeans.py --n 1000000 --d 64 --k 256 --iters 3 --rounds 3
    PYTHONPATH=$PWD python scripts/bench_kmeans.py --n 262144 --d 64 --k 256 --iters 2 --rounds 3 \
        --nearest argmin --block-size 4096 --also two_mins:scatter:4096   # strategy A/B
    PYTHONPATH=$PWD:/tmp/faisspkgs python scripts/bench_kmeans.py     # with faiss beside
    PYTHONPATH=$PWD python scripts/bench_kmeans.py --n 2000 --d 8 --k 4 --iters 5 --rounds 2   # a smoke test
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
    def __init__(self, x: np.ndarray, init: np.ndarray, iters: int, block_size: int = 0,
                 nearest: str | None = None, sums: str | None = None, name: str = "jaxml"):
        import jax
        import jax.numpy as jnp

        from jaxml.classic.distances import sq_norms
        from jaxml.classic.kmeans import assign_blocked, blocked_step, lloyd_plan, to_blocks

        self.name = name
        self.x, self.w = jnp.asarray(x), jnp.ones(len(x), jnp.float32)
        self.init = jnp.asarray(init)
        self.plan = lloyd_plan(len(x), len(init), block_size, nearest, sums)

        def run(x, w, centers):
            blocks = to_blocks(x, sq_norms(x), w, centers.shape[0], 1, block_size, nearest, sums)
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

    def __init__(self, x: np.ndarray, init: np.ndarray, iters: int, threads: int):
        import faiss

        faiss.omp_set_num_threads(threads)
        self.x, self.init, self.iters = np.ascontiguousarray(x), np.ascontiguousarray(init), iters
        self.obj = float("nan")
        self.per_iteration()  # warm-up: thread pool, first-call costs

    def per_iteration(self) -> float:
        import faiss

        km = faiss.Kmeans(self.x.shape[1], len(self.init), niter=self.iters, verbose=False,
                          max_points_per_centroid=len(self.x), min_points_per_centroid=1, seed=0)
        t = time.perf_counter()
        km.train(self.x, init_centroids=self.init)
        elapsed = time.perf_counter() - t
        self.obj = float(km.obj[-1])  # sum of squared distances at its last assignment
        return elapsed / self.iters


def faiss_version() -> str | None:
    """faiss's version when `import faiss` works, else None."""
    try:
        import faiss
    except ImportError:
        return None
    return faiss.__version__


def parse_variant(text: str) -> tuple[str, str, int]:
    """"NEAREST:SUMS:ROWS" -> (nearest, sums, rows)."""
    nearest, sums, rows = text.split(":")
    return nearest, sums, int(rows)


def bench(n: int, d: int, k: int, iters: int, rounds: int, block_size: int = 0, nearest: str | None = None,
          sums: str | None = None, also: tuple[str, ...] = (), threads: int = 2) -> dict:
    x, init = make_data(n, d, k)
    sides = [Jaxml(x, init, iters, block_size, nearest, sums), Sklearn(x, init, iters)]
    for text in also:
        v_nearest, v_sums, v_rows = parse_variant(text)
        sides.append(Jaxml(x, init, iters, v_rows, v_nearest, v_sums, name=f"jaxml[{text}]"))
    if faiss_version() is not None:
        sides.append(Faiss(x, init, iters, threads))
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    for _ in range(rounds):
        for side in sides:
            times[side.name].append(side.per_iteration())
    ours, theirs = sides[0].inertia(), sides[1].inertia()
    plan = sides[0].plan
    out = {"n": n, "d": d, "k": k, "iters": iters, "rounds": rounds, "block_size": block_size,
           "plan": {"rows": plan.rows, "nearest": plan.nearest, "sums": plan.sums},
           "sklearn_iterations_run": sides[1].n_iter,
           "sklearn_fallback_rounds": sides[1].fallbacks, "inertia_rel_diff_vs_sklearn": abs(ours - theirs) / theirs}
    print(f"n={n} d={d} k={k}: {iters} Lloyd iterations from the same centres, {rounds} interleaved rounds"
          + ("" if sides[1].n_iter == iters else f" (sklearn's labels converged after {sides[1].n_iter})"))
    print(f"  jaxml plan: {plan.rows} rows a block, nearest={plan.nearest}, sums={plan.sums}")
    if sides[1].fallbacks:
        print(f"  note: in {sides[1].fallbacks} rounds sklearn's fit(max_iter={iters}) - fit(max_iter=1) was not "
              "positive (too small to time); those rounds use fit time / iterations")
    width = max(len(side.name) for side in sides)
    for side in sides:
        med = statistics.median(times[side.name])
        row = {"ms_per_iter": round(med * 1e3, 3)}
        line = f"  {side.name:<{width}} {med * 1e3:9.2f} ms/iteration"
        if side.name != "jaxml":
            ratios = [t / j for t, j in zip(times[side.name], times["jaxml"])]
            row.update(jaxml_speedup_median=round(statistics.median(ratios), 3),
                       jaxml_speedup_min=round(min(ratios), 3), jaxml_speedup_max=round(max(ratios), 3))
            line += (f"   jaxml speed-up: median {statistics.median(ratios):.2f}x "
                     f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x)")
        out[side.name] = row
        print(line)
    print(f"  inertia after {iters} iterations, jaxml vs sklearn: relative difference {out['inertia_rel_diff_vs_sklearn']:.2e}")
    for side in sides[2:]:
        if isinstance(side, Jaxml):
            other = side.inertia()
            out[side.name]["inertia_rel_diff_vs_jaxml"] = abs(other - ours) / ours
            print(f"  inertia, {side.name} vs jaxml: relative difference {abs(other - ours) / ours:.2e}")
        elif isinstance(side, Faiss):  # faiss's objective is that of its last assignment (iteration iters)
            print(f"  faiss's objective at its last assignment: {side.obj:.6g} (sklearn's final inertia {theirs:.6g})")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, help="one size: points (with --d and --k); default: the two standard sizes")
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--iters", type=int, default=10, help="Lloyd iterations timed per call")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (jaxml, sklearn, faiss, jaxml, ...)")
    p.add_argument("--block-size", type=int, default=0, help="jaxml's rows per Lloyd block (0: the default)")
    p.add_argument("--nearest", help="jaxml's nearest-centre strategy (classic.kmeans.NEAREST; default by k)")
    p.add_argument("--sums", help="jaxml's centre-sums strategy (classic.kmeans.SUMS; default by k)")
    p.add_argument("--also", action="append", default=[], metavar="NEAREST:SUMS:ROWS",
                   help="a further jaxml side with these strategies and rows a block (0: default); repeatable")
    p.add_argument("--threads", type=int, default=2, help="faiss's OpenMP threads")
    args = p.parse_args()

    import jax
    import sklearn

    sizes = [(args.n, args.d, args.k)] if args.n else list(DEFAULT_SIZES)
    device = jax.devices()[0]
    faiss = faiss_version()
    print(f"jax {jax.__version__} on {getattr(device, 'device_kind', device.platform)}, sklearn {sklearn.__version__}, "
          f"{os.cpu_count()} CPU threads; "
          + (f"faiss {faiss} ({args.threads} threads)" if faiss else "faiss: not importable here, its side is left out"))
    results = [bench(n, d, k, args.iters, args.rounds, args.block_size, args.nearest, args.sums, tuple(args.also),
                     args.threads) for n, d, k in sizes]
    print(json.dumps({"jax": jax.__version__, "sklearn": sklearn.__version__, "faiss": faiss, "device": str(device),
                      "results": results}))


if __name__ == "__main__":
    main()
