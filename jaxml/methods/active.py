"""Pool-based active learning on sklearn's digits or Fashion-MNIST
(docs/references.md#learning-from-few-labels).

`train(config, workdir)` takes `config.dataset`'s train / test split (digits: the stratified 80 / 20
split); the training images (or `pool_size` of them, drawn by `data_seed`) are the pool, their labels
held back. Per seed (all seeds vmapped) the loop starts from `initial_labels` random pool points (the
same for every strategy) and repeats, until `max_labels`: train the classifier `config.model` (built by
`models.build.build_model`: the MLP of active_digits, or a CNN with dropout) with AdamW on the labelled
points (full-batch, or minibatches of `train_batch` drawn from them; from scratch each round or, with
`warm_start`, from the previous round's weights), record its test accuracy, score the pool in one
jitted, vmapped pass (MC-dropout samples for BALD; in chunks of `score_chunk` images under `lax.map`
when set, to bound the memory of a CNN), query `query_batch` points with the strategy
(`acquisition.ACQUISITIONS`) and "label" them from the held-back labels. A round is one jitted call.
k-center measures distances on the flattened input pixels.

The loop is resumable between rounds: after each round the labelled indices, the weights and the
accuracies so far are written to `workdir/active/<strategy>.npz`; a rerun in the same workdir continues
from the last finished round and queries the same indices as an uninterrupted run (each round's keys
are a function of seed, strategy and round only).

Results, per strategy a: `{a}_accuracy_{L}` / `{a}_accuracy_{L}_std` (mean / std over seeds at L
labels, every round), `margin_minus_random_{L}` and `margin_minus_random_min` (the smaller of the gains
at the `report_labels`: the target), and `plots/active_learning.png` (accuracy vs labels, mean +- std).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core.config import check_int, check_number, from_json, to_json
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.registry import choose
from jaxml.data.datasets import load_dataset
from jaxml.errors import JaxmlError
from jaxml.methods.acquisition import ACQUISITIONS
from jaxml.methods.pseudo_label import images
from jaxml.models.build import build_model

DATASETS = ("digits", "fashion_mnist")
INPUTS = {"mlp": images,  # [n, features]: the flattened pixels in [0, 1] (as active_digits was recorded)
          "cnn": lambda split: np.asarray(split["image"], np.float32) / 255.0}  # [n, H, W, C] in [0, 1]
"""How each model of `config.model.name` reads the pool and test images."""


def budgets(config: ml_collections.ConfigDict) -> list[int]:
    """The labelled-set sizes of the rounds: initial_labels, + query_batch, ..., max_labels."""
    return list(range(int(config.initial_labels), int(config.max_labels) + 1, int(config.query_batch)))


@functools.lru_cache(maxsize=16)
def make_round(config_json: str, acquisition_name: str, num_classes: int):
    """(init(keys [seeds]) -> params, round(keys [seeds], params [seeds], indices [seeds, max_labels], count,
    pool) -> (params, test accuracy [seeds], indices with the next query_batch filled in)): one jitted
    round for all seeds; pool = (x_pool, y_pool, x_test, y_test) as arguments (not baked into the
    compiled program as constants). Cached by the config's JSON: a resumed loop reuses the compiled round."""
    config = from_json(config_json)
    acquisition = ACQUISITIONS[acquisition_name]
    model = build_model(config, num_classes)
    tx = optax.adamw(float(config.learning_rate), weight_decay=float(config.weight_decay))
    steps, batch, samples = int(config.steps), int(config.query_batch), int(config.mc_samples)
    warm = bool(config.warm_start)
    max_labels, train_batch, chunk = int(config.max_labels), int(config.train_batch), int(config.score_chunk)

    def labelled_loss(p, k, x, y, count):
        """Full batch (train_batch 0): the mean CE over the first `count` labelled points; else over
        train_batch of them drawn uniformly with replacement."""
        if not train_batch:
            valid = (jnp.arange(max_labels) < count).astype(jnp.float32)
            ce = optax.softmax_cross_entropy_with_integer_labels(model.apply(p, x, train=True, rngs={"dropout": k}), y)
            return jnp.sum(valid * ce) / jnp.sum(valid)
        k_pick, k_drop = jax.random.split(k)
        pick = jax.random.randint(k_pick, (train_batch,), 0, count)
        logits = model.apply(p, x[pick], train=True, rngs={"dropout": k_drop})
        return optax.softmax_cross_entropy_with_integer_labels(logits, y[pick]).mean()

    def fit(key, params, indices, count, x_pool, y_pool):
        x, y = x_pool[indices], y_pool[indices]
        if not warm:
            params = model.init(jax.random.fold_in(key, 0), x[:1], train=False)

        def loss_fn(p, k):
            return labelled_loss(p, k, x, y, count)

        def step(carry, t):
            p, opt_state = carry
            grads = jax.grad(loss_fn)(p, jax.random.fold_in(key, t + 1))
            updates, opt_state = tx.update(grads, opt_state, p)
            return (optax.apply_updates(p, updates), opt_state), None

        (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), jnp.arange(steps))
        return params

    def probs_of(key, params, x):
        """[samples, n, classes]: MC-dropout samples, or the deterministic prediction once."""
        if acquisition.mc_samples:
            keys = jax.random.split(key, samples)
            return jax.vmap(lambda k: jax.nn.softmax(model.apply(params, x, train=True, rngs={"dropout": k})))(keys)
        return jax.nn.softmax(model.apply(params, x, train=False))[None]

    def pool_probs(key, params, x_pool):
        """`probs_of` the whole pool, in one pass (dropout from key) or chunk by chunk (chunk c's dropout
        from fold_in(key, c))."""
        return chunked(lambda c, x: probs_of(key if c is None else jax.random.fold_in(key, c), params, x), x_pool,
                       chunk, axis=1)

    def test_accuracy(params, x_test, y_test):
        logits = chunked(lambda c, x: model.apply(params, x, train=False), x_test, chunk, axis=0)
        return jnp.mean(jnp.argmax(logits, -1) == y_test)

    def one_seed(key, params, indices, count, pool):
        x_pool, y_pool, x_test, y_test = pool
        k_fit, k_score, k_select = jax.random.split(key, 3)
        params = fit(k_fit, params, indices, count, x_pool, y_pool)
        accuracy = test_accuracy(params, x_test, y_test)
        labelled = jnp.zeros(x_pool.shape[0], bool).at[indices].set(jnp.arange(max_labels) < count)
        features = x_pool.reshape(x_pool.shape[0], -1)
        chosen = acquisition.select(k_select, pool_probs(k_score, params, x_pool), features, labelled, batch)
        room = jnp.arange(max_labels)
        slot = jnp.clip(room - count, 0, batch - 1)
        indices = jnp.where((room >= count) & (room < count + batch), chosen[slot], indices)
        return params, accuracy, indices

    # not jitted: a separate compile of the init costs more than running it op by op
    init = jax.vmap(lambda k, x: model.init(jax.random.fold_in(k, 0), x[:1], train=False), (0, None))
    return init, jax.jit(jax.vmap(one_seed, in_axes=(0, 0, 0, None, None)))


