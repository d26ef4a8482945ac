"""`choose`: a strategy by name from a registry of values, or one clear error naming the choices.

Variants of a technique (loss kinds, weighting strategies, attack modes, ...) are values in a dict
`{name: bundle of pure functions}`; a method looks its variant up once, when it builds its recipe,
and its step calls the bundle's functions instead of comparing names.
"""

from __future__ import annotations

from typing import Mapping, TypeVar

from jaxml.errors import JaxmlError

T = TypeVar("T")


def choose(registry: Mapping[str, T], name: str, key: str) -> T:
    """`registry[name]`; an unknown name is a JaxmlError naming `key` (e.g. "config.weighting") and
    every valid choice."""
    if name not in registry:
        raise JaxmlError(f"{key}={name!r} is not valid; choose one of {', '.join(registry)}")
    return registry[name]
