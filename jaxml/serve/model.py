"""A served model: a workdir's newest checkpoint or a `jax.export` artifact, compiled once per
batch-size bucket at start-up.

Each bucket is an ahead-of-time compiled program (`jit(fn).lower(spec).compile()`), so a batch of
another shape is an error, never a silent recompilation; `compile_count()` counts the process's XLA
compilations (jax's backend-compile event, persistent-cache hits included), so that a test or the
metrics endpoint can show that none happen after warm-up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

import jax
import numpy as np

from jaxml.errors import JaxmlError

_COMPILES = {"n": 0}
_COMPILES_LOCK = threading.Lock()
_LISTENING = {"on": False}


def _on_event(event: str, duration: float, **_: Any) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        with _COMPILES_LOCK:
            _COMPILES["n"] += 1


def compile_count() -> int:
    """XLA compilations in this process since the first call (one listener, installed once)."""
    if not _LISTENING["on"]:
        jax.monitoring.register_event_duration_secs_listener(_on_event)
        _LISTENING["on"] = True
    return _COMPILES["n"]


@dataclasses.dataclass(frozen=True)
class Signature:
    """One input array: shape after the batch axis, dtype, and the valid value range (None: any finite)."""

    shape: tuple[int, ...]
    dtype: np.dtype
    value_range: tuple[int, int] | None

    def describe(self) -> dict:
        return {"shape": ["n", *self.shape], "dtype": str(self.dtype),
                "range": list(self.value_range) if self.value_range else "finite"}


def value_range(dtype: np.dtype, meta: Mapping[str, Any]) -> tuple[int, int] | None:
    """Token ids are in [0, vocab); other integer inputs in the dtype's range; floats: None (finite)."""
    if not np.issubdtype(dtype, np.integer):
        return None
    tokenizer = meta.get("tokenizer")
    if tokenizer:
        return 0, len(tokenizer.get("specials", [])) + len(tokenizer.get("chars", "")) - 1
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


class ServedModel:
    """fn compiled for each bucket; `run(x)` pads x to the smallest bucket that holds it. A language
    model also brings its `generator` (built and warmed before, so the warm-up count includes it)."""

    def __init__(self, fn: Callable, signature: Signature, buckets: tuple[int, ...], info: dict,
                 meta: Mapping[str, Any], generator: Any = None):
        self.generator = generator  # a warmed `generation.Generator` for a language model, else None
        self.signature = signature
        self.info = info
        self.meta = dict(meta)
        self.buckets = tuple(sorted(buckets))
        compile_count()  # listening before the warm-up
        jitted = jax.jit(fn)
        self.programs = {b: jitted.lower(jax.ShapeDtypeStruct((b, *signature.shape), signature.dtype)).compile()
                         for b in self.buckets}
        for b, program in self.programs.items():  # warm: the first call's one-off costs happen now
            jax.block_until_ready(program(np.zeros((b, *signature.shape), signature.dtype)))
        self.compiles_at_warmup = compile_count()

    def bucket_for(self, rows: int) -> int:
        return smallest_bucket(rows, self.buckets)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Outputs for the rows of x (len(x) <= the largest bucket), computed by one bucket's program."""
        bucket = self.bucket_for(len(x))
        padded = pad_rows(x, bucket)
        return np.asarray(self.programs[bucket](padded))[: len(x)]

    def describe(self) -> dict:
        return {**self.info, "input": self.signature.describe(), "buckets": list(self.buckets),
                "output": self.meta.get("output"), "class_names": self.meta.get("class_names"),
                "generate": None if self.generator is None else {"max_len": self.generator.max_len,
                                                                 "vocab_size": self.generator.tokenizer.vocab_size}}


def smallest_bucket(rows: int, buckets: tuple[int, ...]) -> int:
    for b in buckets:
        if rows <= b:
            return b
    raise ValueError(f"{rows} rows exceed the largest bucket {buckets[-1]}")


def pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """x with zero rows appended up to `rows` (the padding's outputs are dropped)."""
    if len(x) == rows:
        return x
    return np.concatenate([x, np.zeros((rows - len(x), *x.shape[1:]), x.dtype)])


def _result_metrics(directory: Path) -> dict:
    path = directory / "result.json"
    if not path.exists():
        return {}
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _newest_step(workdir: Path) -> int | None:
    steps = [int(p.name) for p in (workdir / "checkpoints").glob("*") if p.name.isdigit()]
    return max(steps) if steps else None


def load_workdir(workdir: Path, buckets: tuple[int, ...]) -> ServedModel:
    from jaxml import experiments
    from jaxml.core import config as config_lib
    from jaxml.methods.export import inference_of, restore_state

    config = config_lib.from_json((workdir / "config.json").read_text())
    inference = inference_of(config)
    state = restore_state(inference.init, config, workdir)
    fn, example, meta = inference.fn(state), np.asarray(inference.example), dict(inference.meta)
    generator = None
    module = experiments.method_module(config.method)
    if hasattr(module, "decoding_fn"):  # a language model: /v1/generate from its KV-cached decoder
        from jaxml.serve.generation import Generator

        decoding = module.decoding_fn(config)
        generator = Generator(decoding.cfg, decoding.params(state), decoding.tokenizer)
    step = _newest_step(workdir)
    result = json.loads((workdir / "result.json").read_text()) if (workdir / "result.json").exists() else {}
    name = result.get("experiment") or config.get("name") or workdir.resolve().name
    info = {"name": str(name), "method": config.method, "source": "workdir",
            "version": f"step-{step}" if step is not None else "unknown", "jax_version": jax.__version__,
            "metrics": _result_metrics(workdir)}
    signature = Signature(tuple(example.shape[1:]), example.dtype, value_range(example.dtype, meta))
    return ServedModel(fn, signature, buckets, info, meta, generator)


def load_artifact(directory: Path, buckets: tuple[int, ...]) -> ServedModel:
    """A `jaxml export --format jax` directory (model.jax + meta.json): only jax needed to run it."""
    meta = json.loads((directory / "meta.json").read_text())
    blob = (directory / meta.get("file", "model.jax")).read_bytes()
    exported = jax.export.deserialize(bytearray(blob))
    (aval,) = exported.in_avals
    batch = aval.shape[0]
    if isinstance(batch, int):  # exported for one concrete batch size: that is the only bucket
        if batch not in buckets:
            raise JaxmlError(f"the artifact {directory} was exported for batch size {batch} only; "
                             f"serve it with --buckets {batch}")
        buckets = (batch,)
    dtype = np.dtype(aval.dtype)
    workdir = directory.parent
    name = meta.get("name") or (workdir.name if (workdir / "config.json").exists() else directory.name)
    info = {"name": str(name), "method": meta.get("method"), "source": "artifact",
            "version": "sha256-" + hashlib.sha256(blob).hexdigest()[:12], "jax_version": meta.get("jax_version"),
            "metrics": _result_metrics(workdir)}
    signature = Signature(tuple(int(d) for d in aval.shape[1:]), dtype, value_range(dtype, meta))
    return ServedModel(exported.call, signature, buckets, info, meta)


def load_model(path: str | Path, buckets: tuple[int, ...]) -> ServedModel:
    """A workdir (config.json + checkpoints) or an export directory (meta.json + model.jax)."""
    path = Path(path)
    if path.is_file() and path.suffix == ".jax":
        path = path.parent
    if (path / "meta.json").exists() and (path / "model.jax").exists():
        return load_artifact(path, buckets)
    if (path / "config.json").exists():
        return load_workdir(path, buckets)
    raise JaxmlError(f"{path} is neither a jaxml workdir (config.json + checkpoints/) nor a `jaxml export` "
                     f"directory (meta.json + model.jax)")
