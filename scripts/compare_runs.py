"""Learning curves and final results of several workdirs of one experiment, side by side.

Used to check that a code change leaves an experiment's behaviour where it was: shortened runs of
the same config on the old and the new code (and a second seed on the new code, for the size of
seed noise) drawn on one figure, one panel per training stage (a workdir's own metrics.jsonl, or
one per sub-folder that holds one, e.g. the `standard/` and `pgd_at/` models of a comparison).

    python scripts/compare_runs.py --title "pgd_at_fashion, 200 steps" --out docs/plots/x.png \
        "old code, seed 0=runs/a" "new code, seed 0=runs/b" "new code, seed 1=runs/c"

Prints a markdown table of every scalar accuracy-like result (`*accuracy*`, `*auc*`) the runs share.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaxml.core.metrics import read_metrics  # noqa: E402
from jaxml.core.plots import pyplot, save_figure  # noqa: E402

STYLES = ({"color": "black", "linestyle": "-"}, {"color": "tab:red", "linestyle": "--"},
          {"color": "tab:blue", "linestyle": ":"}, {"color": "tab:green", "linestyle": "-."})


def stages(workdir: Path) -> dict[str, Path]:
    """{stage name: folder with metrics.jsonl}: the workdir itself, else its sub-folders."""
    if (workdir / "metrics.jsonl").exists():
        return {"": workdir}
    return {p.parent.name: p.parent for p in sorted(workdir.glob("*/metrics.jsonl"))}


def result_table(runs: dict[str, Path]) -> str:
    results = {label: json.loads((wd / "result.json").read_text()) for label, wd in runs.items()}
    keys = [k for k, v in next(iter(results.values())).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and ("accuracy" in k or "auc" in k)
            and all(isinstance(r.get(k), (int, float)) for r in results.values())]
    lines = ["| result | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    lines += [f"| {k} | " + " | ".join(f"{r[k]:.4f}" for r in results.values()) + " |" for k in keys]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="LABEL=WORKDIR, the first one drawn as the reference")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--title", default="")
    args = p.parse_args()
    runs = {}
    for item in args.runs:
        label, sep, path = item.partition("=")
        if not sep or not Path(path).is_dir():
            p.error(f"expected LABEL=WORKDIR with an existing workdir, got {item!r}")
        runs[label] = Path(path)
    names = list(stages(next(iter(runs.values()))))
    plt = pyplot()
    fig, axes = plt.subplots(2, len(names), figsize=(4.5 * len(names), 6), squeeze=False)
    for index, ((label, wd), style) in enumerate(zip(runs.items(), STYLES)):
        for col, name in enumerate(names):
            folder = stages(wd).get(name)
            if folder is None:
                continue
            rows = read_metrics(folder)
            train = [r for r in rows if r.get("split") == "train" and "loss" in r]
            axes[0, col].plot([r["step"] for r in train], [r["loss"] for r in train], label=label, **style)
            axes[1, col].plot([r["step"] for r in train], [r.get("accuracy") for r in train], label=label, **style)
            for split in sorted({r["split"] for r in rows if r.get("split") not in ("train", None)}):
                evals = [r for r in rows if r.get("split") == split and "accuracy" in r]
                axes[1, col].plot([r["step"] for r in evals], [r["accuracy"] for r in evals],
                                  marker="o" if split == "test" else "x", markersize=10 - 2 * index,
                                  linestyle="none", color=style["color"], fillstyle="none")
    for col, name in enumerate(names):
        axes[0, col].set_title(f"{args.title}: {name}" if name else args.title)
        axes[0, col].set_ylabel("train loss")
        axes[1, col].set_ylabel("train accuracy (o: test, x: other evals)")
        axes[1, col].set_xlabel("step")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, args.out, dpi=90)
    print(result_table(runs))


if __name__ == "__main__":
    main()
