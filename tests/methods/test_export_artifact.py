"""`jaxml export`: a jax.export artifact reloads in a fresh process (jax + numpy only) and gives the
same outputs; an ONNX export (jaxml's jaxpr -> ONNX converter) gives the JAX outputs within 1e-5 under
onnxruntime for the MLP, the CNNs (both convolution and pooling formulations), a ResNet and the
character GPT, at another batch size too; an uncovered primitive is one clear error; tf/tflite
without TensorFlow is a clear error."""

import importlib.util
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.core import config as config_lib
from jaxml.defaults import classify as classify_defaults, lm as lm_defaults, prune as prune_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import classify, export, lm, onnx_export

from conftest import cli_env, jaxml_cmd, tiny_classifier_config

RELOAD = """
import sys, numpy as np, jax
exp = jax.export.deserialize(bytearray(open(sys.argv[1] + "/model.jax", "rb").read()))
ref = np.load(sys.argv[1] + "/reference.npz")
out = np.asarray(exp.call(ref["inputs"]))
half = np.asarray(exp.call(ref["inputs"][:2]))  # symbolic batch: another batch size works too
assert "jaxml" not in sys.modules
np.testing.assert_allclose(out, ref["outputs"], rtol=1e-5, atol=1e-5)
np.testing.assert_allclose(half, ref["outputs"][:2], rtol=1e-5, atol=1e-5)
print("RELOAD_OK", out.shape)
"""


def reload_in_fresh_process(out_dir):
    r = subprocess.run([sys.executable, "-c", RELOAD, str(out_dir)], capture_output=True, text=True,
                       env=cli_env(1), timeout=300)
    assert "RELOAD_OK" in r.stdout, r.stderr[-2000:]
    return r.stdout


def write_config(config, workdir):
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(config_lib.to_json(config))


@pytest.fixture(scope="module")
def trained_mlp(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mlp")
    c = tiny_classifier_config()
    write_config(c, workdir)
    classify.train(c, workdir)
    return workdir


@pytest.fixture(scope="module")
def trained_lm(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lm")
    c = lm_defaults.base_config()
    c.corpus = "stdlib"
    c.max_chars = 20_000
    c.seq_len = 16
    c.model.update(num_layers=1, num_heads=2, embed_dim=16)
    c.steps = 10
    c.batch_size = 8
    c.log_every = 10
    c.eval_every = 10
    c.checkpoint_every = 10
    c.tensorboard = False
    c.parallel.num_devices = 1
    c.sample.num_chars = 0
    write_config(c, workdir)
    lm.train(c, workdir)
    return workdir


def test_classifier_export_reloads_in_fresh_process(trained_mlp):
    r = subprocess.run(jaxml_cmd("export", str(trained_mlp), "--format", "jax"), capture_output=True, text=True,
                       env=cli_env(1), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "RELOAD_OK (8, 10)" in reload_in_fresh_process(trained_mlp / "export")


def test_lm_export_reloads_in_fresh_process(trained_lm):
    out = export.export_workdir(trained_lm, "jax")
    assert (out / "tokenizer.json").exists()
    reload_in_fresh_process(out)


def matches_under_onnxruntime(blob: bytes, inputs, expected) -> None:
    run = onnx_export.onnx_runner(blob)
    np.testing.assert_allclose(run(inputs), expected, rtol=1e-5, atol=1e-5)
    # the batch dimension is symbolic: another batch size runs the same graph (the rows are independent)
    np.testing.assert_allclose(run(inputs[:3]), expected[:3], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["trained_mlp", "trained_lm"])
def test_onnx_export_of_a_trained_workdir_matches_jax(name, request):
    workdir = request.getfixturevalue(name)
    out = export.export_workdir(workdir, "onnx", workdir / "export_onnx")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["file"] == "model.onnx" and meta["format"] == "onnx" and meta["onnxruntime_max_abs_diff"] <= 1e-5
    reference = np.load(out / "reference.npz")  # jaxml's outputs for the example batch
    matches_under_onnxruntime((out / "model.onnx").read_bytes(), reference["inputs"], reference["outputs"])


TINY_CNNS = {"cnn (slices, reshape pooling)": dict(name="cnn", features=(4, 8), dense=(16,), batch_norm=True),
             "cnn (xla conv, reduce_window pooling)": dict(name="cnn", features=(4, 8), dense=(16,), conv_impl="xla",
                                                         pool_impl="reduce_window"),
             "resnet": dict(name="resnet", features=(4, 8), blocks_per_stage=1)}


@pytest.mark.parametrize("model", list(TINY_CNNS))
def test_onnx_export_of_convolutional_classifiers_matches_jax(model):
    """On the digits (8x8x1 uint8), at the initial parameters (the conversion does not depend on them;
    the trained MLP above covers trained weights)."""
    c = classify_defaults.base_config()
    c.model = dict(TINY_CNNS[model])
    inference = export.inference_of(c)
    fn = inference.fn(jax.jit(inference.init)(jax.random.key(1)))
    blob = onnx_export.to_onnx(fn, inference.example).SerializeToString()
    inputs = np.asarray(inference.example)
    matches_under_onnxruntime(blob, inputs, np.asarray(jax.jit(fn)(inputs)))


def test_onnx_export_names_an_uncovered_primitive():
    with pytest.raises(JaxmlError, match="does not cover the jax primitive 'cumsum'; the converter covers .*add"):
        onnx_export.to_onnx(lambda x: jnp.cumsum(x, axis=1), np.zeros((2, 3), np.float32))


def test_export_errors_are_clear(tmp_path):
    with pytest.raises(JaxmlError, match="config.json"):
        export.export_workdir(tmp_path)
    with pytest.raises(JaxmlError, match="jax, tf, tflite, onnx"):
        export.export_workdir(tmp_path, "coreml")
    if importlib.util.find_spec("tensorflow") is None:
        write_config(classify_defaults.base_config(), tmp_path)
        with pytest.raises(JaxmlError, match="TensorFlow"):
            export.export_workdir(tmp_path, "tflite")


def test_export_asks_the_method_for_its_inference_function(tmp_path):
    """The exportable methods are those whose module has `inference_fn`; another method is one clear error."""
    assert {"classify", "lm"} <= set(export.exportable_methods())
    write_config(prune_defaults.base_config(), tmp_path)
    with pytest.raises(JaxmlError, match="supports methods .*classify.*; this workdir's method 'prune' has no"):
        export.export_workdir(tmp_path)
