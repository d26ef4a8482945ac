"""Step throughput of the adversarial and GAN methods side by side in one process: a standard CNN step, a PGD-AT
step (attack steps included), a TRADES step and a DCGAN step, on the configs of pgd_at_fashion /
trades_fashion / dcgan_fashion (Fashion-MNIST-shaped data; real data if installed).

Usage: python scripts/bench_gan_adversarial.py [--steps 20]   (prints a markdown table + JSON)
"""

from __future__ import annotations

import argparse
import json

from jaxml import experiments
from jaxml.core import profiling
from jaxml.methods import adversarial, gan


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--devices", type=int, default=1)
    args = ap.parse_args()
    rows = []
    for label, exp, mode in (("standard CNN step", "pgd_at_fashion", "standard"),
                             ("PGD-AT step (5 attack steps)", "pgd_at_fashion", "pgd_at"),
                             ("TRADES step (5 attack steps)", "trades_fashion", "trades"),
                             ("DCGAN step (1 D + 1 G update)", "dcgan_fashion", None)):
        _, c = experiments.load_experiment_config(exp, [f"--config.parallel.num_devices={args.devices}",
                                                 "--config.log_every=10"])
        if mode is None:
            recipe = gan.recipe_for(c)
        else:
            c.adversarial.mode = mode
            recipe = adversarial.recipe_for(c)
        r = profiling.bench_recipe(recipe, c, steps=args.steps, warmup=2)
        rows.append({"step": label, **r})
    print("| step | batch | step ms | examples/s | compile s | devices |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['step']} | {r['global_batch']} | {r['step_ms']:.1f} | {r['examples_per_s']:.0f} | "
              f"{r['compile_s']:.1f} | {r['devices']} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
