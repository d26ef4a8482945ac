"""The summary of a `jaxml tune` study: a table of every trial, best.json and the plots."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from jaxml.tune.study import TuneSpec
from jaxml.tune.workers import counts

log = logging.getLogger("jaxml")


def trial_rows(study) -> list[list[str]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        note = ("surplus" if t.user_attrs.get("surplus") else f"retry of {t.user_attrs['retry_of']}"
                if "retry_of" in t.user_attrs else t.user_attrs.get("failed", t.user_attrs.get("error", ""))[:40])
        value = "-" if t.value is None else f"{t.value:.4f}"
        params = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in t.params.items())
        rows.append([str(t.number), t.state.name, value, params, note])
    return rows


def plot_study(study, spec: TuneSpec, out: Path) -> None:
    import optuna
    from optuna.trial import TrialState

    from jaxml.core.plots import pyplot, save_figure

    plt = pyplot()
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    values = [t.value for t in done]
    best = (max if spec.direction == "maximize" else min)
    ax.plot([t.number for t in done], values, "o", ms=4, label="trial")
    ax.plot([t.number for t in done], [best(values[:i + 1]) for i in range(len(values))], "-", color="tab:red",
            label="best so far")
    ax.set_xlabel("trial"); ax.set_ylabel(spec.metric); ax.grid(alpha=0.3); ax.legend(fontsize=8)
    ax.set_title(f"optimisation history: {spec.study_name()}")
    fig.tight_layout()
    save_figure(fig, out / "optimization_history.png", dpi=90)
    try:
        importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as e:  # too few trials, or a parameter that never varied
        log.info("no parameter importances: %s", e)
        return
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * len(importances)))
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color="tab:blue")
    ax.set_xlabel(f"importance for {spec.metric} (fANOVA)"); ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    save_figure(fig, out / "param_importances.png", dpi=90)


def write_summary(spec: TuneSpec, study) -> dict[str, Any]:
    from optuna.trial import TrialState

    from jaxml.text_table import render

    table = "\n".join(render(["trial", "state", spec.metric, "parameters", "note"], trial_rows(study), width=10**6,
                             minimum=[None] * 5))
    n = counts(study)
    try:
        best = study.best_trial
    except ValueError:
        best = None
    out: dict[str, Any] = {"study": spec.study_name(), "storage": spec.storage_url(), "metric": spec.metric,
                           "direction": spec.direction, "trials_complete": n["COMPLETE"],
                           "trials_pruned": n["PRUNED"], "trials_failed": n["FAIL"]}
    if best is not None and best.state == TrialState.COMPLETE:
        out.update({"best_trial": best.number, "best_value": best.value, "best_params": best.params,
                    "best_workdir": best.user_attrs.get("workdir"), "best_command": best.user_attrs.get("command")})
    text = f"{table}\n\n{json.dumps(out, indent=2, default=str)}\n"
    (spec.workdir / "summary.txt").write_text(text)
    (spec.workdir / "best.json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    plot_study(study, spec, spec.workdir / "plots")
    print(table)
    return out
