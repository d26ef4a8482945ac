"""The vmapped population (`core.population`) vs sequential runs of the same configs.

Takes sweep_cnn_fashion's budget (model, steps, batch size, data) and its `--members` learning rates,
then trains (a) the population of all of them in one program (strategy `fixed`: one compile, one pass
over the data, every member scored on the validation and test splits at the end) and (b) one
ordinary run per learning rate through the shared loop (`loop.run`, as `jaxml train` of the single
config: its own compile, its own pass, the same final evaluation), alternating the order over
`--rounds` rounds. Both sides include set-up, compilation, training and evaluation.

    python scripts/bench_sweep.py --rounds 1
    python scripts/bench_sweep.py --dataset digits --members 2 --steps 4   # a smoke run
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from jaxml.core import loop, population, supervised
from jaxml.core.config import load_config_file
from jaxml.data.datasets import hold_out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "configs", "sweep_cnn_fashion.py"))
    p.add_argument("--members", type=int, default=16, help="the first MEMBERS learning rates of the config's grid "
                                                           "(spread over the grid)")
    p.add_argument("--steps", type=int, default=0, help="steps per member (default: the config's)")
    p.add_argument("--dataset", default="", help="another dataset (default: the config's)")
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()

    config = load_config_file(args.config)
    config.parallel.num_devices = 1
    config.tensorboard = False
    config.checkpoint_every = 0
    config.eval_every = 0
    if args.steps:
        config.steps = args.steps
        config.log_every = min(int(config.log_every), args.steps)
        config.warmup_steps = min(int(config.warmup_steps), args.steps - 1)
    if args.dataset:
        config.dataset = args.dataset
    grid = list(config.sweep.learning_rates)
    lrs = [grid[i] for i in np.linspace(0, len(grid) - 1, args.members).round().astype(int)]
    data = supervised.load_data(config)
    validation = min(int(config.sweep.validation_examples), len(data.train) // 4)
    train, val = hold_out(data.train, validation, int(config.data_seed), "config.sweep.validation_examples")
    splits = {"val": val, "test": data.test}
    wd = float(config.weight_decay)
    print(f"{len(lrs)} members ({lrs[0]:.3g} .. {lrs[-1]:.3g}), {config.steps} steps of {config.batch_size}, "
          f"{config.dataset}; jax {jax.__version__}, {jax.devices()[0].platform}, {os.cpu_count()} cores")

    def vmapped(tmp: Path) -> np.ndarray:
        run = population.train_population(
            lambda tx: supervised.make_recipe(config, train, splits, data.num_classes, tx=tx), config,
            {"learning_rate": lrs, "weight_decay": [wd] * len(lrs)}, "fixed", rounds=1, select="val")
        return run.metrics["test"]["accuracy"]

    def sequential(tmp: Path) -> np.ndarray:
        accs = []
        for i, lr in enumerate(lrs):
            single = config.copy_and_resolve_references()
            single.learning_rate = lr
            _, metrics = loop.run(supervised.make_recipe(single, train, splits, data.num_classes), single,
                                  tmp / f"member_{i}")
            accs.append(metrics["test_accuracy"])
        return np.array(accs)

    times: dict[str, list[float]] = {"vmapped": [], "sequential": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, fn in ((("vmapped", vmapped), ("sequential", sequential)) if r % 2 == 0 else
                             (("sequential", sequential), ("vmapped", vmapped))):
                t = time.perf_counter()
                accs = fn(Path(tmp) / f"r{r}_{name}")
                times[name].append(time.perf_counter() - t)
                print(f"  round {r}: {name:<10} {times[name][-1]:7.1f} s  (test accuracy "
                      f"{' '.join(f'{a:.3f}' for a in accs)})")
    ratios = [s / v for v, s in zip(times["vmapped"], times["sequential"])]
    print(f"vmapped: median {np.median(times['vmapped']):.1f} s; sequential: median "
          f"{np.median(times['sequential']):.1f} s; speed-up {np.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
