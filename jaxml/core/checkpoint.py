"""Checkpoints with orbax: save every N steps, keep the newest K, resume from the workdir.

Saves are atomic (orbax writes to a temporary directory and renames it when complete), so a kill
during a save leaves the previous checkpoints intact. On restore the newest checkpoint is tried
first; if it cannot be read, the previous one is used with a warning and the unreadable one is
moved aside to `<workdir>/checkpoints_unreadable/` (never deleted). A checkpoint that no step can
restore because the state's structure changed raises `JaxmlError`.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")


def _abstract(state: Any) -> Any:
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, state)


class Checkpointer:
    """A thin, safe wrapper over `ocp.CheckpointManager` for one workdir."""

    def __init__(self, workdir: str | Path, keep: int = 3):
        self.workdir = Path(workdir).absolute()
        self.directory = self.workdir / "checkpoints"
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max(int(keep), 1), create=True, enable_async_checkpointing=False,
            cleanup_tmp_directories=True)
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def steps(self) -> list[int]:
        return sorted(self.manager.all_steps())

    def latest_step(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def save(self, step: int, state: Any) -> None:
        if step in self.manager.all_steps():
            return
        self.manager.save(step, args=ocp.args.StandardSave(state), force=True)
        self.manager.wait_until_finished()

    def restore_latest(self, like: Any) -> tuple[int, Any] | None:
        """Restores the newest readable checkpoint into the structure/shardings of `like`."""
        steps = self.steps()
        if not steps:
            return None
        errors = []
        for step in reversed(steps):
            try:
                state = self.manager.restore(step, args=ocp.args.StandardRestore(_abstract(like)))
            except Exception as e:  # unreadable: try the previous one
                errors.append((step, e))
                continue
            for bad_step, err in errors:
                self._move_aside(bad_step)
                log.warning("checkpoint at step %d is unreadable (%s: %s); resumed from step %d instead and moved "
                            "it to %s", bad_step, type(err).__name__, str(err).splitlines()[0][:200], step,
                            self.workdir / "checkpoints_unreadable")
            return step, state
        step, err = errors[0]
        first = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        raise JaxmlError(
            f"no checkpoint in {self.directory} could be restored (newest: step {step}: {first}); it may come "
            f"from a different config (compare {self.workdir / 'config.json'}) — use a new --workdir")

    def _move_aside(self, step: int) -> None:
        if jax.process_index() != 0:
            return
        src = self.directory / str(step)
        if not src.exists():
            return
        dst_root = self.workdir / "checkpoints_unreadable"
        dst_root.mkdir(exist_ok=True)
        dst = dst_root / str(step)
        i = 0
        while dst.exists():
            i += 1
            dst = dst_root / f"{step}.{i}"
        shutil.move(str(src), str(dst))
        self.manager.reload()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()
