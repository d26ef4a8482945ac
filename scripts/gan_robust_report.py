"""Writes docs/gan_robust.md (and copies small PNGs to docs/plots/) from finished runs of the GAN,
adversarial and attribution experiments: dcgan_fashion, cgan_fashion, pgd_at_fashion, trades_fashion, interpret_fashion.

Usage: python scripts/gan_robust_report.py --runs-dir /tmp/runs_gan5 [--note "2-core CPU, shared"]
Each run is read from <runs-dir>/<experiment>/ (result.json, sample_quality.jsonl, plots/); missing runs
are listed as not run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jaxml import experiments  # noqa: E402


def fmt(v, digits=3):
    return "—" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def gan_section(name: str, run: Path, plots: Path) -> list[str]:
    r = experiments.read_result(run)
    lines = [f"### {name}", "", f"wall time {r['wall_s']:.0f} s ({r['steps']} steps, devices {r['devices']}); "
             f"feature classifier test accuracy {r['feature_classifier_accuracy']:.4f}; "
             f"{r['fid_samples']} samples vs the 10k test images.", "",
             "| step | domain FID (EMA G) | FID (raw G) | IS analogue |" + (" conditional acc. |" if "conditional_accuracy" in r else ""),
             "|---|---|---|---|" + ("---|" if "conditional_accuracy" in r else "")]
    for line in (run / "sample_quality.jsonl").read_text().splitlines():
        q = json.loads(line)
        row = f"| {q['step']} | {q['fid']:.2f} | {q['fid_raw']:.2f} | {q['inception_score']:.3f} |"
        if "conditional_accuracy" in q:
            row += f" {q['conditional_accuracy']:.3f} |"
        lines.append(row)
    lines += ["", f"FID fell {r['fid_init'] / r['fid']:.1f}x from initialisation; IS analogue "
              f"{r['inception_score_init']:.2f} -> {r['inception_score']:.2f}.", "",
              "Real-data sanity (same classifier, same reference statistics):", "",
              "| set | FID | IS |", "|---|---|---|",
              f"| real train ({r['fid_samples']}) | {r['fid_train_test']:.2f} | |",
              *[f"| real train + N(0, {s}²) | {r[f'fid_noise_{s}']:.2f} | |" for s in (0.1, 0.2, 0.4)],
              f"| one class of real train | {r['fid_single_class']:.2f} | {r['is_single_class']:.3f} |",
              f"| real test (10k) | 0 (reference) | {r['is_real']:.3f} |", ""]
    if "fewshot_accuracy" in r:
        lines += [f"Few-label study ({r['fewshot_labels_per_class']} real labels per class, CNN): "
                  f"test accuracy {r['fewshot_accuracy']:.4f} without and {r['fewshot_gan_accuracy']:.4f} with "
                  f"{r['fewshot_synthetic_per_class']} cGAN samples per class (difference {r['fewshot_gain']:+.4f}). "
                  "The cGAN was trained on all 60k labelled images, so this measures what its samples transfer, "
                  "not a strict few-label setting.", ""]
    grids = sorted((run / "plots").glob("samples_*.png"))
    if grids:
        dst = plots / f"{name}_samples.png"
        shutil.copy(grids[-1], dst)
        lines += [f"![{name} samples](plots/{dst.name})", ""]
    return lines


def adv_section(name: str, run: Path, plots: Path) -> list[str]:
    r = experiments.read_result(run)
    runs = sorted({k[: -len("_robust_accuracy_curve")] for k in r if k.endswith("_robust_accuracy_curve")})
    eps = r["eps_grid"]
    lines = [f"### {name}", "", f"{r['steps']} training steps per model; wall time {r['wall_s']:.0f} s; PGD on {r['eval_examples']} test images "
             "(cumulative over the ε grid).", "",
             "| model | clean | " + " | ".join(f"ε={e:g}" for e in eps) + " | conf. AUC |",
             "|---|---|" + "---|" * len(eps) + "---|"]
    for m in runs:
        lines.append(f"| {m} | {r[f'{m}_test_accuracy']:.4f} | " +
                     " | ".join(f"{v:.4f}" for v in r[f"{m}_robust_accuracy_curve"]) +
                     f" | {r[f'{m}_confidence_auc']:.3f} |")
    lines.append("")
    if "clean_accuracy_drop" in r:
        lines += [f"Clean-accuracy drop of the main model vs standard: {100 * r['clean_accuracy_drop']:.1f} points.", ""]
    f1 = r.get("f1_clean_per_class")
    if f1:
        lines += ["Per-class F1 of the main model (clean / adversarial at the main ε): " +
                  ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(f1, r["f1_adversarial_per_class"])), ""]
    png = run / "plots" / "robustness.png"
    if png.exists():
        shutil.copy(png, plots / f"{name}_robustness.png")
        lines += [f"![{name} robustness](plots/{name}_robustness.png)", ""]
    return lines


def interpret_section(name: str, run: Path, plots: Path) -> list[str]:
    r = experiments.read_result(run)
    lines = [f"### {name}", "", f"CNN test accuracy {r['test_accuracy']:.4f}; integrated gradients (64 steps, black "
             f"baseline) completeness error at most {100 * r['ig_completeness_error']:.2f}% over the explained images.", "",
             "Deletion AUC (mean target probability while the most-attributed pixels are set to 0 first, 10 steps; "
             "lower = the map points at what the model uses):", "", "| map | deletion AUC |", "|---|---|"]
    lines += [f"| {k[len('deletion_auc_'):]} | {v:.3f} |" for k, v in r.items() if k.startswith("deletion_auc_")]
    png = run / "plots" / "attributions.png"
    if png.exists():
        shutil.copy(png, plots / f"{name}.png")
        lines += ["", f"![{name} attributions](plots/{name}.png)", ""]
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs-dir", required=True)
    ap.add_argument("--note", default="")
    ap.add_argument("--out", default=str(REPO / "docs" / "gan_robust.md"))
    args = ap.parse_args()
    runs = Path(args.runs_dir)
    out = Path(args.out)
    plots = out.parent / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    lines = ["# Generative and robust models", "",
             f"Produced by `python scripts/gan_robust_report.py --runs-dir {args.runs_dir}` from runs of "
             "`jaxml reproduce --suite full --only <experiment>`. " + args.note, ""]
    for name, section in (("dcgan_fashion", gan_section), ("cgan_fashion", gan_section),
                          ("pgd_at_fashion", adv_section), ("trades_fashion", adv_section),
                          ("interpret_fashion", interpret_section)):
        run = runs / name
        if (run / "result.json").exists():
            lines += section(name, run, plots)
        else:
            lines += [f"### {name}", "", "not run yet.", ""]
    out.write_text("\n".join(lines) + "\n")
    print(out)


if __name__ == "__main__":
    main()
