"""The train state of gradient-trained models and the optimizer built from a config."""

from __future__ import annotations

from typing import Any

import flax.struct
import ml_collections
import optax

from jaxml.errors import JaxmlError

OPTIMIZERS = ("adamw", "sgd", "adam")
SCHEDULES = ("cosine", "constant")


@flax.struct.dataclass
class TrainState:
    """params + mutable model collections (BatchNorm statistics) + optimizer state."""

    params: Any
    model_state: Any
    opt_state: Any

    def apply_gradients(self, tx: optax.GradientTransformation, grads: Any, model_state: Any = None) -> "TrainState":
        updates, opt_state = tx.update(grads, self.opt_state, self.params)
        return self.replace(params=optax.apply_updates(self.params, updates), opt_state=opt_state,
                            model_state=self.model_state if model_state is None else model_state)


def learning_rate_schedule(config: ml_collections.ConfigDict) -> optax.Schedule:
    """Linear warm-up to `learning_rate`, then cosine decay to 0 at `steps` (or constant)."""
    lr, steps = float(config.learning_rate), int(config.steps)
    warmup = min(int(config.get("warmup_steps", 0)), max(steps - 1, 0))
    schedule = config.get("schedule", "cosine")
    if schedule not in SCHEDULES:
        raise JaxmlError(f"config.schedule={schedule!r} is not valid; choose one of {', '.join(SCHEDULES)}")
    if schedule == "constant":
        if warmup:
            return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), optax.constant_schedule(lr)], [warmup])
        return optax.constant_schedule(lr)
    return optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(steps, warmup + 1), end_value=0.0)


def training_config(method: str, **keys: Any) -> ml_collections.ConfigDict:
    """A method's base config with the optimizer and loop keys that `make_optimizer` and `core.loop`
    read, at the defaults the sequence methods share (float32, AdamW, warmup + cosine, global-norm
    clipping 1.0, keep 2 checkpoints, TensorBoard, data-parallel over all devices); `keys` add or override."""
    c = ml_collections.ConfigDict()
    c.method = method
    c.dtype = "float32"
    c.optimizer = "adamw"
    c.schedule = "cosine"
    c.grad_clip = 1.0
    c.keep_checkpoints = 2
    c.tensorboard = True
    c.parallel = ml_collections.ConfigDict({"num_devices": 0})
    for k, v in keys.items():
        c[k] = v
    return c


def supervised_config(method: str) -> ml_collections.ConfigDict:
    """The defaults of the supervised image methods (classify and the methods that train, wrap or
    search classifiers: prune, quantize, nas, interpret, maml, ...), sized for the small built-in data:
    digits, an MLP 256-128 with dropout 0.1, AdamW 3e-3 with 50 warm-up steps, 1500 steps of 64,
    no augmentation; a method or config file overrides what it needs."""
    c = ml_collections.ConfigDict()
    c.method = method
    c.dataset = "digits"
    c.data_dir = ""
    c.data_seed = 0
    c.seed = 0
    c.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (256, 128), "dropout": 0.1})
    c.dtype = "float32"
    c.optimizer = "adamw"
    c.learning_rate = 3e-3
    c.weight_decay = 1e-4
    c.momentum = 0.9
    c.warmup_steps = 50
    c.schedule = "cosine"
    c.grad_clip = 0.0
    c.label_smoothing = 0.0
    c.augment = ml_collections.ConfigDict({"shift": 0, "flip": False, "noise": 0.0, "mixup_alpha": 0.0})
    c.steps = 1500
    c.batch_size = 64
    c.eval_batch_size = 120
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    c.keep_checkpoints = 3
    c.validation_fraction = 0.0
    c.cv_folds = 0
    c.tensorboard = True
    c.parallel = ml_collections.ConfigDict({"num_devices": 0})
    return c


def text_model_config(method: str, **model: Any) -> ml_collections.ConfigDict:
    """The keys every character-Transformer method shares (lm, mlm): `training_config` with AdamW
    3e-3, weight decay 0.01, 100 warm-up steps, batches of 32, logging every 50 steps, and a `model`
    group with the Transformer's defaults (4 layers, 4 heads, width 128); `model` overrides them."""
    c = training_config(method, seed=0, learning_rate=3e-3, weight_decay=0.01, warmup_steps=100, batch_size=32,
                        eval_batch_size=256, log_every=50)
    c.model = ml_collections.ConfigDict({"num_layers": 4, "num_heads": 4, "embed_dim": 128, "mlp_dim": 0,
                                         "position": "learned", "impl": "einsum", "dropout": 0.0, **model})
    return c


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """AdamW / Adam / SGD(+momentum) with the config's schedule, weight decay and gradient clipping."""
    name = config.get("optimizer", "adamw")
    schedule = learning_rate_schedule(config)
    if name == "adamw":
        tx = optax.adamw(schedule, weight_decay=float(config.get("weight_decay", 0.0)))
    elif name == "adam":
        tx = optax.adam(schedule)
    elif name == "sgd":
        tx = optax.chain(optax.add_decayed_weights(float(config.get("weight_decay", 0.0))),
                         optax.sgd(schedule, momentum=float(config.get("momentum", 0.9)) or None, nesterov=True))
    else:
        raise JaxmlError(f"config.optimizer={name!r} is not valid; choose one of {', '.join(OPTIMIZERS)}")
    clip = float(config.get("grad_clip", 0.0))
    return optax.chain(optax.clip_by_global_norm(clip), tx) if clip > 0 else tx
