"""A worker of `jaxml tune`: asks for trials until the study has its N, trains each in its own workdir
with a heartbeat and a pruning watcher, and fails and re-queues the trials of workers that died."""

from __future__ import annotations

import collections
import logging
import numbers
import os
import shlex
import threading
import time
from pathlib import Path
from typing import Callable

from jaxml.errors import JaxmlError
from jaxml.tune.space import SPACE_FUNCTION, load_space, space_overrides
from jaxml.tune.study import TuneSpec, open_study

log = logging.getLogger("jaxml")

STALE_BEATS = 3  # a RUNNING trial whose heartbeat is older than this many intervals is stale


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
        # the run ended before it saw the stop request: clear it, or the next trial stops at step 0
        if run_lib.STOP.signal == "PRUNED":
            run_lib.STOP.signal = None
        raise optuna.TrialPruned()
    if spec.metric not in result:
        raise JaxmlError(f"trial {trial.number}: the result has no {spec.metric!r}; its keys: "
                         f"{', '.join(sorted(result))}; give the objective with --metric")
    return float(result[spec.metric])


def counts(study) -> collections.Counter:
    """{state name: how many trials}."""
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
