"""Multi-Fashion-MNIST: every weighting strategy (3 seeds, mean +- std of left/right test accuracy) beside
the single-task models, plus the synthetic and GradNorm-toy records -> docs/multitask.md.

    python scripts/multitask_fashion_table.py [--seeds 0 1 2] [--steps 1000] [--runs-dir /tmp/mtf_table]
    python scripts/multitask_fashion_table.py --render-only   # table from the runs already in --runs-dir

Each run is `jaxml train multitask_fashion` with --config.weighting=<s> --config.seed=<seed> (single-task:
--config.tasks with one task); result.json files are kept in --runs-dir, so an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import ml_collections
import numpy as np

from jaxml.methods.multitask_weightings import WEIGHTINGS

REPO = Path(__file__).resolve().parent.parent
STRATEGIES = tuple(WEIGHTINGS)  # every weighting strategy, in registry order


def runs(seeds):
    for s in STRATEGIES:
        for seed in seeds:
            yield f"{s}_seed{seed}", s, ("left", "right"), seed
    for task in ("left", "right"):
        for seed in seeds:
            yield f"single_{task}_seed{seed}", "equal", (task,), seed


def train_missing(args) -> None:
    from jaxml.cli import load_experiment_config, run_training

    for name, strategy, tasks, seed in runs(args.seeds):
        workdir = Path(args.runs_dir) / name
        if (workdir / "result.json").exists():
            continue
        _, config = load_experiment_config("multitask_fashion", [f"--config.steps={args.steps}"])
        with config.unlocked():
            config.weighting = strategy
            config.seed = seed
            config.tasks = ml_collections.ConfigDict({t: {"weight": 1.0} for t in tasks})
            if strategy == "fixed":  # a fixed non-uniform split, to show what fixed weights do
                config.tasks.left.weight, config.tasks.right.weight = 1.5, 0.5
        run_training("multitask_fashion", config, workdir)


def stat(values):
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if values else "—"


def render(args) -> str:
    rows = []
    for label, prefix in [(s, s) for s in STRATEGIES] + [("single-task left", "single_left"), ("single-task right", "single_right")]:
        left, right = [], []
        for seed in args.seeds:
            f = Path(args.runs_dir) / f"{prefix}_seed{seed}" / "result.json"
            if f.exists():
                r = json.loads(f.read_text())
                if "test_left_accuracy" in r:
                    left.append(r["test_left_accuracy"])
                if "test_right_accuracy" in r:
                    right.append(r["test_right_accuracy"])
        rows.append(f"| {label} | {stat(left)} | {stat(right)} | {max(len(left), len(right))} |")
    lines = ["# Multi-task learning results", "",
             f"Produced by `python scripts/multitask_fashion_table.py --steps {args.steps} --seeds "
             f"{' '.join(map(str, args.seeds))}` on a 2-core CPU shared with other jobs, {datetime.date.today()}.", "",
             "## Multi-Fashion-MNIST (left / right test accuracy, mean ± std over seeds)", "",
             "| weighting | left accuracy | right accuracy | seeds run |", "|---|---|---|---|", *rows, "",
             "CNN trunk conv16-pool-conv32-pool, shared dense 64, two 10-way heads, "
             f"{args.steps} steps of batch 64 per run. `fixed` weights left 1.5, right 0.5 (a deliberately uneven "
             "split); the single-task rows train the same network with one head. No strategy is asserted to beat "
             "equal weighting; the table says what happened.", ""]
    f = REPO / "docs" / "results" / "maml_fashion.json"
    if f.exists():
        r = json.loads(f.read_text())
        lines += [f"## maml_fashion (`{r.get('command')}`, {r.get('date')}, {r['steps']} meta-updates)", "",
                  f"{r['ways']}-way {r['shots']}-shot on Fashion-MNIST classes held out of meta-training, "
                  f"{r['episodes']} test episodes: MAML {r['test_accuracy']:.4f} ± {r['ci95']:.4f} (95% CI) vs "
                  f"pretrained + fine-tuned head {r['baseline_accuracy']:.4f} ± {r['baseline_ci95']:.4f}: "
                  f"MAML {'beat' if r['maml_minus_baseline'] > 0 else 'did not beat'} the baseline "
                  f"({r['maml_minus_baseline']:+.4f}).", ""]
    for name in ("multitask_synthetic", "gradnorm_toy"):
        f = REPO / "docs" / "results" / f"{name}.json"
        if f.exists():
            r = json.loads(f.read_text())
            keys = sorted(k for k in r if any(s in k for s in ("sigma2", "_mse", "weight_", "grad_norm", "slope")))
            lines += [f"## {name} (`{r.get('command')}`, {r.get('date')})", "", "| metric | value |", "|---|---|"]
            lines += [f"| {k} | {r[k]:.4g} |" for k in keys] + [""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--runs-dir", default="/tmp/mtf_table")
    p.add_argument("--render-only", action="store_true")
    p.add_argument("--out", default=str(REPO / "docs" / "multitask.md"))
    args = p.parse_args()
    if not args.render_only:
        train_missing(args)
    Path(args.out).write_text(render(args))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
