"""`jaxml export`: a jax.export artifact reloads in a fresh process (jax + numpy only) and gives the
same outputs; tf/tflite without TensorFlow is a clear error."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from jaxml.core import config as config_lib
from jaxml.defaults import classify as classify_defaults, lm as lm_defaults, prune as prune_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import classify, export, lm

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


def test_classifier_export_reloads_in_fresh_process(tmp_path):
    c = tiny_classifier_config()
    write_config(c, tmp_path)
    classify.train(c, tmp_path)
    r = subprocess.run(jaxml_cmd("export", str(tmp_path), "--format", "jax"), capture_output=True, text=True,
                       env=cli_env(1), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "RELOAD_OK (8, 10)" in reload_in_fresh_process(tmp_path / "export")


def test_lm_export_reloads_in_fresh_process(tmp_path):
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
    write_config(c, tmp_path)
    lm.train(c, tmp_path)
    out = export.export_workdir(tmp_path, "jax")
    assert (out / "tokenizer.json").exists()
    reload_in_fresh_process(out)


def test_export_errors_are_clear(tmp_path):
    with pytest.raises(JaxmlError, match="config.json"):
        export.export_workdir(tmp_path)
    with pytest.raises(JaxmlError, match="jax, tf, tflite"):
        export.export_workdir(tmp_path, "onnx")
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
