"""The train state of gradient-trained models and the optimizer built from a config."""

from __future__ import annotations

from typing import Any

import flax.struct
import ml_collections
import optax

from jaxml.core import loss_scale, transfer, weight_ema
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


def learning_rate_schedule(config: ml_collections.ConfigDict, peak: Any = None) -> optax.Schedule:
    """Linear warm-up to `learning_rate`, then cosine decay to 0 at `steps` (or constant). `peak` (an
    array, possibly traced) replaces `learning_rate`: the schedule of peak 1 scaled by it."""
    if peak is not None:
        unit = _schedule(config, 1.0)
        return lambda count: peak * unit(count)
    return _schedule(config, float(config.learning_rate))


def _schedule(config: ml_collections.ConfigDict, lr: float) -> optax.Schedule:
    steps = int(config.steps)
    warmup = min(int(config.get("warmup_steps", 0)), max(steps - 1, 0))
    schedule = config.get("schedule", "cosine")
    if schedule not in SCHEDULES:
        raise JaxmlError(f"config.schedule={schedule!r} is not valid; choose one of {', '.join(SCHEDULES)}")
    if schedule == "constant":
        if warmup:
            return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), optax.constant_schedule(lr)], [warmup])
        return optax.constant_schedule(lr)
    return optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(steps, warmup + 1), end_value=0.0)


def make_optimizer(config: ml_collections.ConfigDict, *, learning_rate: Any = None,
                   weight_decay: Any = None) -> optax.GradientTransformation:
    """AdamW / Adam / SGD(+momentum) with the config's schedule, weight decay and gradient clipping;
    per-subtree learning-rate multipliers and freezing from `config.transfer` (`core.transfer`);
    behind dynamic loss scaling when `config.loss_scale` asks for it (`core/loss_scale.py`); keeping
    an EMA of the weights for evaluation when `config.ema_decay` > 0 (`core/weight_ema.py`).
    `learning_rate` / `weight_decay` (arrays, possibly traced: `optax.inject_hyperparams` passes them)
    replace the config's values; `core.population` trains a population of them in one program."""
    name = config.get("optimizer", "adamw")
    schedule = learning_rate_schedule(config, peak=learning_rate)
    if weight_decay is None:
        weight_decay = float(config.get("weight_decay", 0.0))
    if name == "adamw":
        tx = optax.adamw(schedule, weight_decay=weight_decay)
    elif name == "adam":
        tx = optax.adam(schedule)
    elif name == "sgd":
        tx = optax.chain(optax.add_decayed_weights(weight_decay),
                         optax.sgd(schedule, momentum=float(config.get("momentum", 0.9)) or None, nesterov=True))
    else:
        raise JaxmlError(f"config.optimizer={name!r} is not valid; choose one of {', '.join(OPTIMIZERS)}")
    clip = float(config.get("grad_clip", 0.0))
    tx = optax.chain(optax.clip_by_global_norm(clip), tx) if clip > 0 else tx
    # config.transfer's per-subtree learning rates / freezing inside, the loss scale around them, the
    # weight average (`config.ema_decay`) of the parameters that come out around everything
    return weight_ema.wrap(loss_scale.wrap(transfer.wrap_optimizer(config, tx), config), config)