def chunked(fn, x: jax.Array, chunk: int, axis: int) -> jax.Array:
    """fn(None, x) when chunk is 0 or covers x; else fn(c, x[c*chunk:(c+1)*chunk]) for each chunk c under
    `lax.map` (x zero-padded to whole chunks), concatenated along the output's example `axis`."""
    n = x.shape[0]
    if not chunk or chunk >= n:
        return fn(None, x)
    m = -(-n // chunk)
    padded = jnp.concatenate([x, jnp.zeros((m * chunk - n,) + x.shape[1:], x.dtype)]).reshape((m, chunk) + x.shape[1:])
    out = jax.lax.map(lambda a: fn(a[0], a[1]), (jnp.arange(m), padded))  # [m, ..., chunk, ...]
    out = jnp.moveaxis(out, 0, axis)
    shape = out.shape[:axis] + (m * chunk,) + out.shape[axis + 2:]
    return jax.lax.slice_in_dim(out.reshape(shape), 0, n, axis=axis)


def initial_indices(n_pool: int, config: ml_collections.ConfigDict) -> np.ndarray:
    """[seeds, max_labels] int32: the first initial_labels a random draw from default_rng(seed + s), the
    rest 0 (filled in round by round)."""
    out = np.zeros((int(config.num_seeds), int(config.max_labels)), np.int32)
    for s in range(len(out)):
        out[s, :int(config.initial_labels)] = np.random.default_rng(int(config.seed) + s).choice(
            n_pool, int(config.initial_labels), replace=False)
    return out


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically: written to a temporary file, then renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **state)
    os.replace(tmp, path)


def run_strategy(config: ml_collections.ConfigDict, name: str, data, workdir: Path,
                 stop_after: int | None = None) -> dict[str, np.ndarray]:
    """The active-learning loop of one strategy, resumed from workdir/active/<name>.npz when there:
    {"indices": [seeds, max_labels], "accuracy": [seeds, rounds done]}. `stop_after` ends it after that
    many rounds in total (an interrupted run, for tests)."""
    *arrays, num_classes = data
    pool = tuple(jnp.asarray(a) for a in arrays)
    init, one_round = make_round(to_json(config), name, num_classes)
    sizes = budgets(config)
    base = jax.random.fold_in(jax.random.key(int(config.seed)), sorted(ACQUISITIONS).index(name))
    seed_keys = jax.random.split(base, int(config.num_seeds))
    path = workdir / "active" / f"{name}.npz"
    params = init(seed_keys, pool[0])
    leaves, treedef = jax.tree_util.tree_flatten(params)
    if path.exists():
        saved = np.load(path)
        indices, accuracy = saved["indices"], saved["accuracy"]
        params = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(saved[f"param_{i}"]) for i in range(len(leaves))])
    else:
        indices, accuracy = initial_indices(len(arrays[1]), config), np.zeros((int(config.num_seeds), 0))
    for r in range(accuracy.shape[1], len(sizes) if stop_after is None else min(stop_after, len(sizes))):
        keys = jax.vmap(lambda k: jax.random.fold_in(k, r))(seed_keys)
        params, acc, new = one_round(keys, params, jnp.asarray(indices), sizes[r], pool)
        indices = np.asarray(new) if r + 1 < len(sizes) else indices
        accuracy = np.concatenate([accuracy, np.asarray(acc, np.float64)[:, None]], axis=1)
        save_state(path, {"indices": indices, "accuracy": accuracy,
                          **{f"param_{i}": np.asarray(a) for i, a in enumerate(jax.tree_util.tree_leaves(params))}})
    return {"indices": indices, "accuracy": accuracy}


