"""Knowledge distillation (Hinton et al. 2015): a small student learns from a trained teacher.

Per example, with p^T = softmax(z / T):

    loss = α · T² · KL(p_teacher^T ‖ p_student^T) + (1 − α) · CE(y, p_student)

The T² factor keeps the soft-target gradient, which scales as 1/T², at the same magnitude across
temperatures (Hinton 2015, §2). Two modes (`distill.mode`, values of `MODES`):
- "fixed": the teacher's logits are computed once on the clean training images and ride with the
  training split as the named array `teacher_logits`; every step the student sees an augmented
  (random shift, optional mixup) view and matches the stored clean-image targets (mixed with the same
  λ and partner as its images).
- "consistent" (Beyer et al. 2022, "patient and consistent"): the frozen teacher scores exactly the
  augmented, mixed-up batch the student sees, every step.
In both modes the teacher's inputs are standardised like the student's (statistics of the students'
training split).

The teacher is a `classify` model: loaded from the newest checkpoint of a classify run
(`teacher_workdir`, whose config.json describes it) or trained first in `<workdir>/teacher` from the
`teacher` config group (its config.json is written beside it, so `teacher_workdir=<workdir>/teacher`
reuses it). The student (config.model) is trained `seeds` times with distillation
(`<workdir>/distill_seed<k>`) and, with `scratch`, from scratch on labels with the same optimizer,
steps and augmentation, `distill.mixup_alpha` included (`<workdir>/scratch_seed<k>`). With
`student_per_class > 0` both students see only that many training images per class (a small transfer
set, Hinton 2015 §2); the teacher always sees them all. Every sub-run resumes from its own checkpoints.

result.json metrics: `test_accuracy` (distilled students, mean over seeds) and `test_accuracy_std`,
`scratch_accuracy` (+ `_std`), `teacher_accuracy`, `gap_closed` = (distilled − scratch) / (teacher −
scratch) on the means, `gap_closed_std` over seeds (each seed's distilled/scratch pair), per-seed lists,
`params` (student) and `teacher_params`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import config as config_lib, loop, supervised
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.registry import choose
from jaxml.core.steps import Normaliser, apply_gradients, batch_key, classification_sums
from jaxml.core.supervised import augment_images, classifier_init, infer_logits, load_data, train_logits
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data.augment import mixup
from jaxml.data.batching import eval_batches
from jaxml.data.datasets import Dataset, Split, per_class_subset
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")


# ------------------------------------------------------------------------------------------------ losses

def soft_targets(teacher_logits: jax.Array, temperature) -> jax.Array:
    """softmax(teacher_logits / T)."""
    return jax.nn.softmax(teacher_logits.astype(jnp.float32) / temperature, axis=-1)


def soft_target_loss(student_logits: jax.Array, teacher_probs: jax.Array, temperature) -> jax.Array:
    """Per example T² · KL(teacher_probs ‖ softmax(student_logits / T))."""
    log_p = jax.nn.log_softmax(student_logits.astype(jnp.float32) / temperature, axis=-1)
    kl = jnp.sum(jax.scipy.special.xlogy(teacher_probs, teacher_probs) - teacher_probs * log_p, axis=-1)
    return temperature ** 2 * kl


def distillation_loss(student_logits: jax.Array, teacher_probs: jax.Array, targets: jax.Array,
                      temperature, alpha) -> jax.Array:
    """Per example α · T² · KL(p_t^T ‖ p_s^T) + (1 − α) · CE(targets, p_s); `targets` are (soft) label
    distributions, `teacher_probs` the teacher's softmax at temperature T."""
    hard = optax.softmax_cross_entropy(student_logits.astype(jnp.float32), targets)
    return alpha * soft_target_loss(student_logits, teacher_probs, temperature) + (1.0 - alpha) * hard


# -------------------------------------------------------------------------------------------------- modes

class DistillMode(NamedTuple):
    """Where the student's soft targets come from (`distill.mode`).

    `online_teacher`: the frozen teacher runs inside the step (its variables live in the state);
    otherwise the training split carries its logits on the clean images as the array `teacher_logits`.
    `carried(batch, T)`: soft targets that travel with the batch and are mixed up like its images (or
    None); `targets(teacher_fn, images, carried, T)`: the soft targets the student matches, given the
    student's (augmented, mixed) images and `teacher_fn(images) -> logits`."""

    online_teacher: bool
    carried: Callable[[Any, float], jax.Array | None]
    targets: Callable[[Callable, jax.Array, jax.Array | None, float], jax.Array]


