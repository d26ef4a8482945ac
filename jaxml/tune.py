"""Hyper-parameter search across processes and machines: an Optuna study (Akiba et al. 2019,
docs/references.md) over any config key of an experiment (`jaxml tune`, and the `tune` method that
`jaxml train tune_mlp_digits` runs).

- The search space is a Python file defining `space(trial) -> {config key: value}` (dotted keys as
  `--config.KEY` takes them). It is checked before anything is written: on a trial of an in-memory
  study, every key must be a config key and every value of that key's type.
- Each trial is an ordinary workdir, `WORKDIR/trials/NNNN`, trained by `run_training` (what `jaxml
  train` runs); the trial's `command` user attribute is the `jaxml train` command that reproduces it.
- Pruning reads the rows the loop already writes to the trial's `metrics.jsonl`: every new row of the
  objective's split (`val` for `val_accuracy`) is reported as an intermediate value; when the pruner
  says so, the trial stops at the next chunk boundary as a SIGTERM would stop it (a checkpoint is
  saved, so `jaxml train` on its workdir resumes it) and is told PRUNED.
- Storage: SQLite in the tune workdir by default (`WORKDIR/study.db`; re-running the command resumes
  the study), any SQLAlchemy URL (`postgresql://...`, `mysql://...`) or `journal:PATH` (Optuna's
  journal file, for many workers on a shared file system).
- Workers: `--workers K` starts K worker processes on the study; any number more can join from other
  machines with the same `--storage` and `--study`. The study ends at exactly `--trials` COMPLETE or
  PRUNED trials: a worker asks only while fewer are done or running, and a trial asked in a race
  beyond that is told FAIL at once (user attribute `surplus`, nothing trained).
- A killed worker (SIGKILL, a lost machine) leaves its trial RUNNING. Every running trial's worker
  writes a heartbeat (user attribute `heartbeat`, a timestamp) every `heartbeat` seconds; a worker
  that finds a RUNNING trial whose heartbeat is older than 3 intervals tells it FAIL and enqueues a
  retry with the same parameters (user attribute `retry_of`), which the next free worker takes. This
  is our own heartbeat rather than Optuna's RDB heartbeat and `RetryFailedTrialCallback` because
  Optuna's journal storage has no heartbeat: one mechanism serves every storage. A SIGTERM / Ctrl-C to
  a worker fails its trial and enqueues the retry at once.

Outputs in the tune workdir: `summary.txt` (a table of every trial), `best.json` (the best trial's
value, parameters, workdir and command), `plots/optimization_history.png` and
`plots/param_importances.png` (Optuna's fANOVA importances; matplotlib).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import numbers
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import ml_collections

from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

DIRECTIONS = ("maximize", "minimize")
SPACE_FUNCTION = "space"
STALE_BEATS = 3  # a RUNNING trial whose heartbeat is older than this many intervals is stale


# ---------------------------------------------------------------------------------------------- space

def load_space(path: str | Path) -> Callable[[Any], dict[str, Any]]:
    """The `space(trial)` function of a space file; a missing or broken file is one JaxmlError."""
    path = Path(path)
    if not path.is_file():
        raise JaxmlError(f"search space file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"jaxml_space_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the user's file: say where and what
        raise JaxmlError(f"could not load search space {path}: {type(e).__name__}: {e}") from None
    fn = getattr(module, SPACE_FUNCTION, None)
    if not callable(fn):
        raise JaxmlError(f"search space {path} defines no {SPACE_FUNCTION}(trial) function returning "
                         "{config key: value}")
    return fn


def override_text(value: Any) -> str:
    """`value` as `--config.KEY=` text that `core.config` parses back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(override_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return repr(float(value))
    return str(value)


def _type_ok(value: Any, current: Any) -> bool:
    if current is None:
        return True
    if isinstance(current, bool):
        return isinstance(value, bool)
    if isinstance(current, numbers.Integral):
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if isinstance(current, numbers.Real):
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if isinstance(current, (tuple, list)):
        return isinstance(value, (tuple, list))
    return isinstance(value, type(current))


def space_overrides(config: ml_collections.ConfigDict, values: Any, source: str) -> list[str]:
    """The `--config.KEY=VALUE` arguments of a space's values, each checked against `config`: a
    mapping from existing keys to values of their type (else one JaxmlError naming `source`)."""
    from jaxml.core import config as config_lib

    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise JaxmlError(f"{source}: {SPACE_FUNCTION}(trial) must return a dict {{config key: value}}, got "
                         f"{type(values).__name__}")
    args = []
    for key, value in values.items():
        try:
            config_lib.set_override(ml_collections.ConfigDict(config.to_dict()), key, "0")
        except JaxmlError as e:
            if "unknown config key" in str(e) or "is a group" in str(e):
                raise JaxmlError(f"{source}: {e}") from None
        node: Any = config
        for part in key.split("."):
            node = node[part]
        if not _type_ok(value, node):
            raise JaxmlError(f"{source}: config.{key} holds a {type(node).__name__} ({node!r}); the space gave "
                             f"{value!r} ({type(value).__name__})")
        args.append(f"--config.{key}={override_text(value)}")
    try:
        config_lib.apply_overrides(config, config_lib.parse_override_args(args))
    except JaxmlError as e:
        raise JaxmlError(f"{source}: {e}") from None
    return args


def check_space(space: Callable, config: ml_collections.ConfigDict, source: str) -> list[str]:
    """Runs `space` on a trial of an in-memory study (nothing is stored) and checks its values."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial = optuna.create_study().ask()
    try:
        values = space(trial)
    except Exception as e:  # noqa: BLE001
        raise JaxmlError(f"{source}: {SPACE_FUNCTION}(trial) raised {type(e).__name__}: {e}") from None
    return space_overrides(config, values, source)


# ---------------------------------------------------------------------------------------------- study

@dataclasses.dataclass
class TuneSpec:
    """One study: the experiment and its base overrides, the space file, the objective and where it lives."""

    experiment: str
    space: str
    trials: int
    workdir: Path
    overrides: tuple[str, ...] = ()
    metric: str = ""
    direction: str = "maximize"
    storage: str = ""
    study: str = ""
    workers: int = 1
    heartbeat_s: float = 30.0
    seed: int | None = None  # the sampler's seed; None: one per worker process

    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.workdir / 'study.db').absolute()}"

    def study_name(self) -> str:
        return self.study or Path(self.experiment).stem


def prepare(spec: TuneSpec) -> tuple[TuneSpec, ml_collections.ConfigDict]:
    """Checks everything a worker will need (experiment, overrides, space, objective) before anything
    is written; fills in the default metric (the experiment's EXPECTED metric) and direction."""
    from jaxml import experiments

    if spec.direction not in DIRECTIONS:
        raise JaxmlError(f"--direction {spec.direction!r} is not valid; choose one of {', '.join(DIRECTIONS)}")
    if spec.trials < 1 or spec.workers < 1 or not spec.heartbeat_s > 0:
        raise JaxmlError(f"--trials ({spec.trials}) and --workers ({spec.workers}) must be >= 1 and --heartbeat "
                         f"({spec.heartbeat_s}) > 0")
    _, config = experiments.load_experiment_config(spec.experiment, list(spec.overrides))
    check_space(load_space(spec.space), config, f"search space {spec.space}")
    if not spec.metric:
        expected = experiments.info(spec.experiment).expected
        if not expected.get("metric"):
            raise JaxmlError(f"{spec.experiment} has no EXPECTED metric; give the objective with --metric")
        spec = dataclasses.replace(spec, metric=str(expected["metric"]),
                                   direction="minimize" if "at_most" in expected else spec.direction)
    if spec.metric.startswith("test_"):
        log.warning("tuning on %s: the test split chooses the trial (hold out a validation split and tune on "
                    "val_* instead)", spec.metric)
    return spec, config


def open_storage(spec: TuneSpec):
    import optuna

    url = spec.storage_url()
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend
        path = Path(url[len("journal:"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        # SQLite serialises writers; wait for the lock instead of failing while another worker writes
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    return optuna.storages.RDBStorage(url)


def open_study(spec: TuneSpec):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=os.getpid() if spec.seed is None else spec.seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    try:
        study = optuna.create_study(storage=open_storage(spec), study_name=spec.study_name(), sampler=sampler,
                                    pruner=pruner, direction=spec.direction, load_if_exists=True)
    except ValueError as e:  # e.g. the stored study's direction differs
        raise JaxmlError(f"study {spec.study_name()!r} in {spec.storage_url()}: {e}") from None
    # A study resumes only the search it began: the same experiment, base overrides and objective.
    what = {"experiment": spec.experiment, "overrides": list(spec.overrides), "metric": spec.metric}
    stored = study.user_attrs.get("search")
    if stored is None:
        study.set_user_attr("search", what)
    elif stored != what:
        raise JaxmlError(f"study {spec.study_name()!r} in {spec.storage_url()} was begun with {stored}, not "
                         f"{what}; give another --study or --workdir")
    return study


class Heartbeat:
    """Writes the trial's `heartbeat` user attribute every `interval` seconds on a thread."""

    def __init__(self, trial, interval: float):
        self.trial, self.interval = trial, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.is_set():
            try:
                self.trial.set_user_attr("heartbeat", time.time())
            except Exception as e:  # noqa: BLE001 - a finished trial or a busy database: try again later
                log.debug("heartbeat: %s", e)
            self._stop.wait(self.interval)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def fail_and_retry(study, trial, why: str) -> bool:
    """Tells a RUNNING trial FAIL and enqueues a retry with its parameters; False if another worker
    finished it first."""
    import optuna
    from optuna.trial import TrialState

    try:  # the reason first: a finished trial takes no attributes
        study._storage.set_trial_user_attr(trial._trial_id, "failed", why)
        if not study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:  # another worker finished or failed it first
        return False
    study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number})
    log.warning("trial %d failed (%s); its parameters are queued again", trial.number, why)
    return True


def fail_stale_trials(study, interval: float) -> None:
    """Fails (and re-queues) every RUNNING trial whose heartbeat is older than STALE_BEATS intervals."""
    from optuna.trial import TrialState

    now = time.time()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        beat = t.user_attrs.get("heartbeat") or (t.datetime_start.timestamp() if t.datetime_start else now)
        if now - float(beat) > STALE_BEATS * interval:
            fail_and_retry(study, t, f"no heartbeat for {now - float(beat):.0f} s")


class PruneWatcher:
    """Reports the trial's new `metrics.jsonl` rows of the objective's split as intermediate values
    (on a thread); when the pruner says so, asks the loop to stop at its next chunk boundary."""

    def __init__(self, trial, workdir: Path, metric: str, poll_s: float = 0.2):
        self.trial, self.workdir, self.metric, self.poll_s = trial, workdir, metric, poll_s
        self.pruned = False
        self.reported: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def value_of(self, row: dict) -> float | None:
        split = str(row.get("split", ""))
        key = self.metric[len(split) + 1:] if self.metric.startswith(split + "_") else None
        value = row.get(key) if key else None
        return float(value) if isinstance(value, numbers.Real) else None

    def poll(self) -> None:
        from jaxml.core import run as run_lib
        from jaxml.core.metrics import read_metrics

        for row in read_metrics(self.workdir):
            step, value = int(row.get("step", 0)), self.value_of(row)
            if value is None or step in self.reported:
                continue
            if self.pruned:  # nothing after the step it was pruned at: the same reports whatever the timing
                return
            self.reported.add(step)
            self.trial.report(value, step)
            if self.trial.should_prune():
                self.pruned = True
                log.info("trial %d pruned at step %d (%s %.4f)", self.trial.number, step, self.metric, value)
                run_lib.STOP.signal = "PRUNED"  # the loop's stop request, as SIGTERM sets it

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.poll()
            except Exception as e:  # noqa: BLE001 - a half-written file or a busy database: next poll
                log.debug("pruning watcher: %s", e)

    def __enter__(self) -> "PruneWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def train_command(spec: TuneSpec, overrides: list[str]) -> str:
    """The `jaxml train` command that trains the trial's config afresh (in a new default workdir;
    `--workdir` on the trial's own workdir would resume it, i.e. only evaluate it again)."""
    return shlex.join(["jaxml", "train", spec.experiment, *spec.overrides, *overrides])


def run_trial(spec: TuneSpec, study, trial, space: Callable) -> float:
    """Trains one trial in its own workdir; its objective value (TrialPruned when pruned)."""
    import optuna

    from jaxml import experiments
    from jaxml.core import run as run_lib

    source = f"search space {spec.space}"
    try:
        values = space(trial)
    except Exception as e:  # noqa: BLE001
        raise JaxmlError(f"{source}: {SPACE_FUNCTION}(trial) raised {type(e).__name__}: {e}") from None
    args = space_overrides(experiments.load_experiment_config(spec.experiment, list(spec.overrides))[1], values,
                           source)
    name, config = experiments.load_experiment_config(spec.experiment, [*spec.overrides, *args])
    workdir = spec.workdir / "trials" / f"{trial.number:04d}"
    for k, v in (("workdir", str(workdir)), ("overrides", args), ("command", train_command(spec, args)),
                 ("pid", os.getpid()), ("host", os.uname().nodename)):
        trial.set_user_attr(k, v)
    log.info("trial %d: %s", trial.number, " ".join(args))
    with PruneWatcher(trial, workdir, spec.metric) as watcher:
        try:
            result = experiments.run_training(name, config, workdir)
        except run_lib.Preempted:
            if not watcher.pruned:
                raise
            run_lib.STOP.signal = None
            raise optuna.TrialPruned() from None
    watcher.poll()  # rows the thread had not seen yet: the outcome does not depend on its timing
    if watcher.pruned:
        raise optuna.TrialPruned()
    if spec.metric not in result:
        raise JaxmlError(f"trial {trial.number}: the result has no {spec.metric!r}; its keys: "
                         f"{', '.join(sorted(result))}; give the objective with --metric")
    return float(result[spec.metric])


def counts(study) -> dict:
    import collections

    return collections.Counter(t.state.name for t in study.get_trials(deepcopy=False))


def work(spec: TuneSpec) -> int:
    """One worker: trains trials of the study until `spec.trials` are COMPLETE or PRUNED. Returns how
    many this worker finished."""
    import optuna
    from optuna.trial import TrialState

    from jaxml.core import run as run_lib

    space = load_space(spec.space)
    study = open_study(spec)
    finished, failures = 0, 0
    while True:
        fail_stale_trials(study, spec.heartbeat_s)
        n = counts(study)
        done = n["COMPLETE"] + n["PRUNED"]
        if done >= spec.trials:
            return finished
        if done + n["RUNNING"] >= spec.trials and not n["WAITING"]:
            time.sleep(spec.heartbeat_s)  # the others are on the last trials; one of them may be stale
            continue
        trial = study.ask()
        live = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                                      TrialState.RUNNING, TrialState.WAITING))
                if t.number < trial.number]
        if len(live) >= spec.trials:  # asked in a race past the last slot: nothing trained
            trial.set_user_attr("surplus", True)
            study.tell(trial, state=TrialState.FAIL)
            continue
        with Heartbeat(trial, spec.heartbeat_s):
            try:
                value = run_trial(spec, study, trial, space)
            except optuna.TrialPruned:
                finished += tell(study, trial, state=TrialState.PRUNED)
                continue
            except run_lib.Preempted:
                fail_and_retry(study, study.get_trials(deepcopy=False)[trial.number], "its worker was stopped")
                raise
            except JaxmlError as e:  # e.g. a non-finite loss at a large learning rate: this trial failed
                trial.set_user_attr("error", str(e))
                study.tell(trial, state=TrialState.FAIL)
                log.warning("trial %d failed: %s", trial.number, e)
                failures += 1
                if failures > spec.trials:
                    raise JaxmlError(f"{failures} trials failed in this worker; the last: {e}") from None
                continue
        if tell(study, trial, value):
            finished += 1
            log.info("trial %d: %s = %.4f", trial.number, spec.metric, value)


