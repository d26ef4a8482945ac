"""Registry: experiment name -> config file; method name -> module with `train(config, workdir)`;
and `run_training`, which trains one experiment in one workdir (what `jaxml train` and `jaxml
reproduce` call).

An experiment is `configs/<name>.py`. Besides `get_config()`, its module may define
`EXPECTED = {"metric": ..., "at_least"/"at_most": ..., "reference": ...}` (what `jaxml reproduce`
checks) and `SUITES = ("quick", "full")`.

A finished workdir holds `result.json` (the run's results: the same config, seed and machine give
the same file) and `timing.json` (wall time and throughput, which differ between identical runs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib
import importlib.util
import json
import logging
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from jaxml.errors import JaxmlError

METHODS: dict[str, str] = {
    "classify": "jaxml.methods.classify",
    **{m: f"jaxml.methods.{m}" for m in ("distill", "prune", "quantize", "nas")},
    "multitask": "jaxml.methods.multitask",
    "maml": "jaxml.methods.maml",
    "gan": "jaxml.methods.gan", "adversarial": "jaxml.methods.adversarial", "interpret": "jaxml.methods.interpret",
    "lm": "jaxml.methods.lm", "mlm": "jaxml.methods.mlm", "finetune": "jaxml.methods.finetune",
    "sequence_labeling": "jaxml.methods.sequence_labeling", "seq2seq": "jaxml.methods.seq2seq",
    "backtranslate": "jaxml.methods.backtranslate",
    **{agent: "jaxml.rl.runner" for agent in ("dqn", "qlearning", "reinforce", "ppo", "ddpg", "td3", "sac", "rppo")},
    "cluster": "jaxml.methods.cluster",
    "anomaly": "jaxml.methods.anomaly",
    "svm": "jaxml.methods.svm",
    **{m: f"jaxml.methods.{m}" for m in ("label_spreading", "pseudo_label", "active", "ssl", "fixmatch")},
    "gnn": "jaxml.methods.gnn", "kge": "jaxml.methods.kge", "recsys": "jaxml.methods.recsys",
    "bandits": "jaxml.methods.bandits", "ope": "jaxml.methods.ope",
    "rl_recsys": "jaxml.methods.rl_recsys",
    "trees": "jaxml.methods.trees",
    "sweep": "jaxml.methods.sweep",
    "ensemble": "jaxml.methods.ensemble",
    "tune": "jaxml.tune.search",
    "contrastive": "jaxml.methods.contrastive", "zeroshot": "jaxml.methods.zeroshot",
    "fusion": "jaxml.methods.fusion", "cotrain": "jaxml.methods.cotrain",
    "speech": "jaxml.methods.speech",
}
SUITES = ("quick", "full")
DATA_KEYS = ("dataset", "env", "corpus")  # where a config names its data: a dataset, an RL env, a text corpus
TIMING_SUFFIXES = ("wall_s", "_per_s")  # result keys that measure time, kept in timing.json

log = logging.getLogger("jaxml")


def configs_dir() -> Path:
    """`$JAXML_CONFIGS_DIR`, else the repository's `configs/` next to the package."""
    env = os.environ.get("JAXML_CONFIGS_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "configs"


def experiment_names() -> list[str]:
    d = configs_dir()
    return sorted(p.stem for p in d.glob("*.py") if not p.stem.startswith("_")) if d.is_dir() else []


def resolve(name_or_path: str) -> tuple[str, Path]:
    """(experiment name, config path) for a registered name or a path to a config file."""
    path = Path(name_or_path)
    if name_or_path.endswith(".py") or path.is_file():
        if not path.is_file():
            raise JaxmlError(f"config file not found: {name_or_path}")
        return path.stem, path
    names = experiment_names()
    if name_or_path in names:
        return name_or_path, configs_dir() / f"{name_or_path}.py"
    close = difflib.get_close_matches(name_or_path, names, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise JaxmlError(f"unknown experiment '{name_or_path}'; {hint}run `jaxml list` for all {len(names)} experiments")


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"jaxml_configs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_method(method: str) -> str:
    """The module path that trains `method`, from the METHODS table (nothing is imported)."""
    if method not in METHODS:
        close = difflib.get_close_matches(method, list(METHODS), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise JaxmlError(f"config.method={method!r} is not registered{hint}; valid: {', '.join(sorted(METHODS))}")
    return METHODS[method]


def method_module(method: str) -> ModuleType:
    return importlib.import_module(check_method(method))


def train_fn(method: str) -> Callable[..., dict]:
    return method_module(method).train


@dataclasses.dataclass
class ExperimentInfo:
    name: str
    method: str
    dataset: str
    expected: dict[str, Any]
    suites: tuple[str, ...]
    path: Path

    @property
    def expected_text(self) -> str:
        return expectation_text(self.expected, with_metric=True, ascii_only=True)


def expectation_text(expected: dict[str, Any], *, with_metric: bool, ascii_only: bool = False) -> str:
    """E.g. 'test_accuracy >= 0.925 in <= 300 s' (or '≥ 0.925 in ≤ 300 s' without the metric)."""
    ge, le = (">=", "<=") if ascii_only else ("≥", "≤")
    parts = [str(expected["metric"])] if with_metric and expected.get("metric") else []
    if "at_least" in expected:
        parts.append(f"{ge} {expected['at_least']}")
    elif "at_most" in expected:
        parts.append(f"{le} {expected['at_most']}")
    if "max_wall_s" in expected:
        parts.append(f"in {le} {expected['max_wall_s']} s")
    for extra in expected.get("also", ()):  # further conditions, each always with its metric
        parts.append("and " + expectation_text(extra, with_metric=True, ascii_only=ascii_only))
    return " ".join(parts)


def data_name(config) -> str:
    """What the config trains on: its first key of DATA_KEYS ("" if it has none)."""
    return next((str(config[k]) for k in DATA_KEYS if k in config), "")


def info(name: str) -> ExperimentInfo:
    _, path = resolve(name)
    module = load_module(path)
    config = module.get_config()
    return ExperimentInfo(name=path.stem, method=config.get("method", "?"), dataset=data_name(config),
                          expected=dict(getattr(module, "EXPECTED", {})), suites=tuple(getattr(module, "SUITES", ())),
                          path=path)


def suite(name: str) -> list[ExperimentInfo]:
    if name not in SUITES:
        raise JaxmlError(f"unknown suite {name!r}; choose one of {', '.join(SUITES)}")
    return [i for i in (info(n) for n in experiment_names()) if name in i.suites]


# ----------------------------------------------------------------------------------------- training

def load_experiment_config(name_or_path: str, overrides: list[str]):
    """(experiment name, config with the `--config.k=v` overrides applied and validated)."""
    from jaxml.core import config as config_lib

    name, path = resolve(name_or_path)
    config = config_lib.load_config_file(path)
    config = config_lib.apply_overrides(config, config_lib.parse_override_args(overrides))
    check_method(config.get("method", ""))
    with config.unlocked():
        config.name = name
    return name, config


def write_json(path: Path, obj: Any) -> None:
    """Writes `obj` atomically (process 0 only)."""
    import jax

    from jaxml.core.run import write_text_atomic
    if jax.process_index() != 0:
        return
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=float) + "\n")


def split_timing(metrics: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results, timings): the keys that measure time (`*wall_s`, `*_per_s`) apart from the rest."""
    timing = {k: v for k, v in metrics.items() if k.endswith(TIMING_SUFFIXES)}
    return {k: v for k, v in metrics.items() if k not in timing}, timing


def read_result(workdir: str | Path) -> dict[str, Any]:
    """A finished workdir's results and timings together (result.json updated with timing.json)."""
    workdir = Path(workdir)
    result = json.loads((workdir / "result.json").read_text())
    if (workdir / "timing.json").exists():
        result.update(json.loads((workdir / "timing.json").read_text()))
    return result


def run_training(name: str, config, workdir: str | Path) -> dict[str, Any]:
    """Trains (or resumes) one experiment in `workdir` on the run skeleton's `WorkdirSession` (lock,
    config.json written only once the run proceeds); writes result.json, timing.json and the learning
    curve. Returns the results and timings together."""
    import jax

    from jaxml.core import config as config_lib, parallel
    from jaxml.core.plots import plot_learning_curves
    from jaxml.core.run import WorkdirSession, current_session

    workdir = Path(workdir)
    outer = current_session(workdir)
    with contextlib.nullcontext(outer) if outer else WorkdirSession(workdir, is_primary=jax.process_index() == 0) \
            as session:
        session.config_json = config_lib.to_json(config)
        previous = session.previous
        if previous is not None and (previous.get("name"), previous.get("method")) != (name, config.method):
            raise JaxmlError(f"workdir {workdir} holds a run of {previous.get('name')} (method "
                             f"{previous.get('method')}), not {name}; use another --workdir")
        # The devices the run is spread over, for its record: `parallel.num_devices` (0: all visible)
        # times the RL runner's `parallel.seed_devices`; a method without a `parallel` group uses one.
        par = config.get("parallel", None) or {}
        num = int(par.get("num_devices", 1))
        mesh = parallel.make_mesh(num * int(par.get("seed_devices", 1)) if num else 0)
        t0 = time.time()
        metrics = train_fn(config.method)(config, workdir)
        session.commit_config()
        metrics, timing = split_timing(metrics)
        timing = {"wall_s": round(time.time() - t0, 2), **timing}
        result = {"experiment": name, "method": config.method,
                  "steps": int(metrics.pop("steps", config.get("steps", 0))),
                  "devices": parallel.describe_devices(mesh), "jax_version": jax.__version__, **metrics}
        write_json(workdir / "result.json", result)
        write_json(workdir / "timing.json", timing)
        if jax.process_index() == 0:
            out = workdir / "plots" / "learning_curve.png"
            if plot_learning_curves(workdir, title=name) is None:  # cross-validation: curves live in fold_k/
                folds = sorted(workdir.glob("fold_*"))
                if folds:
                    plot_learning_curves(folds[0], title=f"{name} ({folds[0].name} of {len(folds)})", out=out)
    return {**result, **timing}
