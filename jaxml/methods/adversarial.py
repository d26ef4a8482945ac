"""Adversarial robustness: FGSM and PGD attacks, PGD adversarial training and TRADES, robust evaluation.

Attacks work in pixel space [0, 1] (the data range; the model's input standardisation is part of
`logits_fn`) on a per-example loss `loss_fn(x_adv) -> [B]`, and always return points inside the ε-ball
around x and inside the box:
- `fgsm`: x + ε·sign(∇L) (Goodfellow et al. 2015);
- `pgd`: projected gradient ascent (Madry et al. 2018) in L∞ (signed steps) or L2 (normalised steps),
  from x or a uniform random point of the ball, with `restarts` independent random starts of which each
  example keeps the one with the highest loss. One L∞ step of size ε from x is exactly FGSM.

Training (`adversarial.mode`):
- "standard": plain cross-entropy;
- "pgd_at" (Madry 2018): cross-entropy on PGD examples (attack on the model in inference mode);
- "trades" (Zhang et al. 2019): CE(f(x), y) + β·KL(f(x) ‖ f(x_adv)), x_adv maximising that KL from
  x + 0.001·N(0, 1).

Evaluation (after training, on `eval_examples` test images): clean accuracy and robust accuracy under
PGD over `eps_grid` (an example counts as robust at ε only if no attack at any ε' ≤ ε fooled it: the
ε'-ball lies inside the ε-ball, so robust accuracy equals clean accuracy at ε = 0 and never increases),
per-class F1 on clean and adversarial inputs, and the ROC-AUC of the max-softmax confidence for telling
clean (positive) from adversarial inputs. A robustness-curve PNG goes to `plots/robustness.png`.

The `pgd_at_fashion` and `trades_fashion` experiments train every entry of `compare` (a tuple of
mode/β settings) in `<workdir>/<name>`; result.json holds the main run's metrics (`test_accuracy`,
`robust_accuracy` at `eps`) and `<name>_<metric>` for every run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop, parallel
from jaxml.core.checkpoint import Checkpointer
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError
from jaxml.methods import classify

log = logging.getLogger("jaxml")

NORMS = ("linf", "l2")
MODES = ("standard", "pgd_at", "trades")

# ----------------------------------------------------------------------------------------------- attacks


def _flat_norm(x: jax.Array) -> jax.Array:
    """Per-example L2 norm, broadcastable against x."""
    n = jnp.sqrt(jnp.sum(jnp.square(x.reshape(x.shape[0], -1)), axis=-1))
    return n.reshape((-1,) + (1,) * (x.ndim - 1))


def project(x_adv: jax.Array, x: jax.Array, eps, norm: str = "linf", lo: float = 0.0, hi: float = 1.0) -> jax.Array:
    """Nearest point to x_adv in the ε-ball around x (L∞: clip; L2: rescale), then clipped to [lo, hi].

    Clipping to the box only shrinks each coordinate's distance to x (x is inside the box), so the
    result stays in the ball."""
    delta = x_adv - x
    if norm == "linf":
        delta = jnp.clip(delta, -eps, eps)
    else:
        delta = delta * jnp.minimum(1.0, eps / jnp.maximum(_flat_norm(delta), 1e-12))
    return jnp.clip(x + delta, lo, hi)


def fgsm(loss_fn: Callable[[jax.Array], jax.Array], x: jax.Array, eps, lo: float = 0.0, hi: float = 1.0) -> jax.Array:
    """x + ε·sign(∇ₓ Σ loss), clipped to the box."""
    grad = jax.grad(lambda v: jnp.sum(loss_fn(v)))(x)
    return jnp.clip(x + eps * jnp.sign(grad), lo, hi)


def random_start(key: jax.Array, x: jax.Array, eps, norm: str) -> jax.Array:
    """A uniform random point of the ε-ball around x (L∞: cube; L2: ball, radius ε·U^(1/d))."""
    if norm == "linf":
        return x + jax.random.uniform(key, x.shape, minval=-1.0, maxval=1.0) * eps
    k_dir, k_rad = jax.random.split(key)
    direction = jax.random.normal(k_dir, x.shape)
    direction = direction / jnp.maximum(_flat_norm(direction), 1e-12)
    d = x[0].size
    radius = jax.random.uniform(k_rad, (x.shape[0],) + (1,) * (x.ndim - 1)) ** (1.0 / d)
    return x + eps * radius * direction


def pgd(loss_fn: Callable[[jax.Array], jax.Array], x: jax.Array, key: jax.Array, *, eps, step_size, steps: int,
        norm: str = "linf", rand_init: bool = True, restarts: int = 1, lo: float = 0.0, hi: float = 1.0,
        x_init: jax.Array | None = None) -> jax.Array:
    """Projected gradient ascent on Σ loss_fn in the ε-ball around x, from x (or `x_init`, or a random point
    of the ball with `rand_init`); per example the restart with the highest final loss."""
    if norm not in NORMS:
        raise JaxmlError(f"attack norm={norm!r} is not valid; choose one of {', '.join(NORMS)}")
    grad_fn = jax.grad(lambda v: jnp.sum(loss_fn(v)))

    def one_run(k):
        if rand_init:
            x_adv = project(random_start(k, x, eps, norm), x, eps, norm, lo, hi)
        else:
            x_adv = x if x_init is None else project(x_init, x, eps, norm, lo, hi)

        def body(_, x_adv):
            g = grad_fn(x_adv)
            if norm == "linf":
                move = jnp.sign(g)
            else:
                move = g / jnp.maximum(_flat_norm(g), 1e-12)
            return project(x_adv + step_size * move, x, eps, norm, lo, hi)

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


# -------------------------------------------------------------------------------------------------- recipe


def _to_unit(images: jax.Array, uint8: bool) -> jax.Array:
    x = images.astype(jnp.float32)
    return x / 255.0 if uint8 else x


def make_recipe(config: ml_collections.ConfigDict, train_split: Split, eval_splits: dict[str, Split],
                num_classes: int) -> loop.Recipe:
    """A classify model trained on clean, PGD (Madry) or TRADES objectives; inputs in [0, 1]."""
    adv = config.adversarial
    mode = adv.mode
    if mode not in MODES:
        raise JaxmlError(f"config.adversarial.mode={mode!r} is not valid; choose one of {', '.join(MODES)}")
    if adv.norm not in NORMS:
        raise JaxmlError(f"config.adversarial.norm={adv.norm!r} is not valid; choose one of {', '.join(NORMS)}")
    model = classify.build_model(config, num_classes)
    tx = make_optimizer(config)
    mean, std = classify.input_stats(train_split)
    uint8 = train_split.images.dtype == np.uint8
    sample = jnp.zeros((1,) + train_split.images.shape[1:], jnp.float32)
    eps, step_size, steps = float(adv.train_eps), float(adv.train_step_size), int(adv.train_steps)
    beta = float(adv.beta)

    def init(key):
        variables = model.init({"params": key, "dropout": key}, sample, train=False)
        params = variables.pop("params")
        return TrainState(params=params, model_state=dict(variables), opt_state=tx.init(params))

    def train_step(state: TrainState, batch, key):
        x = _to_unit(batch["image"], uint8)
        labels = batch["label"]
        attack_key, drop_key = jax.random.split(parallel.device_key(key))
        variables = {"params": state.params, **state.model_state}
        infer = lambda v: model.apply(variables, (v - mean) / std, train=False)
        if mode == "pgd_at":
            x_attack = pgd(cross_entropy_loss(infer, labels), x, attack_key, eps=eps, step_size=step_size,
                           steps=steps, norm=adv.norm)
        elif mode == "trades":
            start = jnp.clip(x + 0.001 * jax.random.normal(attack_key, x.shape), 0.0, 1.0)
            loss_kl = kl_loss(infer, jax.lax.stop_gradient(infer(x)))
            x_attack = pgd(loss_kl, x, attack_key, eps=eps, step_size=step_size, steps=steps, norm=adv.norm,
                           rand_init=False, x_init=start)
        x_attack = jax.lax.stop_gradient(x_attack) if mode != "standard" else x

        def apply_train(params, v, model_state):
            return model.apply({"params": params, **model_state}, (v - mean) / std, train=True,
                               rngs={"dropout": drop_key}, mutable=list(model_state.keys()))

        def loss_fn(params):
            if mode == "trades":
                both, updates = apply_train(params, jnp.concatenate([x, x_attack]), state.model_state)
                clean, adv_logits = jnp.split(both, 2)
                ce = optax.softmax_cross_entropy_with_integer_labels(clean, labels).mean()
                p, log_p = jax.nn.softmax(clean), jax.nn.log_softmax(clean)
                kl = jnp.sum(p * (log_p - jax.nn.log_softmax(adv_logits)), axis=-1).mean()
                return ce + beta * kl, (clean, updates)
            logits, updates = apply_train(params, x_attack, state.model_state)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean(), (logits, updates)

        (loss, (logits, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        grads = jax.lax.pmean(grads, parallel.AXIS)
        state = state.apply_gradients(tx, grads, dict(updates) if updates else None)
        metrics = {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels),
                   "grad_norm": optax.tree.norm(grads)}
        return state, jax.lax.pmean(metrics, parallel.AXIS)

    def eval_step(state: TrainState, batch):
        x = _to_unit(batch["image"], uint8)
        logits = model.apply({"params": state.params, **state.model_state}, (x - mean) / std, train=False)
        mask = batch["mask"]
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"])
        return {"loss": jnp.sum(losses * mask), "accuracy": jnp.sum((jnp.argmax(logits, -1) == batch["label"]) * mask),
                "count": jnp.sum(mask)}

    recipe = loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=train_split,
                         eval_splits=eval_splits, main_metric="accuracy")
    recipe.logits_fn = lambda state, x: model.apply({"params": state.params, **state.model_state},
                                                    (x - mean) / std, train=False)
    return recipe


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


def robustness_report(logits_fn, images: np.ndarray, labels: np.ndarray, key: jax.Array, eps_grid, *,
                      eps: float, step_size: float, steps: int, norm: str, restarts: int,
                      batch_size: int = 500) -> dict[str, Any]:
    """Clean/robust accuracy over the ε grid, per-class F1 (clean, adversarial at `eps`) and the ROC-AUC
    of the max-softmax confidence separating clean from adversarial inputs at `eps`."""
    from sklearn.metrics import f1_score, roc_auc_score

    eps_grid = [float(e) for e in eps_grid]
    if eps not in eps_grid:
        raise JaxmlError(f"adversarial.eps={eps} must be one of adversarial.eps_grid={eps_grid}")
    fn = jax.jit(lambda x, y, k: robust_predictions(logits_fn, x, y, k, eps_grid, step_size=step_size,
                                                     steps=steps, norm=norm, restarts=restarts))
    clean_pred, adv_pred, fooled, conf_clean, conf_adv = [], [], [], [], []
    main = eps_grid.index(eps)
    for i in range(0, len(labels), batch_size):
        x = jnp.asarray(images[i:i + batch_size], jnp.float32)
        y = jnp.asarray(labels[i:i + batch_size])
        clean, adv, f = jax.device_get(fn(x, y, jax.random.fold_in(key, i)))
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


def plot_robustness(curves: dict[str, dict[str, Any]], out: Path, title: str = "") -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


# ---------------------------------------------------------------------------------------------------- train


def _eval_subset(split: Split, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    n = min(int(n), len(split)) if n else len(split)
    idx = np.sort(np.random.default_rng(seed).permutation(len(split))[:n])
    x = split.images[idx].astype(np.float32)
    if split.images.dtype == np.uint8:
        x = x / 255.0
    return x, split.labels[idx]


def train_one(config: ml_collections.ConfigDict, workdir: Path, data, desc: str) -> dict[str, Any]:
    """Trains one model (or resumes) and evaluates its robustness; writes robustness.json."""
    adv = config.adversarial
    recipe = make_recipe(config, data.train, {"test": data.test}, data.num_classes)
    state, metrics = loop.run(recipe, config, workdir, desc=desc)
    state = jax.device_get(state)
    images, labels = _eval_subset(data.test, int(adv.eval_examples), int(config.data_seed))
    report = robustness_report(lambda x: recipe.logits_fn(state, x), images, labels,
                               jax.random.key(int(config.seed) + 12345), adv.eps_grid, eps=float(adv.eps),
                               step_size=float(adv.eval_step_size), steps=int(adv.eval_steps), norm=adv.norm,
                               restarts=int(adv.eval_restarts))
    report["full_test_accuracy"] = metrics["test_accuracy"]
    report["steps"] = metrics["steps"]
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
    data = classify.load_data(config)
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
    data = classify.load_data(config)
    return make_recipe(config, data.train, {"test": data.test}, data.num_classes)


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the main run's newest checkpoint and re-runs the robustness evaluation."""
    workdir = Path(workdir)
    data = classify.load_data(config)
    entry = next((dict(e) for e in config.compare if e["name"] == config.main), {"name": config.main})
    c = _run_config(config, entry)
    recipe = make_recipe(c, data.train, {"test": data.test}, data.num_classes)
    like = recipe.init(loop.init_key(int(c.seed)))
    restored = Checkpointer(workdir / config.main, keep=int(c.keep_checkpoints)).restore_latest(like)
    if restored is None:
        raise JaxmlError(f"no checkpoint in {workdir / config.main / 'checkpoints'}; train first")
    _, state = restored
    state = jax.device_get(state)
    adv = c.adversarial
    images, labels = _eval_subset(data.test, int(adv.eval_examples), int(c.data_seed))
    return robustness_report(lambda x: recipe.logits_fn(state, x), images, labels,
                             jax.random.key(int(c.seed) + 12345), adv.eps_grid, eps=float(adv.eps),
                             step_size=float(adv.eval_step_size), steps=int(adv.eval_steps), norm=adv.norm,
                             restarts=int(adv.eval_restarts))


def base_config() -> ml_collections.ConfigDict:
    """classify's defaults plus the attack/training settings; `compare` lists the runs to train."""
    c = classify.base_config()
    c.method = "adversarial"
    c.adversarial = ml_collections.ConfigDict({
        "mode": "pgd_at", "norm": "linf", "beta": 6.0,
        "train_eps": 0.1, "train_step_size": 0.025, "train_steps": 7,
        "eps": 0.1, "eval_step_size": 0.01, "eval_steps": 20, "eval_restarts": 1,
        "eps_grid": (0.0, 0.025, 0.05, 0.1, 0.15, 0.2), "eval_examples": 2000,
    })
    c.compare = ()
    c.main = "pgd_at"
    return c
