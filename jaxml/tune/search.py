"""`jaxml tune` and the `tune` method: the study run by this process or by worker processes, then summarised."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import ml_collections

from jaxml.errors import JaxmlError
from jaxml.tune.study import TuneSpec, open_study, prepare
from jaxml.tune.summary import write_summary
from jaxml.tune.workers import work


def worker_command(spec: TuneSpec, index: int) -> list[str]:
    """Worker `index`'s `jaxml tune` command (its sampler seed `seed + index`, or its own when unseeded)."""
    seed = [] if spec.seed is None else ["--seed", str(spec.seed + index)]
    return [sys.executable, "-m", "jaxml.cli", "tune", spec.experiment, "--space", spec.space, "--trials",
            str(spec.trials), "--workdir", str(spec.workdir), "--storage", spec.storage_url(), "--study",
            spec.study_name(), "--metric", spec.metric, "--direction", spec.direction, "--heartbeat",
            str(spec.heartbeat_s), "--workers", "1", "--no-summary", *seed, *spec.overrides]


def tune(spec: TuneSpec, summary: bool = True) -> dict[str, Any]:
    """Runs the study (this process, or `spec.workers` worker processes) and writes its summary."""
    spec, _ = prepare(spec)
    spec.workdir.mkdir(parents=True, exist_ok=True)
    if spec.workers == 1:
        work(spec)
    else:
        procs = [subprocess.Popen(worker_command(spec, i)) for i in range(spec.workers)]
        codes = [p.wait() for p in procs]
        if any(codes):
            raise JaxmlError(f"tune workers exited with {codes}; re-run the same command to resume the study")
    return write_summary(spec, open_study(spec)) if summary else {}


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """The `tune` method (`jaxml train tune_mlp_digits`): the study of `config.tune` in `workdir`; the
    result adds the best trial's own result (its `test_*` metrics)."""
    from jaxml import experiments

    t = config.tune
    space = Path(t.space)
    if not space.is_absolute():
        space = experiments.configs_dir().parent / space
    spec = TuneSpec(experiment=t.experiment, space=str(space), trials=int(t.trials), workdir=Path(workdir),
                    overrides=tuple(t.overrides), metric=t.metric, direction=t.direction, storage=t.storage,
                    workers=int(t.workers), heartbeat_s=float(t.heartbeat_s), seed=int(config.seed))
    out = tune(spec)
    if out.get("best_workdir"):
        best = experiments.read_result(out["best_workdir"])
        out.update({f"best_{k}": v for k, v in best.items() if k.startswith(("test_", "val_")) and
                    isinstance(v, float)})
    out.pop("storage", None)
    out.pop("best_workdir", None)
    out.pop("best_command", None)
    out["steps"] = 0
    return out
