"""`jaxml reproduce`: run a suite, collect result.json files, write RESULTS.md and learning curves.

Each finished experiment leaves a record `<results_dir>/<experiment>.json` (its result.json plus the
command, the machine and the date); RESULTS.md is regenerated from all records in `results_dir`, so
running part of a suite (`--only`) updates those rows and keeps the others.

Where (`destination`): a plain suite run writes into a fresh run directory, `runs/demo-<stamp>/` for
the quick suite and `runs/reproduce-<suite>-<stamp>/` otherwise (or `--out DIR`): `RESULTS.md`,
`results/<experiment>.json`, `plots/<experiment>.png`, `summary.txt` and the experiments' workdirs in
`workdirs/`; the tracked records are left alone. Only `--record` (and `--record-only`, which records
finished runs and so implies it) rewrites the tracked records: `RESULTS.md` (or `--out FILE`), the
`docs/results/` and `docs/plots/` beside it, with workdirs in `runs/reproduce/`. Either way the run
ends with a summary table (experiment, metric, value, target, status, wall time) and the path written.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import platform
import shutil
from pathlib import Path
from typing import Any

from jaxml import experiments
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")


def machine() -> str:
    """E.g. 'Intel(R) Xeon(R) Processor, 2 cores' (the CPU; the accelerator is in each row's device)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def judge(record: dict[str, Any], expected: dict[str, Any]) -> str:
    """'met' when the metric (and every condition in `expected["also"]`) holds, 'missed', or 'missing'."""
    metric = expected.get("metric")
    value = record.get(metric)
    if value is None:
        return "missing"
    ok = True
    if "at_least" in expected:
        ok &= value >= expected["at_least"]
    if "at_most" in expected:
        ok &= value <= expected["at_most"]
    if "max_wall_s" in expected:
        ok &= record.get("wall_s", float("inf")) <= expected["max_wall_s"]
    for extra in expected.get("also", ()):
        status = judge(record, extra)
        if status == "missing":
            return status
        ok &= status == "met"
    return "met" if ok else "missed"


def render(records: list[dict[str, Any]]) -> str:
    lines = [
        "# Results",
        "",
        "Produced by `jaxml reproduce` (each row: the run's own result.json). Re-record a row here with",
        "`jaxml reproduce --record --suite full --only <experiment>` (`--suite quick` for the quick suite's);",
        "without `--record` (e.g. `make demo`, the quick suite) a suite run writes its own RESULTS.md under runs/.",
        "",
        "| experiment | metric | value | expected | reference | status | wall time | device | machine | date | command |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(records, key=lambda r: r["experiment"]):
        e = r.get("expected", {})
        metric = e.get("metric", "")
        value = r.get(metric)
        text = "—" if value is None else f"{value:.4f}"
        if value is not None and f"{metric}_std" in r:
            text += f" ± {r[f'{metric}_std']:.4f}"
        expect = experiments.expectation_text(e, with_metric=False)
        status = r.get("status", "") + (f" ({r['note']})" if r.get("note") else "")
        lines.append(
            f"| {r['experiment']} | {metric} | {text} | {expect} | {e.get('reference', '')} | {status} | "
            f"{r.get('wall_s', 0):.0f} s | {r.get('devices', '')} | {r.get('machine', '')} | {r.get('date', '')} | "
            f"`{r.get('command', '')}` |")
    rl = [r for r in records if "eval_return_per_seed" in r]
    if rl:
        lines += ["", "## Reinforcement learning: every seed", "",
                  "Greedy evaluation on separate eval envs after the last chunk. `eval AUC` is the mean over all "
                  "evaluations of the seed-mean greedy return (the area under the eval curve divided by its "
                  "length): the sample-efficiency number.", "",
                  "| experiment | env steps | seeds at target | greedy return per seed | eval AUC |",
                  "|---|---|---|---|---|"]
        for r in sorted(rl, key=lambda r: r["experiment"]):
            per_seed, e = r["eval_return_per_seed"], r.get("expected", {})
            hits = sum((v >= e.get("at_least", -float("inf"))) and (v <= e.get("at_most", float("inf")))
                       for v in per_seed)
            auc = r.get("eval_auc")
            lines.append(f"| {r['experiment']} | {r.get('env_steps', 0):,} | {hits}/{len(per_seed)} | "
                         f"{', '.join(f'{v:.1f}' if abs(v) >= 10 else f'{v:.3f}' for v in per_seed)} | "
                         f"{'—' if auc is None else (f'{auc:.1f}' if abs(auc) >= 10 else f'{auc:.3f}')} |")
    plots = [r for r in records if r.get("plot")]
    if plots:
        lines += ["", "## Learning curves", ""]
        lines += [f"- {r['experiment']}: [{r['plot']}]({r['plot']})" for r in sorted(plots, key=lambda r: r["experiment"])]
    return "\n".join(lines) + "\n"


def load_records(results_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]


def finished_run(name: str, config, workdir: Path) -> dict[str, Any]:
    """The result of a run already finished in `workdir` (e.g. by `jaxml train NAME --workdir W`), checked
    to have been trained with exactly `config`."""
    from jaxml.core import config as config_lib

    result_file, config_file = workdir / "result.json", workdir / "config.json"
    if not (result_file.exists() and config_file.exists()):
        raise JaxmlError(f"--record-only: {workdir} holds no finished run of {name} (result.json and config.json)")
    old, new = json.loads(config_file.read_text()), json.loads(config_lib.to_json(config))
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        raise JaxmlError(f"--record-only: {workdir} was trained with a different config ({', '.join(changed)}); "
                         "pass the same overrides or re-run it")
    result = experiments.read_result(workdir)
    result["date_run"] = datetime.date.fromtimestamp(result_file.stat().st_mtime).isoformat()
    return result


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where a suite run writes: RESULTS.md, the records, the learning curves and the workdirs;
    `run_dir` is the fresh directory of an unrecorded run (None when rewriting the tracked records)."""
    results_md: Path
    results_dir: Path
    runs_dir: Path
    run_dir: Path | None = None

    @property
    def plots_dir(self) -> Path:
        return self.results_dir.parent / "plots"


def fresh_run_dir(suite: str, root: Path = Path("runs"), now: datetime.datetime | None = None) -> Path:
    """`<root>/demo-<stamp>` (the quick suite) or `<root>/reproduce-<suite>-<stamp>`, created; a suffix
    -2, -3, ... when a run of the same second already took the name."""
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = root / (f"demo-{stamp}" if suite == "quick" else f"reproduce-{suite}-{stamp}")
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise JaxmlError(f"{base}: no free run directory name (-2 .. -999 taken)")


def destination(suite: str, *, record: bool, out: str | Path | None = None,
                runs_dir: str | Path | None = None) -> Destination:
    """With `record`: `out` is the RESULTS.md to rewrite (default RESULTS.md), records in its
    docs/results/, workdirs in `runs_dir` (default runs/reproduce). Without: `out` is the run directory
    (default a fresh `fresh_run_dir(suite)`), workdirs in `<out>/workdirs` unless `runs_dir` is given."""
    if record:
        results_md = Path(out or "RESULTS.md")
        return Destination(results_md, results_md.parent / "docs" / "results", Path(runs_dir or "runs/reproduce"))
    run_dir = Path(out) if out else fresh_run_dir(suite)
    if run_dir.exists() and not run_dir.is_dir():
        raise JaxmlError(f"--out {run_dir}: without --record, --out is a directory (the run's), not a file")
    return Destination(run_dir / "RESULTS.md", run_dir / "results", Path(runs_dir) if runs_dir else run_dir / "workdirs",
                       run_dir)


def select(suite: str, only: list[str] | None = None) -> list[experiments.ExperimentInfo]:
    """The suite's experiments, or those of them named in `only` (an unknown name is an error)."""
    infos = experiments.suite(suite)
    if only:
        unknown = sorted(set(only) - {i.name for i in infos})
        if unknown:
            raise JaxmlError(f"--only {', '.join(unknown)}: not in suite {suite!r} ({', '.join(i.name for i in infos)})")
        infos = [i for i in infos if i.name in only]
    return infos


def summary_table(records: list[dict[str, Any]], skipped: list[str] = ()) -> str:
    """Plain-text table: experiment, metric, value, target, status, wall s; then the total wall time."""
    rows = [("experiment", "metric", "value", "target", "status", "wall s")]
    for r in records:
        e = r.get("expected", {})
        value = r.get(e.get("metric"))
        rows.append((r["experiment"], str(e.get("metric", "")), "—" if value is None else f"{value:.4g}",
                     experiments.expectation_text(e, with_metric=False, ascii_only=True), r.get("status", ""),
                     f"{r.get('wall_s', 0):.0f}"))
    rows += [(name, "", "", "", "skipped (see log)", "") for name in skipped]
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    met = sum(r.get("status") == "met" for r in records)
    lines.append(f"{met}/{len(records) + len(skipped)} met; total wall time "
                 f"{sum(r.get('wall_s', 0) for r in records):.0f} s")
    return "\n".join(lines) + "\n"


def _devices_requested(name: str, overrides: list[str]) -> int:
    """The devices experiment `name` asks for (1 if its config does not load: the run loop says why)."""
    from jaxml.core.platform import devices_requested
    from jaxml.experiments import load_experiment_config
    try:
        return devices_requested(load_experiment_config(name, overrides)[1])
    except JaxmlError:
        return 1


def run_suite(suite: str, *, runs_dir: Path, out: Path, overrides: list[str], only: list[str] | None = None,
              results_dir: Path | None = None, record_only: bool = False) -> list[dict[str, Any]]:
    """Runs the suite's experiments (fresh workdirs in `runs_dir`), writes their records to `results_dir`
    (default `out.parent/docs/results`) and learning curves to `results_dir.parent/plots`, regenerates
    `out` from every record there. With `record_only`, records runs already finished in
    `<runs_dir>/<name>` instead of training."""
    from jaxml.core.platform import request_host_devices
    from jaxml.core.run import check_not_busy
    from jaxml.experiments import load_experiment_config, run_training

    infos = select(suite, only)
    if not record_only:
        request_host_devices(max([1] + [_devices_requested(i.name, overrides) for i in infos]))
    results_dir = results_dir or out.parent / "docs" / "results"
    plots_dir = results_dir.parent / "plots"
    results_dir.mkdir(parents=True, exist_ok=True)
    plots_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for i, info in enumerate(infos):
        log.info("[%d/%d] %s", i + 1, len(infos), info.name)
        try:
            name, config = load_experiment_config(info.name, overrides)
            workdir = runs_dir / name
            if record_only:
                result = finished_run(name, config, workdir)
            else:
                if workdir.exists():
                    check_not_busy(workdir)  # never delete a run that is still going
                    shutil.rmtree(workdir)  # a reproduction starts from scratch
                result = run_training(name, config, workdir)
        except JaxmlError as e:
            log.warning("%s skipped: %s", info.name, " ".join(str(e).split()))
            continue
        record = {**result, "expected": info.expected, "machine": machine(),
                  "date": result.pop("date_run", datetime.date.today().isoformat()),
                  "command": " ".join(["jaxml train", name, *overrides])}
        record["status"] = judge(record, info.expected)
        curve = workdir / result.get("summary_plot", "plots/learning_curve.png")
        if curve.exists():
            dst = plots_dir / f"{name}.png"
            shutil.copyfile(curve, dst)
            record["plot"] = os.path.relpath(dst, out.parent)
        (results_dir / f"{name}.json").write_text(json.dumps(record, indent=2, default=float) + "\n")
        log.info("%s: %s = %s (%s)", name, info.expected.get("metric"), record.get(info.expected.get("metric")),
                 record["status"])
        done.append(record)
    out.write_text(render(load_records(results_dir)))
    log.info("wrote %s (%d experiments run)", out, len(done))
    return done


def reproduce(suite: str, dest: Destination, *, overrides: list[str], only: list[str] | None = None,
              record_only: bool = False) -> tuple[list[dict[str, Any]], str]:
    """`run_suite` into `dest`; returns the records and the summary table, which an unrecorded run also
    writes to `<run_dir>/summary.txt`."""
    names = [i.name for i in select(suite, only)]
    done = run_suite(suite, runs_dir=dest.runs_dir, out=dest.results_md, overrides=overrides, only=only,
                     results_dir=dest.results_dir, record_only=record_only)
    ran = {r["experiment"] for r in done}
    table = summary_table(done, skipped=[n for n in names if n not in ran])
    if dest.run_dir is not None:
        (dest.run_dir / "summary.txt").write_text(table)
    return done, table
