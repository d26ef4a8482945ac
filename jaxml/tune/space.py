"""The search space of `jaxml tune`: a Python file defining `space(trial) -> {config key: value}`,
loaded and checked against the experiment's config before anything is written."""

from __future__ import annotations

import importlib.util
import numbers
from pathlib import Path
from typing import Any, Callable

import ml_collections

from jaxml.errors import JaxmlError

SPACE_FUNCTION = "space"


def load_space(path: str | Path) -> Callable[[Any], dict[str, Any]]:
    """The `space(trial)` function of a space file; a missing or broken file is one JaxmlError."""
    path = Path(path)
    if not path.is_file():
        raise JaxmlError(f"search space file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"jaxml_space_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the user's file: say where and what
        raise JaxmlError(f"could not load search space {path}: {type(e).__name__}: {e}") from None
    fn = getattr(module, SPACE_FUNCTION, None)
    if not callable(fn):
        raise JaxmlError(f"search space {path} defines no {SPACE_FUNCTION}(trial) function returning "
                         "{config key: value}")
    return fn


def override_text(value: Any) -> str:
    """`value` as `--config.KEY=` text that `core.config` parses back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(override_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return repr(float(value))
    return str(value)


def _type_ok(value: Any, current: Any) -> bool:
    if current is None:
        return True
    if isinstance(current, bool):
        return isinstance(value, bool)
    if isinstance(current, numbers.Integral):
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if isinstance(current, numbers.Real):
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if isinstance(current, (tuple, list)):
        return isinstance(value, (tuple, list))
    return isinstance(value, type(current))


def space_overrides(config: ml_collections.ConfigDict, values: Any, source: str) -> list[str]:
    """The `--config.KEY=VALUE` arguments of a space's values, each checked against `config`: a
    mapping from existing keys to values of their type (else one JaxmlError naming `source`)."""
    from jaxml.core import config as config_lib

    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise JaxmlError(f"{source}: {SPACE_FUNCTION}(trial) must return a dict {{config key: value}}, got "
                         f"{type(values).__name__}")
    args = []
    for key, value in values.items():
        try:
            config_lib.set_override(ml_collections.ConfigDict(config.to_dict()), key, "0")
        except JaxmlError as e:
            if "unknown config key" in str(e) or "is a group" in str(e):
                raise JaxmlError(f"{source}: {e}") from None
        node: Any = config
        for part in key.split("."):
            node = node[part]
        if not _type_ok(value, node):
            raise JaxmlError(f"{source}: config.{key} holds a {type(node).__name__} ({node!r}); the space gave "
                             f"{value!r} ({type(value).__name__})")
        args.append(f"--config.{key}={override_text(value)}")
    try:
        config_lib.apply_overrides(config, config_lib.parse_override_args(args))
    except JaxmlError as e:
        raise JaxmlError(f"{source}: {e}") from None
    return args


def check_space(space: Callable, config: ml_collections.ConfigDict, source: str) -> list[str]:
    """Runs `space` on a trial of an in-memory study (nothing is stored) and checks its values."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial = optuna.create_study().ask()
    try:
        values = space(trial)
    except Exception as e:  # noqa: BLE001
        raise JaxmlError(f"{source}: {SPACE_FUNCTION}(trial) raised {type(e).__name__}: {e}") from None
    return space_overrides(config, values, source)
