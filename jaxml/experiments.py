"""Registry: experiment name -> config file; method name -> module with `train(config, workdir)`.

An experiment is `configs/<name>.py`. Besides `get_config()`, its module may define
`EXPECTED = {"metric": ..., "at_least"/"at_most": ..., "reference": ...}` (what `jaxml reproduce`
checks) and `SUITES = ("quick", "full")`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import os
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
    "lm": "jaxml.methods.lm", "mlm": "jaxml.methods.mlm",
    "sequence_labeling": "jaxml.methods.sequence_labeling", "seq2seq": "jaxml.methods.seq2seq",
    **{agent: "jaxml.rl.runner" for agent in ("dqn", "qlearning", "reinforce", "ppo", "ddpg", "td3")},
}
SUITES = ("quick", "full")


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


def method_module(method: str) -> ModuleType:
    if method not in METHODS:
        close = difflib.get_close_matches(method, list(METHODS), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise JaxmlError(f"config.method={method!r} is not registered{hint}; valid: {', '.join(sorted(METHODS))}")
    return importlib.import_module(METHODS[method])


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


def info(name: str) -> ExperimentInfo:
    _, path = resolve(name)
    module = load_module(path)
    config = module.get_config()
    return ExperimentInfo(name=path.stem, method=config.get("method", "?"), dataset=str(config.get("dataset", config.get("env", ""))),
                          expected=dict(getattr(module, "EXPECTED", {})), suites=tuple(getattr(module, "SUITES", ())),
                          path=path)


def suite(name: str) -> list[ExperimentInfo]:
    if name not in SUITES:
        raise JaxmlError(f"unknown suite {name!r}; choose one of {', '.join(SUITES)}")
    return [i for i in (info(n) for n in experiment_names()) if name in i.suites]
