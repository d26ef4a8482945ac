"""Writes docs/quantization_nas.md (tables of the quantize_fashion and nas_fashion records) and copies the
NAS Pareto plot to docs/plots/nas_fashion_pareto.png.

    python scripts/quant_nas_tables.py --nas-workdir /tmp/runs_nas/nas_fashion

Reads docs/results/quantize_fashion.json and docs/results/nas_fashion.json (written by
`jaxml reproduce --suite full --only quantize_fashion nas_fashion`); with --nas-workdir, also the run's
candidates.jsonl (every trained architecture) and plots/pareto.png.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

QWIX = """## Why not qwix

Google's `qwix` was the first choice (docs/references.md). `pip install --target /tmp/qwix qwix --no-deps` installed
qwix 0.1.8 beside the project's jax 0.10.2 / flax 0.12.8 (nothing in the venv changed). It imports and
works on a plain Flax model (`nn.Conv`/`nn.Dense`): PTQ stores int8 kernels and runs int8 convolutions
and `dot_general`s with int32 results. On jaxml's own models it does not: qwix quantizes by
intercepting `jax.lax.dot_general`, `jnp.einsum` and `lax.conv_general_dilated`, while jaxml's `Dense`
and its CPU default convolution (im2col + `jnp.matmul`, the fast path there) call `jnp.matmul`. So
- QAT and PTQ of `models.CNN` / `models.MLP` ran without error and changed nothing (logits identical to
  float: silently not quantized);
