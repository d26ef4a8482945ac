#!/usr/bin/env python
"""Isolation-forest scoring and boosted-tree training: jaxml against scikit-learn, in one process.

Two comparisons, each on the same float32 data for both sides:

- isolation-forest scoring: `classic.iforest.score` (jitted; the forest grown once by
  `iforest.fit(key, x, trees, subsample)`) against `sklearn.ensemble.IsolationForest(n_estimators=
  trees, max_samples=subsample).score_samples`, both scoring all n points of the forest's training
  set. Data: n points, d features, 1% of them anomalies (uniform over a wide box, the rest standard
  normal); the check column is each side's ROC AUC for finding them (different random trees, so the
  two differ a little; they should both be high).
- boosted-tree training: the whole fit from raw features, `classic.binning.fit_bins` +
  `apply_bins` + `classic.gbdt.fit` (BoostingSettings(max_iter=trees, max_depth=depth,
  early_stopping=False)) against `HistGradientBoostingClassifier(max_iter=trees, max_depth=depth,
  max_leaf_nodes=None, max_bins=bins, early_stopping=False)` (both: learning rate 0.1, no L2 penalty,
  min_samples_leaf 20; jaxml's depth-D trees are complete, scikit-learn's grow best-first to the same
  depth limit). Data: a noisy nonlinear binary task; the check column is each side's accuracy on
  held-out points.

jaxml is compiled by a warm-up call before the rounds (compilation excluded); scikit-learn gets one
warm-up call too. The sides alternate over `--rounds` rounds (a shared machine's speed drifts); the
speed-up is the median of the per-round ratios (scikit-learn's time / jaxml's) with their range, printed
as a markdown table, then the raw numbers as JSON. scikit-learn's `n_jobs` is `--threads`
(IsolationForest); HistGradientBoosting uses its OpenMP threads (all cores unless limited).

    PYTHONPATH=$PWD python scripts/bench_classic.py                           # 100k x 32, 100 trees
    PYTHONPATH=$PWD python scripts/bench_classic.py --n 100000 --d 32 --trees 100 --rounds 5
    PYTHONPATH=$PWD python scripts/bench_classic.py --n 2000 --d 8 --trees 5 --rounds 2   # a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np


def anomaly_data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n float32 points: 99% standard normal, 1% uniform in [-6, 6]^d; labels 1 for the anomalies."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.01).astype(np.int32)
    x = np.where(y[:, None] == 1, rng.uniform(-6, 6, size=(n, d)), rng.normal(size=(n, d)))
    return x.astype(np.float32), y


def boosting_data(n: int, d: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """n float32 points, d standard normal features; y = [x0 + x1^2 / 2 + x2 x3 + noise > 0.5]."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (x[:, 0] + 0.5 * x[:, 1] ** 2 + x[:, 2] * x[:, 3] + 0.5 * rng.normal(size=n) > 0.5).astype(np.int32)
    return x.astype(np.float32), y


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


class IforestJaxml:
    name = "jaxml"

    def __init__(self, x, trees: int, subsample: int):
        import jax

        from jaxml.classic import iforest

        self.x = jax.numpy.asarray(x)
        self.forest = iforest.fit(jax.random.key(0), self.x, trees, subsample)
        self.score = lambda: jax.block_until_ready(iforest.score(self.forest, self.x))
        self.score()  # compile

    def scores(self) -> np.ndarray:
        return np.asarray(self.score())


class IforestSklearn:
    name = "sklearn"

    def __init__(self, x, trees: int, subsample: int, threads: int):
        from sklearn.ensemble import IsolationForest

        self.x = x
        self.model = IsolationForest(n_estimators=trees, max_samples=subsample, random_state=0, n_jobs=threads).fit(x)
        self.score = lambda: self.model.score_samples(self.x)
        self.score()

    def scores(self) -> np.ndarray:
        return -self.score()  # scikit-learn's score_samples is the negated anomaly score


class BoostJaxml:
    name = "jaxml"

    def __init__(self, x, y, trees: int, depth: int, bins: int):
        import jax
        import jax.numpy as jnp

        from jaxml.classic import binning, gbdt

        settings = gbdt.BoostingSettings(max_iter=trees, max_depth=depth, early_stopping=False)
        y_dev = jnp.asarray(y)

        def train():
            fitted = binning.fit_bins(x, bins)
            xb = binning.apply_bins(fitted, x)
            model = gbdt.fit(xb, y_dev, xb[:16], y_dev[:16], settings=settings, num_bins=fitted.num_bins)
            return jax.block_until_ready(model), fitted

        self.train = train
        self.model, self.bins = train()  # compile
        self.predict = lambda x_new: np.asarray(gbdt.decision_function(self.model, binning.apply_bins(self.bins, x_new))) > 0

    def accuracy(self, x, y) -> float:
        return float(np.mean(self.predict(x) == y))


