#!/usr/bin/env python
"""Side-by-side: the cnn_fashion training step in jaxml and in a plain PyTorch CPU loop.

Same model (conv32-pool-conv64-pool-dense256-dense10, ReLU, dropout as configured), same optimizer
(AdamW, same learning rate and weight decay), same global batch of real Fashion-MNIST images, float32
(or `--dtype bfloat16`: jaxml's bf16 matmul operands vs torch CPU autocast). Both run in this one
process, after warm-up.

jaxml is timed twice: one step per call (like the PyTorch loop) and as the training loop runs it
(many steps per call inside one `lax.scan`). The sides alternate over several rounds because this
shared machine's speed drifts by +-20% over minutes; the ratio is the median of per-round ratios.

    pip install torch==2.13.0          # the CPU wheel on this machine
    python scripts/bench_cnn_vs_torch.py --rounds 5 --steps 50
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np


class TorchStep:
    """The same CNN, optimizer and batch in PyTorch; `step_times(n)` times n steps."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, *, lr: float, wd: float, dropout: float, dtype: str,
                 threads: int):
        import torch
        from torch import nn

        torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.torch = torch
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(256, 10))
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=wd)
        self.x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
        self.y = torch.from_numpy(labels.astype(np.int64))
        self.loss_fn = nn.CrossEntropyLoss()
        self.bf16 = dtype == "bfloat16"
        self.steps_per_call = 1

    def step(self) -> float:
        self.opt.zero_grad(set_to_none=True)
        with self.torch.autocast("cpu", dtype=self.torch.bfloat16, enabled=self.bf16):
            loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def step_times(self, n: int) -> list[float]:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            self.step()
            times.append(time.perf_counter() - t)
        return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (jaxml, torch, jaxml, torch, ...)")
    p.add_argument("--steps", type=int, default=50, help="timed steps per side per round")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args()

    import jax
    import torch

    from jaxml.experiments import load_experiment_config
    from jaxml.core.profiling import StepTimer
    from jaxml.data.batching import train_batches
    from jaxml.methods import classify

    _, config = load_experiment_config("cnn_fashion", [f"--config.dtype={args.dtype}",
                                                       f"--config.batch_size={args.batch_size}",
                                                       "--config.parallel.num_devices=1"])
    recipe = classify.recipe_for(config)
    batch = train_batches(recipe.train_split, start_step=0, num_steps=1, global_batch=args.batch_size, seed=0)
    threads = os.cpu_count() or 1
    torch_name = "pytorch (eager)"
    sides = {
        "jaxml, 1 step per call": StepTimer(recipe, config, steps_per_call=1),
        f"jaxml, {args.steps} steps per call (as trained)": StepTimer(recipe, config, steps_per_call=args.steps),
        torch_name: TorchStep(batch["image"][0], batch["label"][0], lr=float(config.learning_rate),
                              wd=float(config.weight_decay), dropout=float(config.model.dropout), dtype=args.dtype,
                              threads=threads),
    }

    def calls(side):  # every side times `args.steps` steps per round
        return max(1, args.steps // side.steps_per_call)

    for side in sides.values():
        side.step_times(max(1, args.warmup // side.steps_per_call))
    medians: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, side in sides.items():
            medians[name].append(statistics.median(side.step_times(calls(side))))
    b = args.batch_size
    print(f"cnn_fashion training step, batch {b}, {args.dtype}, {threads} threads, {args.rounds} interleaved rounds "
          f"of {args.steps} steps, jax {jax.__version__}, torch {torch.__version__}")
    summary = {"dtype": args.dtype, "batch": b, "rounds": args.rounds, "steps": args.steps, "threads": threads,
               "jax": jax.__version__, "torch": torch.__version__}
    for name, per_round in medians.items():
        ratios = [t / m for t, m in zip(medians[torch_name], per_round)]
        med = statistics.median(per_round)
        print(f"  {name:<38} {med * 1e3:7.2f} ms/step {b / med:7.0f} ex/s   vs pytorch: median "
              f"{statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x)")
        summary[name] = {"ms": round(med * 1e3, 3), "ratio_median": round(statistics.median(ratios), 3),
                         "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
