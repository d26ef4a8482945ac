"""Self-supervised representation learning: SimCLR and BYOL, two objectives on one step.

Every step draws two random views of each image of the global batch (`data.augment.view_augment`:
random resized crop, optional shift / flip, brightness and contrast, cutout, gaussian noise; each
example's views from its own keys, so nothing depends on the device count), encodes both with the
encoder (`config.model`, a classifier module whose `ssl.feature_dim` outputs are the representation
h) and projects them with an MLP head g (`models.projection.ProjectionHead`). The objective is a value
of `OBJECTIVES` (`ssl.objective`):

- "simclr" (Chen et al. 2020): the NT-Xent loss on z = g(h) of both views,
      ℓ(i, j) = −log exp(cos(z_i, z_j)/τ) / Σ_{k≠i} exp(cos(z_i, z_k)/τ),
  averaged over all 2N anchors of the global batch. The projections are all-gathered over the batch
  axes of the mesh (`jax.shard_map`, `batch_global_nt_xent`), so each device's anchors are contrasted
  with the negatives of the whole global batch, exactly as on one device.
- "byol" (Grill et al. 2020): an online network (encoder, projector, predictor q) regresses the
  target network's projection of the other view, loss 2 − 2·cos(q(z_online), z_target) symmetrised
  over the views; the target (encoder + projector) is not trained but follows the online weights by
  EMA, ξ ← τ_k ξ + (1 − τ_k) θ after every update, τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2.

The heads' batch normalisation cancels any constant shift of their input, so the bias of the layer
feeding a head (the encoder's last Dense; BYOL's projector output into the predictor) gets a zero
gradient up to rounding: it stays put under SGD, while Adam's normalised update turns that rounding
noise into steps of up to ±lr. It does not change the linear probe (features are standardised) and
is the one place where runs on different device counts can drift apart beyond float reassociation.

Evaluation (the evaluator `probe`, every `eval_every` steps and at the end): frozen features h of the
clean images (no augmentation) -> a linear probe (`core.probe.linear_probe_accuracy`) and weighted kNN
(`core.probe.knn_accuracy`) on the test split, with `probe.labels_per_class` labelled training images
per class (0 = all labels). After training `train` scores the same probes on the same encoder at its
random initialisation and, with `baseline.steps > 0`, trains a supervised classifier (the encoder and a
linear head, end to end, with shifts) on `baseline.per_class` labels per class, the labels of that probe.
With `probe.validation` = n > 0, n training images (drawn by `data_seed`) take the test split's place
everywhere -- pre-training, probes and both controls -- so settings are chosen without the test images.

result.json metrics: `probe_linear_<n>` and `probe_knn_<n>` (n = 10, 100, ..., `all`), the same as
`random_linear_<n>` / `random_knn_<n>` for the random encoder, `gain_linear_<n>` = probe − random,
`supervised_accuracy` (the baseline on `baseline.per_class` labels per class) and `beats_supervised`
= probe_linear_<per_class> − supervised_accuracy. docs/references.md#self-supervised-and-semi-supervised-learning.
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path
from typing import Any, Callable, NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core import config as config_lib, loop, sharding as sharding_lib, supervised
from jaxml.core.batch_global import batch_global, gather_rows, l2_normalise, sum_over_devices
from jaxml.core.probe import knn_accuracy, linear_probe_accuracy
from jaxml.core.registry import choose
from jaxml.core.steps import Normaliser, apply_gradients
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data.augment import view_augment
from jaxml.data.datasets import Dataset, Split, per_class_subset, validation_as_test
from jaxml.defaults.training import supervised_config
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model
from jaxml.models.projection import ProjectionHead

log = logging.getLogger("jaxml")
PROBE = "probe"


# ------------------------------------------------------------------------------------------------ losses

def nt_xent(z1: jax.Array, z2: jax.Array, temperature, axis_name: Any = None) -> jax.Array:
    """NT-Xent of the positive pairs (z1[i], z2[i]), averaged over every anchor of both views.

    Without `axis_name`, z1, z2 [N, D] are the whole batch. Under `shard_map` with `axis_name` (the
    batch axes), they are this device's rows of the global batch: the candidates are all-gathered, each
    local anchor is contrasted with all 2N − 1 others, and the sum is reduced over the devices, so the
    value equals the one-device loss on the global batch."""
    a1, a2 = l2_normalise(z1.astype(jnp.float32)), l2_normalise(z2.astype(jnp.float32))
    n_local = a1.shape[0]
    c1, offset = gather_rows(a1, axis_name)
    c2, _ = gather_rows(a2, axis_name)
    n = c1.shape[0]
    candidates = jnp.concatenate([c1, c2])                       # [2N, D]
    anchors = jnp.concatenate([a1, a2])                          # [2n, D]
    logits = anchors @ candidates.T / temperature                # [2n, 2N]
    rows = jnp.arange(n_local) + offset
    self_index = jnp.concatenate([rows, rows + n])
    positive = jnp.concatenate([rows + n, rows])
    logits = jnp.where(jnp.arange(2 * n)[None, :] == self_index[:, None], -jnp.inf, logits)
    losses = jax.nn.logsumexp(logits, axis=1) - jnp.take_along_axis(logits, positive[:, None], axis=1)[:, 0]
    return sum_over_devices(jnp.sum(losses), axis_name) / (2 * n)


def batch_global_nt_xent(mesh) -> Callable[[jax.Array, jax.Array, Any], jax.Array]:
    """`nt_xent` on projections sharded over the batch axes of `mesh`: a `shard_map` that all-gathers
    the candidates (`core.batch_global`; one device: plain `nt_xent`)."""

    def loss(z1, z2, temperature):
        return batch_global(functools.partial(nt_xent, temperature=temperature), mesh, sharded=2)(z1, z2)

    return loss


def byol_loss(q1: jax.Array, q2: jax.Array, t1: jax.Array, t2: jax.Array) -> jax.Array:
    """Symmetrised 2 − 2·cos(q(view a), target(view b)), averaged over the batch."""
    cos = lambda q, t: jnp.sum(l2_normalise(q) * l2_normalise(jax.lax.stop_gradient(t)), axis=-1)
    return jnp.mean(2.0 - 2.0 * cos(q1, t2)) + jnp.mean(2.0 - 2.0 * cos(q2, t1))


def ema_decay(step, total_steps: int, base: float) -> jax.Array:
    """BYOL's target decay at update k: 1 − (1 − τ_base)(cos(πk/K) + 1)/2 (τ_base at k = 0, 1 at K)."""
    return 1.0 - (1.0 - base) * (jnp.cos(jnp.pi * step / total_steps) + 1.0) / 2.0


