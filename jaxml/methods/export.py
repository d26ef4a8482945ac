"""Export a trained workdir as a serialized inference function (`jaxml export WORKDIR --format jax`).

`--format jax` (default): `jax.export` of the model's inference function with the trained parameters
baked in as constants and a symbolic batch dimension, written to `WORKDIR/export/model.jax`
(`jax.export.Exported.serialize()`), with `meta.json` (method, input shape/dtype, what the output is)
and `reference.npz` (an input batch and the outputs jaxml computed for it). Reload anywhere with
only jax installed, no jaxml model code:

    exp = jax.export.deserialize(bytearray(open("model.jax", "rb").read()))
    logits = exp.call(inputs)

Supported methods: every registered method whose module exposes `inference_fn(config) ->
core.inference.Inference` (asked through `experiments.method_module`; no method names here): today
`classify` (images as stored in the dataset, uint8 or float -> class logits; the input
standardisation is part of the function) and `lm` (int32 tokens [B, seq_len] -> next-character logits
[B, seq_len, V]; `tokenizer.json` is copied beside it).

`--format onnx`: `model.onnx` from jaxml's own jaxpr -> ONNX converter (`methods/onnx_export.py`;
symbolic batch dimension "b"), then run under onnxruntime on the reference batch: meta.json records
the largest absolute difference from the JAX outputs (`onnxruntime_max_abs_diff`).

`--format tf` / `tflite`: through `jax.experimental.jax2tf` when TensorFlow is installed (a
SavedModel directory / a .tflite file); without TensorFlow a clear error says so.

Each format is a writer in `WRITERS` (fn, example batch, out dir, meta -> the file written) with the
package it needs in `NEEDS`.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np

from jaxml.core.inference import Inference
from jaxml.errors import JaxmlError



def restore_state(init: Callable[[jax.Array], Any], config, workdir: Path) -> Any:
    """The newest checkpoint of `workdir`, restored into the structure `init` builds, on the host."""
    from jaxml.core import loop, parallel
    from jaxml.core.checkpoint import restore_checkpoint

    mesh = parallel.make_mesh(1)
    _, state = restore_checkpoint(workdir, parallel.on_mesh(lambda: init(loop.init_key(config.seed)), mesh))
    return jax.device_get(state)


def exportable_methods() -> list[str]:
    """The registered methods whose module exposes `inference_fn`."""
    from jaxml import experiments

    return [m for m in experiments.METHODS if hasattr(experiments.method_module(m), "inference_fn")]


def inference_of(config) -> Inference:
    """The `Inference` of `config.method`, asked of the method's module through the registry."""
    from jaxml import experiments

    module = experiments.method_module(config.method)
    if not hasattr(module, "inference_fn"):
        raise JaxmlError(f"jaxml export supports methods {', '.join(exportable_methods())}; this workdir's method "
                         f"{config.method!r} has no inference function")
    return module.inference_fn(config)


def trained_inference(config, workdir: Path) -> tuple[Callable, np.ndarray, dict]:
    """(fn(inputs) -> outputs with the trained parameters of `workdir` closed over, an example input batch, meta)."""
    inference = inference_of(config)
    state = restore_state(inference.init, config, workdir)
    return inference.fn(state), inference.example, dict(inference.meta)


def export_jax(fn: Callable, sample: np.ndarray) -> "jax.export.Exported":
    (b,) = jax.export.symbolic_shape("b")
    spec = jax.ShapeDtypeStruct((b,) + sample.shape[1:], sample.dtype)
    try:
        return jax.export.export(jax.jit(fn))(spec)
    except Exception:  # a model that needs a concrete batch size
        return jax.export.export(jax.jit(fn))(jax.ShapeDtypeStruct(sample.shape, sample.dtype))


def write_jax(fn: Callable, sample: np.ndarray, out: Path, meta: dict) -> str:
    (out / "model.jax").write_bytes(export_jax(fn, sample).serialize())
    return "model.jax"


