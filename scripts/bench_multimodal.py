"""Multimodal throughput: the CLIP dual-encoder training step (examples/s; one example = one image-
caption pair) on clip_fashion's config, and cross-modal retrieval (queries/s: unit query embeddings
against a gallery of 10,000, one jitted similarity + top-k per block of queries).

Usage: python scripts/bench_multimodal.py [--experiment clip_fashion] [--steps 20] [--devices 1]
           [--gallery 10000] [--queries 1000] [--k 10] [--tiny]
       (prints a markdown table + JSON; `--tiny` runs a few steps on digits and a 256-item gallery to
       check that the script works, not to time anything)
"""

from __future__ import annotations

import argparse
import json
import time

import jax

from jaxml import experiments
from jaxml.core import profiling
from jaxml.core.batch_global import l2_normalise
from jaxml.methods import contrastive


def retrieval_throughput(gallery: int, queries: int, dim: int, k: int, repeats: int = 5) -> dict:
    """queries/s of `top_k_retrieval` over random unit embeddings (compiled before timing)."""
    kq, kg = jax.random.split(jax.random.key(0))
    q = l2_normalise(jax.random.normal(kq, (queries, dim)))
    g = l2_normalise(jax.random.normal(kg, (gallery, dim)))
    t = time.perf_counter()
    contrastive.top_k_retrieval(q, g, k).block_until_ready()
    compile_s = time.perf_counter() - t
    seconds = []
    for _ in range(repeats):
        t = time.perf_counter()
        contrastive.top_k_retrieval(q, g, k).block_until_ready()
        seconds.append(time.perf_counter() - t)
    best = min(seconds)
    return {"gallery": gallery, "queries": queries, "dim": dim, "k": k, "compile_s": round(compile_s, 3),
            "ms": round(best * 1e3, 3), "queries_per_s": round(queries / best, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiment", default="clip_fashion")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--devices", type=int, default=1)
    ap.add_argument("--gallery", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--tiny", action="store_true")
    args = ap.parse_args()
    overrides = [f"--config.parallel.num_devices={args.devices}", "--config.log_every=10"]
    if args.tiny:
        overrides += ["--config.dataset=digits", "--config.captions.train_size=256", "--config.captions.test_size=64",
                      "--config.retrieval.size=64", "--config.batch_size=32", "--config.log_every=2"]
        args.steps, args.gallery, args.queries = 2, 256, 32
    _, c = experiments.load_experiment_config(args.experiment, overrides)
    step = profiling.bench_recipe(contrastive.recipe_for(c), c, steps=args.steps, warmup=1 if args.tiny else 2)
    search = retrieval_throughput(args.gallery, args.queries, int(c.clip.embed_dim), args.k,
                                  repeats=1 if args.tiny else 5)
    print("| measurement | size | ms | throughput | compile s | devices |")
    print("|---|---|---|---|---|---|")
    print(f"| dual-encoder step | batch {step['global_batch']} | {step['step_ms']:.1f} | "
          f"{step['examples_per_s']:.0f} examples/s | {step['compile_s']:.1f} | {step['devices']} |")
    print(f"| retrieval top-{search['k']} | {search['queries']} queries x {search['gallery']} gallery | "
          f"{search['ms']:.2f} | {search['queries_per_s']:.0f} queries/s | {search['compile_s']:.2f} | "
          f"{jax.devices()[0].platform} |")
    print(json.dumps({"step": step, "retrieval": search}))


if __name__ == "__main__":
    main()
