"""Int8 quantization of a classifier: post-training quantization (PTQ), quantization-aware training
(QAT) and a true int8 inference path, all on models/quant.py (our own code: Google's qwix 0.1.8 runs
with this JAX but does not quantize jaxml's layers, see docs/quantization_nas.md).

One command: trains the float model (the supervised classification recipe of `core/supervised.py`,
minus `quantize.calibration_examples` held out for calibration), then
- PTQ, weights only: every kernel rounded to int8 with a symmetric absmax scale, per tensor and per
  output channel;
- PTQ, weights + activations: also every conv/dense input, its range calibrated on the held-out batch;
- QAT: fine-tunes the float model for `quantize.qat_steps` with fake-quantized weights and
  activations (straight-through estimator, activation ranges as moving averages), in `workdir/qat`;
- int8: the QAT model converted to int8 kernels + scales and evaluated with int8 x int8 -> int32
  matmuls; its logits are compared with the QAT model's fake-quant evaluation (identical expected).

result.json metrics (accuracies on the test split): `float_accuracy`, `ptq_weights_per_tensor_accuracy`,
`ptq_weights_per_channel_accuracy`, `ptq_w8a8_per_tensor_accuracy`, `ptq_w8a8_per_channel_accuracy`,
`ptq_int8_accuracy` (the calibrated PTQ model on the int8 path), `qat_accuracy` (fake-quant evaluation),
`int8_accuracy` (= `test_accuracy`: the QAT model on the int8 path), `int8_logits_max_abs_diff` and
`int8_logits_identical_fraction` (int8 path vs QAT evaluation), `float_bytes` / `int8_bytes` /
`size_ratio` (parameters serialized with flax msgpack), `params`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core import loop, supervised
from jaxml.core.steps import Normaliser
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data.datasets import Split, hold_out
from jaxml.errors import JaxmlError
from jaxml.models import quant
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")

QUANTIZABLE = {"cnn": "qcnn", "mlp": "qmlp"}


def check_config(config: ml_collections.ConfigDict) -> None:
    q = config.quantize
    if config.model.name not in QUANTIZABLE:
        raise JaxmlError(f"config.model.name={config.model.name!r} cannot be quantized; choose one of {', '.join(QUANTIZABLE)}")
    if config.model.get("batch_norm", False):
        raise JaxmlError("config.model.batch_norm=True is not supported by quantize (fold BatchNorm first); set it to False")
    if q.granularity not in quant.GRANULARITIES:
        raise JaxmlError(f"config.quantize.granularity={q.granularity!r} is not valid; choose one of {', '.join(quant.GRANULARITIES)}")
    if int(q.calibration_examples) < 1:
        raise JaxmlError(f"config.quantize.calibration_examples={q.calibration_examples} must be >= 1")
    if int(q.qat_steps) < 0:
        raise JaxmlError(f"config.quantize.qat_steps={q.qat_steps} must be >= 0")
    if config.dtype != "float32":
        raise JaxmlError(f"config.dtype={config.dtype!r}: quantize trains and evaluates in float32; set config.dtype=float32")


def quant_model_config(config: ml_collections.ConfigDict, mode: str, granularity: str,
                       activations: bool) -> ml_collections.ConfigDict:
    """A copy of `config` whose model is the quantized twin in `mode` (same parameter tree)."""
    c = ml_collections.ConfigDict(config.to_dict())
    spec = dict(config.model.to_dict())
    for unused in ("conv_impl", "batch_norm"):
        spec.pop(unused, None)
    spec.update(name=QUANTIZABLE[config.model.name], mode=mode, granularity=granularity,
                quantize_activations=activations, act_momentum=float(config.quantize.act_momentum))
    c.model = ml_collections.ConfigDict(spec)
    return c


def predict(model, variables, images: np.ndarray, prepare, batch: int = 1000) -> np.ndarray:
    """Logits of `images` (float32 numpy), in batches through one jitted apply."""
    apply = jax.jit(lambda v, x: model.apply(v, prepare(x), train=False))
    return np.concatenate([np.asarray(apply(variables, images[i:i + batch])) for i in range(0, len(images), batch)])


def calibrate(model, params, images: np.ndarray, prepare) -> dict:
    """Activation ranges ("quant" collection) from one forward pass over the calibration images."""
    _, state = jax.jit(lambda p, x: model.apply({"params": p}, prepare(x), train=False, mutable=["quant"]))(params, images)
    return jax.device_get(dict(state))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, -1) == labels))


def train_float(config, workdir: Path, train_split: Split, test: Split, num_classes: int):
    recipe = supervised.make_recipe(config, train_split, {"test": test}, num_classes)
    state, metrics = loop.run(recipe, config, workdir, desc=f"{config.get('name', 'quantize')} float")
    return jax.device_get(state), metrics


def train_qat(config, workdir: Path, train_split: Split, test: Split, num_classes: int, params, quant_state):
    """Fine-tunes `params` with fake-quantized weights and activations for `quantize.qat_steps`."""
    q = config.quantize
    c = quant_model_config(config, "fake", q.granularity, True)
    steps = int(q.qat_steps)
    c.steps = steps
    c.learning_rate = float(q.qat_learning_rate)
    c.warmup_steps = 0
    c.log_every = min(int(config.log_every), steps)
    c.eval_every = steps
    c.checkpoint_every = steps if int(config.checkpoint_every) else 0
    c.augment.mixup_alpha = 0.0
    recipe = supervised.make_recipe(c, train_split, {"test": test}, num_classes)
    tx = make_optimizer(c)

    def init(key):
        p = jax.tree.map(jnp.asarray, params)
        return TrainState(params=p, model_state={"quant": jax.tree.map(jnp.asarray, quant_state["quant"])},
                          opt_state=tx.init(p))

    recipe = dataclasses.replace(recipe, init=init)
    state, metrics = loop.run(recipe, c, workdir, desc=f"{config.get('name', 'quantize')} QAT")
    return jax.device_get(state), metrics


def run(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Trains (or resumes) the float and QAT models in `workdir` and measures every variant."""
    check_config(config)
    workdir = Path(workdir)
    q = config.quantize
    data = supervised.load_data(config)
    train_split, cal_split = hold_out(data.train, int(q.calibration_examples), int(config.data_seed),
                                      "config.quantize.calibration_examples")
    prepare = Normaliser.fit(train_split)  # the supervised recipe's input standardisation
    test_x, test_y = data.test["image"], data.test["label"]
    num_classes = data.num_classes
    model = lambda mode, g, acts: build_model(quant_model_config(config, mode, g, acts), num_classes)

    float_state, _ = train_float(config, workdir, train_split, data.test, num_classes)
    params = float_state.params
    out: dict[str, Any] = {"params": loop.count_params(params)}
    float_logits = predict(model("float", "per_channel", False), {"params": params}, test_x, prepare)
    out["float_accuracy"] = accuracy(float_logits, test_y)

    cal_states = {}
    for g in quant.GRANULARITIES:
        logits = predict(model("fake", g, False), {"params": params}, test_x, prepare)
        out[f"ptq_weights_{g}_accuracy"] = accuracy(logits, test_y)
        w8a8 = model("fake", g, True)
        cal_states[g] = calibrate(w8a8, params, cal_split["image"], prepare)
        logits = predict(w8a8, {"params": params, **cal_states[g]}, test_x, prepare)
        out[f"ptq_w8a8_{g}_accuracy"] = accuracy(logits, test_y)
    g = q.granularity
    int8_model = model("int8", g, True)
    logits = predict(int8_model, {"params": quant.to_int8(params, g), **cal_states[g]}, test_x, prepare)
    out["ptq_int8_accuracy"] = accuracy(logits, test_y)

    if int(q.qat_steps) > 0:
        qat_state, _ = train_qat(config, workdir / "qat", train_split, data.test, num_classes, params, cal_states[g])
        qat_params, qat_stats = qat_state.params, dict(qat_state.model_state)
    else:  # no fine-tuning: the calibrated PTQ model is the one served
        qat_params, qat_stats = params, cal_states[g]
    qat_logits = predict(model("fake", g, True), {"params": qat_params, **qat_stats}, test_x, prepare)
    int8_params = quant.to_int8(qat_params, g)
    int8_logits = predict(int8_model, {"params": int8_params, **qat_stats}, test_x, prepare)
    out["qat_accuracy"] = accuracy(qat_logits, test_y)
    out["int8_accuracy"] = accuracy(int8_logits, test_y)
    out["int8_logits_max_abs_diff"] = float(np.max(np.abs(int8_logits - qat_logits)))
    out["int8_logits_identical_fraction"] = float(np.mean(int8_logits == qat_logits))
    out["float_bytes"] = quant.serialized_bytes(params)
    out["int8_bytes"] = quant.serialized_bytes({"params": int8_params, **qat_stats})
    out["size_ratio"] = out["float_bytes"] / out["int8_bytes"]
    out["test_accuracy"] = out["int8_accuracy"]
    out["steps"] = int(config.steps) + int(q.qat_steps)
    log.info("float %.4f | PTQ w/tensor %.4f w/channel %.4f w8a8/tensor %.4f w8a8/channel %.4f | QAT %.4f int8 %.4f "
             "(max |int8 - QAT| logit diff %.3g) | %.2fx smaller",
             out["float_accuracy"], out["ptq_weights_per_tensor_accuracy"], out["ptq_weights_per_channel_accuracy"],
             out["ptq_w8a8_per_tensor_accuracy"], out["ptq_w8a8_per_channel_accuracy"], out["qat_accuracy"],
             out["int8_accuracy"], out["int8_logits_max_abs_diff"], out["size_ratio"])
    return out


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    return run(config, workdir)


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the finished float and QAT checkpoints of `workdir` (training resumes if unfinished) and
    re-measures every variant."""
    if not (Path(workdir) / "checkpoints").exists():
        raise JaxmlError(f"no checkpoint in {Path(workdir) / 'checkpoints'}; train first with `jaxml train`")
    return run(config, workdir)