def fixed_targets() -> DistillMode:
    """Hinton et al. 2015: the teacher's logits are computed once on the clean training images; every
    step the student sees an augmented (random shift, optional mixup) view and matches the stored
    clean-image targets (mixed with the same λ and partner as its images)."""
    return DistillMode(online_teacher=False,
                       carried=lambda batch, temperature: soft_targets(batch["teacher_logits"], temperature),
                       targets=lambda teacher_fn, images, carried, temperature: carried)


def consistent_targets() -> DistillMode:
    """Beyer et al. 2022 ("patient and consistent" function matching): the frozen teacher scores exactly
    the augmented, mixed-up batch the student sees, every step."""
    return DistillMode(
        online_teacher=True, carried=lambda batch, temperature: None,
        targets=lambda teacher_fn, images, carried, temperature: soft_targets(
            jax.lax.stop_gradient(teacher_fn(images)), temperature))


MODES: dict[str, DistillMode] = {"fixed": fixed_targets(), "consistent": consistent_targets()}


# ------------------------------------------------------------------------------------------------- state

@flax.struct.dataclass
class DistillState:
    """The student's train state and the frozen teacher's variables (online-teacher modes; empty
    otherwise)."""

    student: TrainState
    teacher: Any


@flax.struct.dataclass
class Teacher:
    """A trained classify model: its module, variables and config."""

    model: Any = flax.struct.field(pytree_node=False)
    variables: Any
    config: Any = flax.struct.field(pytree_node=False)


def check_distill_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    d = config.distill
    choose(MODES, d.mode, "config.distill.mode")
    config_lib.check_number(d.temperature, "config.distill.temperature", lo=1e-3)
    config_lib.check_number(d.alpha, "config.distill.alpha", lo=0.0, hi=1.0)
    config_lib.check_number(d.mixup_alpha, "config.distill.mixup_alpha", lo=0.0)
    config_lib.check_int(config.seeds, "config.seeds")
    if float(config.augment.get("mixup_alpha", 0.0)) > 0:
        raise JaxmlError("config.augment.mixup_alpha is not used by distill; set config.distill.mixup_alpha "
                         "(it mixes images, labels and teacher targets, and the scratch control gets the same)")
    return d


def make_recipe(config: ml_collections.ConfigDict, train_split: Split, eval_splits: dict[str, Split],
                num_classes: int, teacher: Teacher, teacher_logits: np.ndarray | None = None) -> loop.Recipe:
    """The distillation recipe. `teacher_logits` [N, C] (fixed mode) are the teacher's logits on the
    clean `train_split` images (any values of that shape will do for restoring a checkpoint); the
    training split carries them as the named array `teacher_logits`."""
    d = check_distill_config(config)
    mode = MODES[d.mode]
    model = build_model(config, num_classes)
    tx = make_optimizer(config)
    prepare = Normaliser.fit(train_split)
    temperature, alpha, mix = float(d.temperature), float(d.alpha), float(d.mixup_alpha)
    aug = config.augment
    init_student = classifier_init(model, tx, train_split)
    if not mode.online_teacher:
        if teacher_logits is None or teacher_logits.shape != (len(train_split), num_classes):
            raise JaxmlError(f"fixed-mode distillation needs the teacher's logits for all {len(train_split)} "
                             f"training examples")
        train_split = train_split.replace(teacher_logits=np.asarray(teacher_logits, np.float32))

    def init(key):
        return DistillState(student=init_student(key), teacher=teacher.variables if mode.online_teacher else {})

    def train_step(state: DistillState, batch, key):
        labels = batch["label"]
        images = prepare(batch["image"])
        aug_key, mix_key, drop_key = jax.random.split(key, 3)
        images = augment_images(aug, images, aug_key)
        onehot = jax.nn.one_hot(labels, num_classes)
        carried = mode.carried(batch, temperature)
        if mix > 0:  # one λ and partner for images, labels and the carried teacher targets
            targets = onehot if carried is None else jnp.concatenate([onehot, carried], -1)
            images, mixed = mixup(batch_key(mix_key), images, targets, mix)
            onehot, carried = mixed[:, :num_classes], (None if carried is None else mixed[:, num_classes:])
        teacher_fn = lambda x: teacher.model.apply(state.teacher, x, train=False)
        teacher_probs = mode.targets(teacher_fn, images, carried, temperature)

        def loss_fn(params):
            logits, updates = train_logits(model, params, state.student.model_state, images,
                                           batch_key(drop_key))
            loss = distillation_loss(logits, teacher_probs, onehot, temperature, alpha).mean()
            return loss, (logits, updates)

        (loss, (logits, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.student.params)
        metrics = {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels),
                   "teacher_agreement": jnp.mean(jnp.argmax(logits, -1) == jnp.argmax(teacher_probs, -1))}
        student, metrics = apply_gradients(state.student, tx, grads, metrics,
                                           model_state=dict(updates) if updates else None)
        return state.replace(student=student), metrics

    def eval_step(state: DistillState, batch):
        logits = infer_logits(model, state.student, prepare(batch["image"]))
        return classification_sums(logits, batch["label"], batch["mask"])

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=train_split,
                       eval_splits=eval_splits, main_metric="accuracy")