def write_onnx(fn: Callable, sample: np.ndarray, out: Path, meta: dict) -> str:
    from jaxml.methods import onnx_export

    blob = onnx_export.to_onnx(fn, sample, name=str(meta.get("method", "jaxml"))).SerializeToString()
    (out / "model.onnx").write_bytes(blob)
    if importlib.util.find_spec("onnxruntime") is not None:  # checked by its own runtime
        expected = np.load(out / "reference.npz")["outputs"]
        try:
            outputs = onnx_export.run_onnx(blob, sample)
        except Exception as e:  # noqa: BLE001 - onnxruntime's own error types
            raise JaxmlError(f"{out / 'model.onnx'} was written, but onnxruntime cannot run it: "
                             f"{str(e).splitlines()[0][:300]}") from None
        meta["onnxruntime_max_abs_diff"] = float(np.max(np.abs(outputs - expected)))
    return "model.onnx"


def write_tf(fn: Callable, sample: np.ndarray, out: Path, meta: dict) -> str:
    return export_tf(fn, sample, out, tflite=False)


def write_tflite(fn: Callable, sample: np.ndarray, out: Path, meta: dict) -> str:
    return export_tf(fn, sample, out, tflite=True)


WRITERS = {"jax": write_jax, "tf": write_tf, "tflite": write_tflite, "onnx": write_onnx}
FORMATS = tuple(WRITERS)
NEEDS = {"jax": ("flatbuffers", "the flatbuffers package (jax.export serialization)"),
         "tf": ("tensorflow", "TensorFlow (jax2tf)"), "tflite": ("tensorflow", "TensorFlow (jax2tf)"),
         "onnx": ("onnx", "the onnx package (and onnxruntime to check the export)")}


def check_needs(fmt: str) -> None:
    package, what = NEEDS[fmt]
    if importlib.util.find_spec(package) is None:
        raise JaxmlError(f"--format {fmt} needs {what}, which is not installed; `pip install {package}`"
                         + ("" if fmt == "jax" else ", or use --format jax"))


def export_workdir(workdir: str | Path, fmt: str = "jax", out: str | Path | None = None) -> Path:
    from jaxml.core import config as config_lib

    if fmt not in WRITERS:
        raise JaxmlError(f"--format {fmt!r} is not valid; choose one of {', '.join(FORMATS)}")
    workdir = Path(workdir)
    saved = workdir / "config.json"
    if not saved.exists():
        raise JaxmlError(f"{workdir} holds no config.json; is it a jaxml workdir?")
    check_needs(fmt)
    config = config_lib.from_json(saved.read_text())
    fn, sample, meta = trained_inference(config, workdir)
    out = Path(out) if out else workdir / "export"
    out.mkdir(parents=True, exist_ok=True)
    expected = np.asarray(jax.jit(fn)(sample))
    np.savez(out / "reference.npz", inputs=sample, outputs=expected)
    meta = {"method": config.method, "format": fmt, "input_shape": ["B", *sample.shape[1:]],
            "input_dtype": str(sample.dtype), "jax_version": jax.__version__, **meta}
    meta["file"] = WRITERS[fmt](fn, sample, out, meta)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    if (workdir / "tokenizer.json").exists():
        shutil.copy(workdir / "tokenizer.json", out / "tokenizer.json")
    return out


def export_tf(fn: Callable, sample: np.ndarray, out: Path, *, tflite: bool) -> str:
    import tensorflow as tf  # noqa: F401 -- only with TensorFlow installed
    from jax.experimental import jax2tf

    tf_fn = tf.function(jax2tf.convert(fn, polymorphic_shapes=["(b, ...)"]), autograph=False,
                        input_signature=[tf.TensorSpec((None,) + sample.shape[1:], tf.as_dtype(sample.dtype))])
    module = tf.Module()
    module.f = tf_fn
    tf.saved_model.save(module, str(out / "saved_model"), signatures=tf_fn)
    if not tflite:
        return "saved_model"
    converter = tf.lite.TFLiteConverter.from_saved_model(str(out / "saved_model"))
    (out / "model.tflite").write_bytes(converter.convert())
    return "model.tflite"
