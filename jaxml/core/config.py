"""Experiment configs: load `configs/<name>.py`, apply typed `--config.key=value` overrides, validate.

A config file defines `get_config() -> ml_collections.ConfigDict`. Overrides are typed by the value
already in the config (int, float, bool, str, tuple/list, None); an unknown key or a value of the
wrong type raises `JaxmlError` naming the key, the valid keys or the expected type.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import math
import numbers
from pathlib import Path
from typing import Any, Iterable

import ml_collections

from jaxml.errors import JaxmlError

# Keys whose values must come from a fixed set, wherever they appear in a config.
CHOICES: dict[str, tuple[Any, ...]] = {
    "dtype": ("float32", "bfloat16", "float16"),
}

# Ranges of numeric keys, wherever they appear in a config (checked once, after the overrides):
# key -> (low, high, low_exclusive). For a tuple the range holds for every element; keys in
# NONEMPTY must not be empty tuples.
_STEPS, _SEED = 10**9, 2**31 - 1
_WIDTH = 65_536  # layer widths / channels: wider than this is a typo, not a model for this codebase
_FRACTION = (0.0, 1.0, False)
BOUNDS: dict[str, tuple[float | None, float | None, bool]] = {
    "steps": (1, _STEPS, False), "total_env_steps": (1, 10**12, False),
    "batch_size": (1, 2**24, False), "eval_batch_size": (1, 2**24, False),
    "log_every": (1, _STEPS, False), "eval_every": (0, 10**12, False), "checkpoint_every": (0, _STEPS, False),
    "keep_checkpoints": (1, 10_000, False), "warmup_steps": (0, _STEPS, False),
    "seed": (0, _SEED, False), "data_seed": (0, _SEED, False), "test_seed": (0, _SEED, False),
    "num_seeds": (1, 10_000, False), "num_envs": (1, 2**24, False), "eval_episodes": (1, 10**7, False),
    "num_devices": (0, 2**16, False), "cv_folds": (0, 1000, False), "shift": (0, 64, False),
    "learning_rate": (0.0, None, True), "pretrain_learning_rate": (0.0, None, True),
    "qat_learning_rate": (0.0, None, True), "gen_lr": (0.0, None, True), "disc_lr": (0.0, None, True),
    "inner_lr": (0.0, None, True),
    "weight_decay": (0.0, None, False), "grad_clip": (0.0, None, False), "mixup_alpha": (0.0, None, False),
    "momentum": _FRACTION, "gamma": _FRACTION, "tau": _FRACTION, "dropout": (0.0, 0.999, False),
    "label_smoothing": (0.0, 0.999, False), "validation_fraction": (0.0, 0.999, False), "mask_rate": _FRACTION,
    "hidden": (1, _WIDTH, False), "features": (1, _WIDTH, False), "widths": (1, _WIDTH, False),
    "dense": (1, _WIDTH, False), "embed_dim": (1, _WIDTH, False), "num_heads": (1, 4096, False),
    "num_layers": (1, 4096, False),
    "buffer_size": (1, 2**27, False),
    "grad_accum": (1, 4096, False), "patience": (0, 10**6, False), "min_delta": (0.0, None, False),
}
NONEMPTY = ("hidden", "features", "widths")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def load_config_file(path: str | Path) -> ml_collections.ConfigDict:
    """Imports a config file and returns its `get_config()`."""
    path = Path(path)
    if not path.is_file():
        raise JaxmlError(f"config file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"jaxml_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a broken config file is the user's to fix: say where
        raise JaxmlError(f"could not load config {path}: {type(e).__name__}: {e}") from e
    if not hasattr(module, "get_config"):
        raise JaxmlError(f"config {path} defines no get_config()")
    config = module.get_config()
    if not isinstance(config, ml_collections.ConfigDict):
        raise JaxmlError(f"config {path}: get_config() must return an ml_collections.ConfigDict")
    return config


def config_docstring(path: str | Path) -> str:
    """The module docstring of a config file, without importing it."""
    tree = ast.parse(Path(path).read_text())
    return ast.get_docstring(tree) or ""


def _parse_value(key: str, text: str, current: Any) -> Any:
    """Parses `text` into the type of `current`; raises JaxmlError naming the key on a mismatch."""
    def bad(expected: str) -> JaxmlError:
        return JaxmlError(f"--config.{key}={text}: expected {expected}, got {text!r}")

    if isinstance(current, bool):
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise bad("a bool (true/false)")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise bad("an int") from None
            if as_float.is_integer():
                return int(as_float)
            raise bad("an int") from None
    if isinstance(current, float):
        try:
            return float(text)
        except ValueError:
            raise bad("a float") from None
    if isinstance(current, (tuple, list)):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = tuple(part.strip() for part in text.split(",") if part.strip())
        if not isinstance(value, (tuple, list)):
            value = (value,)
        return type(current)(_check_elements(key, text, value, current))
    if current is None:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    if isinstance(current, str):
        return text
    raise JaxmlError(f"--config.{key}: cannot override a value of type {type(current).__name__}")


def _element_kind(values: Any) -> type | None:
    """The one scalar type of a tuple's elements (int, float, str or bool), else None."""
    kinds = {bool if isinstance(v, bool) else int if isinstance(v, numbers.Integral) else
             float if isinstance(v, numbers.Real) else str if isinstance(v, str) else None for v in values}
    if kinds == {int, float}:
        return float
    return kinds.pop() if len(kinds) == 1 else None


