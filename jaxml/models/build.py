"""`build_model`: the classifier module a config's `model` group names, with its fields checked."""

from __future__ import annotations

import dataclasses

import ml_collections

from jaxml.errors import JaxmlError
from jaxml.models import MODELS
from jaxml.models.layers import CONV_IMPLS, POOL_IMPLS, compute_dtype


def build_model(config: ml_collections.ConfigDict, num_classes: int):
    """The Flax module named by `config.model.name`, its other keys passed as fields."""
    spec = dict(config.model.to_dict())
    name = spec.pop("name")
    if name not in MODELS:
        raise JaxmlError(f"config.model.name={name!r} is not valid; choose one of {', '.join(MODELS)}")
    cls = MODELS[name]
    fields = {f.name for f in dataclasses.fields(cls)} - {"parent", "name", "num_classes", "dtype"}
    unknown = sorted(set(spec) - fields)
    if unknown:
        raise JaxmlError(f"config.model.{unknown[0]} is not a field of model {name!r}; valid: {', '.join(sorted(fields))}")
    if spec.get("conv_impl", "slices") not in CONV_IMPLS:
        raise JaxmlError(f"config.model.conv_impl={spec['conv_impl']!r} is not valid; choose one of {', '.join(CONV_IMPLS)}")
    if spec.get("pool_impl", "reshape") not in POOL_IMPLS:
        raise JaxmlError(f"config.model.pool_impl={spec['pool_impl']!r} is not valid; choose one of {', '.join(POOL_IMPLS)}")
    for k, v in spec.items():
        if isinstance(v, list):
            spec[k] = tuple(v)
    return cls(num_classes=num_classes, dtype=compute_dtype(config.dtype), **spec)