def ema_update(target: Any, online: Any, decay) -> Any:
    """ξ ← τ ξ + (1 − τ) θ, leaf by leaf."""
    return jax.tree.map(lambda t, o: decay * t + (1.0 - decay) * o, target, online)


# -------------------------------------------------------------------------------------------- objectives

class Projections(NamedTuple):
    """What an objective sees: online projections of both views, the online predictions (BYOL) and the
    target network's projections (BYOL); None where the objective has no such network."""

    z1: jax.Array
    z2: jax.Array
    q1: jax.Array | None
    q2: jax.Array | None
    t1: jax.Array | None
    t2: jax.Array | None


class Objective(NamedTuple):
    """A self-supervised objective (`ssl.objective`): whether it keeps an EMA target network and a
    predictor, and `loss(projections, contrast, temperature)` with `contrast(z1, z2, τ)` the
    batch-global NT-Xent."""

    target: bool
    predictor: bool
    loss: Callable[[Projections, Callable, float], jax.Array]


OBJECTIVES: dict[str, Objective] = {
    "simclr": Objective(target=False, predictor=False, loss=lambda p, contrast, tau: contrast(p.z1, p.z2, tau)),
    "byol": Objective(target=True, predictor=True, loss=lambda p, contrast, tau: byol_loss(p.q1, p.q2, p.t1, p.t2)),
}


# ------------------------------------------------------------------------------------------------- state

@flax.struct.dataclass
class SSLState:
    """`online`: the trained networks' TrainState (params {"encoder", "projector"[, "predictor"]});
    `target`: BYOL's EMA params {"encoder", "projector"} (empty for SimCLR); `step`: updates so far."""

    online: TrainState
    target: Any
    step: jax.Array


class Networks(NamedTuple):
    encoder: Any
    projector: Any
    predictor: Any


