"""Every command README.md shows in a ```bash block runs, in README order, shortened.

Each `jaxml ...` line runs through `jaxml.cli.main` in a subprocess whose working directory is a
sandbox (so the README's relative paths, `runs/cnn` and `configs/cnn_fashion.py`, mean what they say),
with its leading `VAR=value` assignments as the environment and the extra arguments of its entry in
SHORTENINGS appended (argparse and the config overrides take the last value, so `--config.steps=2000`
becomes a few steps, `--trace /tmp/trace` and `--out RESULTS.md` point into the sandbox). Commands with
the same environment share one such process (jax is imported once; JAXML_README_FRESH=1 gives each
command a fresh one) and JAX's persistent compilation cache in the sandbox. Later commands see the
workdirs of earlier ones (resume, eval, export); selecting one command with `-k` runs the commands
before it first. `make` lines are the suite itself: they are checked to be Makefile targets. The
repository's `git status` is the same before and after.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, cli_env

pytestmark = pytest.mark.xdist_group("readme_commands")

README = REPO / "README.md"
MAKEFILE = REPO / "Makefile"

# README bash lines that are neither `jaxml` nor `make` commands, each with why the test skips it.
SKIPPED_LINES = {
    "source .venv/bin/activate": "the test runs the CLI with its own interpreter (sys.executable); nothing to activate",
    "jaxml serve runs/cnn --port 8000": "a server that runs until stopped; tests/serve/test_serve_process.py starts "
                                        "the same command on a free port and calls every route",
}
# the curl lines talk to that server (tests/serve/test_serve_process.py sends the same requests)
SKIPPED_PREFIXES = {"curl ": "needs the server of `jaxml serve` running; tests/serve sends the same requests"}

MLP_STEPS = ("--config.steps=4", "--config.log_every=2", "--config.eval_every=4", "--config.checkpoint_every=4",
             "--config.model.hidden=(16,)", "--config.tensorboard=false")
CNN_STEPS = ("--config.log_every=2", "--config.eval_every=4", "--config.checkpoint_every=4",
             "--config.warmup_steps=1", "--config.model.features=(4,8)", "--config.model.dense=(16,)",
             "--config.tensorboard=false")
DQN_STEPS = ("--config.num_seeds=1", "--config.total_env_steps=200", "--config.eval_every=100",
             "--config.learning_starts=50", "--config.buffer_size=64", "--config.batch_size=16",
             "--config.target_update_every=50", "--config.eval_episodes=1", "--config.hidden=(8,)",
             "--config.tensorboard=false")
PPO_STEPS = ("--config.num_seeds=1", "--config.num_envs=4", "--config.num_steps=8", "--config.num_minibatches=2",
             "--config.update_epochs=1", "--config.total_env_steps=64", "--config.eval_every=32",
             "--config.eval_episodes=1", "--config.hidden=(8,)", "--config.tensorboard=false")


@dataclass(frozen=True)
class Shortening:
    """Extra arguments for the README commands `pattern` matches in full ({sandbox}: the run's directory),
    and the files (globs in the sandbox) the command must have written."""
    pattern: str
    extra: tuple[str, ...] = ()
    creates: tuple[str, ...] = ()
    needs: str | None = None  # a dataset the command cannot run without ("fashion_mnist": skipped if absent)
    devices: int = 1  # fake CPU devices of the worker process (a command whose config spreads over devices)


FASHION = "fashion_mnist"
SHORTENINGS = (
    Shortening(r"jaxml list"),
    Shortening(r"jaxml train mlp_digits", MLP_STEPS, ("runs/mlp_digits-*/result.json",)),
    Shortening(r"jaxml train cnn_fashion --workdir runs/cnn --config\.steps=\S+ .*", ("--config.steps=2", *CNN_STEPS),
               ("runs/cnn/result.json",), FASHION),
    Shortening(r"jaxml train configs/cnn_fashion\.py .*", ("--config.steps=2", *CNN_STEPS),
               ("runs/cnn_fashion-*/result.json",), FASHION),
    Shortening(r"jaxml train cnn_fashion --workdir runs/cnn", ("--config.steps=4", *CNN_STEPS),
               ("runs/cnn/config_history/*",), FASHION),  # resumed with a changed config: the old one kept
    Shortening(r"jaxml eval runs/cnn", (), (), FASHION),
    Shortening(r"jaxml show \S+"),
    Shortening(r"jaxml reproduce --suite quick", ("--only", "mlp_digits", "--out", "{sandbox}/demo", *MLP_STEPS),
               ("demo/RESULTS.md", "demo/summary.txt", "demo/results/mlp_digits.json")),
    Shortening(r"jaxml reproduce --record --suite full --only mlp_digits",
               ("--runs-dir", "{sandbox}/runs/reproduce", "--out", "{sandbox}/RESULTS.md", *MLP_STEPS),
               ("RESULTS.md", "docs/results/mlp_digits.json", "docs/plots/mlp_digits.png")),
    Shortening(r"jaxml bench cnn_fashion .*",  # the resumed run's model and steps: its programs are cached
               ("--steps", "2", "--warmup", "1", "--trace", "{sandbox}/trace", "--config.steps=4", *CNN_STEPS),
               ("trace/**/*.xplane.pb",), FASHION),
    Shortening(r"jaxml export runs/cnn --format jax", (), ("runs/cnn/export/*",), FASHION),
    Shortening(r"jaxml export runs/cnn --format onnx", (), ("runs/cnn/export/model.onnx",), FASHION),
    Shortening(r"jaxml train dqn_cartpole( --config\.per=true)?", DQN_STEPS,
               ("runs/dqn_cartpole-*/result.json",)),
    # The worker processes are shared and start jax with one device, where `jaxml train` itself would make
    # the 2 host devices this config asks for; this line gets a worker with 2.
    Shortening(r"jaxml train dqn_cartpole --config\.num_seeds=8 --config\.parallel\.seed_devices=2",
               DQN_STEPS + ("--config.num_seeds=2",), ("runs/dqn_cartpole-*/result.json",), devices=2),
    Shortening(r"(XLA_FLAGS=\S+ )?jaxml train ppo_cartpole .*", PPO_STEPS, ("runs/ppo_cartpole-*/result.json",)),
)


@dataclass(frozen=True)
class Command:
    line: str                 # as README shows it, the trailing comment removed
    env: dict[str, str]       # leading VAR=value assignments
    argv: tuple[str, ...]     # after `jaxml`


def readme_bash_lines(text: str) -> list[str]:
    """The non-blank lines of every ```bash block, trailing `# comments` removed, a line ending in a
    backslash joined with the next."""
    lines, inside, pending = [], False, ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("```"):
            inside = not inside and stripped == "```bash"
            continue
        if inside:
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            line = re.sub(r"\s+#.*$", "", pending + stripped).strip()
            pending = ""
            if line and not line.startswith("#"):
                lines.append(" ".join(line.split()))
    return lines


def parse_command(line: str) -> Command | None:
    """A `[VAR=value ...] jaxml ...` line as a Command; None for anything else."""
    words = shlex.split(line)
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    if not words or words[0] != "jaxml":
        return None
    return Command(line, env, tuple(words[1:]))


def shortening_for(line: str) -> Shortening:
    matches = [s for s in SHORTENINGS if re.fullmatch(s.pattern, line)]
    if not matches:
        pytest.fail(f"README command {line!r} has no entry in SHORTENINGS (tests/test_readme_commands.py): "
                    "add one with the extra arguments that make it run in a few seconds")
    if len(matches) > 1:
        pytest.fail(f"README command {line!r} matches {len(matches)} SHORTENINGS patterns: "
                    f"{[s.pattern for s in matches]}; make them exclusive")
    return matches[0]


LINES = readme_bash_lines(README.read_text())
COMMANDS = [c for c in map(parse_command, LINES) if c is not None and c.line not in SKIPPED_LINES]
MAKE_LINES = [l for l in LINES if l.startswith("make ")]
OTHER_LINES = [l for l in LINES if (parse_command(l) is None or l in SKIPPED_LINES) and not l.startswith("make ")]


def _slug(i: int, line: str) -> str:
    return f"{i:02d}-" + re.sub(r"[^A-Za-z0-9_.=]+", "_", line).strip("_")[:70]


def fashion_mnist_available() -> bool:
    from jaxml.data.datasets import load_dataset
    from jaxml.errors import JaxmlError
    try:
        load_dataset("fashion_mnist")
    except JaxmlError:
        return False
    return True


def git_status() -> list[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return [l for l in out if "__pycache__" not in l and not l.endswith(".pyc") and ".pytest_cache" not in l]


# A subprocess that runs `jaxml.cli.main(argv)` for each JSON argv line it reads, answering each with one
# RESULT line (exit code, the command's stdout and stderr): one import of jax and jaxml for many commands.
WORKER = r"""
import contextlib, io, json, sys, traceback
from jaxml import cli
for line in sys.stdin:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(json.loads(line))
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
            rc = 1
    print("RESULT " + json.dumps({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}), flush=True)
"""

# JAX's persistent compilation cache, shared by the commands: the same model's init and evaluation
# programs then compile once for train, resume, eval, bench and export.

def compilation_cache_env(sandbox: Path) -> dict[str, str]:
    return {"JAX_COMPILATION_CACHE_DIR": str(sandbox / "jax_cache"), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


# JAXML_README_FRESH=1: every command in a fresh process of its own (slower: jax is imported each time).
FRESH = os.environ.get("JAXML_README_FRESH") == "1"


@dataclass
class Done:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


class Worker:
    def __init__(self, cwd: Path, env: dict[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], cwd=cwd, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=lambda: [self.lines.put(l) for l in self.proc.stdout] + [self.lines.put(None)],
                         daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def run(self, argv: list[str], timeout: float) -> Done:
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                self.proc.kill()
                return Done(argv, -9, "", "".join(self.stderr[-50:]) + f"\n(killed after {timeout:.0f} s)")
            if line is None:
                return Done(argv, self.proc.wait(), "", "".join(self.stderr[-50:]) + "\n(the worker process died)")
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT "):])
                return Done(argv, result["rc"], result["stdout"], result["stderr"])

    def close(self):
        if self.proc.poll() is not None:
            return
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Sequence:
    """Runs the README's jaxml commands in order, each once, in one sandbox directory; commands with the
    same environment share a worker process (unless FRESH)."""

    def __init__(self, sandbox: Path):
        self.sandbox = sandbox
        (sandbox / "configs").symlink_to(REPO / "configs", target_is_directory=True)
        self.results: dict[int, Done | str] = {}
        self.workers: dict[tuple, Worker] = {}
        self.fashion = None

    def result(self, index: int) -> Done | str:
        """The finished command `index` (running the ones before it first), or why it was skipped."""
        for i in range(index + 1):
            if i not in self.results:
                self.results[i] = self._run(i, COMMANDS[i])
        return self.results[index]

    def _run(self, index: int, command: Command) -> Done | str:
        shortening = shortening_for(command.line)
        if shortening.needs == FASHION:
            if self.fashion is None:
                self.fashion = fashion_mnist_available()
            if not self.fashion:
                return "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"
        extra = [a.replace("{sandbox}", str(self.sandbox)) for a in shortening.extra]
        key = (tuple(sorted(command.env.items())), shortening.devices, index if FRESH else None)
        if key not in self.workers:
            env = cli_env(shortening.devices, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                          PYTHONDONTWRITEBYTECODE="1", **compilation_cache_env(self.sandbox), **command.env)
            self.workers[key] = Worker(self.sandbox, env)
        done = self.workers[key].run([*command.argv, *extra], timeout=300)
        if FRESH:
            self.workers.pop(key).close()
        return done

    def close(self):
        for worker in self.workers.values():
            worker.close()


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    sequence = Sequence(tmp_path_factory.mktemp("readme"))
    yield sequence
    sequence.close()


@pytest.fixture(scope="module")
def status_before():
    return git_status()


def test_readme_shows_commands():
    assert len(COMMANDS) >= 10 and MAKE_LINES, LINES


@pytest.mark.parametrize("index", range(len(COMMANDS)), ids=[_slug(i, c.line) for i, c in enumerate(COMMANDS)])
def test_readme_command_runs(index, sequence, status_before):
    command = COMMANDS[index]
    shortening_for(command.line)  # an uncovered command fails here, before anything runs
    syntax = subprocess.run(["bash", "-n", "-c", command.line], capture_output=True, text=True)
    assert syntax.returncode == 0, f"README command {command.line!r} is not valid bash: {syntax.stderr.strip()}"
    done = sequence.result(index)
    if isinstance(done, str):
        pytest.skip(done)
    assert done.returncode == 0, (f"README command {command.line!r} (run as: jaxml {shlex.join(done.argv)}) "
                                  f"exited {done.returncode}:\n{done.stderr[-3000:]}")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    for pattern in shortening_for(command.line).creates:
        assert list(sequence.sandbox.glob(pattern)), f"{command.line!r} wrote no {pattern} in {sequence.sandbox}"


@pytest.mark.parametrize("line", MAKE_LINES)
def test_readme_make_line_is_a_makefile_target(line):
    """`make demo` / `make test` are the suite itself: not run, only checked to be targets."""
    targets = re.findall(r"^([A-Za-z][\w-]*):", MAKEFILE.read_text(), flags=re.M)
    for target in shlex.split(line)[1:]:
        assert target in targets, f"README shows {line!r} but the Makefile has no target {target!r} ({targets})"


@pytest.mark.parametrize("line", OTHER_LINES)
def test_readme_other_lines_are_skipped_for_a_reason(line):
    assert line in SKIPPED_LINES or any(line.startswith(p) for p in SKIPPED_PREFIXES), (f"README bash line {line!r} is neither `jaxml ...` nor `make ...`: run it here "
                                   "or add it to SKIPPED_LINES with the reason it is skipped")


def test_an_uncovered_command_says_to_add_its_shortening():
    with pytest.raises(pytest.fail.Exception, match="'jaxml train resnet_fashion' has no entry in SHORTENINGS"):
        shortening_for("jaxml train resnet_fashion")


def test_every_shortening_is_used():
    unused = [s.pattern for s in SHORTENINGS if not any(re.fullmatch(s.pattern, c.line) for c in COMMANDS)]
    assert not unused, f"SHORTENINGS entries no README command matches any more: {unused}"


def test_readme_commands_leave_the_repository_unchanged(sequence, status_before):
    for i in range(len(COMMANDS)):
        sequence.result(i)
    assert git_status() == status_before
