"""A run's progress: a tqdm bar on a terminal (also a pseudo-terminal nobody gave a size), one log
line per chunk when stderr is a file or a pipe, nothing with JAXML_PROGRESS=off."""

import fcntl
import io
import logging
import os
import select
import struct
import subprocess
import termios
import time

import pytest

from conftest import REPO, cli_env, jaxml_cmd
from jaxml.core import metrics
from jaxml.errors import JaxmlError

TINY = ("train", "mlp_digits", "--config.steps=20", "--config.log_every=10", "--config.eval_every=10",
        "--config.checkpoint_every=10", "--config.model.hidden=(16,)")


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_log_progress_writes_one_line_per_chunk_with_its_rate(caplog):
    clock = FakeClock()
    logger = logging.getLogger("jaxml.test_progress")
    p = metrics.LogProgress(1500, 0, "mlp_digits", clock=clock, logger=logger)
    with caplog.at_level(logging.INFO, logger=logger.name):
        clock.t += 10.0
        p.update(300)
        p.set_postfix({"loss": "0.4100"})
        clock.t += 2.0
        p.update(300)
        p.set_postfix({"loss": "0.3000", "test_accuracy": "0.9000"})
        p.close()
    assert [r.getMessage() for r in caplog.records] == [
        "mlp_digits: 300/1500 loss 0.4100 30.0 steps/s",
        "mlp_digits: 600/1500 loss 0.3000 test_accuracy 0.9000 150.0 steps/s"]


def test_log_progress_of_a_resumed_rl_run_counts_from_its_start(caplog):
    clock = FakeClock()
    logger = logging.getLogger("jaxml.test_progress")
    p = metrics.LogProgress(200_000, 100_000, "ppo_cartpole env steps", "env step", clock=clock, logger=logger)
    with caplog.at_level(logging.INFO, logger=logger.name):
        clock.t += 4.0
        p.update(50_000)
        p.set_postfix(eval_return="23.0")
    assert caplog.records[0].getMessage() == "ppo_cartpole env steps: 150000/200000 eval_return 23.0 12500.0 env steps/s"


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


@pytest.mark.parametrize("env,tty,mode", [
    ("", True, "bar"), ("", False, "log"), ("1", False, "bar"), ("0", True, "off"), ("log", True, "log"),
    ("off", False, "off"), ("bar", False, "bar"),
])
def test_progress_mode(monkeypatch, env, tty, mode):
    monkeypatch.setenv("JAXML_PROGRESS", env)
    assert metrics.progress_mode(Stream(tty)) == mode


def test_a_bad_progress_mode_names_the_choices(monkeypatch):
    monkeypatch.setenv("JAXML_PROGRESS", "fancy")
    with pytest.raises(JaxmlError, match="JAXML_PROGRESS='fancy' is not valid; choose one of bar, log, off"):
        metrics.progress_mode(Stream(True))


def test_a_pty_without_a_size_gets_a_fixed_size_bar(monkeypatch):
    """tqdm follows a terminal's size, but a pty nobody sized reports 0 x 0 and tqdm then draws
    nothing: such a terminal gets ($COLUMNS, $LINES) or (80, 24)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    master, slave = os.openpty()
    try:
        with os.fdopen(os.dup(slave), "w") as stream:
            assert tuple(os.get_terminal_size(stream.fileno())) == (0, 0)
            assert metrics._bar_shape(stream) == (80, 24)
            monkeypatch.setenv("COLUMNS", "120")
            assert metrics._bar_shape(stream) == (120, 24)
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
            assert metrics._bar_shape(stream) is None  # a sized terminal: tqdm follows it
    finally:
        os.close(master)
        os.close(slave)
    assert metrics._bar_shape(io.StringIO()) == (120, 24)  # no terminal at all


def _progress_env():
    env = cli_env(1)
    env.pop("JAXML_PROGRESS")
    env.pop("COLUMNS", None)
    return env


def test_a_run_under_a_pseudo_terminal_shows_a_tqdm_bar(tmp_path):
    master, slave = os.openpty()  # no window size: 0 columns, the case tqdm drew nothing for
    proc = subprocess.Popen(jaxml_cmd(*TINY, "--workdir", str(tmp_path / "w")), cwd=REPO, env=_progress_env(),
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out, deadline = b"", time.time() + 240
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        assert proc.wait(timeout=60) == 0, out.decode(errors="replace")[-3000:]
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = out.decode(errors="replace")
    assert "mlp_digits: 100%|" in text and "20/20" in text and "step/s" in text, text[-3000:]
    assert "[jaxml] mlp_digits: 10/20" not in text  # the bar, not the log lines


def test_a_run_with_stderr_in_a_pipe_logs_one_line_per_chunk(tmp_path):
    done = subprocess.run(jaxml_cmd(*TINY, "--workdir", str(tmp_path / "w")), cwd=REPO, env=_progress_env(),
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [l for l in done.stderr.splitlines() if l.startswith("[jaxml] mlp_digits: ")]
    assert len(lines) == 2, done.stderr[-3000:]
    for line, step in zip(lines, (10, 20)):
        assert line.startswith(f"[jaxml] mlp_digits: {step}/20 loss ") and line.endswith(" steps/s"), line
        assert "test_accuracy" in line
    assert "\r" not in done.stderr and "%|" not in done.stderr