def check_ssl_config(config: ml_collections.ConfigDict) -> Objective:
    s = config.ssl
    objective = choose(OBJECTIVES, s.objective, "config.ssl.objective")
    config_lib.check_number(s.temperature, "config.ssl.temperature", lo=1e-3)
    config_lib.check_number(s.ema_base, "config.ssl.ema_base", lo=0.0, hi=1.0)
    for key in ("feature_dim", "proj_hidden", "proj_dim", "pred_hidden"):
        config_lib.check_int(s[key], f"config.ssl.{key}")
    v = config.views
    config_lib.check_number(v.crop_scale, "config.views.crop_scale", lo=0.0, hi=1.0)
    for key in ("brightness", "contrast", "noise"):
        config_lib.check_number(v[key], f"config.views.{key}", lo=0.0)
    for key in ("shift", "cutout"):
        config_lib.check_int(v[key], f"config.views.{key}", minimum=0)
    for n in config.probe.labels_per_class:
        config_lib.check_int(n, "config.probe.labels_per_class", minimum=0)
    config_lib.check_int(config.probe.steps, "config.probe.steps")
    config_lib.check_int(config.probe.knn_k, "config.probe.knn_k")
    return objective


def make_networks(config: ml_collections.ConfigDict, objective: Objective) -> Networks:
    s = config.ssl
    bn = bool(s.head_batch_norm)
    return Networks(encoder=build_model(config, int(s.feature_dim)),
                    projector=ProjectionHead(int(s.proj_hidden), int(s.proj_dim), batch_norm=bn),
                    predictor=ProjectionHead(int(s.pred_hidden), int(s.proj_dim), batch_norm=bn)
                    if objective.predictor else None)


def views_fn(config: ml_collections.ConfigDict) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """(key, [0, 1] images) -> one random view per image, by the `views` group."""
    v = config.views
    return functools.partial(view_augment, crop_scale=float(v.crop_scale), shift=int(v.shift), flip=bool(v.flip),
                             brightness=float(v.brightness), contrast=float(v.contrast),
                             cutout_size=int(v.cutout), noise=float(v.noise))


def init_fn(config: ml_collections.ConfigDict, nets: Networks, objective: Objective, tx, image_shape) -> Callable:
    sample = jnp.zeros((2,) + tuple(image_shape), jnp.float32)

    def init(key):
        k_enc, k_proj, k_pred = jax.random.split(key, 3)
        variables = nets.encoder.init({"params": k_enc, "dropout": k_enc}, sample, train=False)
        params = {"encoder": variables.pop("params")}
        h = jnp.zeros((2, int(config.ssl.feature_dim)))
        params["projector"] = nets.projector.init(k_proj, h)["params"]
        if nets.predictor is not None:
            params["predictor"] = nets.predictor.init(k_pred, jnp.zeros((2, int(config.ssl.proj_dim))))["params"]
        online = TrainState(params=params, model_state=dict(variables), opt_state=tx.init(params))
        target = {k: params[k] for k in ("encoder", "projector")} if objective.target else {}
        return SSLState(online=online, target=target, step=jnp.zeros((), jnp.int32))

    return init


