"""Typed agent hyper-parameters: frozen dataclasses read once from an ml_collections config.

An agent declares its hyper-parameters as a frozen dataclass that subclasses `AgentConfig`. Every
field is a `param(...)` that declares what is valid: a range (`ge` / `gt` / `le` / `lt`), or
`choices`, and the config key it is read from when that is not the field name
(`key="parallel.num_devices"`). The field's annotation gives its type: `int`, `float` (a Python int
is accepted and stored as a float), `bool`, `str`, `tuple[int, ...]` (non-empty; the range applies
to every entry), `EnvOverrides` (a dict, kept as sorted (name, value) pairs), `X | None` (with a
default of None), or another `AgentConfig` subclass, whose fields are read from the same level of
the config (a group of related switches).

`Cls.from_config(config)` reads every field from the ConfigDict (keys it does not declare are
ignored; a missing key takes the field's default, else is an error). Every instance checks its
fields when it is made and then runs the class's `check()` for cross-field constraints. A bad value
raises one `JaxmlError` line naming `config.<key>`, the value and the valid range or choices, e.g.
`config.gamma must be a number in [0, 1], got 1.5`.

Instances are frozen and hashable: a step closes over one, or takes one as a static argument under
`jax.jit`. `to_config()` gives the ConfigDict of the keys an instance was read from.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from typing import Any, Callable, TypeVar

import ml_collections
import numpy as np

from jaxml.errors import JaxmlError

_META = "jaxml_param"

C = TypeVar("C", bound="AgentConfig")


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """What one field accepts: bounds (None: unbounded), choices, and the config key."""

    key: str | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None

    def bounds_text(self) -> str:
        """'in [0, 1]', '> 0', '>= 1', ... ('' when unbounded)."""
        lo = (f"[{self.ge:g}", f">= {self.ge:g}") if self.ge is not None else \
             (f"({self.gt:g}", f"> {self.gt:g}") if self.gt is not None else None
        hi = (f"{self.le:g}]", f"<= {self.le:g}") if self.le is not None else \
             (f"{self.lt:g})", f"< {self.lt:g}") if self.lt is not None else None
        if lo and hi:
            return f"in {lo[0]}, {hi[0]}"
        return (lo or hi or ("",))[-1]

    def in_bounds(self, x) -> bool:
        return not ((self.ge is not None and x < self.ge) or (self.gt is not None and x <= self.gt)
                    or (self.le is not None and x > self.le) or (self.lt is not None and x >= self.lt))


def param(*, key: str | None = None, ge: float | None = None, gt: float | None = None,
          le: float | None = None, lt: float | None = None, choices=None,
          default: Any = dataclasses.MISSING, kw_only: bool = False) -> Any:
    """A hyper-parameter field of an `AgentConfig`: its valid range or choices and config key
    (`kw_only`: a field with a default that a subclass's fields without one may follow)."""
    spec = ParamSpec(key=key, ge=ge, gt=gt, le=le, lt=lt,
                     choices=None if choices is None else tuple(choices))
    return dataclasses.field(default=default, metadata={_META: spec}, kw_only=kw_only)


# ----------------------------------------------------------------------------------- value kinds
# kind -> (what it is called in an error, converter returning the value or None when the type is wrong)


def _as_int(v):
    return int(v) if isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) else None


def _as_float(v):
    ok = isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v)
    return float(v) if ok else None


def _as_bool(v):
    return bool(v) if isinstance(v, (bool, np.bool_)) else None


def _as_str(v):
    return v if isinstance(v, str) else None


def _as_int_tuple(v):
    if not isinstance(v, (tuple, list)) or not v:
        return None
    out = tuple(_as_int(x) for x in v)
    return None if any(x is None for x in out) else out


# Environment parameter overrides (`config.env_params`, e.g. {"normalize_time": True}): stored as a
# sorted tuple of (name, value) pairs so the frozen config stays hashable; `make_env` checks the names.
EnvOverrides = tuple[tuple[str, Any], ...]


def _as_overrides(v):
    if isinstance(v, (dict, ml_collections.ConfigDict)):
        items = v.items()
    elif isinstance(v, (tuple, list)) and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in v):
        items = v
    else:
        return None
    pairs = tuple(sorted((k, x) for k, x in items))
    return pairs if all(isinstance(k, str) for k, _ in pairs) else None


KINDS: dict[Any, tuple[str, Callable[[Any], Any]]] = {
    int: ("an int", _as_int),
    float: ("a number", _as_float),
    bool: ("True or False", _as_bool),
    str: ("a string", _as_str),
    tuple[int, ...]: ("a non-empty tuple of ints", _as_int_tuple),
    EnvOverrides: ("a dict of environment parameters", _as_overrides),
}


