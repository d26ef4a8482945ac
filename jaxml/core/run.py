"""The run skeleton every training loop stands on: the supervised loop (`core/loop.py`) and the RL
runner (`rl/runner.py`) differ only in what one chunk of work is.

Two layers:

- `WorkdirSession` — one `jaxml train` on one workdir: checks the path, takes the workdir's lock
  (a second process on a busy workdir stops at once, naming the holder; the kernel drops the lock
  when its holder dies, so a kill -9 or a reboot never blocks a resume), reads the stored
  `config.json`, and writes the new one only when the run actually proceeds (at its first
  checkpoint, or at the end of a run that keeps none). A changed config on resume is recorded: the
  previous file is kept as `config_history/config-<n>.json`. A run rejected before it wrote
  anything leaves no workdir behind.
- `Run` — one loop inside it: restores the newest readable checkpoint (the unreadable ones are
  moved aside with one warning line each), truncates metrics logged after it, shows its progress
  (`core.metrics.progress_bar`: a bar on a terminal, a log line per chunk otherwise), checks
  every step's losses are finite (naming the step and the config's learning rates), saves, and
  stops at a chunk boundary on SIGTERM (exit 0) or Ctrl-C (exit 130), saving first.
  A second Ctrl-C stops at once.

Signals: `install_signal_handlers()` (called first thing by the CLI) makes SIGTERM, SIGINT and
SIGHUP (exit 129: the terminal went away) set a flag instead of killing the process, so a signal
that arrives during imports or set-up is honoured at the first chunk boundary too. Library use without the CLI installs them for the duration of a
`Run` (main thread only).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

if TYPE_CHECKING:  # numpy is imported where it is used: the CLI imports this module to answer --help
    import numpy as np

from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

LOCK_NAME = ".jaxml.lock"
CONFIG_NAME = "config.json"


class Preempted(Exception):
    """A stop was requested (SIGTERM or Ctrl-C); the state has been saved. `exit_code`: 0 for
    SIGTERM (a scheduler's preemption is not a failure), 130 for Ctrl-C."""

    def __init__(self, message: str, exit_code: int = 0):
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------------------------- signals

class _StopFlag:
    """Which stop signal arrived (None: none). SIGTERM and the first SIGINT only set it; a second
    SIGINT ends the process at once (exit 130). Raising KeyboardInterrupt instead would be lost
    whenever the handler runs inside a callback whose exceptions Python ignores (a gc callback)."""

    def __init__(self):
        self.signal: str | None = None
        self.installed = False

    def handle(self, signum, frame):
        if signum == signal.SIGINT:
            if self.signal == "SIGINT":  # at once, like a kill: saves are atomic, the last one is intact
                os.write(2, b"jaxml: interrupted (second Ctrl-C): stopped at once; the last checkpoint is intact\n")
                os._exit(130)
            self.signal = "SIGINT"
            log.warning("Ctrl-C: saving at the next chunk boundary and stopping (Ctrl-C again to stop at once)")
        elif self.signal is None:  # SIGTERM, or SIGHUP (the terminal went away): save and stop
            self.signal = signal.Signals(signum).name


STOP = _StopFlag()
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def install_signal_handlers() -> bool:
    """SIGTERM / SIGINT / SIGHUP set `STOP` instead of ending the process (main thread only). Idempotent."""
    if STOP.installed or threading.current_thread() is not threading.main_thread():
        return STOP.installed
    for signum in STOP_SIGNALS:
        signal.signal(signum, STOP.handle)
    STOP.installed = True
    return True


@contextlib.contextmanager
def _signals_for_run() -> Iterator[None]:
    """Installs the handlers for the duration of a run when nobody (the CLI) has installed them."""
    if STOP.installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    install_signal_handlers()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        STOP.installed = False
        STOP.signal = None


# --------------------------------------------------------------------------------------------- workdir

def _os_error(action: str, path: Path, err: OSError) -> JaxmlError:
    return JaxmlError(f"cannot {action} {path}: {err.strerror or err}")


def prepare_workdir(workdir: Path) -> bool:
    """Creates `workdir` (and parents) if needed; True if this call created it. One clear error for
    a path that is a file, cannot be created, or cannot be written."""
    if workdir.exists() and not workdir.is_dir():
        raise JaxmlError(f"--workdir {workdir} is a file, not a directory; choose another --workdir")
    created = not workdir.exists()
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _os_error("create the workdir", workdir, e) from None
    if not os.access(workdir, os.W_OK | os.X_OK):
        raise JaxmlError(f"cannot write to the workdir {workdir}: permission denied (read-only?); "
                         f"choose another --workdir")
    return created


def read_config_file(path: Path) -> dict[str, Any]:
    """The stored config.json as a dict; one clear error if it is not valid JSON."""
    try:
        text = path.read_text()
    except OSError as e:
        raise _os_error("read", path, e) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise JaxmlError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}); restore it from a copy, "
                         f"or use another --workdir") from None
    if not isinstance(data, dict):
        raise JaxmlError(f"{path} does not hold a config (a JSON object); use another --workdir")
    return data


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested config dicts."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += changed_keys(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}")
    return out