def make_train_step(config: ml_collections.ConfigDict, nets: Networks, objective: Objective, tx,
                    prepare: Normaliser, contrast: Callable) -> Callable:
    """The one step both objectives share: two views, one forward of the online networks on both,
    the objective's loss, the update, then (BYOL) the EMA of the target."""
    view = views_fn(config)
    tau, total, base = float(config.ssl.temperature), int(config.steps), float(config.ssl.ema_base)

    def encode(params, model_state, x, key):
        return nets.encoder.apply({"params": params, **model_state}, x, train=True, rngs={"dropout": key},
                                  mutable=list(model_state.keys()))

    def train_step(state: SSLState, batch, key):
        unit = prepare.unit(batch["image"])
        k1, k2, k_drop = jax.random.split(key, 3)
        batch_size = unit.shape[0]
        x1 = prepare.standardise(view(None, unit, keys=jax.random.split(k1, batch_size)))
        x2 = prepare.standardise(view(None, unit, keys=jax.random.split(k2, batch_size)))
        x = jnp.concatenate([x1, x2])
        model_state = state.online.model_state
        if objective.target:
            th, _ = encode(state.target["encoder"], model_state, x, k_drop)
            t = jax.lax.stop_gradient(nets.projector.apply({"params": state.target["projector"]}, th))
            t1, t2 = t[:batch_size], t[batch_size:]
        else:
            t1 = t2 = None

        def loss_fn(params):
            h, updates = encode(params["encoder"], model_state, x, k_drop)
            z = nets.projector.apply({"params": params["projector"]}, h)
            q = nets.predictor.apply({"params": params["predictor"]}, z) if objective.predictor else None
            p = Projections(z1=z[:batch_size], z2=z[batch_size:], q1=None if q is None else q[:batch_size],
                            q2=None if q is None else q[batch_size:], t1=t1, t2=t2)
            return objective.loss(p, contrast, tau), (p, updates)

        (loss, (p, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.online.params)
        cosine = jnp.mean(jnp.sum(l2_normalise(p.z1) * l2_normalise(p.z2), axis=-1))
        metrics = {"loss": loss, "view_cosine": cosine,
                   "projection_std": jnp.mean(jnp.std(l2_normalise(p.z1), axis=0)) * math.sqrt(p.z1.shape[1])}
        online, metrics = apply_gradients(state.online, tx, grads, metrics,
                                          model_state=dict(updates) if updates else None)
        target = state.target
        if objective.target:
            decay = ema_decay(state.step, total, base)
            target = ema_update(target, {k: online.params[k] for k in target}, decay)
            metrics["ema_decay"] = decay
        return SSLState(online=online, target=target, step=state.step + 1), metrics

    return train_step


# ---------------------------------------------------------------------------------------------- evaluation

def label_sets(config: ml_collections.ConfigDict, data: Dataset) -> dict[str, Split]:
    """{"10": 10 labelled images per class, ..., "all": the training split} for `probe.labels_per_class`
    (subsets drawn by `data_seed`, as `per_class_subset` draws them)."""
    sets = {}
    for n in config.probe.labels_per_class:
        n = int(n)
        sets["all" if n == 0 else str(n)] = data.train if n == 0 else \
            per_class_subset(data.train, n, data.num_classes, int(config.data_seed))
    return sets


def make_features_fn(nets: Networks, prepare: Normaliser, batch_size: int) -> Callable[[Any, Any, np.ndarray], jax.Array]:
    """(encoder params, model state, images [N, ...]) -> frozen features h [N, F] of the clean images."""

    @jax.jit
    def forward(params, model_state, images):
        return nets.encoder.apply({"params": params, **model_state}, prepare(images), train=False)

    def features(params, model_state, images):
        chunks = [forward(params, model_state, images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
        return jnp.concatenate(chunks)

    return features


def make_probe_evaluator(config: ml_collections.ConfigDict, nets: Networks, prepare: Normaliser, data: Dataset,
                         sets: dict[str, Split]) -> Callable[[Any, jax.Array], dict[str, float]]:
    """evaluator(state, key) -> {linear_<n>, knn_<n>} on the test split for each labelled set."""
    p = config.probe
    features = make_features_fn(nets, prepare, int(p.batch_size))
    linear = jax.jit(functools.partial(linear_probe_accuracy, num_classes=data.num_classes, steps=int(p.steps),
                                       learning_rate=float(p.learning_rate), weight_decay=float(p.weight_decay)))
    knn = jax.jit(functools.partial(knn_accuracy, num_classes=data.num_classes, k=int(p.knn_k),
                                    temperature=float(p.knn_temperature)))
    test_images, test_labels = np.asarray(data.test["image"]), jnp.asarray(data.test["label"])

    def evaluate(state, key):
        params, model_state = state.online.params["encoder"], state.online.model_state
        test_x = features(params, model_state, test_images)
        out = {}
        for name, split in sets.items():
            train_x = features(params, model_state, np.asarray(split["image"]))
            train_y = jnp.asarray(split["label"])
            out[f"linear_{name}"] = float(linear(train_x, train_y, test_x, test_labels))
            out[f"knn_{name}"] = float(knn(train_x, train_y, test_x, test_labels))
        return out

    return evaluate


# ------------------------------------------------------------------------------------------------ recipe

def make_recipe(config: ml_collections.ConfigDict, data: Dataset) -> loop.Recipe:
    """The SSL recipe: the unlabelled training images (labels dropped), the shared step, the probe evaluator."""
    objective = check_ssl_config(config)
    images = data.train["image"]
    if images.ndim != 4:
        raise JaxmlError(f"the ssl method needs NHWC images; dataset {config.dataset!r} has inputs of shape "
                         f"{tuple(images.shape[1:])}")
    nets = make_networks(config, objective)
    tx = make_optimizer(config)
    prepare = Normaliser.fit(data.train)
    mesh = sharding_lib.make_mesh(config.parallel)
    contrast = batch_global_nt_xent(mesh)
    evaluators = {PROBE: make_probe_evaluator(config, nets, prepare, data, label_sets(config, data))}

    def eval_step(state, batch):
        return {"count": jnp.sum(batch["mask"])}

    return loop.Recipe(init=init_fn(config, nets, objective, tx, images.shape[1:]),
                       train_step=make_train_step(config, nets, objective, tx, prepare, contrast),
                       eval_step=eval_step, train_split=Split(image=images), eval_splits={},
                       main_metric="linear_all", evaluators=evaluators)


def load_data(config: ml_collections.ConfigDict) -> Dataset:
    """The dataset; with `probe.validation` = n > 0, n training images (drawn by `data_seed`) are held
    out and replace the test split, for pre-training, probes and controls alike: a run that chooses
    settings never sees the test images."""
    n = config_lib.check_int(config.probe.validation, "config.probe.validation", minimum=0)
    return validation_as_test(supervised.load_data(config), n, int(config.data_seed), "config.probe.validation")


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The training recipe (`jaxml bench`, `jaxml eval`)."""
    return make_recipe(config, load_data(config))


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the newest checkpoint in `workdir` and runs the probes."""
    return loop.evaluate_checkpoint(recipe_for(config), config, workdir)


# ------------------------------------------------------------------------------------------------- train

def baseline_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The supervised baseline: a classify run of the encoder with a linear head (`model.dense` gains the
    representation layer), trained end to end on the labelled subset with the `baseline` group's keys."""
    b = config.baseline
    c = supervised_config("classify")
    for key in ("dataset", "data_dir", "data_seed", "seed", "dtype"):
        c[key] = config[key]
    model = dict(config.model.to_dict())
    model["dense"] = tuple(model.get("dense", ())) + (int(config.ssl.feature_dim),)
    c.model = ml_collections.ConfigDict(model)
    c.parallel = ml_collections.ConfigDict(config.parallel.to_dict())
    for key in ("steps", "batch_size", "learning_rate", "weight_decay", "warmup_steps"):
        c[key] = b[key]
    c.augment.shift = int(b.shift)
    c.eval_batch_size = int(config.probe.batch_size)
    c.log_every = min(100, int(b.steps))
    c.eval_every = int(b.steps)
    c.checkpoint_every = int(b.steps)
    c.tensorboard = bool(config.get("tensorboard", True))
    return c


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    data = load_data(config)
    recipe = make_recipe(config, data)
    state, final = loop.run(recipe, config, workdir, desc=config.ssl.objective)
    mesh = sharding_lib.make_mesh(config.parallel)
    random_state = sharding_lib.DATA_PARALLEL.place_state(lambda: recipe.init(loop.init_key(int(config.seed))), mesh)
    random = recipe.evaluators[PROBE](random_state, loop.evaluator_key(int(config.seed), "random", 0))
    result: dict[str, Any] = {k: v for k, v in final.items()}
    result.update({f"random_{k}": v for k, v in random.items()})
    for k, v in random.items():
        result[f"gain_{k}"] = final[f"{PROBE}_{k}"] - v
    log.info("probe %s; random encoder %s", {k: round(v, 4) for k, v in final.items() if k.startswith(PROBE)},
             {k: round(v, 4) for k, v in random.items()})
    b = config.baseline
    if int(b.steps) > 0:
        labelled = per_class_subset(data.train, int(b.per_class), data.num_classes, int(config.data_seed))
        m = supervised.train_once(baseline_config(config), workdir / "supervised", labelled, {"test": data.test},
                                  data.num_classes, desc=f"supervised on {len(labelled)} labels")
        result["supervised_accuracy"] = m["test_accuracy"]
        probe_key = f"{PROBE}_linear_{int(b.per_class)}"
        if probe_key in result:
            result["beats_supervised"] = result[probe_key] - m["test_accuracy"]
    result["objective"] = config.ssl.objective
    result["params"] = loop.count_params(state.online.params["encoder"])
    return result
