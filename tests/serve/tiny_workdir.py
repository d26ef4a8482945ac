"""A tiny trained MLP workdir on digits for the serving tests (40 steps; result.json as `jaxml train`
writes it)."""

import json

import jax
import numpy as np

from conftest import tiny_classifier_config
from jaxml.core import config as config_lib
from jaxml.defaults import classify as classify_defaults
from jaxml.methods import classify, export


def train_tiny_classifier(workdir):
    """(workdir, the model's own jitted outputs fn, 40 test images)."""
    c = tiny_classifier_config()
    workdir.mkdir(parents=True)
    (workdir / "config.json").write_text(config_lib.to_json(c))
    result = classify.train(c, workdir)
    (workdir / "result.json").write_text(json.dumps({"experiment": "mlp_tiny", "method": "classify", **result}))
    fn, _, _ = export.trained_inference(c, workdir)
    return workdir, jax.jit(fn), np.asarray(classify.load_data(c).test["image"][:40])


def untrained_artifact(directory):
    """(a `jaxml export`-style directory of the tiny MLP at its initial parameters, its jitted fn, inputs):
    the artifact format without the training, for the tests that only need a served model."""
    c = classify_defaults.base_config()
    c.model.hidden = (32,)
    inference = export.inference_of(c)
    fn = inference.fn(inference.init(jax.random.key(0)))
    directory.mkdir(parents=True)
    (directory / "model.jax").write_bytes(export.export_jax(fn, inference.example).serialize())
    (directory / "meta.json").write_text(json.dumps({"method": "classify", "file": "model.jax", **inference.meta}))
    return directory, jax.jit(fn), np.asarray(classify.load_data(c).test["image"][:40])
