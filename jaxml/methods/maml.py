"""Meta-learning: MAML (Finn 2017), second-order and first-order, with `vmap` over the meta-batch of tasks.

Inner loop: `adapt` takes `inner_steps` SGD steps of size `inner_lr` on a task's support set
(`jax.grad` of the support loss inside the differentiated function). Outer loop: the meta-loss is the
mean query loss of the adapted parameters over a meta-batch of tasks (`jax.vmap` over tasks), and its
gradient flows through the inner updates (second order). First-order MAML (`first_order=True`) stops
the gradient of the inner gradients, so d theta'/d theta = I and the meta-gradient is the query-loss
gradient at the adapted parameters.

The pretrained baseline (`mode="pretrain"`) trains the same network on the same task stream without
adaptation (sinusoid: regression on each sampled task's points; fashion: ordinary classification of the
meta-train classes), then is fine-tuned at test time exactly like MAML (sinusoid: the same SGD steps;
fashion: a fresh zero-initialised head trained on the support set, `baseline_steps` steps of
`baseline_lr`, the features frozen).

Benchmarks (`config.benchmark`):
- `sinusoid`: y = A sin(x - phi), A ~ U[0.1, 5], phi ~ U[0, pi], x ~ U[-5, 5]; K support and K query
  points per training task, sampled on device from the step key and the task's index; evaluated on
  `test_tasks` fixed tasks (K support points, 100 query points) after 0..`eval_steps` SGD steps.
- `fashion`: N-way K-shot episodes; meta-train on `train_classes` of the Fashion-MNIST train split,
  meta-test on `test_classes` of the test split (600 fixed episodes, `queries` query images per class).
  Episodes are sampled on the host from (seed, episode index), lazily, through the shared loop's
  batching (`EpisodeImages`); pixels are standardised with the statistics of the whole training
  split (`core.steps.Normaliser`).

result.json: sinusoid: `mse_<s>step` for s = 0..eval_steps (mean over test tasks), `mse_1step`,
`mse_10step`, `first_order_mse_<s>step`, `baseline_mse_<s>step`, `baseline_mse` (the baseline's lowest
MSE over 0..eval_steps), `baseline_mse_min_step`; fashion: `test_accuracy`, `ci95` (1.96 std / sqrt(episodes)),
`baseline_accuracy`, `baseline_ci95` (and `first_order_*` when trained). `config.compare` lists the
extra runs (`first_order`, `pretrained`), each in `<workdir>/<name>/`; the main run is in `<workdir>/maml/`.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.steps import Normaliser, apply_gradients
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data.datasets import Split, load_dataset
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")

BENCHMARKS = ("sinusoid", "fashion")
MODES = ("maml", "pretrain")
COMPARE = ("first_order", "pretrained")


# ----------------------------------------------------------------------------- inner loop


def sgd_steps(loss_fn: Callable, params: Any, steps: int, lr: float, *, first_order: bool = False,
              trainable: Callable[[Any], Any] | None = None) -> Any:
    """`steps` plain gradient steps theta <- theta - lr * grad loss_fn(theta) (unrolled; differentiable).

    first_order: the inner gradients are treated as constants (stop_gradient), as in FO-MAML.
    trainable: optional tree of 0/1 multipliers (e.g. fine-tune only the head)."""
    for _ in range(steps):
        grads = jax.grad(loss_fn)(params)
        if first_order:
            grads = jax.lax.stop_gradient(grads)
        if trainable is not None:
            grads = jax.tree.map(jnp.multiply, grads, trainable)
        params = jax.tree.map(lambda p, g: p - lr * g, params, grads)
    return params


def loss_curve(loss_fn: Callable, eval_fn: Callable, params: Any, steps: int, lr: float,
               trainable: Any = None) -> jax.Array:
    """[steps + 1] eval_fn(params) after 0, 1, ..., steps gradient steps on loss_fn (evaluation only)."""
    def body(p, _):
        p = sgd_steps(loss_fn, p, 1, lr, trainable=trainable)
        return p, eval_fn(p)

    _, after = jax.lax.scan(body, params, None, length=steps)
    return jnp.concatenate([eval_fn(params)[None], after])


def meta_loss(apply: Callable, loss: Callable, params: Any, support: tuple, query: tuple, steps: int,
              lr: float, first_order: bool) -> jax.Array:
    """Query loss of the parameters adapted on the support set (one task)."""
    adapted = sgd_steps(lambda p: loss(apply(p, support[0]), support[1]), params, steps, lr, first_order=first_order)
    return loss(apply(adapted, query[0]), query[1])


def batched_meta_loss(apply, loss, params, support, query, steps, lr, first_order) -> jax.Array:
    """Mean meta-loss over a meta-batch: support/query arrays lead with the task axis (vmapped)."""
    per_task = jax.vmap(lambda s, q: meta_loss(apply, loss, params, s, q, steps, lr, first_order))(support, query)
    return jnp.mean(per_task)


def mse(pred: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean(jnp.square(pred - y))


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


# ----------------------------------------------------------------------------- data


def sinusoid_task(key: jax.Array, shots: int, queries: int) -> tuple[tuple, tuple]:
    """((x_s [K,1], y_s [K,1]), (x_q [Q,1], y_q [Q,1])) for one random sinusoid task."""
    ka, kp, kx = jax.random.split(key, 3)
    amp = jax.random.uniform(ka, (), minval=0.1, maxval=5.0)
    phase = jax.random.uniform(kp, (), minval=0.0, maxval=math.pi)
    x = jax.random.uniform(kx, (shots + queries, 1), minval=-5.0, maxval=5.0)
    y = amp * jnp.sin(x - phase)
    return (x[:shots], y[:shots]), (x[shots:], y[shots:])


def sinusoid_test_tasks(num: int, shots: int, queries: int, seed: int) -> Split:
    """Fixed test tasks: `amplitude` A [N], `phase` phi [N] and the points `x` [N, K + Q] (support
    first, then query), float32."""
    rng = np.random.default_rng([seed, 7])
    amp = rng.uniform(0.1, 5.0, num)
    phase = rng.uniform(0.0, math.pi, num)
    x = rng.uniform(-5.0, 5.0, (num, shots + queries))
    return Split(amplitude=amp.astype(np.float32), phase=phase.astype(np.float32), x=x.astype(np.float32))


class EpisodeImages:
    """Array-like [count, ways * (shots + queries), H, W, C] of N-way episodes, built on indexing.

    Episode i (rng seeded with (seed, i)) draws `ways` classes of `pool` (sorted ascending) and
    shots + queries distinct images of each, laid out class-major: [class 0: shots then queries, class
    1: ...]. Held as a Split's `episode` array, so the loop's deterministic batching yields episodes."""

    def __init__(self, pool: list[np.ndarray], ways: int, shots: int, queries: int, count: int, seed: int):
        if ways > len(pool):
            raise JaxmlError(f"config.ways={ways} exceeds the {len(pool)} classes available")
        per_class = shots + queries
        small = min(len(p) for p in pool)
        if per_class > small:
            raise JaxmlError(f"shots + queries = {per_class} exceeds the {small} images of the smallest class")
        self.pool, self.ways, self.shots, self.queries, self.count, self.seed = pool, ways, shots, queries, count, seed
        self.dtype = pool[0].dtype
        self.shape = (count, ways * per_class) + pool[0].shape[1:]
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.count

    def episode(self, i: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, int(i)])
        classes = np.sort(rng.choice(len(self.pool), self.ways, replace=False))
        per_class = self.shots + self.queries
        return np.concatenate([self.pool[c][rng.choice(len(self.pool[c]), per_class, replace=False)] for c in classes])

    def __getitem__(self, indices) -> np.ndarray:
        indices = np.asarray(indices)
        flat = indices.reshape(-1)
        out = np.empty((flat.size,) + self.shape[1:], self.dtype)
        for j, i in enumerate(flat):
            out[j] = self.episode(i)
        return out.reshape(indices.shape + self.shape[1:])


def class_pools(split: Split, classes) -> list[np.ndarray]:
    return [split["image"][split["label"] == c] for c in classes]


# ----------------------------------------------------------------------------- recipe


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.benchmark not in BENCHMARKS:
        raise JaxmlError(f"config.benchmark={config.benchmark!r} is not valid; choose one of {', '.join(BENCHMARKS)}")
    if config.mode not in MODES:
        raise JaxmlError(f"config.mode={config.mode!r} is not valid; choose one of {', '.join(MODES)}")
    for name in config.compare:
        if name not in COMPARE:
            raise JaxmlError(f"config.compare entry {name!r} is not valid; choose from {', '.join(COMPARE)}")
    for key in ("inner_steps", "eval_steps", "shots"):
        if int(config[key]) < (0 if key == "inner_steps" else 1):
            raise JaxmlError(f"config.{key} must be >= {0 if key == 'inner_steps' else 1}, got {config[key]}")
    if float(config.inner_lr) <= 0:
        raise JaxmlError(f"config.inner_lr must be > 0, got {config.inner_lr}")


def build_net(config: ml_collections.ConfigDict):
    return build_model(config, 1 if config.benchmark == "sinusoid" else int(config.ways))


def head_mask(params: Any) -> Any:
    """1 for the last layer's parameters (the head), 0 elsewhere."""
    last = sorted((k for k in params if k.startswith("Dense_")), key=lambda k: int(k.split("_")[1]))[-1]
    return {k: jax.tree.map(lambda x: jnp.full_like(x, 1.0 if k == last else 0.0), v) for k, v in params.items()}


