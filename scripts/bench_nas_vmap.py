"""NAS: training same-shape candidates together in one vmapped call vs one by one.

Takes the nas_fashion budget (config steps, batch size, data) and `--shapes` candidate shapes x every
activation of the config (candidates of one shape differ only in activation), then trains them with
`nas.Trainer.train_all(vmapped=True)` (one call per shape) and `vmapped=False` (one call per
candidate), alternating the order over `--rounds` rounds. Each side's wall time includes everything a
search pays per call: the shared loop's set-up, compilation, training and scoring on the validation and
test splits.

    python scripts/bench_nas_vmap.py --rounds 2
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from jaxml.core import supervised
from jaxml.core.config import load_config_file
from jaxml.data.datasets import hold_out
from jaxml.methods import nas


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "configs", "nas_fashion.py"))
    p.add_argument("--shapes", default="cnn:1:8:3,cnn:2:16:5", help="family:depth:width:kernel, comma-separated")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()

    config = load_config_file(args.config)
    config.parallel.num_devices = 1
    data = supervised.load_data(config)
    train, val = hold_out(data.train, int(config.nas.validation_examples), int(config.data_seed),
                          "config.nas.validation_examples")
    archs = []
    for spec in args.shapes.split(","):
        fam, depth, width, kernel = spec.split(":")
        archs += [nas.Arch(fam, int(depth), int(width), int(kernel), a) for a in config.nas.activations]
    print(f"{len(archs)} candidates ({args.shapes} x {len(config.nas.activations)} activations), {config.steps} steps "
          f"of {config.batch_size} each, {config.dataset}; jax {jax.__version__}, {jax.devices()[0].platform}, "
          f"{os.cpu_count()} cores")
    times = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for vmapped in ((True, False) if r % 2 == 0 else (False, True)):
                trainer = nas.Trainer(config, Path(tmp) / f"r{r}_{vmapped}", train, val, data.test, data.num_classes)
                t = time.perf_counter()
                results = trainer.train_all(archs, vmapped=vmapped)
                times[vmapped].append(time.perf_counter() - t)
                acc = np.mean([x["val_accuracy"] for x in results])
                print(f"  round {r}: {'vmapped   ' if vmapped else 'one by one'} {trainer.calls:2d} calls "
                      f"{times[vmapped][-1]:7.1f} s  (mean validation accuracy {acc:.4f})")
    ratios = [o / v for v, o in zip(times[True], times[False])]
    print(f"vmapped: median {np.median(times[True]):.1f} s; one by one: median {np.median(times[False]):.1f} s; "
          f"speed-up {np.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x)")


if __name__ == "__main__":
    main()
