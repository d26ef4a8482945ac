"""Metrics: `metrics.jsonl`, TensorBoard events and the run's progress (a tqdm bar on a terminal, log
lines otherwise), written by process 0 only."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import jax
import numpy as np

from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")


def _plain(value: Any) -> Any:
    value = np.asarray(value)
    if value.ndim == 0:
        v = value.item()
        return None if isinstance(v, float) and not math.isfinite(v) else v
    return value.tolist()


class MetricsWriter:
    """Appends `{"step": s, "split": ..., name: value}` rows to metrics.jsonl and TensorBoard.

    One row per (step, split): writing a (step, split) that is already in the file (a re-run of a
    finished run re-evaluates its last step) replaces the old row instead of repeating it.
    """

    def __init__(self, workdir: str | Path, *, tensorboard: bool = True):
        self.enabled = jax.process_index() == 0
        self.path = Path(workdir) / "metrics.jsonl"
        self._tb = None
        self._seen: set[tuple[int, str]] = set()
        if self.enabled:
            self._seen = {(int(r.get("step", 0)), str(r.get("split"))) for r in read_metrics(self.path.parent)}
        if self.enabled and tensorboard:
            from tensorboardX import SummaryWriter
            self._tb = SummaryWriter(logdir=str(Path(workdir) / "tensorboard"), flush_secs=30)

    def _rewrite(self, keep) -> None:
        rows = [r for r in read_metrics(self.path.parent) if keep(r)]
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, self.path)
        self._seen = {(int(r.get("step", 0)), str(r.get("split"))) for r in rows}

    def truncate_after(self, step: int) -> None:
        """Drops rows logged after `step` (a run killed after its last checkpoint logged them)."""
        if not self.enabled or not self.path.exists():
            return
        self._rewrite(lambda r: r.get("step", 0) <= step)

    def write(self, step: int, split: str, metrics: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        row = {"step": int(step), "split": split, **{k: _plain(v) for k, v in metrics.items()}}
        try:
            if (row["step"], split) in self._seen:
                self._rewrite(lambda r: (r.get("step", 0), r.get("split")) != (row["step"], split))
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")
        except OSError as e:
            raise JaxmlError(f"cannot write {self.path}: {e.strerror or e}; the checkpoints are untouched") from None
        self._seen.add((row["step"], split))
        if self._tb is not None:
            for k, v in row.items():
                if k not in ("step", "split") and isinstance(v, (int, float)):
                    self._tb.add_scalar(f"{split}/{k}", v, int(step))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def read_metrics(workdir: str | Path) -> list[dict]:
    """The rows of `<workdir>/metrics.jsonl`; a line that is not a JSON object (cut by a kill
    mid-write, or damaged) is skipped."""
    path = Path(workdir) / "metrics.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


class LogProgress:
    """Progress as one log line per chunk, for a stderr that is no terminal (a file, a pipe, a batch
    job's log), where a bar would be a stream of carriage returns or nothing:
    `[jaxml] mlp_digits: 300/1500 loss 0.4100 12.3 steps/s`. It takes a tqdm bar's calls: the
    loops `update` by a chunk, then `set_postfix` once with the chunk's numbers, which writes the
    line (the rate is over the units since the previous line; the first one includes compilation)."""

    def __init__(self, total: int, initial: int, desc: str, unit: str = "step", *,
                 clock: Callable[[], float] = time.monotonic, logger: logging.Logger = log):
        self.total, self.n, self.desc, self.unit = int(total), int(initial), desc, unit
        self._clock, self._log = clock, logger
        self._last_n, self._last_t = self.n, clock()

    def update(self, n: int = 1) -> None:
        self.n += int(n)

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True, **kwargs: Any) -> None:
        now = self._clock()
        rate = (self.n - self._last_n) / max(now - self._last_t, 1e-9)
        self._last_n, self._last_t = self.n, now
        numbers = " ".join(f"{k} {v}" for k, v in {**(ordered_dict or {}), **kwargs}.items())
        self._log.info("%s: %d/%d%s %.1f %ss/s", self.desc, self.n, self.total, f" {numbers}" if numbers else "",
                       rate, self.unit)

    def close(self) -> None:
        pass


class NoProgress(LogProgress):
    """No progress at all (JAXML_PROGRESS=off, and every process but 0)."""

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True, **kwargs: Any) -> None:
        pass


def _bar_shape(stream) -> tuple[int, int] | None:
    """None (tqdm follows the terminal's size) unless the terminal reports no size, as a
    pseudo-terminal nobody sized does (`script`, `docker exec -t`, a CI runner's pty): tqdm would
    then take -1 rows and -1 columns and draw nothing at all (a bar at position 0 "does not fit"),
    so the bar gets ($COLUMNS, $LINES) or (80, 24) instead."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        size = os.terminal_size((0, 0))
    if size.columns > 0 and size.lines > 0:
        return None
    return _env_int("COLUMNS", 80), _env_int("LINES", 24)


def _env_int(name: str, default: int) -> int:
    """A positive int from the environment (the shell's COLUMNS / LINES), else `default`."""
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else default


def tqdm_bar(total: int, initial: int, desc: str, unit: str = "step"):
    """A tqdm bar on stderr (a terminal: the bar redraws itself in place)."""
    from tqdm.auto import tqdm
    shape = _bar_shape(sys.stderr)
    ncols, nrows = shape or (None, None)
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, disable=False,
                dynamic_ncols=shape is None, ncols=ncols, nrows=nrows)


PROGRESS = {"bar": tqdm_bar, "log": LogProgress, "off": NoProgress}
PROGRESS_ALIASES = {"1": "bar", "0": "off"}


def progress_mode(stream=None) -> str:
    """`$JAXML_PROGRESS` (bar | log | off; 1 = bar, 0 = off), else a bar when `stream` (stderr) is
    a terminal and log lines when it is not."""
    forced = os.environ.get("JAXML_PROGRESS", "").strip().lower()
    if forced:
        mode = PROGRESS_ALIASES.get(forced, forced)
        if mode not in PROGRESS:
            raise JaxmlError(f"JAXML_PROGRESS={forced!r} is not valid; choose one of {', '.join(PROGRESS)} (or 1, 0)")
        return mode
    stream = sys.stderr if stream is None else stream
    return "bar" if stream.isatty() else "log"


def progress_bar(total: int, initial: int, desc: str, unit: str = "step"):
    """The run's progress on stderr, process 0 only: a tqdm bar on a terminal, one log line per
    chunk otherwise (`progress_mode`). Each has `update(n)`, `set_postfix(dict)` and `close()`."""
    mode = progress_mode() if jax.process_index() == 0 else "off"
    return PROGRESS[mode](total, initial, desc, unit)