def _optional_inner(tp):
    """X for `X | None` / `Optional[X]`, else None."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
    return None


def _spec(f: dataclasses.Field) -> ParamSpec:
    return f.metadata.get(_META, ParamSpec())


def _key_of(f: dataclasses.Field) -> str:
    """The config key a field is read from."""
    return _spec(f).key or f.name


def _is_group(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, AgentConfig)


def check_value(name: str, tp: Any, spec: ParamSpec, value: Any) -> Any:
    """`value` converted to the field's type after checking type, range and choices; else one
    JaxmlError line naming `config.<name>`, the value and what is valid."""
    inner = _optional_inner(tp)
    if inner is not None:
        return None if value is None else check_value(name, inner, spec, value)
    if spec.choices is not None:
        if isinstance(value, (bool, np.bool_)) or value not in spec.choices:
            raise JaxmlError(f"config.{name}={value!r} is not valid; choose one of "
                             f"{', '.join(map(str, spec.choices))}")
        return value
    if tp not in KINDS:
        raise TypeError(f"AgentConfig field config.{name}: unsupported type {tp!r}; use one of "
                        f"{', '.join(map(str, KINDS))}")
    what, convert = KINDS[tp]
    out = convert(value)
    entries = out if isinstance(out, tuple) else (out,)
    if out is None or not all(spec.in_bounds(x) for x in entries):
        bounds = spec.bounds_text()
        raise JaxmlError(f"config.{name} must be {what}{' ' + bounds if bounds else ''}, got {value!r}")
    return out


def _read(config, key: str):
    """config[a][b] for key 'a.b' (works on ConfigDicts and dicts); KeyError when absent."""
    node = config
    for part in key.split("."):
        try:
            node = node[part]
        except (KeyError, TypeError, AttributeError):
            raise KeyError(key) from None
    return node


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """Base of the agents' typed hyper-parameters (see the module docstring)."""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            tp, value = hints[f.name], getattr(self, f.name)
            if _is_group(tp):
                if not isinstance(value, tp):
                    raise JaxmlError(f"{type(self).__name__}.{f.name} must be a {tp.__name__}, got {value!r}")
                continue
            object.__setattr__(self, f.name, check_value(_key_of(f), tp, _spec(f), value))
        self.check()

    def check(self) -> None:
        """Cross-field constraints (a subclass's own small explicit checks); raise JaxmlError."""

    def check_at_most(self, name: str, limit: str, reason: str = "") -> None:
        """A cross-field check for `check()`: JaxmlError unless field `name` <= field `limit`."""
        value, bound = getattr(self, name), getattr(self, limit)
        if value > bound:
            keys = {f.name: _key_of(f) for f in dataclasses.fields(self)}
            raise JaxmlError(f"config.{keys[name]}={value!r} exceeds config.{keys[limit]}={bound!r}"
                             + (f": {reason}" if reason else ""))

    def check_replay_fits(self) -> None:
        """`check()` of a replay agent (fields batch_size, buffer_size, num_envs, total_env_steps):
        a batch and one vec step fit the buffer, and one iteration fits the run."""
        self.check_at_most("batch_size", "buffer_size")
        self.check_at_most("num_envs", "buffer_size")
        self.check_at_most("num_envs", "total_env_steps", "no iteration would run")

    def check_rollout_fits(self) -> None:
        """`check()` of a rollout agent (fields num_envs, num_steps, total_env_steps): one
        iteration's rollout fits the run."""
        if self.total_env_steps < self.num_envs * self.num_steps:
            raise JaxmlError(f"config.total_env_steps={self.total_env_steps} < num_envs * num_steps = "
                             f"{self.num_envs * self.num_steps}: no iteration would run")

    def config_items(self) -> dict[str, Any]:
        """{config key: value} of every field (groups flattened; nested keys dotted)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, AgentConfig):
                out.update(value.config_items())
            else:
                out[_key_of(f)] = value
        return out

    def to_config(self) -> ml_collections.ConfigDict:
        """The keys this instance was read from, as a ConfigDict; `from_config` of it is equal."""
        tree: dict[str, Any] = {}
        for key, value in self.config_items().items():
            *parents, leaf = key.split(".")
            node = tree
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return ml_collections.ConfigDict(tree)

    @classmethod
    def from_config(cls: type[C], config) -> C:
        """Reads every field from an ml_collections ConfigDict (or a dict); an instance of `cls` is
        returned as it is."""
        if isinstance(config, cls):
            return config
        hints = typing.get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            if _is_group(tp):
                values[f.name] = tp.from_config(config)
                continue
            key = _key_of(f)
            try:
                values[f.name] = _read(config, key)
            except KeyError:
                if f.default is dataclasses.MISSING:
                    raise JaxmlError(f"config.{key} is missing ({cls.__name__} needs it)") from None
        return cls(**values)
