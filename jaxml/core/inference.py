"""A method's inference function as a value: what `jaxml export` (and serving) asks a method for.

A method that can be exported exposes `inference_fn(config) -> Inference`. The caller restores the
trained state into `Inference.init`'s structure (from the workdir's checkpoint), then
`Inference.fn(state)` is the pure function inputs -> outputs with that state's parameters closed
over; any input preprocessing (the normaliser, a token cast) is part of it, so it takes inputs as
the data stores them. `example` is one batch of such inputs: its shape after the batch axis and its
dtype are the exported signature (the batch size stays symbolic).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import jax
import numpy as np


@dataclasses.dataclass(frozen=True)
class Inference:
    """init(key) -> the train state's template; fn(state) -> f(inputs) -> outputs; an example input
    batch; meta: what the outputs are (and what a user needs to read them: class names, a tokenizer)."""

    init: Callable[[jax.Array], Any]
    fn: Callable[[Any], Callable[[jax.Array], jax.Array]]
    example: np.ndarray
    meta: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Decoding:
    """What serving needs to sample text from a language model with its KV cache (`jaxml serve`'s
    `/v1/generate`): init(key) -> the train state's template (the same structure `Inference.init`
    builds, so one restored state serves both); params(state) -> the decoder's parameters; cfg: the
    `models.transformer.TransformerConfig` of the decoder; tokenizer: its `data.text.CharTokenizer`."""

    init: Callable[[jax.Array], Any]
    params: Callable[[Any], Any]
    cfg: Any
    tokenizer: Any
