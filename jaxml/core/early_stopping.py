"""Early stopping on a validation metric, with the best checkpoint kept and restored at the end.

`config.early_stopping`: `metric` (a name the loop logs at its eval points, e.g. "val_loss" or
"test_accuracy"; "" turns the whole thing off), `mode` ("min" or "max"), `patience` (stop after
this many evaluations in a row without an improvement; 0 = never stop early, only keep and restore
the best) and `min_delta` (how much better than the best a value must be to count as one).

The evaluations are kept in `<workdir>/early_stopping.json` as a history of (step, value), and
everything else -- the best step and value, the evaluations since it, whether to stop -- is a pure
function of that history (`summarize`). On resume the history is cut at the restored step, so a
killed and resumed run decides exactly as an uninterrupted one.

The best state is saved to its own orbax directory, `<workdir>/checkpoints_best/` (one checkpoint),
beside the newest `keep_checkpoints` in `checkpoints/`. A separate directory rather than orbax's
`best_fn`: with `best_fn` orbax ranks every checkpoint by the metric, so `max_to_keep` would keep the
N best and could delete the newest one that a resume needs; two managers keep the two policies
(newest N for resuming, best 1 for the result) independent, and rotating one never touches the
other.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import ml_collections

from jaxml.core.registry import choose
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

HISTORY_NAME = "early_stopping.json"
BEST_DIR = "checkpoints_best"

# mode -> is `value` an improvement over `best` by more than `delta`?
MODES: dict[str, Callable[[float, float, float], bool]] = {
    "min": lambda value, best, delta: value < best - delta,
    "max": lambda value, best, delta: value > best + delta,
}


@dataclasses.dataclass(frozen=True)
class Rule:
    metric: str
    mode: str = "min"
    patience: int = 0
    min_delta: float = 0.0

    @classmethod
    def from_config(cls, config: ml_collections.ConfigDict) -> "Rule | None":
        """The rule of `config.early_stopping` (None when it is absent or its metric is "")."""
        group = config.get("early_stopping")
        if group is None or not group.get("metric", ""):
            return None
        mode = str(group.get("mode", "min"))
        choose(MODES, mode, "config.early_stopping.mode")
        patience, delta = group.get("patience", 0), group.get("min_delta", 0.0)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise JaxmlError(f"config.early_stopping.patience={patience!r} must be an int >= 0 (0 = never stop early)")
        if not isinstance(delta, (int, float)) or not math.isfinite(delta) or delta < 0:
            raise JaxmlError(f"config.early_stopping.min_delta={delta!r} must be a finite number >= 0")
        return cls(str(group.metric), mode, int(patience), float(delta))


@dataclasses.dataclass(frozen=True)
class Summary:
    best_step: int | None
    best_value: float | None
    since_best: int  # evaluations after the best one
    stop: bool


def summarize(rule: Rule, history: Iterable[tuple[int, float]]) -> Summary:
    """The best (step, value) of `history` under `rule`, the evaluations since, and whether to stop."""
    better = MODES[rule.mode]
    best_step = best_value = None
    since = 0
    for step, value in history:
        if best_value is None or better(value, best_value, rule.min_delta):
            best_step, best_value, since = int(step), float(value), 0
        else:
            since += 1
    return Summary(best_step, best_value, since, bool(rule.patience) and since >= rule.patience)


def check_metric(rule: Rule, split_metrics: Iterable[str], evaluators: Iterable[str]) -> None:
    """One clear error when `rule.metric` is none of the names the loop will log: the eval splits'
    metrics (`split_metrics`, e.g. val_loss) or an evaluator's (`<evaluator>_<metric>`, checked
    when it first reports)."""
    names = sorted(split_metrics)
    evaluators = sorted(evaluators)
    if rule.metric in names or any(rule.metric.startswith(f"{e}_") for e in evaluators):
        return
    valid = ", ".join(names + [f"{e}_<metric>" for e in evaluators]) or "none (this method has no eval split)"
    raise JaxmlError(f"config.early_stopping.metric={rule.metric!r} is not a validation metric of this run; "
                     f"choose one of {valid}")


def metric_value(rule: Rule, metrics: Mapping[str, float]) -> float:
    if rule.metric not in metrics:
        raise JaxmlError(f"config.early_stopping.metric={rule.metric!r} is not a validation metric of this run; "
                         f"choose one of {', '.join(sorted(metrics))}")
    return float(metrics[rule.metric])


class Tracker:
    """The history file and the best checkpoint of one workdir (process 0 writes them)."""

    def __init__(self, rule: Rule, workdir: str | Path, *, writer: bool = True):
        from jaxml.core.checkpoint import Checkpointer

        self.rule = rule
        self.path = Path(workdir) / HISTORY_NAME
        self.writer = writer
        self.history: list[tuple[int, float]] = []
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
                self.history = [(int(s), float(v)) for s, v in data["history"]]
            except (ValueError, KeyError, TypeError):
                raise JaxmlError(f"{self.path} is not a readable early-stopping history; remove it to restart "
                                 f"the early-stopping record of this workdir") from None
            if data.get("metric") != rule.metric or data.get("mode") != rule.mode:
                log.warning("early stopping changed from %s (%s) to %s (%s): its history starts again",
                            data.get("metric"), data.get("mode"), rule.metric, rule.mode)
                self.history = []
        # keep=2: a new best is written completely before the previous one is deleted (`keep_only`)
        self.best = Checkpointer(workdir, keep=2, directory=BEST_DIR)

    def resume_at(self, step: int) -> None:
        """Forgets the evaluations after `step` (the checkpoint a run resumed from)."""
        self.history = [(s, v) for s, v in self.history if s <= step]

    @property
    def summary(self) -> Summary:
        return summarize(self.rule, self.history)

    def record(self, step: int, metrics: Mapping[str, float], state: Any) -> Summary:
        """Adds the evaluation at `step`; saves `state` as the best checkpoint if it is the best so far."""
        value = metric_value(self.rule, metrics)
        self.resume_at(step - 1)  # a step evaluated again (resumed at the end) replaces its entry
        self.history.append((int(step), value))
        self._write()
        summary = self.summary
        if summary.best_step == step:
            self.best.save(step, state)
            self.best.keep_only(step)
        return summary

    def _write(self) -> None:
        if not self.writer:
            return
        from jaxml.core.run import write_text_atomic

        write_text_atomic(self.path, json.dumps({"metric": self.rule.metric, "mode": self.rule.mode,
                                                 "history": [[s, v] for s, v in self.history]}))

    def restore_best(self, like: Any) -> tuple[int, Any] | None:
        """(step, state) of the best checkpoint, or None (with a warning) when it is missing."""
        step = self.summary.best_step
        if step is None:
            return None
        if step not in self.best.steps():
            log.warning("the best checkpoint (step %d) is not in %s; the final state is the newest one", step,
                        self.best.directory)
            return None
        return step, self.best.restore(step, like)

    def close(self) -> None:
        self.best.close()