def tell(study, trial, value: float | None = None, state=None) -> bool:
    """Tells the trial's outcome; False if another worker failed it as stale meanwhile (this worker
    stalled for three heartbeats): its retry is queued already, so this outcome is dropped."""
    import optuna
    from optuna.trial import TrialState

    try:
        told = study.tell(trial, value, state=state, skip_if_finished=True)
    except optuna.exceptions.UpdateFinishedTrialError:
        told = None
    if told is None or told.state == TrialState.FAIL and state != TrialState.FAIL:
        log.warning("trial %d was failed as stale while it trained; its retry counts instead", trial.number)
        return False
    return True


def worker_command(spec: TuneSpec) -> list[str]:
    return [sys.executable, "-m", "jaxml.cli", "tune", spec.experiment, "--space", spec.space, "--trials",
            str(spec.trials), "--workdir", str(spec.workdir), "--storage", spec.storage_url(), "--study",
            spec.study_name(), "--metric", spec.metric, "--direction", spec.direction, "--heartbeat",
            str(spec.heartbeat_s), "--workers", "1", "--no-summary", *spec.overrides]


def tune(spec: TuneSpec, summary: bool = True) -> dict[str, Any]:
    """Runs the study (this process, or `spec.workers` worker processes) and writes its summary."""
    spec, _ = prepare(spec)
    spec.workdir.mkdir(parents=True, exist_ok=True)
    if spec.workers == 1:
        work(spec)
    else:
        procs = [subprocess.Popen(worker_command(spec)) for _ in range(spec.workers)]
        codes = [p.wait() for p in procs]
        if any(codes):
            raise JaxmlError(f"tune workers exited with {codes}; re-run the same command to resume the study")
    return write_summary(spec, open_study(spec)) if summary else {}


# ---------------------------------------------------------------------------------------------- summary

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


# ---------------------------------------------------------------------------------------------- method

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
