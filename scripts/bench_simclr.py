"""SimCLR step throughput (examples/s; one example = one image, two views) at global batches 256 and
512 on simclr_fashion's config (Fashion-MNIST-shaped data; needs the data installed), side by side in
one process; `--experiment simclr_digits` for the built-in 8x8 digits instead.

Usage: python scripts/bench_simclr.py [--steps 20] [--devices 1] [--experiment simclr_fashion]
       (prints a markdown table + JSON)
"""

from __future__ import annotations

import argparse
import json

from jaxml import experiments
from jaxml.core import profiling
from jaxml.methods import ssl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--devices", type=int, default=1)
    ap.add_argument("--experiment", default="simclr_fashion")
    args = ap.parse_args()
    rows = []
    for batch in (256, 512):
        _, c = experiments.load_experiment_config(args.experiment, [f"--config.parallel.num_devices={args.devices}",
                                                                    f"--config.batch_size={batch}",
                                                                    "--config.log_every=10"])
        r = profiling.bench_recipe(ssl.recipe_for(c), c, steps=args.steps, warmup=2)
        rows.append({"step": f"SimCLR step, batch {batch}", **r})
    print("| step | batch | step ms | examples/s | compile s | devices |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['step']} | {r['global_batch']} | {r['step_ms']:.1f} | {r['examples_per_s']:.0f} | "
              f"{r['compile_s']:.1f} | {r['devices']} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
