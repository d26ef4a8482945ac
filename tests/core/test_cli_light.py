"""The command answers without jax: `--help`, `list`, `show`, `train --help` and argument errors
import no jax, flax, optax, gymnax, matplotlib or seaborn (checked in a fresh interpreter)."""

import json
import subprocess
import sys

from conftest import REPO, cli_env

HEAVY = ("jax", "jaxlib", "flax", "optax", "gymnax", "orbax", "chex", "matplotlib", "seaborn", "tensorflow")

CASES = [
    ["--help"],
    ["list"],
    ["show", "cnn_digits", "--config.steps=7"],
    ["train", "--help"],
    ["eval", "--help"],
    ["export", "--help"],
    ["serve", "--help"],
    ["serve", "no/such/workdir"],
    ["serve", ".", "--buckets", "1,x"],
    ["train", "nosuchexp"],
    ["train", "cnn_digits", "--config.nosuchkey=1"],
    ["train", "cnn_digits", "--config.steps=many"],
    ["train", "cnn_digits", "--config.dtype=float64"],
    ["train", "cnn_digits", "--config.learning_rate=-1"],
    ["train", "cnn_digits", "--bogus-flag"],
    ["train", "cnn_digits", "--workdir"],
    ["list", "--bogus-flag"],
]

# Each case runs `jaxml.cli.main(case)` in one fresh interpreter, in turn; after each, the heavy
# modules then in sys.modules are recorded (a case that imported one shows it, and so do the later ones).
PROBE = """
import contextlib, io, json, sys
from jaxml import cli
heavy, out = {heavy!r}, []
for case in {cases!r}:
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            rc = cli.main(case)
    except SystemExit as e:
        rc = e.code
    loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))
    out.append({{"case": case, "rc": rc, "heavy": loaded, "stdout": buf.getvalue()}})
print(json.dumps(out))
"""


def probe(cases, tmp_path):
    code = PROBE.format(heavy=HEAVY, cases=cases)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=cli_env(1), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_list_show_and_argument_errors_import_no_jax(tmp_path):
    results = probe(CASES, tmp_path)
    for r in results:
        assert r["heavy"] == [], f"jaxml {' '.join(r['case'])} imported {r['heavy']}"
    codes = {" ".join(r["case"]): r["rc"] for r in results}
    for ok in ("--help", "list", "show cnn_digits --config.steps=7", "train --help", "eval --help", "export --help",
               "serve --help"):
        assert codes[ok] == 0, (ok, codes[ok])
    for bad, rc in codes.items():
        if bad.startswith(("train ", "serve ")) and not bad.endswith("--help") or bad.startswith("list "):
            assert rc == 2, (bad, rc)
    show = next(r["stdout"] for r in results if r["case"][0] == "show")
    assert "model.features" in show and "test_accuracy >= 0.97" in show
    assert not list(tmp_path.glob("runs")), "a refused train left a workdir behind"


def test_every_config_loads_without_heavy_modules(tmp_path):
    """Config files import only `jaxml.defaults`: loading all of them (and their method checks) stays light."""
    code = f"""
import json, sys
from jaxml import experiments
for name in experiments.experiment_names():
    experiments.info(name)
    experiments.load_experiment_config(name, [])
print(json.dumps({{"n": len(experiments.experiment_names()),
                  "heavy": sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))}}))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=cli_env(1), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["n"] >= 37 and result["heavy"] == []
