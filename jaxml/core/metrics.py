"""Metrics: `metrics.jsonl`, TensorBoard events and a tqdm progress bar, written by process 0 only."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Mapping

import jax
import numpy as np

from jaxml.errors import JaxmlError


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


def progress_bar(total: int, initial: int, desc: str):
    """A tqdm bar on stderr (process 0, interactive terminals or JAXML_PROGRESS=1)."""
    from tqdm.auto import tqdm
    forced = os.environ.get("JAXML_PROGRESS")
    disable = jax.process_index() != 0 or (forced == "0") or (forced != "1" and not sys.stderr.isatty())
    return tqdm(total=total, initial=initial, desc=desc, unit="step", dynamic_ncols=True, disable=disable,
                file=sys.stderr)