- with `conv_impl="xla"` QAT fake-quantized the convolutions only, and PTQ failed:
  `ValueError: Unsupported type: <class 'qwix._src.core.qarray.QArray'>` (our `Conv` casts its kernel
  with `.astype`, which qwix's PTQ param wrapper does not support).
Using qwix would have meant rewriting jaxml's layers around it (`lax.dot_general` instead of
`jnp.matmul`, no kernel casts) and then checking its numerics against ours anyway, so
`jaxml/models/quant.py` implements the symmetric absmax quantizers, QAT (straight-through estimator)
and the int8 path itself, tested against float64 / integer numpy references.
"""


def pts(x: float, ref: float) -> str:
    return f"{100 * (x - ref):+.2f}"


def quant_section(r: dict) -> list[str]:
    f = r["float_accuracy"]
    rows = [("float32", f),
            ("PTQ weights int8, per tensor", r["ptq_weights_per_tensor_accuracy"]),
            ("PTQ weights int8, per channel", r["ptq_weights_per_channel_accuracy"]),
            ("PTQ weights + activations int8, per tensor", r["ptq_w8a8_per_tensor_accuracy"]),
            ("PTQ weights + activations int8, per channel", r["ptq_w8a8_per_channel_accuracy"]),
            ("PTQ per channel on the int8 path", r["ptq_int8_accuracy"]),
            ("QAT (fake-quant evaluation)", r["qat_accuracy"]),
            ("QAT on the int8 path (served model)", r["int8_accuracy"])]
    out = ["## Quantization: quantize_fashion", "",
           f"Command: `{r['command']}` (via `jaxml reproduce`); machine: {r['machine']} shared with other jobs; "
           f"date {r['date']}; wall {r['wall_s']:.0f} s; {r['params']} parameters.", "",
           "| model | test accuracy | vs float (points) |", "|---|---|---|"]
    out += [f"| {name} | {acc:.4f} | {pts(acc, f)} |" for name, acc in rows]
    out += ["", f"- int8 path vs QAT evaluation: max |logit difference| = {r['int8_logits_max_abs_diff']}, "
                f"identical logits: {100 * r['int8_logits_identical_fraction']:.1f}% of the test set.",
            f"- serialized size (flax msgpack): float32 {r['float_bytes']:,} bytes, int8 {r['int8_bytes']:,} bytes "
            f"(int8 kernels + float32 scales, biases and activation ranges): {r['size_ratio']:.2f}x smaller.", ""]
    checks = [("per-channel weight PTQ loses <= 0.5 points", f - r["ptq_weights_per_channel_accuracy"] <= 0.005),
              ("weights + activations PTQ loses <= 1.0 point",
               f - min(r["ptq_w8a8_per_channel_accuracy"], r["ptq_w8a8_per_tensor_accuracy"]) <= 0.01),
              ("QAT within 0.3 points of float", abs(r["qat_accuracy"] - f) <= 0.003),
              ("int8 logits identical to the QAT evaluation", r["int8_logits_max_abs_diff"] == 0.0),
              ("int8 model >= 3.5x smaller", r["size_ratio"] >= 3.5)]
    out += ["| acceptance line | holds |", "|---|---|"] + [f"| {c} | {'yes' if ok else 'NO'} |" for c, ok in checks]
    return out + [""]


def nas_section(r: dict, workdir: Path | None) -> list[str]:
    out = ["## Architecture search: nas_fashion", "",
           f"Command: `{r['command']}` (via `jaxml reproduce`); machine: {r['machine']} shared with other jobs; "
           f"date {r['date']}; wall {r['wall_s']:.0f} s. Each search: {r['candidate_trainings']} candidate trainings; "
           f"{r['unique_trainings']} distinct architectures trained in all ({r['search_seeds']} seeds x 2 methods; "
           "repeats are looked up, evolution and random search share their initial population per seed).", "",
           "| search seed | evolution best (val) | random best (val) | evolution best (test) | random best (test) |",
           "|---|---|---|---|---|"]
    for i, (ev, rv, et, rt) in enumerate(zip(r["evolution_best_val_accuracy_per_seed"], r["random_best_val_accuracy_per_seed"],
                                             r["evolution_best_test_accuracy_per_seed"], r["random_best_test_accuracy_per_seed"])):
        out.append(f"| {i} | {ev:.4f} | {rv:.4f} | {et:.4f} | {rt:.4f} |")
    out.append(f"| mean ± std | {r['evolution_best_val_accuracy']:.4f} ± {r['evolution_best_val_accuracy_std']:.4f} | "
               f"{r['random_best_val_accuracy']:.4f} ± {r['random_best_val_accuracy_std']:.4f} | "
               f"{r['evolution_best_test_accuracy']:.4f} ± {r['evolution_best_test_accuracy_std']:.4f} | "
               f"{r['random_best_test_accuracy']:.4f} ± {r['random_best_test_accuracy_std']:.4f} |")
    out += ["", f"Evolution's best beats random search's best (validation) on {r['evolution_wins']} of "
                f"{r['search_seeds']} seeds.", "",
            f"Best architecture (by validation accuracy): `{json.dumps(r['best_architecture'])}` — "
            f"{r['params']:,} parameters, {r['flops']:,} forward FLOPs per example, validation accuracy "
            f"{r['best_val_accuracy']:.4f}.", "",
            "![Pareto plot](plots/nas_fashion_pareto.png)", ""]
    if workdir is not None and (workdir / "candidates.jsonl").exists():
        rows = [json.loads(l) for l in (workdir / "candidates.jsonl").read_text().splitlines() if l.strip()]
        rows.sort(key=lambda x: -x["val_accuracy"])
        out += ["Every trained candidate (sorted by validation accuracy):", "",
                "| family | depth | width | kernel | activation | params | FLOPs | val | test |", "|---|---|---|---|---|---|---|---|---|"]
        out += [f"| {x['family']} | {x['depth']} | {x['width']} | {x['kernel'] or '—'} | {x['activation']} | {x['params']:,} | "
                f"{x['flops']:,} | {x['val_accuracy']:.4f} | {x['test_accuracy']:.4f} |" for x in rows]
        out.append("")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default=str(REPO / "docs" / "results"))
    p.add_argument("--nas-workdir", help="the nas_fashion run's workdir (candidates.jsonl, plots/pareto.png)")
    p.add_argument("--out", default=str(REPO / "docs" / "quantization_nas.md"))
    args = p.parse_args()
    results = Path(args.results)
    workdir = Path(args.nas_workdir) if args.nas_workdir else None
    lines = ["# Quantization and architecture search", "",
             "Generated by `python scripts/quant_nas_tables.py` from the records in docs/results/. "
             "Latency and the vmap speed-up are in BENCHMARKS.md.", ""]
    for name, section in (("quantize_fashion", quant_section), ("nas_fashion", lambda r: nas_section(r, workdir))):
        path = results / f"{name}.json"
        if path.exists():
            lines += section(json.loads(path.read_text()))
    lines += [QWIX]
    if workdir is not None and (workdir / "plots" / "pareto.png").exists():
        shutil.copyfile(workdir / "plots" / "pareto.png", REPO / "docs" / "plots" / "nas_fashion_pareto.png")
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