def zero_head(params: Any) -> Any:
    mask = head_mask(params)
    return jax.tree.map(lambda p, m: p * (1 - m), params, mask)


def make_recipe(config: ml_collections.ConfigDict) -> tuple[loop.Recipe, dict]:
    """The shared loop's recipe for this config, and facts for the report."""
    check_config(config)
    net = build_net(config)
    tx = make_optimizer(config)
    steps, lr, first_order = int(config.inner_steps), float(config.inner_lr), bool(config.first_order)
    eval_steps = int(config.eval_steps)
    shots, pretrain = int(config.shots), config.mode == "pretrain"

    def apply(params, x):
        return net.apply({"params": params}, x, train=False)

    if config.benchmark == "sinusoid":
        queries = int(config.queries)
        n_train = int(config.batch_size) * int(config.steps)  # one fresh task per (step, slot)
        train_split = Split(task=np.arange(n_train, dtype=np.int32))  # a task's points come from its index
        test_split = sinusoid_test_tasks(int(config.test_tasks), shots, int(config.test_queries), int(config.test_seed))
        sample = jnp.zeros((1, 1), jnp.float32)
        loss = mse

        def tasks_for(batch, key):
            keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(batch["task"])
            return jax.vmap(lambda k: sinusoid_task(k, shots, queries))(keys)

        def objective(params, batch, key):
            support, query = tasks_for(batch, key)
            if pretrain:  # joint regression on every sampled point
                xs = jnp.concatenate([support[0], query[0]], 1)
                ys = jnp.concatenate([support[1], query[1]], 1)
                return jnp.mean(jax.vmap(lambda x, y: mse(apply(params, x), y))(xs, ys))
            return batched_meta_loss(apply, loss, params, support, query, steps, lr, first_order)

        def eval_task(params, task):
            amp, phase, x = task["amplitude"], task["phase"], task["x"][:, None]
            y = amp * jnp.sin(x - phase)
            xs, ys, xq, yq = x[:shots], y[:shots], x[shots:], y[shots:]
            curve = loss_curve(lambda p: mse(apply(p, xs), ys), lambda p: mse(apply(p, xq), yq), params,
                               eval_steps, lr)
            return {f"mse_{s}step": curve[s] for s in range(eval_steps + 1)}

        main_metric = "mse_1step"
        facts = {}
    else:
        data = load_dataset("fashion_mnist", data_dir=config.data_dir or None)
        ways, queries = int(config.ways), int(config.queries)
        train_classes, test_classes = list(config.train_classes), list(config.test_classes)
        if set(train_classes) & set(test_classes):
            raise JaxmlError("config.train_classes and config.test_classes overlap; meta-test classes must be held out")
        if pretrain and len(train_classes) != ways:
            raise JaxmlError(f"mode='pretrain' classifies the meta-train classes with the {ways}-way network: "
                             f"config.train_classes needs exactly {ways} classes, got {len(train_classes)}")
        n_train = int(config.batch_size) * int(config.steps)
        train_split = Split(episode=EpisodeImages(class_pools(data.train, train_classes), ways, shots, queries, n_train,
                                                  int(config.seed)),
                            task=np.arange(n_train, dtype=np.int32))  # the index keys the episode's label order
        test_episodes = EpisodeImages(class_pools(data.test, test_classes), ways, shots, int(config.test_queries),
                                      int(config.test_tasks), int(config.test_seed))
        test_split = Split(episode=test_episodes)
        prepare = Normaliser.fit(data.train)
        sample = jnp.zeros((1,) + data.train["image"].shape[1:], jnp.float32)
        loss = cross_entropy
        baseline_steps, baseline_lr = int(config.baseline_steps), float(config.baseline_lr)

        def split_episode(images, q, key):
            """images [ways * (shots + q), ...] -> support/query with labels permuted by `key` (None: identity)."""
            x = prepare(images).reshape((ways, shots + q) + images.shape[1:])
            labels = jnp.arange(ways) if key is None else jax.random.permutation(key, ways)
            lab = jnp.broadcast_to(labels[:, None], (ways, shots + q))
            flat = lambda a: a.reshape((-1,) + a.shape[2:])
            return (flat(x[:, :shots]), flat(lab[:, :shots])), (flat(x[:, shots:]), flat(lab[:, shots:]))

        def objective(params, batch, key):
            keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(batch["task"])
            if pretrain:  # ordinary classification of the meta-train classes (groups sorted by class id)
                support, query = jax.vmap(lambda im: split_episode(im, queries, None))(batch["episode"])
                x = jnp.concatenate([support[0], query[0]], 1)
                y = jnp.concatenate([support[1], query[1]], 1)
                return cross_entropy(apply(params, x.reshape((-1,) + x.shape[2:])), y.reshape(-1))
            support, query = jax.vmap(lambda im, k: split_episode(im, queries, k))(batch["episode"], keys)
            return batched_meta_loss(apply, loss, params, support, query, steps, lr, first_order)

        def eval_task(params, task):
            (xs, ys), (xq, yq) = split_episode(task["episode"], int(config.test_queries), None)
            if pretrain:
                p0, p_lr, p_steps, mask = zero_head(params), baseline_lr, baseline_steps, head_mask(params)
            else:
                p0, p_lr, p_steps, mask = params, lr, eval_steps, None
            adapted = sgd_steps(lambda p: cross_entropy(apply(p, xs), ys), p0, p_steps, p_lr, trainable=mask)
            acc = jnp.mean(jnp.argmax(apply(adapted, xq), -1) == yq)
            return {"accuracy": acc, "accuracy_sq": acc * acc}

        main_metric = "accuracy"
        facts = {"ways": ways, "shots": shots}

    def init(key):
        params = net.init({"params": key, "dropout": key}, sample, train=False)["params"]
        return TrainState(params=params, model_state={}, opt_state=tx.init(params))

    def train_step(state: TrainState, batch, key):
        value, grads = jax.value_and_grad(objective)(state.params, batch, key)
        return apply_gradients(state, tx, grads, {"loss": value})

    def eval_step(state: TrainState, batch):
        tasks = {k: v for k, v in batch.items() if k != "mask"}
        per_task = jax.vmap(lambda task: eval_task(state.params, task))(tasks)
        mask = batch["mask"]
        sums = {k: jnp.sum(v * mask) for k, v in per_task.items()}
        sums["count"] = jnp.sum(mask)
        return sums

    recipe = loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=train_split,
                         eval_splits={"test": test_split}, main_metric=main_metric)
    return recipe, facts


