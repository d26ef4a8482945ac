"""Checkpoints with orbax: save every N steps, keep the newest K, resume from the workdir.

Saves are atomic (orbax writes to a temporary directory and renames it when complete), so a kill
during a save leaves the previous checkpoints intact. On restore the newest checkpoint is tried
first; if it cannot be read, the previous one is used with a warning and the unreadable one is
moved aside to `<workdir>/checkpoints_unreadable/` (never deleted). A checkpoint that no step can
restore because the state's structure changed raises `JaxmlError`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")


def _first_line(err: BaseException, limit: int = 200) -> str:
    """A short, one-line description of an exception (orbax/TensorStore messages run to pages)."""
    text = " ".join(str(err).split())
    for marker in (". See full TensorStore details", " [source locations=", " [tensorstore_spec", "tensorstore_spec="):
        text = text.split(marker)[0]
    text = text[:limit] + ("..." if len(text) > limit else "")
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _from_orbax(unraisable) -> bool:
    """An unraisable report of orbax's abandoned async work: its coroutine, or a callback that
    found its event loop closed."""
    code = getattr(unraisable.object, "cr_code", None)
    if code is not None and "orbax" in code.co_filename:
        return True
    exc = unraisable.exc_value
    if isinstance(exc, RuntimeError) and "Event loop is closed" in str(exc):
        return True
    return _traceback_from_orbax(unraisable.exc_traceback)


def _traceback_from_orbax(tb) -> bool:
    while tb is not None:
        if "orbax" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


class _OrbaxTaskFilter(logging.Filter):
    """Drops asyncio's "Task exception was never retrieved" records of orbax's abandoned reads."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[2] if record.exc_info else None
        return not ("never retrieved" in str(record.msg) and
                    (_traceback_from_orbax(exc) or "orbax" in record.getMessage()))


def _drop_orbax_unraisables() -> None:
    """Installs (once) a `sys.unraisablehook` that drops the "Exception ignored in coroutine" reports
    of orbax's abandoned async reads after a failed restore (they arrive whenever the coroutines are
    collected, up to interpreter exit), and an asyncio log filter for their "Task exception was never
    retrieved" records; every other report goes to the previous hook."""
    previous = sys.unraisablehook
    if getattr(previous, "_jaxml_orbax_filter", False):
        return
    logging.getLogger("asyncio").addFilter(_OrbaxTaskFilter())

    def hook(unraisable):
        if not _from_orbax(unraisable):
            previous(unraisable)

    hook._jaxml_orbax_filter = True
    sys.unraisablehook = hook


@contextlib.contextmanager
def _quiet_failures():
    """Silences what a failed orbax call logs besides its exception (asyncio / absl error logs with
    tracebacks from its worker threads)."""
    _drop_orbax_unraisables()
    loggers = [logging.getLogger(n) for n in ("asyncio", "absl", "orbax", "tensorstore")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    except BaseException:
        gc.collect()  # a failed call's abandoned coroutines report while the loggers are still silenced
        raise
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def restore_checkpoint(workdir: str | Path, like: Any) -> tuple[int, Any]:
    """(step, state) of the newest readable checkpoint of `workdir` restored into the structure of
    `like`; one JaxmlError if there is none. Closes the checkpointer on every path."""
    checkpointer = Checkpointer(workdir, create=False)
    try:
        restored = checkpointer.restore_latest(like)
    finally:
        checkpointer.close()
    if restored is None:
        raise JaxmlError(f"no checkpoint in {Path(workdir) / 'checkpoints'}; train first with `jaxml train`")
    return restored


def _abstract(state: Any) -> Any:
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, state)


class Checkpointer:
    """A thin, safe wrapper over `ocp.CheckpointManager` for one workdir (`directory`: the folder
    inside it, `checkpoints`; the best checkpoint of early stopping has its own)."""

    def __init__(self, workdir: str | Path, keep: int = 3, *, create: bool = True, directory: str = "checkpoints"):
        self.workdir = Path(workdir).absolute()
        self.directory = self.workdir / directory
        if self.directory.exists() and not self.directory.is_dir():
            raise JaxmlError(f"{self.directory} is a file, not the checkpoint directory; move it away or use "
                             f"another --workdir")
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max(int(keep), 1), create=create, enable_async_checkpointing=False,
            cleanup_tmp_directories=create)
        try:
            self.manager = ocp.CheckpointManager(self.directory, options=options)
        except OSError as e:
            raise JaxmlError(f"cannot open the checkpoints of {self.workdir}: {e.strerror or e}") from None

    def steps(self) -> list[int]:
        return sorted(self.manager.all_steps())

    def latest_step(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def save(self, step: int, state: Any) -> None:
        """Saves `state` at `step` (atomically); a failure (disk full, read-only) is one JaxmlError
        and leaves the previous checkpoints intact."""
        if step in self.manager.all_steps():
            return
        try:
            with _quiet_failures():
                self.manager.save(step, args=ocp.args.StandardSave(state), force=True)
                self.manager.wait_until_finished()
        except Exception as e:  # noqa: BLE001 - orbax wraps OS errors in several exception types
            for partial in self.directory.glob(f"{step}.orbax-checkpoint-tmp*"):  # this save's own leftovers
                shutil.rmtree(partial, ignore_errors=True)
            last = self.latest_step()
            kept = f"the checkpoint at step {last} is intact" if last is not None else "no earlier checkpoint exists"
            raise JaxmlError(f"could not save the checkpoint at step {step} in {self.directory}: "
                             f"{_first_line(e)}; {kept}") from None

    def restore(self, step: int, like: Any) -> Any:
        """The checkpoint at `step` restored into the structure/shardings of `like`."""
        try:
            with _quiet_failures():
                return self.manager.restore(step, args=ocp.args.StandardRestore(_abstract(like)))
        except Exception as e:  # noqa: BLE001
            raise JaxmlError(f"the checkpoint at step {step} in {self.directory} could not be restored: "
                             f"{_first_line(e)}") from None

    def keep_only(self, step: int) -> None:
        """Deletes every checkpoint but the one at `step`."""
        for other in self.steps():
            if other != step:
                self.manager.delete(other)

    def restore_latest(self, like: Any) -> tuple[int, Any] | None:
        """Restores the newest readable checkpoint into the structure/shardings of `like`."""
        steps = self.steps()
        if not steps:
            return None
        errors = []
        for step in reversed(steps):
            try:
                with _quiet_failures():
                    state = self.manager.restore(step, args=ocp.args.StandardRestore(_abstract(like)))
            except Exception as e:  # unreadable: try the previous one
                errors.append((step, e))
                log.warning("checkpoint at step %d is unreadable (%s)%s", step, _first_line(e),
                            "; trying the previous one" if step != steps[0] else "")
                continue
            for bad_step, _ in errors:
                self._move_aside(bad_step)
            if errors:
                log.warning("resumed from step %d instead; moved the unreadable checkpoint(s) to %s", step,
                            self.workdir / "checkpoints_unreadable")
            return step, state
        step, err = errors[0]
        raise JaxmlError(
            f"no checkpoint in {self.directory} could be restored (newest: step {step}: {_first_line(err)}); it may "
            f"come from a different config (compare {self.workdir / 'config.json'}) — use a new --workdir")

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
        with _quiet_failures():
            try:
                self.manager.wait_until_finished()
            finally:
                self.manager.close()
