"""Tiny trained workdirs for the serving tests (result.json as `jaxml train` writes it): an MLP on
digits (40 steps) and a one-layer character GPT on 20k characters of Python's stdlib (10 steps)."""

import json

import jax
import numpy as np

from conftest import tiny_classifier_config
from jaxml.core import config as config_lib
from jaxml.defaults import classify as classify_defaults
from jaxml.defaults import lm as lm_defaults
from jaxml.methods import classify, export, lm


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


def tiny_lm_config():
    """A 1-layer, width-16 character GPT with a context of 64 on 20k characters of Python's stdlib."""
    c = lm_defaults.base_config()
    c.corpus = "stdlib"
    c.max_chars = 20_000
    c.seq_len = 64
    c.model.update(num_layers=1, num_heads=2, embed_dim=16)
    c.tensorboard = False
    c.parallel.num_devices = 1
    return c


def untrained_lm_workdir(workdir):
    """A workdir of the tiny GPT whose one checkpoint (step 0) holds its initial parameters: what the
    generation tests check (served decode = in-process decode) does not need training, which would cost
    more CPU than all of them."""
    from jaxml.core import loop
    from jaxml.core.checkpoint import Checkpointer

    c = tiny_lm_config()
    workdir.mkdir(parents=True)
    (workdir / "config.json").write_text(config_lib.to_json(c))
    state = jax.device_get(jax.jit(lm.recipe_for(c).init)(loop.init_key(c.seed)))
    checkpointer = Checkpointer(workdir)
    checkpointer.save(0, state)
    checkpointer.close()
    (workdir / "result.json").write_text(json.dumps({"experiment": "gpt_tiny", "method": "lm"}))
    return workdir


_SHARED = {}


def shared(build, tmp_path_factory):
    """build(directory) once per test process (the app and the subprocess tests share one workdir)."""
    if build not in _SHARED:
        _SHARED[build] = build(tmp_path_factory.mktemp(build.__name__) / "workdir")
    return _SHARED[build]


def served_tiny_lm(tmp_path_factory):
    """The tiny GPT's workdir served in process (bucket 1 and its generator), once per test process."""
    from jaxml.serve.model import load_model

    key = "served_tiny_lm"
    if key not in _SHARED:
        _SHARED[key] = load_model(shared(untrained_lm_workdir, tmp_path_factory), (1,))
    return _SHARED[key]
