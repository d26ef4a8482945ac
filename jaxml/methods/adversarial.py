"""Adversarial robustness: FGSM and PGD attacks, PGD adversarial training and TRADES, robust evaluation.

Attacks work in pixel space [0, 1] (the data range; the model's input standardisation is part of
`logits_fn`) on a per-example loss `loss_fn(x_adv) -> [B]`, and always return points inside the ε-ball
around x and inside the box. The ball (`adversarial.norm`) is a value of `BALLS` ("linf", "l2"): its
projection, its uniform random point and its steepest-ascent direction.
- `fgsm`: x + ε·sign(∇L) (Goodfellow et al. 2015);
- `pgd`: projected gradient ascent (Madry et al. 2018) in L∞ (signed steps) or L2 (normalised steps),
  from x or a uniform random point of the ball, with `restarts` independent random starts of which each
  example keeps the one with the highest loss. One L∞ step of size ε from x is exactly FGSM.

Training (`adversarial.mode`, a value of `MODES`: the inner attack and the outer loss):
- "standard": plain cross-entropy;
- "pgd_at" (Madry 2018): cross-entropy on PGD examples (attack on the model in inference mode);
- "trades" (Zhang et al. 2019): CE(f(x), y) + β·KL(f(x) ‖ f(x_adv)), x_adv maximising that KL from
  x + 0.001·N(0, 1).

Evaluation: the `robust` evaluator, at every eval point of the run (`eval_every` steps and the end), on
`eval_examples` test images: clean accuracy and robust accuracy under PGD over `eps_grid` (an example
counts as robust at ε only if no attack at any ε' ≤ ε fooled it: the ε'-ball lies inside the ε-ball,
so robust accuracy equals clean accuracy at ε = 0 and never increases), per-class F1 on clean and
adversarial inputs, and the ROC-AUC of the max-softmax confidence for telling clean (positive) from
adversarial inputs. A robustness-curve PNG goes to `plots/robustness.png`.

The `pgd_at_fashion` and `trades_fashion` experiments train every entry of `compare` (a tuple of
mode/β settings) in `<workdir>/<name>`; result.json holds the main run's metrics (`test_accuracy`,
`robust_accuracy` at `eps`) and `<name>_<metric>` for every run.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.registry import choose
from jaxml.core.steps import Normaliser, apply_gradients, batch_key, classification_sums
from jaxml.core.supervised import classifier_init, load_data, train_logits
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data.datasets import Dataset, Split
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")

ROBUST = "robust"  # the robustness evaluator: metrics logged under this split, returned as robust_<metric>

# ------------------------------------------------------------------------------------------------ balls


def _flat_norm(x: jax.Array) -> jax.Array:
    """Per-example L2 norm, broadcastable against x."""
    n = jnp.sqrt(jnp.sum(jnp.square(x.reshape(x.shape[0], -1)), axis=-1))
    return n.reshape((-1,) + (1,) * (x.ndim - 1))


class NormBall(NamedTuple):
    """A threat model: the ε-ball of a norm. `clip(delta, eps)` is the nearest point of the ball,
    `random_point(key, x, eps)` a uniform point of the ball around x, `ascent(g)` the steepest-ascent
    direction of unit norm for the gradient g."""

    clip: Callable[[jax.Array, Any], jax.Array]
    random_point: Callable[[jax.Array, jax.Array, Any], jax.Array]
    ascent: Callable[[jax.Array], jax.Array]


def _l2_random_point(key: jax.Array, x: jax.Array, eps) -> jax.Array:
    k_dir, k_rad = jax.random.split(key)
    direction = jax.random.normal(k_dir, x.shape)
    direction = direction / jnp.maximum(_flat_norm(direction), 1e-12)
    d = x[0].size
    radius = jax.random.uniform(k_rad, (x.shape[0],) + (1,) * (x.ndim - 1)) ** (1.0 / d)
    return x + eps * radius * direction


BALLS: dict[str, NormBall] = {
    # L∞ (Madry 2018's MNIST/CIFAR threat model): clip per coordinate, uniform in the cube, signed steps
    "linf": NormBall(clip=lambda delta, eps: jnp.clip(delta, -eps, eps),
                     random_point=lambda key, x, eps: x + jax.random.uniform(key, x.shape, minval=-1.0, maxval=1.0) * eps,
                     ascent=jnp.sign),
    # L2: rescale onto the ball, uniform in the ball (radius ε·U^(1/d)), normalised gradient steps
    "l2": NormBall(clip=lambda delta, eps: delta * jnp.minimum(1.0, eps / jnp.maximum(_flat_norm(delta), 1e-12)),
                   random_point=_l2_random_point,
                   ascent=lambda g: g / jnp.maximum(_flat_norm(g), 1e-12)),
}
NORMS = tuple(BALLS)


def norm_ball(norm: str) -> NormBall:
    return choose(BALLS, norm, "attack norm")


# ----------------------------------------------------------------------------------------------- attacks


def project(x_adv: jax.Array, x: jax.Array, eps, norm: str = "linf", lo: float = 0.0, hi: float = 1.0) -> jax.Array:
    """Nearest point to x_adv in the ε-ball around x (L∞: clip; L2: rescale), then clipped to [lo, hi].

    Clipping to the box only shrinks each coordinate's distance to x (x is inside the box), so the
    result stays in the ball."""
    return jnp.clip(x + norm_ball(norm).clip(x_adv - x, eps), lo, hi)


def fgsm(loss_fn: Callable[[jax.Array], jax.Array], x: jax.Array, eps, lo: float = 0.0, hi: float = 1.0) -> jax.Array:
    """x + ε·sign(∇ₓ Σ loss), clipped to the box."""
    grad = jax.grad(lambda v: jnp.sum(loss_fn(v)))(x)
    return jnp.clip(x + eps * jnp.sign(grad), lo, hi)


def random_start(key: jax.Array, x: jax.Array, eps, norm: str) -> jax.Array:
    """A uniform random point of the ε-ball around x (L∞: cube; L2: ball, radius ε·U^(1/d))."""
    return norm_ball(norm).random_point(key, x, eps)


def pgd(loss_fn: Callable[[jax.Array], jax.Array], x: jax.Array, key: jax.Array, *, eps, step_size, steps: int,
        norm: str = "linf", rand_init: bool = True, restarts: int = 1, lo: float = 0.0, hi: float = 1.0,
        x_init: jax.Array | None = None) -> jax.Array:
    """Projected gradient ascent on Σ loss_fn in the ε-ball around x, from x (or `x_init`, or a random point
    of the ball with `rand_init`); per example the restart with the highest final loss."""
    ball = norm_ball(norm)
    grad_fn = jax.grad(lambda v: jnp.sum(loss_fn(v)))

    def one_run(k):
        if rand_init:
            x_adv = project(ball.random_point(k, x, eps), x, eps, norm, lo, hi)
        else:
            x_adv = x if x_init is None else project(x_init, x, eps, norm, lo, hi)

        def body(_, x_adv):
            return project(x_adv + step_size * ball.ascent(grad_fn(x_adv)), x, eps, norm, lo, hi)

        x_adv = jax.lax.fori_loop(0, steps, body, x_adv)
        return x_adv, loss_fn(x_adv)

    if restarts == 1:
        return one_run(key)[0]
    advs, losses = jax.lax.map(one_run, jax.random.split(key, restarts))  # [R, B, ...], [R, B]
    best = jnp.argmax(losses, axis=0)
    return jnp.take_along_axis(advs, best.reshape((1, -1) + (1,) * (x.ndim - 1)), axis=0)[0]


def cross_entropy_loss(logits_fn: Callable[[jax.Array], jax.Array], labels: jax.Array):
    """x -> per-example cross-entropy of logits_fn(x) against labels (the attack objective)."""
    return lambda v: optax.softmax_cross_entropy_with_integer_labels(logits_fn(v), labels)


def kl_loss(logits_fn: Callable[[jax.Array], jax.Array], clean_logits: jax.Array):
    """x -> per-example KL(softmax(clean_logits) ‖ softmax(logits_fn(x))) (TRADES' inner objective)."""
    p = jax.nn.softmax(clean_logits)
    log_p = jax.nn.log_softmax(clean_logits)
    return lambda v: jnp.sum(p * (log_p - jax.nn.log_softmax(logits_fn(v))), axis=-1)


# ------------------------------------------------------------------------------------------ training modes


class AttackBudget(NamedTuple):
    """The training attack: ε, step size and steps of PGD in `norm`."""

    eps: float
    step_size: float
    steps: int
    norm: str


class TrainingMode(NamedTuple):
    """An adversarial training objective. `attack(infer, x, labels, key)` is the inner maximisation
    (`infer`: the model in inference mode on [0, 1] inputs) and returns the inputs the outer loss sees;
    `loss(forward, x, x_attack, labels) -> (loss, (logits, model updates))` is the outer objective
    (`forward`: the model in training mode, differentiated)."""

    attack: Callable[..., jax.Array]
    loss: Callable[..., tuple[jax.Array, tuple[jax.Array, Any]]]


def _cross_entropy_at_attack(forward, x, x_attack, labels):
    logits, updates = forward(x_attack)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean(), (logits, updates)


def standard_training(budget: AttackBudget, beta: float) -> TrainingMode:
    """Empirical risk minimisation: cross-entropy on the clean inputs (the non-robust baseline)."""
    return TrainingMode(attack=lambda infer, x, labels, key: x, loss=_cross_entropy_at_attack)


def pgd_adversarial_training(budget: AttackBudget, beta: float) -> TrainingMode:
    """Madry et al. 2018: min_θ E max_{‖δ‖ ≤ ε} CE(f_θ(x + δ), y), the inner max by PGD from a random
    start of the ball (on the model in inference mode, no gradient through the attack)."""

    def attack(infer, x, labels, key):
        x_adv = pgd(cross_entropy_loss(infer, labels), x, key, eps=budget.eps, step_size=budget.step_size,
                    steps=budget.steps, norm=budget.norm)
        return jax.lax.stop_gradient(x_adv)

    return TrainingMode(attack=attack, loss=_cross_entropy_at_attack)


def trades(budget: AttackBudget, beta: float) -> TrainingMode:
    """Zhang et al. 2019 (TRADES): CE(f(x), y) + β·KL(f(x) ‖ f(x_adv)), x_adv maximising that KL by PGD
    from x + 0.001·N(0, 1); clean and adversarial inputs share one forward pass."""

    def attack(infer, x, labels, key):
        start = jnp.clip(x + 0.001 * jax.random.normal(key, x.shape), 0.0, 1.0)
        loss_kl = kl_loss(infer, jax.lax.stop_gradient(infer(x)))
        x_adv = pgd(loss_kl, x, key, eps=budget.eps, step_size=budget.step_size, steps=budget.steps,
                    norm=budget.norm, rand_init=False, x_init=start)
        return jax.lax.stop_gradient(x_adv)

    def loss(forward, x, x_attack, labels):
        both, updates = forward(jnp.concatenate([x, x_attack]))
        clean, adv_logits = jnp.split(both, 2)
        ce = optax.softmax_cross_entropy_with_integer_labels(clean, labels).mean()
        p, log_p = jax.nn.softmax(clean), jax.nn.log_softmax(clean)
        kl = jnp.sum(p * (log_p - jax.nn.log_softmax(adv_logits)), axis=-1).mean()
        return ce + beta * kl, (clean, updates)

    return TrainingMode(attack=attack, loss=loss)


MODES: dict[str, Callable[[AttackBudget, float], TrainingMode]] = {
    "standard": standard_training, "pgd_at": pgd_adversarial_training, "trades": trades,
}


# -------------------------------------------------------------------------------------------------- recipe


def make_recipe(config: ml_collections.ConfigDict, train_split: Split, eval_splits: dict[str, Split],
                num_classes: int, robust_split: Split | None = None) -> loop.Recipe:
    """A classify model trained on clean, PGD (Madry) or TRADES objectives; inputs in [0, 1]. With
    `robust_split`, the `robust` evaluator scores `eval_examples` of its images at every eval point."""
    adv = config.adversarial
    choose(BALLS, adv.norm, "config.adversarial.norm")
    budget = AttackBudget(float(adv.train_eps), float(adv.train_step_size), int(adv.train_steps), adv.norm)
    mode = choose(MODES, adv.mode, "config.adversarial.mode")(budget, float(adv.beta))
    model = build_model(config, num_classes)
    tx = make_optimizer(config)
    normaliser = Normaliser.fit(train_split)

    def logits_fn(variables, x):
        return model.apply(variables, normaliser.standardise(x), train=False)

    def train_step(state: TrainState, batch, key):
        x = normaliser.unit(batch["image"])
        labels = batch["label"]
        attack_key, drop_key = jax.random.split(batch_key(key))
        infer = functools.partial(logits_fn, {"params": state.params, **state.model_state})
        x_attack = mode.attack(infer, x, labels, attack_key)

        def loss_fn(params):
            forward = lambda v: train_logits(model, params, state.model_state, normaliser.standardise(v), drop_key)
            return mode.loss(forward, x, x_attack, labels)

        (loss, (logits, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        metrics = {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels)}
        return apply_gradients(state, tx, grads, metrics, model_state=dict(updates) if updates else None)

    def eval_step(state: TrainState, batch):
        logits = logits_fn({"params": state.params, **state.model_state}, normaliser.unit(batch["image"]))
        return classification_sums(logits, batch["label"], batch["mask"])

    evaluators = {}
    if robust_split is not None:
        evaluators[ROBUST] = make_robust_evaluator(config, logits_fn, robust_split)
    return loop.Recipe(init=classifier_init(model, tx, train_split), train_step=train_step, eval_step=eval_step,
                       train_split=train_split, eval_splits=eval_splits, main_metric="accuracy", evaluators=evaluators)


# ------------------------------------------------------------------------------------------------ evaluate


def robust_predictions(logits_fn: Callable[[jax.Array], jax.Array], x: jax.Array, labels: jax.Array,
                       key: jax.Array, eps_grid, *, step_size, steps: int, norm: str = "linf",
                       restarts: int = 1) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Clean logits [B, K], adversarial logits [E, B, K] (PGD at every ε of the grid), and fooled [E, B]
    (cumulative: fooled at ε if an attack at some ε' ≤ ε changed the prediction away from the label)."""
    clean = logits_fn(x)
    loss = cross_entropy_loss(logits_fn, labels)

    def at(e):
        x_adv = pgd(loss, x, key, eps=e, step_size=step_size, steps=steps, norm=norm, restarts=restarts)
        return logits_fn(x_adv)

    adv_logits = jax.lax.map(at, jnp.asarray(eps_grid, jnp.float32))
    wrong = jnp.argmax(adv_logits, -1) != labels[None]
    fooled = jax.lax.cummax(wrong.astype(jnp.int32), axis=0).astype(bool)
    return clean, adv_logits, fooled


def make_robustness_report(logits_fn: Callable[[Any, jax.Array], jax.Array], eps_grid, *, eps: float,
                           step_size: float, steps: int, norm: str, restarts: int, batch_size: int = 500):
    """report(variables, images, labels, key) -> the robustness report of `logits_fn(variables, x)`
    (compiled once): clean/robust accuracy over the ε grid, per-class F1 (clean, adversarial at `eps`)
    and the ROC-AUC of the max-softmax confidence separating clean from adversarial inputs at `eps`."""
    from sklearn.metrics import f1_score, roc_auc_score

    eps_grid = [float(e) for e in eps_grid]
    if eps not in eps_grid:
        raise JaxmlError(f"adversarial.eps={eps} must be one of adversarial.eps_grid={eps_grid}")
    predict = jax.jit(lambda variables, x, y, k: robust_predictions(
        functools.partial(logits_fn, variables), x, y, k, eps_grid, step_size=step_size, steps=steps, norm=norm,
        restarts=restarts))
    main = eps_grid.index(eps)

    def report(variables, images: np.ndarray, labels: np.ndarray, key: jax.Array) -> dict[str, Any]:
        clean_pred, adv_pred, fooled, conf_clean, conf_adv = [], [], [], [], []
        for i in range(0, len(labels), batch_size):
            x = jnp.asarray(images[i:i + batch_size], jnp.float32)
            y = jnp.asarray(labels[i:i + batch_size])
            clean, adv, f = jax.device_get(predict(variables, x, y, jax.random.fold_in(key, i)))
            clean_pred.append(clean.argmax(-1))
            adv_pred.append(adv[main].argmax(-1))
            fooled.append(f)
            conf_clean.append(jax.nn.softmax(clean).max(-1))
            conf_adv.append(jax.nn.softmax(adv[main]).max(-1))
        classes = np.arange(clean.shape[-1])
        clean_pred, adv_pred = np.concatenate(clean_pred), np.concatenate(adv_pred)
        fooled = np.concatenate(fooled, axis=1)
        correct = clean_pred == labels
        robust = correct[None] & ~fooled
        conf = np.concatenate([np.concatenate(conf_clean), np.concatenate(conf_adv)])
        is_clean = np.concatenate([np.ones(len(labels)), np.zeros(len(labels))])
        return {
            "test_accuracy": float(correct.mean()),
            "robust_accuracy": float(robust[main].mean()),
            "eps_grid": eps_grid,
            "robust_accuracy_curve": [float(r) for r in robust.mean(axis=1)],
            "f1_clean_per_class": [float(v) for v in f1_score(labels, clean_pred, labels=classes, average=None,
                                                               zero_division=0)],
            "f1_adversarial_per_class": [float(v) for v in f1_score(labels, adv_pred, labels=classes,
                                                                     average=None, zero_division=0)],
            "confidence_auc": float(roc_auc_score(is_clean, conf)),
            "eval_examples": int(len(labels)),
        }

    return report


def robustness_report(logits_fn, images: np.ndarray, labels: np.ndarray, key: jax.Array, eps_grid, *,
                      eps: float, step_size: float, steps: int, norm: str, restarts: int,
                      batch_size: int = 500) -> dict[str, Any]:
    """The robustness report of a fixed `logits_fn(x)` (see `make_robustness_report`)."""
    report = make_robustness_report(lambda _, x: logits_fn(x), eps_grid, eps=eps, step_size=step_size,
                                    steps=steps, norm=norm, restarts=restarts, batch_size=batch_size)
    return report(None, images, labels, key)


def report_metrics(report: dict[str, Any]) -> dict[str, float]:
    """A robustness report as the evaluator's flat scalars: `accuracy` (robust, at `eps`),
    `clean_accuracy`, `confidence_auc`, `accuracy_eps_<ε>` per grid point, `f1_clean_<k>` and
    `f1_adversarial_<k>` per class."""
    out = {"accuracy": report["robust_accuracy"], "clean_accuracy": report["test_accuracy"],
           "confidence_auc": report["confidence_auc"]}
    out.update({f"accuracy_eps_{e:g}": r for e, r in zip(report["eps_grid"], report["robust_accuracy_curve"])})
    out.update({f"f1_clean_{k}": v for k, v in enumerate(report["f1_clean_per_class"])})
    out.update({f"f1_adversarial_{k}": v for k, v in enumerate(report["f1_adversarial_per_class"])})
    return out


def report_from_metrics(metrics: dict[str, float], eps_grid, num_classes: int, eval_examples: int) -> dict[str, Any]:
    """The robustness report back from a run's `robust_<metric>` results (inverse of `report_metrics`)."""
    m = {k[len(ROBUST) + 1:]: v for k, v in metrics.items() if k.startswith(ROBUST + "_")}
    eps_grid = [float(e) for e in eps_grid]
    return {
        "test_accuracy": m["clean_accuracy"], "robust_accuracy": m["accuracy"], "eps_grid": eps_grid,
        "robust_accuracy_curve": [m[f"accuracy_eps_{e:g}"] for e in eps_grid],
        "f1_clean_per_class": [m[f"f1_clean_{k}"] for k in range(num_classes)],
        "f1_adversarial_per_class": [m[f"f1_adversarial_{k}"] for k in range(num_classes)],
        "confidence_auc": m["confidence_auc"], "eval_examples": int(eval_examples),
    }


def eval_size(n: int, total: int) -> int:
    """How many test examples the robust evaluation uses: `eval_examples` (0: all), at most `total`."""
    return min(int(n), total) if n else total


def eval_subset(split: Split, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`eval_size(n)` test examples at fixed random positions (seeded), images in [0, 1]."""
    idx = np.sort(np.random.default_rng(seed).permutation(len(split))[:eval_size(n, len(split))])
    images = split["image"]
    x = images[idx].astype(np.float32)
    if images.dtype == np.uint8:
        x = x / 255.0
    return x, np.asarray(split["label"])[idx]


def make_robust_evaluator(config: ml_collections.ConfigDict, logits_fn, split: Split):
    """The `robust` evaluator: (state, key) -> `report_metrics` of PGD-`eval_steps` on `eval_examples` of
    `split` (the per-batch PGD keys fold the batch offset into `key`)."""
    adv = config.adversarial
    images, labels = eval_subset(split, int(adv.eval_examples), int(config.data_seed))
    report = make_robustness_report(logits_fn, adv.eps_grid, eps=float(adv.eps), step_size=float(adv.eval_step_size),
                                    steps=int(adv.eval_steps), norm=adv.norm, restarts=int(adv.eval_restarts))

    def evaluate(state: TrainState, key) -> dict[str, float]:
        state = jax.device_get(state)
        return report_metrics(report({"params": state.params, **state.model_state}, images, labels, key))

    return evaluate


def plot_robustness(curves: dict[str, dict[str, Any]], out: Path, title: str = "") -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, r in curves.items():
        ax.plot(r["eps_grid"], r["robust_accuracy_curve"], "o-", ms=3,
                label=f"{name} (clean {r['test_accuracy']:.3f})")
    ax.set_xlabel("ε (L∞)" if "linf" in title or not title else "ε")
    ax.set_ylabel("robust accuracy (PGD)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)


# ---------------------------------------------------------------------------------------------------- train


def run_report(config: ml_collections.ConfigDict, data: Dataset, metrics: dict[str, float], steps: int) -> dict[str, Any]:
    """The robustness report of a run's final metrics (+ its full test accuracy and steps)."""
    report = report_from_metrics(metrics, config.adversarial.eps_grid, data.num_classes,
                                 eval_size(int(config.adversarial.eval_examples), len(data.test)))
    report["full_test_accuracy"] = metrics["test_accuracy"]
    report["steps"] = int(steps)
    return report


def train_one(config: ml_collections.ConfigDict, workdir: Path, data: Dataset, desc: str) -> dict[str, Any]:
    """Trains one model (or resumes), evaluating its robustness in the run; writes robustness.json."""
    recipe = make_recipe(config, data.train, {"test": data.test}, data.num_classes, robust_split=data.test)
    _, metrics = loop.run(recipe, config, workdir, desc=desc)
    report = run_report(config, data, metrics, metrics["steps"])
    (workdir / "robustness.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _run_config(config: ml_collections.ConfigDict, entry: dict) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict(config.to_dict())
    for k, v in entry.items():
        if k == "name":
            continue
        if k not in c.adversarial:
            raise JaxmlError(f"config.compare entry {entry.get('name')!r}: {k!r} is not an adversarial option; "
                             f"valid: {', '.join(sorted(c.adversarial.keys()))}")
        c.adversarial[k] = v
    return c


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    data = load_data(config)
    runs = [dict(e) for e in config.compare] or [{"name": config.adversarial.mode}]
    names = [e["name"] for e in runs]
    if config.main not in names:
        raise JaxmlError(f"config.main={config.main!r} must name one of config.compare: {', '.join(names)}")
    reports: dict[str, dict[str, Any]] = {}
    for entry in runs:
        name = entry["name"]
        reports[name] = train_one(_run_config(config, entry), workdir / name, data, desc=name)
        log.info("%s: clean %.4f, robust %.4f at eps=%s", name, reports[name]["test_accuracy"],
                 reports[name]["robust_accuracy"], config.adversarial.eps)
    if jax.process_index() == 0:
        plot_robustness(reports, workdir / "plots" / "robustness.png",
                        title=f"PGD-{config.adversarial.eval_steps} {config.adversarial.norm}, "
                              f"step {config.adversarial.eval_step_size}")
    main = reports[config.main]
    result: dict[str, Any] = {k: main[k] for k in ("test_accuracy", "robust_accuracy", "confidence_auc",
                                                    "eps_grid", "robust_accuracy_curve", "eval_examples",
                                                    "f1_clean_per_class", "f1_adversarial_per_class")}
    result["steps"] = main["steps"]
    result["full_test_accuracy"] = main["full_test_accuracy"]
    for name, r in reports.items():
        for k in ("test_accuracy", "robust_accuracy", "confidence_auc", "robust_accuracy_curve"):
            result[f"{name}_{k}"] = r[k]
    if "standard" in reports and config.main != "standard":
        result["clean_accuracy_drop"] = reports["standard"]["test_accuracy"] - main["test_accuracy"]
    return result


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The training recipe without the robust evaluator (for `jaxml bench`)."""
    data = load_data(config)
    return make_recipe(config, data.train, {"test": data.test}, data.num_classes)


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the main run's newest checkpoint and re-runs the robustness evaluation (the evaluator and
    key of the training run's eval at that step)."""
    data = load_data(config)
    entry = next((dict(e) for e in config.compare if e["name"] == config.main), {"name": config.main})
    c = _run_config(config, entry)
    recipe = make_recipe(c, data.train, {"test": data.test}, data.num_classes, robust_split=data.test)
    metrics = loop.evaluate_checkpoint(recipe, c, Path(workdir) / config.main)
    return run_report(c, data, metrics, metrics["step"])