def _check_elements(key: str, text: str, value: Any, current: Any) -> Any:
    """The override's elements, checked to be of the type of the current tuple's elements."""
    kind = _element_kind(current)
    if kind is None:
        return value
    names = {int: "ints", float: "numbers", str: "strings", bool: "bools"}
    out = []
    for v in value:
        ok = (isinstance(v, bool) if kind is bool else
              isinstance(v, numbers.Integral) and not isinstance(v, bool) if kind is int else
              isinstance(v, numbers.Real) and not isinstance(v, bool) if kind is float else isinstance(v, str))
        if not ok:
            raise JaxmlError(f"--config.{key}={text}: expected a tuple of {names[kind]}, got the element {v!r}")
        out.append(float(v) if kind is float else v)
    return out


def _flat_keys(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in config.items():
        full = f"{prefix}{k}"
        keys.append(full)
        if isinstance(v, ml_collections.ConfigDict):
            keys.extend(_flat_keys(v, full + "."))
    return keys


def flat_items(config: ml_collections.ConfigDict, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value) of every leaf of `config`, in its order: the keys `--config.KEY` sets."""
    items: list[tuple[str, Any]] = []
    for k, v in config.items():
        if isinstance(v, ml_collections.ConfigDict):
            items.extend(flat_items(v, f"{prefix}{k}."))
        else:
            items.append((f"{prefix}{k}", v))
    return items


def _unknown_key(config: ml_collections.ConfigDict, key: str, parent: ml_collections.ConfigDict,
                 parent_path: str, name: str) -> JaxmlError:
    """Names the valid keys at the failing level and the closest full keys (or names at that level)."""
    close = difflib.get_close_matches(key, _flat_keys(config), n=3, cutoff=0.6)
    if not close:  # e.g. a misspelled group name: suggest the closest name at that level
        close = [parent_path + m for m in difflib.get_close_matches(name, [str(k) for k in parent.keys()], n=3, cutoff=0.6)]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    siblings = ", ".join(sorted(parent.keys()))
    return JaxmlError(f"unknown config key '{key}'{hint} (valid keys here: {siblings})")


def set_override(config: ml_collections.ConfigDict, key: str, text: str) -> None:
    """Applies one `key=text` override in place (nested keys with dots)."""
    parts = key.split(".")
    node = config
    for i, part in enumerate(parts[:-1]):
        if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
            raise _unknown_key(config, key, node, "".join(p + "." for p in parts[:i]), part)
        node = node[part]
    leaf = parts[-1]
    if leaf not in node:
        raise _unknown_key(config, key, node, "".join(p + "." for p in parts[:-1]), leaf)
    current = node[leaf]
    if isinstance(current, ml_collections.ConfigDict):
        raise JaxmlError(f"--config.{key} is a group; set one of its keys: {', '.join(sorted(current.keys()))}")
    value = _parse_value(key, text, current)
    with node.ignore_type():
        node[leaf] = value


def parse_override_args(args: Iterable[str]) -> list[tuple[str, str]]:
    """Turns `--config.a.b=v` / `--config.a.b v` arguments into (key, value) pairs."""
    pairs = []
    args = list(args)
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--config."):
            raise JaxmlError(f"unexpected argument {arg!r}; overrides look like --config.key=value")
        body = arg[len("--config."):]
        if "=" in body:
            key, value = body.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            key, value = body, args[i + 1]
            i += 1
        else:
            raise JaxmlError(f"{arg}: missing value; write --config.{body}=VALUE")
        pairs.append((key, value))
        i += 1
    return pairs


def _out_of_range(value: Any, lo, hi, lo_open: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return True
    if not math.isfinite(value):
        return True
    return (lo is not None and (value <= lo if lo_open else value < lo)) or (hi is not None and value > hi)


def validate_bounds(config: ml_collections.ConfigDict, prefix: str = "") -> None:
    """Checks every key named in BOUNDS / NONEMPTY, at any level of the config."""
    for k, v in config.items():
        full = f"{prefix}{k}"
        if isinstance(v, ml_collections.ConfigDict):
            validate_bounds(v, full + ".")
            continue
        if k in NONEMPTY and isinstance(v, (tuple, list)) and not v:
            raise JaxmlError(f"config.{full}=() is empty; give at least one value, e.g. (64,)")
        if k not in BOUNDS or v is None:
            continue
        lo, hi, lo_open = BOUNDS[k]
        values = v if isinstance(v, (tuple, list)) else (v,)
        bad = [x for x in values if _out_of_range(x, lo, hi, lo_open)]
        if bad:
            low = f"({lo}" if lo_open else f"[{lo if lo is not None else '-inf'}"
            span = f"{low}, {hi if hi is not None else 'inf'}]"
            what = "every element must be" if isinstance(v, (tuple, list)) else "must be"
            raise JaxmlError(f"config.{full}={v!r} is out of range: {what} in {span}")


def validate(config: ml_collections.ConfigDict) -> None:
    """The checks every config passes once, after its overrides: choices and numeric ranges."""
    validate_choices(config)
    validate_bounds(config)


def validate_choices(config: ml_collections.ConfigDict) -> None:
    """Checks every key listed in CHOICES that the config holds."""
    for key, choices in CHOICES.items():
        node: Any = config
        for part in key.split("."):
            if not isinstance(node, ml_collections.ConfigDict) or part not in node:
                node = None
                break
            node = node[part]
        if node is not None and node not in choices:
            raise JaxmlError(f"config.{key}={node!r} is not valid; choose one of {', '.join(map(str, choices))}")


def apply_overrides(config: ml_collections.ConfigDict, pairs: Iterable[tuple[str, str]]) -> ml_collections.ConfigDict:
    """Returns a copy of `config` with the overrides applied and validated."""
    config = ml_collections.ConfigDict(config.to_dict())
    for key, value in pairs:
        set_override(config, key, value)
    validate(config)
    return config


def to_json(config: ml_collections.ConfigDict) -> str:
    return json.dumps(config.to_dict(), indent=2, sort_keys=True, default=str)


def from_json(text: str) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(json.loads(text))


def from_dict(data: dict) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(data)


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """`value` as an int if it is a Python/numpy integer (not a bool) >= `minimum`; else JaxmlError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise JaxmlError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_number(value: Any, name: str, lo: float | None = None, hi: float | None = None, *,
                 allow_arrays: bool = False) -> Any:
    """A finite Python number within [lo, hi] (as float), else JaxmlError. With `allow_arrays`,
    non-Python values (jax arrays, possibly traced) are returned unchecked."""
    if allow_arrays and not isinstance(value, numbers.Real):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise JaxmlError(f"{name} must be a finite number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise JaxmlError(f"{name} must be in {bounds}, got {value!r}")
    return float(value)