def check_not_busy(workdir: Path) -> None:
    """One clear error if another process holds `workdir`'s lock (before deleting or replacing it)."""
    if (workdir / LOCK_NAME).exists():
        lock = WorkdirLock(workdir)
        lock.acquire()
        lock.release()


class WorkdirLock:
    """An exclusive `flock` on `<workdir>/.jaxml.lock` holding the holder's pid, host and start time."""

    def __init__(self, workdir: Path):
        self.path = workdir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise _os_error("write to the workdir", self.path.parent, e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 4096).decode(errors="replace").strip()
            os.close(fd)
            try:
                h = json.loads(holder)
                who = f"pid {h['pid']} on host {h['host']} (since {h['since']})"
            except (ValueError, KeyError, TypeError):
                who = "another process"
            raise JaxmlError(f"workdir {self.path.parent} is in use by {who}; wait for that run to finish, "
                             f"stop it, or use another --workdir") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": datetime.datetime.now().isoformat(timespec="seconds")}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock; the (empty) file may stay
            self._fd = None


_SESSION: contextvars.ContextVar["WorkdirSession | None"] = contextvars.ContextVar("jaxml_session", default=None)


class WorkdirSession:
    """One training command on one workdir (see the module docstring). Use as a context manager.

    `config_json` is the new config as JSON text (it may be set later, before the run proceeds: the
    CLI takes the lock before it imports and builds anything). `is_primary` (process 0 of a
    multi-process job) takes the lock and writes files; the other processes only read.
    """

    def __init__(self, workdir: str | Path, config_json: str | None = None, *, is_primary: bool = True):
        self.workdir = Path(workdir)
        self.config_json = config_json
        self.is_primary = is_primary
        self.previous: dict[str, Any] | None = None
        self.committed = False
        self._created = False
        self._lock = WorkdirLock(self.workdir)
        self._token = None

    def __enter__(self) -> "WorkdirSession":
        if self.is_primary:
            self._created = prepare_workdir(self.workdir)
            try:
                self._lock.acquire()
                saved = self.workdir / CONFIG_NAME
                if saved.exists():
                    self.previous = read_config_file(saved)
            except BaseException:
                self._lock.release()
                self._remove_if_new()
                raise
        self._token = _SESSION.set(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        _SESSION.reset(self._token)
        if self.is_primary:
            if exc_type is None:
                self.commit_config()
            self._lock.release()
            if exc_type is not None:
                self._remove_if_new()
        return False

    def _remove_if_new(self) -> None:
        """A workdir this session created and nothing was kept in (no checkpoint, config, metrics
        or result anywhere below it) is removed: a rejected run leaves no stray directory."""
        if not self._created or self.committed or not self.workdir.is_dir():
            return
        kept = any(next(self.workdir.rglob(name), None) is not None
                   for name in ("config.json", "metrics.jsonl", "result.json"))
        kept = kept or any(p.is_dir() for p in self.workdir.rglob("checkpoints/*"))
        if not kept:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def commit_config(self) -> None:
        """Writes config.json (once per session) when the run proceeds; keeps a changed previous one."""
        if self.committed or not self.is_primary or self.config_json is None:
            return
        new = json.loads(self.config_json)
        saved = self.workdir / CONFIG_NAME
        try:
            if self.previous is not None and self.previous != new:
                history = self.workdir / "config_history"
                history.mkdir(exist_ok=True)
                n = len(list(history.glob("config-*.json")))
                kept = history / f"config-{n}.json"
                shutil.copyfile(saved, kept)
                log.warning("this run changed the workdir's config (%s); the previous config is kept in %s",
                            ", ".join(changed_keys(self.previous, new)) or "formatting", kept)
            if self.previous != new:
                write_text_atomic(saved, self.config_json)
        except OSError as e:
            raise _os_error("write", saved, e) from None
        self.committed = True


def current_session(workdir: str | Path | None = None) -> WorkdirSession | None:
    """The session in force (None: none), or only the one of `workdir` when it is given."""
    session = _SESSION.get()
    if session is not None and workdir is not None and \
            Path(session.workdir).absolute() != Path(workdir).absolute():
        return None
    return session


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------- run

def first_nonfinite(metrics: Mapping[str, np.ndarray]) -> int | None:
    """Index along the leading (step) axis of the first step with a non-finite float metric."""
    import numpy as np

    bad = None
    for v in metrics.values():
        v = np.asarray(v)
        if v.ndim >= 1 and np.issubdtype(v.dtype, np.floating):
            row = ~np.isfinite(v.reshape(v.shape[0], -1)).all(axis=1)
            bad = row if bad is None else bad | row
    return int(np.argmax(bad)) if bad is not None and bad.any() else None


def learning_rate_keys(config: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted key: value} of every learning-rate setting of a config (any level, e.g. a GAN's
    `gen.learning_rate` and `disc.learning_rate`)."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        if hasattr(v, "items"):
            out.update(learning_rate_keys(v, f"{prefix}{k}."))
        elif "learning_rate" in str(k) or str(k) == "lr" or str(k).endswith("_lr"):
            out[f"{prefix}{k}"] = v
    return out


class Run:
    """One loop's skeleton (see the module docstring). Use as a context manager around the loop.

    total: units to run (steps or env steps); unit: their name in messages and the bar;
    checkpoint: whether to keep checkpoints in `<workdir>/checkpoints`; config: for the learning
    rates named in the non-finite message.
    """

    def __init__(self, workdir: str | Path, *, total: int, config: Any, desc: str, unit: str = "step",
                 checkpoint: bool = True, keep: int = 3, tensorboard: bool = True):
        self.workdir = Path(workdir)
        self.total, self.unit, self.desc, self.config = int(total), unit, desc, config
        self._want_checkpoint, self._keep, self._tensorboard = checkpoint, int(keep), tensorboard
        self.checkpointer = None
        self.writer = None
        self.bar = None
        self.step = 0
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "Run":
        import jax

        from jaxml.core.checkpoint import Checkpointer
        from jaxml.core.metrics import MetricsWriter

        self._stack.__enter__()
        try:
            if jax.process_index() == 0:
                prepare_workdir(self.workdir)
            self._stack.enter_context(_signals_for_run())
            if self._want_checkpoint:
                self.checkpointer = Checkpointer(self.workdir, keep=self._keep)
                self._stack.callback(self._close, self.checkpointer.close, "the checkpoints")
            self.writer = MetricsWriter(self.workdir, tensorboard=self._tensorboard)
            self._stack.callback(self._close, self.writer.close, "the TensorBoard events")
        except BaseException:
            self._stack.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._failing = exc_type is not None
        if self.bar is not None:
            self.bar.close()
        self._stack.__exit__(exc_type, exc, tb)
        return False

    def _close(self, close, what: str) -> None:
        """Runs a cleanup; while an error is propagating, a second failure (a full disk again) must
        not replace the first, so it is only logged."""
        try:
            close()
        except Exception as e:  # noqa: BLE001
            if getattr(self, "_failing", False):
                log.debug("closing %s failed too: %s", what, e)
                return
            if isinstance(e, JaxmlError):
                raise
            raise JaxmlError(f"could not close {what} of {self.workdir}: {e}") from None

    def on_close(self, close, what: str = "the early-stopping checkpoints") -> None:
        """Runs `close` when the run ends (before the checkpoints and metrics close)."""
        self._stack.callback(self._close, close, what)

    def restore(self, state: Any) -> Any:
        """The newest readable checkpoint's state (or `state` for a fresh run); sets `self.step`,
        drops metrics logged after it and opens the progress display."""
        from jaxml.core.metrics import progress_bar

        if self.checkpointer is not None:
            restored = self.checkpointer.restore_latest(state)
            if restored is not None:
                self.step, state = restored
                log.info("resumed from %s at %s %d", self.checkpointer.directory, self.unit, self.step)
        self.writer.truncate_after(self.step)
        self.bar = progress_bar(self.total, self.step, self.desc, self.unit)
        return state

    def check_finite(self, metrics: Mapping[str, np.ndarray], *, per_row: int = 1) -> None:
        """Raises (without saving) if any float metric of the chunk is non-finite, naming the first
        bad step (rows of `metrics` are consecutive chunks of `per_row` units after `self.step`)."""
        bad = first_nonfinite(metrics)
        if bad is None:
            return
        last = self.checkpointer.latest_step() if self.checkpointer else None
        kept = f"the last good checkpoint ({self.unit} {last}) is intact" if last is not None else \
            "no checkpoint was written"
        rates = learning_rate_keys(self.config) if self.config is not None else {}
        hint = ("; lower " + " or ".join(f"config.{k} (now {v})" for k, v in rates.items())) if rates else ""
        raise JaxmlError(f"non-finite loss at {self.unit} {self.step + (bad + 1) * per_row}; stopped without "
                         f"saving, {kept}{hint}")

    def log(self, split: str, row: Mapping[str, Any], step: int | None = None) -> None:
        self.writer.write(self.step if step is None else step, split, row)

    def advance(self, n: int, postfix: Mapping[str, str] | None = None) -> None:
        self.step += int(n)
        self.bar.update(int(n))
        if postfix:
            self.bar.set_postfix(dict(postfix))

    def save(self, state: Any) -> None:
        """Saves `state` at `self.step` (after committing the session's config)."""
        if self.checkpointer is None:
            return
        session = current_session()
        if session is not None:
            session.commit_config()
        self.checkpointer.save(self.step, state)

    def stop_requested(self) -> bool:
        return STOP.signal is not None

    def stop(self, state: Any | None) -> None:
        """If a stop was requested: saves `state` (None: nothing new to save) and raises Preempted."""
        if STOP.signal is None:
            return
        name = STOP.signal
        code = {"SIGINT": 130, "SIGHUP": 129}.get(name, 0)
        if state is not None and self.checkpointer is not None:
            self.save(state)
            raise Preempted(f"{name}: saved a checkpoint at {self.unit} {self.step} in {self.workdir}; re-run the "
                            f"same command to resume", code)
        if self.checkpointer is None:
            raise Preempted(f"{name}: stopped at {self.unit} {self.step}; checkpointing is off, nothing was saved",
                            code)
        raise Preempted(f"{name}: stopped at {self.unit} {self.step} before any new work; re-run the same command "
                        f"to resume", code)