def variant(config: ml_collections.ConfigDict, name: str) -> ml_collections.ConfigDict:
    """The config of a comparison run: `first_order` or `pretrained`."""
    c = ml_collections.ConfigDict(config.to_dict())
    if name == "first_order":
        c.first_order = True
    elif name == "pretrained":
        c.mode = "pretrain"
        c.learning_rate = float(config.pretrain_learning_rate)
    c.compare = ()
    return c


def train_one(config: ml_collections.ConfigDict, workdir: Path, desc: str) -> dict[str, Any]:
    recipe, facts = make_recipe(config)
    state, metrics = loop.run(recipe, config, workdir, desc=desc)
    out = {k.removeprefix("test_"): v for k, v in metrics.items()}
    if config.benchmark == "fashion":
        acc, sq = out.pop("accuracy"), out.pop("accuracy_sq")
        n = int(config.test_tasks)
        std = math.sqrt(max(sq - acc * acc, 0.0) * n / max(n - 1, 1))
        out.update(test_accuracy=acc, test_accuracy_std=std, ci95=1.96 * std / math.sqrt(n), episodes=n, **facts)
    out["params"] = loop.count_params(state.params)
    return out


def plot_mse_vs_steps(result: dict, eval_steps: int, shots: int, out: Path) -> Path:
    """MSE against gradient steps for MAML, FO-MAML and the pretrained baseline (like Finn 2017 Fig. 3)."""
    plt = pyplot()
    steps = np.arange(eval_steps + 1)
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for prefix, label in (("", "MAML"), ("first_order_", "first-order MAML"), ("baseline_", "pretrained")):
        if f"{prefix}mse_0step" in result:
            ax.plot(steps, [result[f"{prefix}mse_{s}step"] for s in steps], "o-", ms=3, label=label)
    ax.set_xlabel("number of gradient steps"); ax.set_ylabel("mean squared error")
    ax.set_title(f"sinusoid, K={shots}, {result.get('test_tasks', '')} test tasks")
    ax.grid(alpha=0.3); ax.legend()
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    check_config(config)
    name = config.get("name", "maml")
    result = train_one(config, workdir / ("maml" if config.mode == "maml" else "pretrained"),
                       desc=f"{name} ({'first-order ' if config.first_order else ''}{config.mode})")
    prefixes = {"first_order": "first_order_", "pretrained": "baseline_"}
    for extra in config.compare:
        m = train_one(variant(config, extra), workdir / extra, desc=f"{name} {extra}")
        result.update({prefixes[extra] + k: v for k, v in m.items() if k not in ("steps", "params", "ways", "shots")})
    if config.benchmark == "sinusoid":
        result["test_tasks"] = int(config.test_tasks)
        if "baseline_mse_0step" in result:
            curve = [result[f"baseline_mse_{s}step"] for s in range(int(config.eval_steps) + 1)]
            result["baseline_mse"] = float(min(curve))
            result["baseline_mse_min_step"] = int(np.argmin(curve))
        plot_mse_vs_steps(result, int(config.eval_steps), int(config.shots), workdir / "plots" / "learning_curve.png")
    elif "baseline_test_accuracy" in result:
        result["baseline_accuracy"] = result.pop("baseline_test_accuracy")
        result["maml_minus_baseline"] = result["test_accuracy"] - result["baseline_accuracy"]
    return result


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    recipe, _ = make_recipe(config)
    return loop.evaluate_checkpoint(recipe, config, Path(workdir) / ("maml" if config.mode == "maml" else "pretrained"))


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    return make_recipe(config)[0]
