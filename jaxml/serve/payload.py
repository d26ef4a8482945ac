"""Request bodies -> validated input arrays; model outputs -> JSON (numpy only, pure functions).

`POST /v1/predict` takes `{"inputs": [[...], ...]}` (nested lists, a batch of n examples) or
`{"inputs": {"b64": "...", "dtype": "uint8", "shape": [n, ...]}}` (the raw little-endian bytes,
base64-encoded), and optionally `"return": ["logits", "probabilities", "labels"]` (default all).
`POST /v1/generate` takes `{"prompt": "...", "max_tokens": n, "temperature": t, "top_k": k, "seed": s,
"stop": "...", "stream": false}` (`decode_generate`; all but the prompt optional).
Every mistake is a `RequestError`: an HTTP status, the field, and a one-line message that says what
was expected (shape, dtype, range).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math
from typing import Any

import numpy as np

from jaxml.errors import JaxmlError

OUTPUTS = ("logits", "probabilities", "labels")
B64_DTYPES = ("uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "float16", "float32", "float64")


class RequestError(Exception):
    """A client mistake: status (4xx), the offending field, one line saying what was expected."""

    def __init__(self, status: int, field: str | None, message: str):
        super().__init__(message)
        self.status, self.field, self.message = status, field, " ".join(message.split())

    def body(self) -> dict:
        return {"error": {"field": self.field, "message": self.message}}


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise RequestError(400, None, f"the body is not valid JSON ({type(e).__name__}: "
                                      f"{str(e).splitlines()[0][:120]})") from None


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _decode_b64(value: dict) -> np.ndarray:
    for key in ("b64", "dtype", "shape"):
        if key not in value:
            raise RequestError(422, f"inputs.{key}", f"base64 inputs need b64, dtype and shape; {key} is missing")
    if value["dtype"] not in B64_DTYPES:
        raise RequestError(422, "inputs.dtype", f"dtype must be one of {', '.join(B64_DTYPES)}; got {value['dtype']!r}")
    shape = value["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape):
        raise RequestError(422, "inputs.shape", f"shape must be a list of non-negative ints; got {shape!r}")
    if not isinstance(value["b64"], str):
        raise RequestError(422, "inputs.b64", "b64 must be a base64 string")
    try:
        raw = base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(422, "inputs.b64", "b64 is not valid base64") from None
    dtype = np.dtype(value["dtype"]).newbyteorder("<")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise RequestError(422, "inputs.b64", f"{len(raw)} bytes do not fill shape {_shape_text(shape)} of "
                                              f"{value['dtype']} ({expected} bytes)")
    # no copy here: `_check_values` copies once
    return np.frombuffer(raw, dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=False)


def _from_lists(value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise RequestError(422, "inputs", "inputs must be a rectangular nested list of numbers (rows of equal "
                                          "length)") from None
    if array.dtype.kind not in "iuf":
        kind = "booleans" if array.dtype.kind == "b" else "not numbers or not rectangular"
        raise RequestError(422, "inputs", f"inputs must be a rectangular nested list of numbers; these are {kind}")
    return array


def decode_inputs(body: Any, signature, max_rows: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """(inputs as the model's dtype [n, *signature.shape], the outputs asked for)."""
    if not isinstance(body, dict):
        raise RequestError(422, None, 'the body must be a JSON object {"inputs": ...}')
    unknown = sorted(set(body) - {"inputs", "return"})
    if unknown:
        raise RequestError(422, unknown[0], f"unknown field {unknown[0]!r}; the fields are inputs, return")
    wanted = body.get("return", list(OUTPUTS))
    if not isinstance(wanted, list) or not wanted or any(w not in OUTPUTS for w in wanted):
        raise RequestError(422, "return", f"return must be a non-empty list of {', '.join(OUTPUTS)}; got {wanted!r}")
    if "inputs" not in body:
        raise RequestError(422, "inputs", f"inputs is missing; expected a batch of shape "
                                          f"{_shape_text(['n', *signature.shape])} ({signature.dtype})")
    value = body["inputs"]
    array = _decode_b64(value) if isinstance(value, dict) else _from_lists(value)
    expected = _shape_text(["n", *signature.shape])
    if array.ndim >= 1 and len(array) == 0:
        raise RequestError(422, "inputs", f"expected shape {expected} with n >= 1; got an empty batch")
    if array.ndim != 1 + len(signature.shape) or tuple(array.shape[1:]) != signature.shape:
        raise RequestError(422, "inputs", f"expected shape {expected} ({signature.dtype}); got "
                                          f"{_shape_text(array.shape)}")
    if len(array) > max_rows:
        raise RequestError(413, "inputs", f"{len(array)} rows exceed the limit of {max_rows} per request "
                                          f"(--max-request-rows)")
    return _check_values(array, signature), tuple(dict.fromkeys(wanted))


def _check_values(array: np.ndarray, signature) -> np.ndarray:
    target = signature.dtype
    if np.issubdtype(target, np.integer):
        if array.dtype.kind == "f":
            what = "NaN or infinite values" if not np.isfinite(array).all() else "floating-point values"
            raise RequestError(422, "inputs", f"expected integers ({target}) in {list(signature.value_range)}; "
                                              f"got {what}")
        lo, hi = signature.value_range
        low, high = int(array.min()), int(array.max())
        if low < lo or high > hi:
            bad = low if low < lo else high
            raise RequestError(422, "inputs", f"values must be in [{lo}, {hi}] ({target}); got {bad}")
        return array.astype(target)
    finite = np.isfinite(array)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise RequestError(422, "inputs", f"values must be finite {target}; got {array[where]} at index "
                                          f"{list(where)}")
    return array.astype(target)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def encode_outputs(outputs: np.ndarray, wanted: tuple[str, ...], class_names=None) -> dict:
    """logits (as computed), probabilities (softmax over the last axis), labels (argmax; and their class names)."""
    out: dict[str, Any] = {}
    if "logits" in wanted:
        out["logits"] = outputs.tolist()
    if "probabilities" in wanted:
        out["probabilities"] = _softmax(outputs).tolist()
    if "labels" in wanted:
        labels = outputs.argmax(axis=-1)
        out["labels"] = labels.tolist()
        if class_names and labels.ndim == 1:
            out["label_names"] = [str(class_names[i]) for i in labels]
    return out


@dataclasses.dataclass(frozen=True)
class GenerateRequest:
    """A checked `/v1/generate` body: the prompt as token ids, how many new tokens at most, the sampling
    settings (temperature 0 is greedy; top_k 0 keeps every token), where to stop, whether to stream."""

    prompt_ids: np.ndarray  # int32 [P], P >= 1
    max_tokens: int
    temperature: float = 0.0
    top_k: int = 0
    seed: int = 0
    stop: str | None = None
    stream: bool = False


GENERATE_FIELDS = ("prompt", "max_tokens", "temperature", "top_k", "seed", "stop", "stream")
MAX_TEMPERATURE = 100.0


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode_generate(body: Any, tokenizer, max_len: int, default_seed: int = 0) -> GenerateRequest:
    """A `/v1/generate` body -> GenerateRequest; `tokenizer.encode` must refuse characters outside the
    vocabulary (with a JaxmlError); the prompt plus max_tokens must fit the model's max_len."""
    if not isinstance(body, dict):
        raise RequestError(422, None, 'the body must be a JSON object {"prompt": ..., "max_tokens": ...}')
    unknown = sorted(set(body) - set(GENERATE_FIELDS))
    if unknown:
        raise RequestError(422, unknown[0], f"unknown field {unknown[0]!r}; the fields are {', '.join(GENERATE_FIELDS)}")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise RequestError(422, "prompt", f"prompt must be a non-empty string; got {prompt!r:.60}")
    try:
        ids = np.asarray(tokenizer.encode(prompt), np.int32)
    except (ValueError, JaxmlError) as e:
        raise RequestError(422, "prompt", str(e)) from None
    if len(ids) >= max_len:
        raise RequestError(422, "prompt", f"the prompt has {len(ids)} tokens; the model's context is {max_len}, "
                                          f"so at most {max_len - 1} leave room for a new one")
    room = max_len - len(ids)
    max_tokens = body.get("max_tokens", min(64, room))
    if not _is_int(max_tokens) or not 1 <= max_tokens <= room:
        raise RequestError(422, "max_tokens", f"max_tokens must be an int in [1, {room}] (the context {max_len} "
                                              f"minus the prompt's {len(ids)}); got {max_tokens!r}")
    temperature = body.get("temperature", 0.0)
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not math.isfinite(temperature) \
            or not 0 <= temperature <= MAX_TEMPERATURE:
        raise RequestError(422, "temperature", f"temperature must be a number in [0, {MAX_TEMPERATURE:g}] "
                                               f"(0: greedy); got {temperature!r}")
    vocab = tokenizer.vocab_size
    top_k = body.get("top_k", 0)
    if not _is_int(top_k) or not 0 <= top_k <= vocab:
        raise RequestError(422, "top_k", f"top_k must be an int in [0, {vocab}] (0: every token); got {top_k!r}")
    seed = body.get("seed", default_seed)
    if not _is_int(seed) or not 0 <= seed < 2**32:
        raise RequestError(422, "seed", f"seed must be an int in [0, 2**32 - 1]; got {seed!r}")
    stop = body.get("stop")
    if stop is not None and (not isinstance(stop, str) or not stop):
        raise RequestError(422, "stop", f"stop must be a non-empty string; got {stop!r}")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError(422, "stream", f"stream must be true or false; got {stream!r}")
    return GenerateRequest(ids, int(max_tokens), float(temperature), int(top_k), int(seed), stop, stream)