def plot_curves(curves: dict[str, np.ndarray], sizes: list[int], out: Path, dataset: str = "digits") -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, acc in curves.items():
        mean, std = acc.mean(0), acc.std(0)
        ax.plot(sizes, mean, marker="o", ms=3, label=name)
        ax.fill_between(sizes, mean - std, mean + std, alpha=0.15)
    ax.set_xlabel("labelled pool points")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Active learning on {dataset} (mean +- std over {next(iter(curves.values())).shape[0]} seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, out, dpi=120, bbox_inches="tight")


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.dataset not in DATASETS:
        raise JaxmlError(f"config.dataset={config.dataset!r} is not valid; choose one of {', '.join(DATASETS)}")
    choose(INPUTS, config.model.name, "config.model.name")
    if not config.strategies:
        raise JaxmlError(f"config.strategies=() is empty; choose from {', '.join(ACQUISITIONS)}")
    for s in config.strategies:
        choose(ACQUISITIONS, s, "config.strategies")
    for key in ("num_seeds", "initial_labels", "query_batch", "steps", "mc_samples"):
        check_int(config[key], f"config.{key}", 1)
    for key in ("train_batch", "score_chunk", "pool_size"):
        check_int(config[key], f"config.{key}", 0)
    check_int(config.max_labels, "config.max_labels", int(config.initial_labels))
    if (config.max_labels - config.initial_labels) % config.query_batch:
        raise JaxmlError(f"config.max_labels={config.max_labels} must be initial_labels ({config.initial_labels}) "
                         f"plus a multiple of query_batch ({config.query_batch})")
    for L in config.report_labels:
        if L not in budgets(config):
            raise JaxmlError(f"config.report_labels has {L}, not a round's label count; choose from {budgets(config)}")
    check_number(config.learning_rate, "config.learning_rate", 0.0)
    check_number(config.weight_decay, "config.weight_decay", 0.0)
    check_number(config.model.dropout, "config.model.dropout", 0.0, 1.0)
    mc = [s for s in config.strategies if ACQUISITIONS[s].mc_samples]
    if mc and (config.model.dropout == 0 or not config.model.get("hidden", True)):
        raise JaxmlError(f"config.strategies has {', '.join(mc)}, which samples MC dropout: set config.model.dropout "
                         f"in (0, 1) and, for the MLP, at least one hidden layer (config.model.hidden)")


def pool_split(train_split, pool_size: int, data_seed: int):
    """The whole training split (pool_size 0), else pool_size of its images drawn without replacement by
    default_rng(data_seed), in index order."""
    if not pool_size or pool_size >= len(train_split):
        return train_split
    return train_split.take(np.sort(np.random.default_rng(data_seed).choice(len(train_split), pool_size, replace=False)))


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    check_config(config)
    workdir = Path(workdir)
    ds = load_dataset(config.dataset, data_dir=config.data_dir or None, seed=int(config.data_seed))
    pool = pool_split(ds.train, int(config.pool_size), int(config.data_seed))
    if config.max_labels > len(pool):
        raise JaxmlError(f"config.max_labels={config.max_labels} must be <= the pool ({len(pool)} points)")
    inputs = INPUTS[config.model.name]
    data = (inputs(pool), np.asarray(pool["label"]), inputs(ds.test), np.asarray(ds.test["label"]), ds.num_classes)
    sizes = budgets(config)
    curves = {name: run_strategy(config, name, data, workdir)["accuracy"] for name in config.strategies}
    out: dict[str, Any] = {"num_seeds": int(config.num_seeds), "labels": sizes, "pool_size": len(data[1]),
                           "warm_start": bool(config.warm_start)}
    for name, acc in curves.items():
        for i, L in enumerate(sizes):
            out[f"{name}_accuracy_{L}"] = float(acc[:, i].mean())
            out[f"{name}_accuracy_{L}_std"] = float(acc[:, i].std())
    if "margin" in curves and "random" in curves:
        gains = [out[f"margin_accuracy_{L}"] - out[f"random_accuracy_{L}"] for L in config.report_labels]
        out.update({f"margin_minus_random_{L}": g for L, g in zip(config.report_labels, gains)})
        out["margin_minus_random_min"] = float(min(gains))
    if jax.process_index() == 0:
        plot_curves(curves, sizes, workdir / "plots" / "active_learning.png", config.dataset)
        out["summary_plot"] = "plots/active_learning.png"
    return out
