"""The extra distillation and pruning tables of docs/compression.md, from runs made by this script.

    python scripts/compression_tables.py --runs-dir /tmp/runs_compression \
        --teacher-workdir /tmp/runs_distill/distill_fashion/teacher --prune-workdir /tmp/runs_prune/prune_fashion

Runs (each once; an existing <runs-dir>/<name>/result.json is reused, so re-running only re-renders):
- distillation temperature sweep T in {1, 2, 4, 8, 20} (distill_fashion's settings, seed 0), the teacher
  restored from --teacher-workdir (the classify run `jaxml reproduce --only distill_fashion` trained);
- fixed vs consistent teacher at equal steps, both with distill_fashion's shifts and mixup (Beyer 2022);
- two more student sizes (distilled and from scratch, seed 0);
- magnitude vs random global gradual pruning at 80% and 90% (90% magnitude is prune_fashion itself).
The main rows come from docs/results/{distill,prune}_fashion.json; per-layer sparsity and the sparse vs
dense file sizes from --prune-workdir/pruning.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jaxml import experiments  # noqa: E402
from jaxml.core.reproduce import machine  # noqa: E402

log = logging.getLogger("jaxml")

TEMPERATURES = (1.0, 2.0, 4.0, 8.0, 20.0)
STUDENT_SIZES = (((8, 16), (32,)), ((32, 64), (128,)))   # CNN students besides distill_fashion's own


RENDER_ONLY = False  # --render-only: rows whose run is missing say so instead of training it


def run(runs_dir: Path, name: str, experiment: str, overrides: list[str]) -> dict | None:
    workdir = runs_dir / name
    result_path = workdir / "result.json"
    if result_path.exists():
        result = experiments.read_result(workdir)
    elif RENDER_ONLY:
        return None
    else:
        exp, config = experiments.load_experiment_config(experiment, overrides)
        result = experiments.run_training(exp, config, workdir)
    result["command"] = " ".join(["jaxml train", experiment, f"--workdir {workdir}", *overrides])
    return result


def pct(x: float) -> str:
    return f"{100 * x:.2f}"


def distill_tables(runs_dir: Path, teacher: str, main: dict) -> list[str]:
    common = [f"--config.teacher_workdir={teacher}", "--config.seeds=1", "--config.scratch=false"]
    scratch = main["scratch_accuracy"]
    gap = main["teacher_accuracy"] - scratch
    setting = (f"{main['mode']} teacher, T={main['temperature']:g}, α={main['alpha']:g}, ±{main['shift']}-px shifts, "
               f"mixup α_mix={main['mixup_alpha']:g}")
    lines = ["## Distillation", "",
             f"Teacher ({main['teacher_model']}, {main['teacher_params']} params, trained on all 60k labels): "
             f"{pct(main['teacher_accuracy'])}% test accuracy. Student: {main['student_model']} ({main['params']} params), "
             f"{main['steps']} steps on {main['student_train_examples']} labelled training images; {setting}. The scratch "
             f"control is the same student on the same images, shifts and mixup with hard labels. From `jaxml reproduce "
             f"--suite full --only distill_fashion` ({main.get('date', '')}, {main.get('machine', '')}):", "",
             "| student | test accuracy (%) | per seed |", "|---|---|---|",
             f"| from scratch on labels | {pct(scratch)} ± {pct(main['scratch_accuracy_std'])} | "
             f"{', '.join(pct(a) for a in main['scratch_accuracy_per_seed'])} |",
             f"| distilled | {pct(main['test_accuracy'])} ± "
             f"{pct(main['test_accuracy_std'])} | {', '.join(pct(a) for a in main['test_accuracy_per_seed'])} |", "",
             f"Gap closed: {main['gap_closed']:.3f} (± {main['gap_closed_std']:.3f} over seeds, each seed's distilled "
             f"student against its scratch twin).", ""]

    lines += ["### Temperature sweep", "",
              f"distill_fashion's settings with T varied (the soft loss is T²·KL at temperature T), seed 0; gap closed "
              f"against the 3-seed scratch mean {pct(scratch)}%.", "",
              "| T | test accuracy (%) | gap closed | command |", "|---|---|---|---|"]
    for t in TEMPERATURES:
        r = run(runs_dir, f"distill_T{t:g}", "distill_fashion", common + [f"--config.distill.temperature={t}"])
        if r is None:
            lines.append(f"| {t:g} | not run | | |")
            continue
        lines.append(f"| {t:g} | {pct(r['test_accuracy'])} | {(r['test_accuracy'] - scratch) / gap:.3f} | `{r['command']}` |")

    lines += ["", "### Fixed vs consistent teacher at equal steps", "",
              "distill_fashion's settings (shifts and mixup on every batch, T and α as above), seed 0, same steps. "
              "Fixed: the teacher's logits on the clean images, computed once and mixed with the same λ and partner as "
              "the images. Consistent: the teacher scores the student's exact augmented, mixed-up batch every step.", "",
              "| mode | test accuracy (%) | gap closed | wall time (s) | command |", "|---|---|---|---|---|"]
    for mode in ("fixed", "consistent"):
        name, extra = (f"distill_T{main['temperature']:g}", [f"--config.distill.temperature={main['temperature']}"]) \
            if mode == main["mode"] else (f"distill_{mode}", [f"--config.distill.mode={mode}"])
        r = run(runs_dir, name, "distill_fashion", common + extra)
        if r is None:
            lines.append(f"| {mode} | not run | | | |")
            continue
        lines.append(f"| {mode} | {pct(r['test_accuracy'])} | {(r['test_accuracy'] - scratch) / gap:.3f} | "
                     f"{r['wall_s']:.0f} | `{r['command']}` |")

    lines += ["", "### Student size", "",
              "CNN students, seed 0, distill_fashion's settings; each with its own scratch twin.", "",
              "| student | params | scratch (%) | distilled (%) | gap closed | command |", "|---|---|---|---|---|---|",
              f"| {main['student_model']} (distill_fashion, 3 seeds) | {main['params']} | {pct(scratch)} | "
              f"{pct(main['test_accuracy'])} | {main['gap_closed']:.3f} | `jaxml train distill_fashion` |"]
    for features, dense in STUDENT_SIZES:
        tag = "-".join(map(str, features)) + "_" + "-".join(map(str, dense))
        r = run(runs_dir, f"distill_cnn{tag}", "distill_fashion",
                [f"--config.teacher_workdir={teacher}", "--config.seeds=1",
                 f"--config.model.features={tuple(features)}", f"--config.model.dense={tuple(dense)}"])
        if r is None:
            lines.append(f"| CNN {tag} | not run | | | | |")
            continue
        lines.append(f"| {r['student_model']} | {r['params']} | {pct(r['scratch_accuracy'])} | {pct(r['test_accuracy'])} | "
                     f"{r['gap_closed']:.3f} | `{r['command']}` |")
    return lines


def prune_tables(runs_dir: Path, prune_workdir: Path, main: dict) -> list[str]:
    dense = main["dense_accuracy"]
    lines = ["## Pruning", "",
             f"CNN conv16-pool-conv32-pool-dense128 ({main['params']} params), {main['steps']} steps, global gradual "
             f"pruning on Zhu & Gupta's cubic schedule. From `jaxml reproduce --suite full --only prune_fashion` "
             f"({main.get('date', '')}, {main.get('machine', '')}): dense {pct(dense)}%, pruned to sparsity "
             f"{main['sparsity']:.4f}: {pct(main['test_accuracy'])}% (drop {100 * main['accuracy_drop']:.2f} points).", "",
             "The recorded dense baseline resumed from the final checkpoint of an identical classify run (same model, "
             "optimizer, seed and data order); see configs/prune_fashion.py.", "",
             "### Magnitude vs random", "",
             "| sparsity | magnitude (%) | random (%) | dense (%) | command (random) |", "|---|---|---|---|---|"]
    for s in (0.8, 0.9):
        rand = run(runs_dir, f"prune_random_{s:g}", "prune_fashion",
                   ["--config.prune.method=random", f"--config.prune.sparsity={s}", "--config.prune.dense_baseline=false"])
        mag = main if s == 0.9 else run(runs_dir, f"prune_magnitude_{s:g}", "prune_fashion",
                                         [f"--config.prune.sparsity={s}", "--config.prune.dense_baseline=false"])
        cell = lambda r: "not run" if r is None else pct(r["test_accuracy"])
        lines.append(f"| {s:g} | {cell(mag)} | {cell(rand)} | {pct(dense)} | "
                     f"`{rand['command'] if rand else 'not run'}` |")
    report_path = prune_workdir / "pruning.json"
    if report_path.exists():
        report = json.loads(report_path.read_text())
        lines += ["", "### Sparsity per layer (prune_fashion, 90% global magnitude)", "",
                  "| layer | shape | weights | sparsity |", "|---|---|---|---|"]
        for name, layer in report["layers"].items():
            n = 1
            for d in layer["shape"]:
                n *= d
            lines.append(f"| {name} | {'×'.join(map(str, layer['shape']))} | {n} | {layer['sparsity']:.4f} |")
        lines += ["", "### Stored size", "",
                  "Dense: every param float32 in an uncompressed .npz. Sparse: each kernel as CSR (float32 non-zeros, "
                  "column indices and row pointers in the smallest unsigned type that holds them), biases dense, "
                  "uncompressed .npz.", "",
                  "| format | bytes | ratio |", "|---|---|---|",
                  f"| dense float32 | {report['dense_bytes']} | 1.00 |",
                  f"| sparse (non-zeros + indices) | {report['sparse_bytes']} | "
                  f"{report['dense_bytes'] / report['sparse_bytes']:.2f}× smaller |"]
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs-dir", type=Path, required=True)
    p.add_argument("--teacher-workdir", default="")
    p.add_argument("--prune-workdir", type=Path, default=Path("/nonexistent"))
    p.add_argument("--only", choices=("distill", "prune"))
    p.add_argument("--render-only", action="store_true", help="train nothing; mark missing runs")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "compression.md")
    args = p.parse_args()
    global RENDER_ONLY
    RENDER_ONLY = args.render_only
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    results = REPO / "docs" / "results"
    lines = ["# Compression: distillation and pruning tables", "",
             f"Generated by `python {' '.join(sys.argv)}` on {machine()} (a 2-core CPU shared with other jobs, so wall "
             f"times are loose), {datetime.date.today().isoformat()}, Fashion-MNIST (60k train / 10k test). Every "
             f"number below comes from the run named beside it.", ""]
    for section, make, extra in (("distill", distill_tables, args.teacher_workdir),
                                 ("prune", prune_tables, args.prune_workdir)):
        record = results / f"{section}_fashion.json"
        if args.only not in (None, section):
            continue
        if not record.exists():
            lines += [f"## {section}: not run yet", "", f"`jaxml reproduce --suite full --only {section}_fashion` first.", ""]
            continue
        lines += make(args.runs_dir, extra, json.loads(record.read_text())) + [""]
    args.out.write_text("\n".join(lines))
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("JAXML_PROGRESS", "0")
    raise SystemExit(main())