# ----------------------------------------------------------------------------------------------- teacher

def teacher_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The `teacher` group as a classify config on the student's data and devices."""
    t = ml_collections.ConfigDict(config.teacher.to_dict())
    t.method = "classify"
    for key in ("dataset", "data_dir", "data_seed"):
        t[key] = config[key]
    t.parallel = ml_collections.ConfigDict(config.parallel.to_dict())
    return t


def obtain_teacher(config: ml_collections.ConfigDict, workdir: Path, data: Dataset) -> tuple[Teacher, float]:
    """(teacher, its test accuracy): restored from `teacher_workdir`, or trained in `<workdir>/teacher`."""
    source = str(config.teacher_workdir)
    if source:
        saved = Path(source) / "config.json"
        if not saved.is_file():
            raise JaxmlError(f"config.teacher_workdir={source!r} holds no config.json; give the workdir of a "
                             f"`jaxml train` classify run, or leave it empty to train the teacher first")
        tconf = config_lib.from_json(saved.read_text())
        if tconf.get("method") != "classify" or tconf.get("dataset") != config.dataset:
            raise JaxmlError(f"config.teacher_workdir={source!r} is a {tconf.get('method')} run on "
                             f"{tconf.get('dataset')}; the teacher must be a classify run on {config.dataset}")
        tconf.parallel = ml_collections.ConfigDict(config.parallel.to_dict())
        recipe = supervised.make_recipe(tconf, data.train, {"test": data.test}, data.num_classes)
        step, state, mesh = loop.restore_recipe_state(recipe, tconf, source)
        accuracy = loop.evaluate_state(recipe, tconf, state, step, mesh)["test_accuracy"]
    else:
        tconf = teacher_config(config)
        recipe = supervised.make_recipe(tconf, data.train, {"test": data.test}, data.num_classes)
        state, metrics = loop.run(recipe, tconf, workdir / "teacher", desc="teacher")
        accuracy = metrics["test_accuracy"]
        if jax.process_index() == 0:  # so `teacher_workdir=<workdir>/teacher` can reuse it
            (workdir / "teacher" / "config.json").write_text(config_lib.to_json(tconf))
    variables = {"params": state.params, **state.model_state}
    return Teacher(model=build_model(tconf, data.num_classes), variables=variables, config=tconf), accuracy


def teacher_logits_on(teacher: Teacher, split: Split, batch_size: int = 1000) -> np.ndarray:
    """The teacher's logits [N, C] on the clean images of `split`, standardised with the statistics of
    `split` itself: the inputs the students' steps give the online teacher."""
    prepare = Normaliser.fit(split)

    @jax.jit
    def forward(variables, images):
        return teacher.model.apply(variables, prepare(images), train=False)

    batches = eval_batches(split, global_batch=batch_size)
    out = [np.asarray(forward(teacher.variables, batch)) for batch in batches["image"]]
    return np.concatenate(out)[: len(split)]


# ------------------------------------------------------------------------------------------------- train

def seed_config(config: ml_collections.ConfigDict, seed: int, **distill: Any) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict(config.to_dict())
    c.seed = seed
    for k, v in distill.items():
        c.distill[k] = v
    return c


