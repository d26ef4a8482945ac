#!/usr/bin/env python
"""Side-by-side: the cnn_fashion training step in jaxml and in a plain PyTorch CPU loop.

Same model (conv32-pool-conv64-pool-dense256-dense10, ReLU, dropout as configured), same optimizer
(AdamW, same learning rate and weight decay), same global batch of real Fashion-MNIST images (or
digits upsampled to 28x28 when Fashion-MNIST is missing), float32 (or bf16 with `--dtype bfloat16`:
jaxml's bf16 matmul operands vs torch CPU autocast). Both are timed in this one process, after
warm-up, as the median of N steps; the ratio is what BENCHMARKS.md reports.

jaxml is timed twice: one step per call (like the PyTorch loop) and as the training loop runs it
(`log_every` steps per call inside one `lax.scan`).

    pip install torch==2.13.0          # the CPU wheel on this machine
    python scripts/bench_cnn_vs_torch.py --steps 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np


def torch_step_times(images: np.ndarray, labels: np.ndarray, *, steps: int, warmup: int, lr: float, wd: float,
                     dropout: float, dtype: str, threads: int) -> list[float]:
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(256, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return times


def jaxml_step_times(config, *, steps: int, warmup: int, steps_per_call: int) -> tuple[list[float], dict]:
    from jaxml.core import profiling
    from jaxml.methods import classify

    config = config.copy_and_resolve_references()
    config.log_every = steps_per_call
    report = profiling.bench_recipe(classify.recipe_for(config), config, steps=steps, warmup=warmup)
    return report["step_ms"] / 1e3, report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--scan", type=int, default=50, help="steps per call for the scanned jaxml timing")
    args = p.parse_args()

    import jax
    import torch

    from jaxml.cli import load_experiment_config
    from jaxml.data.batching import train_batches

    _, config = load_experiment_config("cnn_fashion", [f"--config.dtype={args.dtype}",
                                                       f"--config.batch_size={args.batch_size}",
                                                       "--config.parallel.num_devices=1"])
    from jaxml.methods import classify
    data = classify.load_data(config)
    batch = train_batches(data.train, start_step=0, num_steps=1, global_batch=args.batch_size, seed=0)
    images, labels = batch["image"][0], batch["label"][0]
    threads = os.cpu_count() or 1

    one_s, _ = jaxml_step_times(config, steps=args.steps, warmup=args.warmup, steps_per_call=1)
    scan_s, report = jaxml_step_times(config, steps=max(args.steps, args.scan * 2), warmup=2,
                                      steps_per_call=args.scan)
    torch_times = torch_step_times(images, labels, steps=args.steps, warmup=args.warmup,
                                   lr=float(config.learning_rate), wd=float(config.weight_decay),
                                   dropout=float(config.model.dropout), dtype=args.dtype, threads=threads)
    torch_s = statistics.median(torch_times)
    b = args.batch_size
    rows = {
        "jaxml (1 step/call)": one_s, f"jaxml ({args.scan} steps/call, as trained)": scan_s, "pytorch": torch_s}
    print(f"cnn_fashion training step, batch {b}, {args.dtype}, {platform.processor() or platform.machine()}, "
          f"{threads} threads, jax {jax.__version__}, torch {torch.__version__}")
    for name, s in rows.items():
        print(f"  {name:<34} {s * 1e3:8.2f} ms/step  {b / s:9.0f} examples/s  {torch_s / s:5.2f}x pytorch")
    print(json.dumps({"dtype": args.dtype, "batch": b, "jaxml_1_ms": one_s * 1e3, "jaxml_scan_ms": scan_s * 1e3,
                      "torch_ms": torch_s * 1e3, "ratio_1": torch_s / one_s, "ratio_scan": torch_s / scan_s,
                      "flops_per_step": report["flops_per_step"], "jax": jax.__version__, "torch": torch.__version__,
                      "threads": threads}))


if __name__ == "__main__":
    main()
