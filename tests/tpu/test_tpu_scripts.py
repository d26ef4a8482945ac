"""Tests for the tpu/*.sh launcher scripts.

Every script is run with --dry-run (or against a fake `gcloud`), so nothing here
talks to Google Cloud, and the real gcloud is never on the PATH of a test.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TPU_DIR = REPO / "tpu"
SCRIPTS = ["common.sh", "create.sh", "setup.sh", "run.sh", "copy_results.sh", "delete.sh"]
ENTRY_SCRIPTS = [s for s in SCRIPTS if s != "common.sh"]
BASH = shutil.which("bash") or "/bin/bash"

CUSTOM = {
    "TPU_NAME": "my-tpu",
    "ZONE": "europe-west4-a",
    "ACCELERATOR_TYPE": "v4-32",
    "PROJECT": "my-proj",
}
LOC = ["--zone=europe-west4-a", "--project=my-proj"]
REMOTE_PREFIX = "cd ~/jaxml && JAXML_DISTRIBUTED=1 "


@pytest.fixture
def empty_path(tmp_path: Path) -> str:
    """A PATH with no gcloud on it (the scripts only need bash builtins)."""
    d = tmp_path / "emptybin"
    d.mkdir()
    return str(d)


def run_script(name: str, *args: str, path: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {"PATH": path, "HOME": str(Path.home()), "LC_ALL": "C"}
    full_env.update(env)
    return subprocess.run(
        [BASH, str(TPU_DIR / name), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=20,
    )


def dry_run(name: str, *args: str, path: str, **env: str) -> list[list[str]]:
    """Run `name --dry-run args...` and return the printed commands as token lists."""
    proc = run_script(name, "--dry-run", *args, path=path, **env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines, "dry run printed nothing"
    return [shlex.split(line) for line in lines]


def remote_command(tokens: list[str]) -> str:
    cmds = [t for t in tokens if t.startswith("--command=")]
    assert len(cmds) == 1, tokens
    return cmds[0][len("--command="):]


# --- exact gcloud command lines -------------------------------------------------------


def test_create_dry_run(empty_path):
    assert dry_run("create.sh", path=empty_path, **CUSTOM) == [
        ["gcloud", "compute", "tpus", "tpu-vm", "create", "my-tpu",
         "--zone=europe-west4-a", "--accelerator-type=v4-32",
         "--version=tpu-ubuntu2204-base", "--project=my-proj"],
    ]


def test_create_dry_run_defaults_and_spot(empty_path):
    assert dry_run("create.sh", path=empty_path, SPOT="1", RUNTIME_VERSION="v2-alpha-tpuv5-lite") == [
        ["gcloud", "compute", "tpus", "tpu-vm", "create", "jaxml-tpu",
         "--zone=us-central2-b", "--accelerator-type=v4-8",
         "--version=v2-alpha-tpuv5-lite", "--spot"],
    ]


def test_dry_run_flag_position_and_env(empty_path):
    expected = dry_run("delete.sh", path=empty_path, **CUSTOM)
    proc = run_script("delete.sh", path=empty_path, DRY_RUN="1", **CUSTOM)
    assert proc.returncode == 0, proc.stderr
    assert [shlex.split(line) for line in proc.stdout.splitlines()] == expected
    # --dry-run after the positional arguments works too
    proc = run_script("run.sh", "jaxml", "eval", "--dry-run", path=empty_path, **CUSTOM)
    assert proc.returncode == 0, proc.stderr
    assert remote_command(shlex.split(proc.stdout)) == REMOTE_PREFIX + ".venv/bin/jaxml eval"


def test_setup_dry_run(empty_path, tmp_path):
    [tokens] = dry_run("setup.sh", path=empty_path, REPO_URL="https://example.com/me/jaxml.git", **CUSTOM)
    assert tokens[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "my-tpu"]
    assert tokens[6:9] == [*LOC, "--worker=all"]
    assert len(tokens) == 10
    remote = remote_command(tokens)
    for piece in [
        "git -C ~/jaxml pull",
        "git clone https://example.com/me/jaxml.git ~/jaxml",
        "cd ~/jaxml",
        "python3 -m venv .venv",
        ".venv/bin/pip install -U 'jax[tpu]'",
        ".venv/bin/pip install -e .",
        "bash scripts/install_data.sh",
        "jax.device_count()",
    ]:
        assert piece in remote, piece
    assert "\n" not in remote
    # the remote command must be valid shell syntax
    check = subprocess.run([BASH, "-n", "-c", remote], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    if shutil.which("sh"):
        check = subprocess.run(["sh", "-n", "-c", remote], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_run_dry_run(empty_path):
    [tokens] = dry_run("run.sh", "jaxml", "train", "cnn_fashion", "--workdir", "runs/x",
                       path=empty_path, **CUSTOM)
    assert tokens == [
        "gcloud", "compute", "tpus", "tpu-vm", "ssh", "my-tpu", *LOC, "--worker=all",
        "--command=" + REMOTE_PREFIX + ".venv/bin/jaxml train cnn_fashion --workdir runs/x",
    ]
    assert "--worker=all" in tokens
    remote = remote_command(tokens)
    assert "JAXML_DISTRIBUTED=1" in remote
    assert "jaxml train cnn_fashion --workdir runs/x" in remote


def test_run_quotes_arguments(empty_path):
    args = ["jaxml", "train", "it's a \"model\"", "--lr=1e-3", "$HOME; rm -rf /", "", "~x"]
    [tokens] = dry_run("run.sh", *args, path=empty_path, **CUSTOM)
    remote = remote_command(tokens)
    assert remote.startswith(REMOTE_PREFIX)
    assert shlex.split(remote[len(REMOTE_PREFIX):]) == [".venv/bin/jaxml", *args[1:]]


def test_run_custom_remote_dir(empty_path):
    [tokens] = dry_run("run.sh", "python", "-V", path=empty_path, REMOTE_DIR="/opt/my dir")
    assert remote_command(tokens) == "cd '/opt/my dir' && JAXML_DISTRIBUTED=1 .venv/bin/python -V"


def test_run_double_dash_passes_flags_through(empty_path):
    [tokens] = dry_run("run.sh", "--", "jaxml", "--help", "--dry-run", path=empty_path)
    assert remote_command(tokens) == REMOTE_PREFIX + ".venv/bin/jaxml --help --dry-run"


def test_run_without_arguments_fails_with_usage(empty_path):
    for extra in ([], ["--dry-run"]):
        proc = run_script("run.sh", *extra, path=empty_path)
        assert proc.returncode != 0
        assert proc.stderr.startswith("usage: tpu/run.sh")
        assert proc.stdout == ""


def test_copy_results_dry_run(empty_path):
    assert dry_run("copy_results.sh", path=empty_path, **CUSTOM) == [
        ["gcloud", "compute", "tpus", "tpu-vm", "scp", "--recurse", "my-tpu:jaxml/runs",
         "./tpu_results/", *LOC, "--worker=0"],
    ]
    assert dry_run("copy_results.sh", "runs/cnn", path=empty_path, REMOTE_DIR="/data/jx") == [
        ["gcloud", "compute", "tpus", "tpu-vm", "scp", "--recurse", "jaxml-tpu:/data/jx/runs/cnn",
         "./tpu_results/", "--zone=us-central2-b", "--worker=0"],
    ]


def test_delete_dry_run(empty_path):
    assert dry_run("delete.sh", path=empty_path, **CUSTOM) == [
        ["gcloud", "compute", "tpus", "tpu-vm", "delete", "my-tpu", *LOC, "--quiet"],
    ]


# --- behaviour without dry run --------------------------------------------------------


@pytest.mark.parametrize("name", ENTRY_SCRIPTS)
def test_missing_gcloud_exits_2(name, empty_path):
    args = ["jaxml", "train"] if name == "run.sh" else []
    proc = run_script(name, *args, path=empty_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "gcloud" in proc.stderr


def test_executes_exactly_the_printed_command(tmp_path, empty_path):
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    log = tmp_path / "gcloud_args"
    fake = fake_bin / "gcloud"
    fake.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done > "{log}"\n')
    fake.chmod(0o755)
    for name, args in [
        ("create.sh", []),
        ("run.sh", ["jaxml", "train", "it's x", "--workdir", "runs/a b"]),
        ("delete.sh", []),
    ]:
        proc = run_script(name, *args, path=str(fake_bin), SPOT="1", **CUSTOM)
        assert proc.returncode == 0, proc.stderr
        executed = log.read_text().split("\0")[:-1]
        [printed] = dry_run(name, *args, path=empty_path, SPOT="1", **CUSTOM)
        assert ["gcloud", *executed] == printed


def test_invalid_spot_value(empty_path):
    proc = run_script("create.sh", "--dry-run", path=empty_path, SPOT="yes")
    assert proc.returncode == 2
    assert "SPOT" in proc.stderr


def test_unexpected_arguments_rejected(empty_path):
    proc = run_script("delete.sh", "--dry-run", "extra", path=empty_path)
    assert proc.returncode == 2
    assert proc.stdout == ""


# --- help, syntax, lint ---------------------------------------------------------------


@pytest.mark.parametrize("name", ENTRY_SCRIPTS)
def test_help(name, empty_path):
    proc = run_script(name, "--help", path=empty_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: tpu/{name}")
    for var in ["TPU_NAME", "ZONE", "ACCELERATOR_TYPE", "RUNTIME_VERSION", "PROJECT",
                "REPO_URL", "REMOTE_DIR", "SPOT", "--dry-run"]:
        assert var in proc.stdout


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_header_and_mode(name):
    path = TPU_DIR / name
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    if name != "common.sh":
        assert "set -euo pipefail" in text
    assert os.access(path, os.X_OK)


@pytest.mark.parametrize("name", SCRIPTS)
def test_bash_syntax(name):
    proc = subprocess.run([BASH, "-n", str(TPU_DIR / name)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_shellcheck():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    proc = subprocess.run(
        [shellcheck, "-x", *(f"tpu/{s}" for s in SCRIPTS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
