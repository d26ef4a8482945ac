"""The feature classifier behind the sample-quality metrics (`core/feature_metrics.py`): a small CNN
trained once with the supervised classification recipe (`core/supervised.py`, a `classify` config)
per (dataset, image size, data seed, its config) and cached on disk.

Cache: `<cache dir>/<dataset>_<size>px_<hash>/` with `classifier.msgpack` (variables) and
`classifier.json` (input mean/std, test accuracy, config); the cache dir is `fid.cache_dir`, else
`$JAXML_DATA_DIR/jaxml_features`, else `~/.cache/jaxml/features`. A missing classifier is trained on
demand (in `<cache>/run`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import flax.serialization
import jax
import jax.numpy as jnp
import ml_collections

from jaxml.core import loop, supervised
from jaxml.core.feature_metrics import FeatureClassifier
from jaxml.core.steps import Normaliser
from jaxml.data.datasets import Dataset
from jaxml.defaults.training import supervised_config
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")


def feature_classifier_config(dataset: str, steps: int) -> ml_collections.ConfigDict:
    """A classify config (the same as a `jaxml train` classify run would read; it keys the cache): CNN
    conv32-conv64-dense128 (dropout 0.2), AdamW 2e-3, `steps` of 128, one device."""
    c = supervised_config("classify")
    c.dataset = dataset
    c.model = dict(name="cnn", features=(32, 64), convs_per_stage=1, dense=(128,), dropout=0.2, batch_norm=False)
    c.learning_rate = 2e-3
    c.warmup_steps = 100
    c.steps = int(steps)
    c.batch_size = 128
    c.eval_batch_size = 200
    c.log_every = 100
    c.eval_every = c.steps
    c.checkpoint_every = 0
    c.tensorboard = False
    c.parallel.num_devices = 1
    return c


def cache_root(config: ml_collections.ConfigDict) -> Path:
    if config.fid.cache_dir:
        return Path(os.path.expanduser(config.fid.cache_dir))
    if os.environ.get("JAXML_DATA_DIR"):
        return Path(os.environ["JAXML_DATA_DIR"]) / "jaxml_features"
    return Path.home() / ".cache" / "jaxml" / "features"


def load_feature_classifier(config: ml_collections.ConfigDict, data: Dataset) -> FeatureClassifier:
    """The cached feature classifier for (dataset, image size), trained and cached first if missing.
    Reads `config.dataset`, `config.data_seed`, `config.fid.classifier_steps` and `config.fid.cache_dir`."""
    fc_config = feature_classifier_config(config.dataset, int(config.fid.classifier_steps))
    images = data.train["image"]
    size = images.shape[1]
    tag = hashlib.sha1(json.dumps([fc_config.to_dict(), size, config.data_seed], sort_keys=True,
                                  default=str).encode()).hexdigest()[:8]
    directory = cache_root(config) / f"{config.dataset}_{size}px_{tag}"
    model = build_model(fc_config, data.num_classes)
    normaliser = Normaliser.fit(data.train)
    template = model.init({"params": jax.random.key(0)}, jnp.zeros((1,) + images.shape[1:]), train=False)
    weights, meta = directory / "classifier.msgpack", directory / "classifier.json"
    if weights.exists() and meta.exists():
        variables = flax.serialization.from_bytes(template, weights.read_bytes())
        info = json.loads(meta.read_text())
        log.info("feature classifier: %s (test accuracy %.4f)", directory, info["test_accuracy"])
        return FeatureClassifier(model, variables, Normaliser(info["mean"], info["std"], normaliser.scale),
                                 info["test_accuracy"])
    log.info("feature classifier: training one for %s at %dpx -> %s", config.dataset, size, directory)
    recipe = supervised.make_recipe(fc_config, data.train, {"test": data.test}, data.num_classes)
    directory.mkdir(parents=True, exist_ok=True)
    state, metrics = loop.run(recipe, fc_config, directory / "run", desc="feature classifier")
    state = jax.device_get(state)
    variables = {"params": state.params, **state.model_state}
    tmp = weights.with_suffix(".tmp")
    tmp.write_bytes(flax.serialization.to_bytes(variables))
    os.replace(tmp, weights)
    meta.write_text(json.dumps({"mean": normaliser.mean, "std": normaliser.std, "test_accuracy": metrics["test_accuracy"],
                                "config": fc_config.to_dict(), "image_size": size}, default=str, indent=1))
    return FeatureClassifier(model, variables, normaliser, metrics["test_accuracy"])
