"""Modules from a config's `model` group, its fields checked: `build_model` (the classifier it names)
and `transformer_config` (the character Transformer's `TransformerConfig`)."""

from __future__ import annotations

import dataclasses

import ml_collections

from jaxml.errors import JaxmlError
from jaxml.models import MODELS, remat as remat_lib
from jaxml.models.layers import CONV_IMPLS, DTYPES, POOL_IMPLS, compute_dtype
from jaxml.models.transformer import TransformerConfig


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


TRANSFORMER_FIELDS: tuple[str, ...] = ("num_layers", "num_heads", "embed_dim", "mlp_dim", "position", "impl", "dropout")
"""The `config.model` keys every character Transformer reads (a method may allow more, e.g. `tie_embeddings`)."""


def transformer_config(config: ml_collections.ConfigDict, vocab_size: int, max_len: int,
                       fields: tuple[str, ...] = TRANSFORMER_FIELDS) -> TransformerConfig:
    """`config.model` (each key one of `fields`; `mlp_dim` 0 = the default width), `config.dtype` and
    `config.remat` (activation checkpointing per block, `models.remat`) as a
    `TransformerConfig` over `vocab_size` tokens and sequences of up to `max_len`."""
    spec = dict(config.model.to_dict())
    unknown = sorted(set(spec) - set(fields))
    if unknown:
        raise JaxmlError(f"config.model.{unknown[0]} is not a transformer field; valid: {', '.join(fields)}")
    if config.dtype not in DTYPES:
        raise JaxmlError(f"config.dtype={config.dtype!r} is not valid; choose one of {', '.join(DTYPES)}")
    spec["mlp_dim"] = int(spec.get("mlp_dim") or 0) or None
    remat = remat_lib.check(str(config.get("remat", "none")))
    return TransformerConfig(vocab_size=vocab_size, max_len=max_len, dtype=DTYPES[config.dtype], remat=remat, **spec)