def scratch_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The from-scratch control: the student's classify config with the distilled student's augmentation,
    i.e. `distill.mixup_alpha` becomes `augment.mixup_alpha` (mixup on hard labels)."""
    c = ml_collections.ConfigDict(config.to_dict())
    if float(config.distill.mixup_alpha) > 0:
        c.augment.mixup_alpha = float(config.distill.mixup_alpha)
    return c


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The distillation recipe with an untrained teacher and zero teacher logits: the same shapes and
    the same compute as `train` (for `jaxml bench`, and as the template for restoring checkpoints)."""
    data = load_data(config)
    tconf = teacher_config(config)
    model = build_model(tconf, data.num_classes)
    variables = model.init({"params": jax.random.key(0)}, jnp.zeros((1,) + data.train["image"].shape[1:]), train=False)
    teacher = Teacher(model=model, variables=variables, config=tconf)
    train_split = student_train_split(config, data)
    logits = np.zeros((len(train_split), data.num_classes), np.float32)
    return make_recipe(config, train_split, {"test": data.test}, data.num_classes, teacher, logits)


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Evaluates the newest checkpoint of the first distilled student (`<workdir>/distill_seed<seed>`)."""
    return loop.evaluate_checkpoint(recipe_for(config), config, Path(workdir) / f"distill_seed{int(config.seed)}")


def describe_model(model) -> str:
    """A one-line description of a classify model config for tables: 'MLP in-256-out', 'CNN conv16-32 dense64'."""
    m = dict(model)
    if m.get("name") == "mlp":
        return "MLP " + "-".join(["in", *map(str, m.get("hidden", ())), "out"])
    if m.get("name") == "cnn":
        return "CNN conv" + "-".join(map(str, m.get("features", ()))) + " dense" + "-".join(map(str, m.get("dense", ())))
    return str(m.get("name"))


def student_train_split(config: ml_collections.ConfigDict, data: Dataset) -> Split:
    """The students' training (transfer) set: the whole training split, or `student_per_class` examples
    of each class (seeded by `data_seed`) when that is > 0. The teacher always saw the whole split."""
    per = int(config.get("student_per_class", 0))
    if per < 0:
        raise JaxmlError(f"config.student_per_class={per} is not valid; use 0 (whole training set) or >= 1")
    if per == 0:
        return data.train
    split = per_class_subset(data.train, per, data.num_classes, int(config.data_seed))
    log.info("students train on %d examples (%d per class); the teacher on all %d", len(split), per, len(data.train))
    return split


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    d = check_distill_config(config)
    data = load_data(config)
    eval_splits = {"test": data.test}
    train_split = student_train_split(config, data)   # bad values fail before the teacher trains
    teacher, teacher_acc = obtain_teacher(config, workdir, data)
    log.info("teacher test accuracy %.4f", teacher_acc)
    logits = None if MODES[d.mode].online_teacher else teacher_logits_on(teacher, train_split)
    distilled, scratch = [], []
    params = 0
    for k in range(int(config.seeds)):
        seed = int(config.seed) + k
        c = seed_config(config, seed)
        recipe = make_recipe(c, train_split, eval_splits, data.num_classes, teacher, logits)
        state, m = loop.run(recipe, c, workdir / f"distill_seed{seed}", desc=f"distill seed {seed}")
        distilled.append(m["test_accuracy"])
        params = loop.count_params(state.student.params)
        if config.scratch:
            scratch.append(supervised.train_once(scratch_config(c), workdir / f"scratch_seed{seed}", train_split, eval_splits,
                                                 data.num_classes, desc=f"scratch seed {seed}")["test_accuracy"])
        log.info("seed %d: distilled %.4f%s", seed, distilled[-1],
                 f", scratch {scratch[-1]:.4f}" if scratch else "")
    result: dict[str, Any] = {
        "test_accuracy": float(np.mean(distilled)), "test_accuracy_std": float(np.std(distilled)),
        "test_accuracy_per_seed": distilled, "teacher_accuracy": teacher_acc, "seeds": int(config.seeds),
        "steps": int(config.steps), "params": params,
        "teacher_params": loop.count_params(teacher.variables["params"]),
        "temperature": float(d.temperature), "alpha": float(d.alpha), "mode": d.mode,
        "student_train_examples": len(train_split), "mixup_alpha": float(d.mixup_alpha),
        "shift": int(config.augment.shift), "student_model": describe_model(config.model),
        "teacher_model": describe_model(teacher.config.model)}
    if scratch:
        gap = teacher_acc - float(np.mean(scratch))
        per_seed = [(a - s) / (teacher_acc - s) if teacher_acc != s else float("nan")
                    for a, s in zip(distilled, scratch)]
        result.update(scratch_accuracy=float(np.mean(scratch)), scratch_accuracy_std=float(np.std(scratch)),
                      scratch_accuracy_per_seed=scratch,
                      gap_closed=(result["test_accuracy"] - float(np.mean(scratch))) / gap if gap else float("nan"),
                      gap_closed_std=float(np.std(per_seed)), gap_closed_per_seed=per_seed)
    if jax.process_index() == 0:
        plot_runs(workdir, sorted(workdir.glob("distill_seed*")) + sorted(workdir.glob("scratch_seed*")),
                  title=f"{config.get('name', 'distill')}: teacher {teacher_acc:.4f}")
    return result


def plot_runs(workdir: Path, runs: list[Path], title: str) -> None:
    """Test accuracy against step of every sub-run -> <workdir>/plots/learning_curve.png."""
    from jaxml.core.metrics import read_metrics

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for run in runs:
        rows = [r for r in read_metrics(run) if r.get("split") == "test" and r.get("accuracy") is not None]
        if rows:
            ax.plot([r["step"] for r in rows], [r["accuracy"] for r in rows], "o-", ms=3, label=run.name)
    ax.set_xlabel("step"); ax.set_ylabel("test accuracy"); ax.grid(alpha=0.3); ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, workdir / "plots" / "learning_curve.png", dpi=110)
