"""Test-wide settings: 8 fake CPU devices, no progress bars, shared small configs."""

import os

# XLA's backend (LLVM) optimisation level 1, not the default 3, in the tests and their `jaxml`
# subprocesses: the suite's programs are tiny, so compiling them is most of its time, and level 1
# compiles them a fifth faster (four method test files, -n 2, interleaved rounds: 100 s -> 81 s),
# while XLA's own graph passes (fusion, layout, sharding, collectives) run as they do for users. A
# one-device training run gives bitwise the same parameters at both levels; an 8-device one differs
# in the last bits, inside the tolerances of the equivalence tests. Level 0 is not used: it changes
# results (a 20-step 8-device CNN run diverged). The CPU backend's newer MLIR fusion emitters are also off
# (XLA then emits fusions with its older LLVM emitter): a compile-only benchmark of an MLP, a CNN and an
# LSTM training scan, plain and vmapped, took 21 s instead of 36 s (median of 3 interleaved rounds, losses
# bitwise equal). JAXML_TEST_XLA_OPT=default runs at XLA's defaults.
TEST_XLA_FLAGS = ("" if os.environ.get("JAXML_TEST_XLA_OPT") == "default"
                  else "--xla_backend_optimization_level=1 --xla_cpu_use_fusion_emitters=false")

# Must happen before jax creates a backend anywhere in the test process.
os.environ["XLA_FLAGS"] = " ".join(filter(None, [os.environ.get("XLA_FLAGS", ""), TEST_XLA_FLAGS,
                                                 "--xla_force_host_platform_device_count=8"]))
os.environ.setdefault("JAXML_PROGRESS", "0")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# One persistent XLA compilation cache for the whole session, in a fresh temporary directory: many tests
# build the same small programs again (a new jit of the same function and shapes), and the two xdist
# workers and the `jaxml` subprocesses (cli_env copies this environment) compile many of the same ones.
# The first process to start (the xdist controller, or a plain pytest run) creates it and removes it at
# the end; workers inherit it. A JAX_COMPILATION_CACHE_DIR set by the user is used and kept;
# JAXML_TEST_COMPILATION_CACHE=0 turns the cache off.
if os.environ.get("JAXML_TEST_COMPILATION_CACHE", "1") != "0":
    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        import tempfile

        os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="jaxml-tests-xla-cache-")
        os.environ["JAXML_TEST_CACHE_OWNER"] = str(os.getpid())
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

from jaxml.core.platform import apply_xla_workarounds  # noqa: E402

apply_xla_workarounds()  # the tests vmap PPO and DQN over seeds, as the CLI does

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def cli_env(devices: int = 1, **extra: str) -> dict:
    """Environment for a `jaxml` subprocess with `devices` fake CPU devices."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["XLA_FLAGS"] = " ".join(filter(None, [TEST_XLA_FLAGS, f"--xla_force_host_platform_device_count={devices}"]))
    env["JAXML_PROGRESS"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def jaxml_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "jaxml.cli", *args]


def one_error_line(capsys) -> str:
    """The one `jaxml: error:` line of a failed command (nothing else on stderr but jaxml's log lines,
    no traceback anywhere)."""
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err and "Traceback" not in captured.out, err
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith("[jaxml]")]
    assert len(lines) == 1 and lines[0].startswith("jaxml: error: "), err
    return lines[0]


def tiny_classifier_config():
    """The export and serving tests' model: a 32-unit MLP on digits, 40 steps, one device, checkpoint at the end."""
    from jaxml.defaults import classify as classify_defaults

    c = classify_defaults.base_config()
    c.model.hidden = (32,)
    c.steps = 40
    c.log_every = 20
    c.eval_every = 40
    c.checkpoint_every = 40
    c.tensorboard = False
    c.parallel.num_devices = 1
    return c


def workdir_snapshot(workdir: Path) -> dict[str, bytes]:
    """A workdir's config.json and every checkpoint file, byte for byte (what must not change)."""
    files = [workdir / "config.json", *sorted((workdir / "checkpoints").rglob("*"))]
    return {str(p.relative_to(workdir)): p.read_bytes() for p in files if p.is_file()}


@pytest.fixture
def repo() -> Path:
    return REPO


def pytest_unconfigure(config):
    """The session's compilation cache goes when the process that created it ends."""
    if os.environ.get("JAXML_TEST_CACHE_OWNER") == str(os.getpid()):
        import shutil

        shutil.rmtree(os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)