class BoostSklearn:
    name = "sklearn"

    def __init__(self, x, y, trees: int, depth: int, bins: int):
        from sklearn.ensemble import HistGradientBoostingClassifier

        make = lambda: HistGradientBoostingClassifier(max_iter=trees, max_depth=depth, max_leaf_nodes=None,
                                                      max_bins=bins, early_stopping=False, random_state=0)
        self.train = lambda: setattr(self, "model", make().fit(x, y))
        self.train()

    def accuracy(self, x, y) -> float:
        return float(np.mean(self.model.predict(x) == y))


def rounds_of(sides: list, rounds: int, call: str) -> dict[str, list[float]]:
    """Seconds per call of `side.<call>()`, the sides alternating over the rounds."""
    times = {side.name: [] for side in sides}
    for _ in range(rounds):
        for side in sides:
            times[side.name].append(timed(getattr(side, call)))
    return times


def summary(task: str, size: str, times: dict[str, list[float]], check: str) -> dict:
    ratios = [s / j for s, j in zip(times["sklearn"], times["jaxml"])]
    return {"task": task, "size": size, "check": check,
            "jaxml_ms": round(statistics.median(times["jaxml"]) * 1e3, 2),
            "sklearn_ms": round(statistics.median(times["sklearn"]) * 1e3, 2),
            "speedup_median": round(statistics.median(ratios), 3), "speedup_min": round(min(ratios), 3),
            "speedup_max": round(max(ratios), 3), "rounds": len(ratios)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000, help="points (both tasks)")
    p.add_argument("--d", type=int, default=32, help="features (both tasks)")
    p.add_argument("--trees", type=int, default=100, help="trees (isolation forest) and boosting iterations")
    p.add_argument("--subsample", type=int, default=256, help="isolation forest: points per tree (psi)")
    p.add_argument("--depth", type=int, default=5, help="boosting: tree depth limit")
    p.add_argument("--bins", type=int, default=255, help="boosting: max bins per feature")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (jaxml, sklearn, jaxml, ...)")
    p.add_argument("--threads", type=int, default=2, help="scikit-learn's n_jobs for IsolationForest")
    p.add_argument("--only", choices=("iforest", "gbdt"), help="run one of the two comparisons")
    args = p.parse_args()

    import jax
    import sklearn

    from jaxml.classic import ranking_metrics

    device = jax.devices()[0]
    print(f"jax {jax.__version__} on {getattr(device, 'device_kind', device.platform)}, sklearn {sklearn.__version__}, "
          f"{os.cpu_count()} CPU threads; {args.rounds} interleaved rounds")
    rows = []
    if args.only in (None, "iforest"):
        x, y = anomaly_data(args.n, args.d)
        sides = [IforestJaxml(x, args.trees, args.subsample), IforestSklearn(x, args.trees, args.subsample, args.threads)]
        auc = {s.name: float(ranking_metrics.roc_auc(y, s.scores())) for s in sides}
        times = rounds_of(sides, args.rounds, "score")
        rows.append(summary("isolation-forest scoring", f"{args.n} x {args.d}, {args.trees} trees, psi {args.subsample}",
                            times, f"ROC AUC jaxml {auc['jaxml']:.3f} / sklearn {auc['sklearn']:.3f}"))
    if args.only in (None, "gbdt"):
        x, y = boosting_data(args.n, args.d)
        x_test, y_test = boosting_data(max(args.n // 4, 100), args.d, seed=2)
        sides = [BoostJaxml(x, y, args.trees, args.depth, args.bins), BoostSklearn(x, y, args.trees, args.depth, args.bins)]
        times = rounds_of(sides, args.rounds, "train")
        acc = {s.name: s.accuracy(x_test, y_test) for s in sides}
        rows.append(summary("boosted-tree training", f"{args.n} x {args.d}, {args.trees} trees, depth {args.depth}, "
                            f"{args.bins} bins", times,
                            f"held-out accuracy jaxml {acc['jaxml']:.3f} / sklearn {acc['sklearn']:.3f}"))
    print("\n| task | size | jaxml ms | scikit-learn ms | jaxml speed-up, median (range) | check |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['task']} | {r['size']} | {r['jaxml_ms']:.1f} | {r['sklearn_ms']:.1f} | "
              f"**{r['speedup_median']:.2f}x** ({r['speedup_min']:.2f}-{r['speedup_max']:.2f}x) | {r['check']} |")
    print(json.dumps({"jax": jax.__version__, "sklearn": sklearn.__version__, "device": str(device), "rows": rows}))


if __name__ == "__main__":
    main()
