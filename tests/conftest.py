"""Test-wide settings: 8 fake CPU devices, no progress bars, shared small configs."""

import os

# Must happen before jax creates a backend anywhere in the test process.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
os.environ.setdefault("JAXML_PROGRESS", "0")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

from jaxml.core.platform import apply_xla_workarounds  # noqa: E402

apply_xla_workarounds()  # the tests vmap PPO and DQN over seeds, as the CLI does

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def cli_env(devices: int = 1, **extra: str) -> dict:
    """Environment for a `jaxml` subprocess with `devices` fake CPU devices."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAXML_PROGRESS"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def jaxml_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "jaxml.cli", *args]


def workdir_snapshot(workdir: Path) -> dict[str, bytes]:
    """A workdir's config.json and every checkpoint file, byte for byte (what must not change)."""
    files = [workdir / "config.json", *sorted((workdir / "checkpoints").rglob("*"))]
    return {str(p.relative_to(workdir)): p.read_bytes() for p in files if p.is_file()}


@pytest.fixture
def repo() -> Path:
    return REPO
